"""NMFC density classes for LTL handling units: the 13-sub scale of Docket 2025-1 (in force
since 19 July 2025) and the 11-sub scale it replaced (5 August 2017 to 18 July 2025).

Density is pounds per cubic foot of one handling unit: weight / (L x W x H / 1,728), with
L, W, H the greatest dimensions in inches, pallet and overhang included. Each band takes
its lower bound and not its upper one ("8 but less than 10"), so a pallet at exactly
8 pcf is class 100 and one at 7.999 pcf class 125. The comparison at a break is exact:
densities are computed in floating point for every unit at once, and any unit within a
relative 1e-9 of a break is decided again in exact rational arithmetic, so that decimal
dimensions (46.375 in) never fall on the wrong side. Facts and sources:
../shared/reference/freight.md (sections 2 to 4 and 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

CUBIC_INCHES_PER_FOOT = 1728
Rounding = Literal["exact", "ceil", "nearest"]
ROUNDINGS: tuple[Rounding, ...] = ("exact", "ceil", "nearest")


@dataclass(frozen=True)
class DensityScale:
    """A density scale: bands (lower bound in pcf, inclusive; class), densest first, and
    the dates it applies to (``effective_to`` None: still in force)."""

    scale_id: str
    effective_from: date
    effective_to: date | None
    bands: tuple[tuple[Fraction, str], ...]

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def band_of(self, pcf: Fraction) -> int:
        """The band an exact density falls in: the first (densest) whose lower bound it
        reaches."""
        return next(i for i, (lower, _) in enumerate(self.bands) if pcf >= lower)

    @property
    def lowest_density_class(self) -> str:
        """The class of the lightest band: what a unit whose density cannot be established
        takes (NMFC Item 170)."""
        return self.bands[-1][1]


def _bands(*pairs: tuple[str, str]) -> tuple[tuple[Fraction, str], ...]:
    return tuple((Fraction(lower), freight_class) for lower, freight_class in pairs)


NMFC_13SUB_2025_1 = DensityScale(
    "nmfc_13sub_2025_1",
    date(2025, 7, 19),
    None,
    _bands(
        ("50", "50"), ("35", "55"), ("30", "60"), ("22.5", "65"), ("15", "70"), ("12", "85"),
        ("10", "92.5"), ("8", "100"), ("6", "125"), ("4", "175"), ("2", "250"), ("1", "300"),
        ("0", "400"),
    ),
)  # fmt: skip
NMFC_11SUB_2017 = DensityScale(
    "nmfc_11sub_2017",
    date(2017, 8, 5),
    date(2025, 7, 18),
    _bands(
        ("30", "60"), ("22.5", "65"), ("15", "70"), ("12", "85"), ("10", "92.5"), ("8", "100"),
        ("6", "125"), ("4", "175"), ("2", "250"), ("1", "300"), ("0", "400"),
    ),
)  # fmt: skip
SCALES: tuple[DensityScale, ...] = (NMFC_13SUB_2025_1, NMFC_11SUB_2017)


def scale_on(on: date) -> DensityScale:
    """The scale in force on ``on`` (a ship or pickup date)."""
    for scale in SCALES:
        if scale.in_force(on):
            return scale
    first = min(s.effective_from for s in SCALES)
    raise ParameterError(
        "ship_date",
        f"{on.isoformat()} is before {first.isoformat()}, the first density scale on file",
    )


@dataclass(frozen=True)
class Classified:
    """Per handling unit: cube, density and class, and the scale that gave the class.
    ``density_known`` is False where a dimension or the weight is missing or zero: such a
    unit takes its scale's lightest class (NMFC Item 170) and its density is NaN."""

    cubic_feet: NDArray[np.float64]
    density_pcf: NDArray[np.float64]
    freight_class: NDArray[np.str_]
    scale_id: NDArray[np.str_]
    density_known: NDArray[np.bool_]


def round_dimensions(inches: NDArray[np.float64], rounding: Rounding) -> NDArray[np.float64]:
    """Dimensions as the carrier's rule takes them: as measured, each side up to the next
    inch, or to the nearest inch (half up); see the reference, section 4.3."""
    if rounding == "exact":
        return inches
    if rounding == "ceil":
        return np.ceil(inches)
    if rounding == "nearest":
        return np.floor(inches + 0.5)
    raise ParameterError("rounding", f"one of {', '.join(ROUNDINGS)}, got {rounding!r}")


def classify(
    length_in: NDArray[np.float64],
    width_in: NDArray[np.float64],
    height_in: NDArray[np.float64],
    weight_lb: NDArray[np.float64],
    ship_date: NDArray[np.datetime64] | None = None,
    *,
    today: date | None = None,
    rounding: Rounding = "exact",
) -> Classified:
    """Density class of every handling unit, all at once.

    A NaN or zero dimension or weight: density unknown. ``ship_date`` (days; NaT or None:
    ``today``) picks each unit's scale. A measure is taken at its shortest decimal form
    (46.375 is exactly 46 3/8), which decides units that sit on a break."""
    measures = [
        np.asarray(m, dtype=np.float64) for m in (length_in, width_in, height_in, weight_lb)
    ]
    sides = [round_dimensions(m, rounding) for m in measures[:3]]
    weight = measures[3]
    n = weight.shape[0]
    names = ("length_in", "width_in", "height_in", "weight_lb")
    for name, values in zip(names, [*sides, weight], strict=True):
        if values.shape != (n,):
            raise ParameterError(name, f"one value per unit: {n} weights, {values.shape[0]} here")
        if np.any(values < 0):
            raise ParameterError(name, f"must be >= 0 (unit {int(np.argmax(values < 0)) + 1})")
    cubic_feet = sides[0] * sides[1] * sides[2] / CUBIC_INCHES_PER_FOOT
    known = np.isfinite(cubic_feet) & np.isfinite(weight) & (cubic_feet > 0) & (weight > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(known, weight / cubic_feet, np.nan)

    today_day = np.datetime64(today or date.today(), "D")
    days = (
        np.full(n, today_day)
        if ship_date is None
        else np.where(np.isnat(ship_date), today_day, ship_date.astype("datetime64[D]"))
    )
    freight_class = np.empty(n, dtype=object)
    scale_id = np.empty(n, dtype=object)
    covered = np.zeros(n, dtype=bool)
    for scale in SCALES:
        rows = days >= np.datetime64(scale.effective_from, "D")
        if scale.effective_to is not None:
            rows &= days <= np.datetime64(scale.effective_to, "D")
        if not rows.any():
            continue
        covered |= rows
        scale_id[rows] = scale.scale_id
        freight_class[rows] = _classes(
            density[rows],
            known[rows],
            scale,
            [m[rows] for m in measures],
            rounding,
        )
    if not covered.all():
        first = int(np.argmin(covered))
        scale_on(days[first].astype(date))  # raises, naming the date
    return Classified(
        cubic_feet=cubic_feet,
        density_pcf=density,
        freight_class=freight_class.astype(str),
        scale_id=scale_id.astype(str),
        density_known=known,
    )


def _classes(
    density: NDArray[np.float64],
    known: NDArray[np.bool_],
    scale: DensityScale,
    measures: list[NDArray[np.float64]],
    rounding: Rounding,
) -> NDArray[np.object_]:
    """Classes on one scale: floating point for all, exact arithmetic near the breaks."""
    lowers = np.array([float(lower) for lower, _ in scale.bands])  # densest first
    names = np.array([c for _, c in scale.bands], dtype=object)
    reached = np.nan_to_num(density, nan=-1.0)[:, None] >= lowers[None, :]
    band = np.argmax(reached, axis=1)  # the first (densest) band the density reaches
    near = known & np.any(
        np.abs(density[:, None] - lowers[None, :]) <= 1e-9 * np.maximum(lowers[None, :], 1.0),
        axis=1,
    )
    for k in np.flatnonzero(near):
        length, width, height, weight = (_decimal(m[k]) for m in measures)
        pcf = exact_density(length, width, height, weight, rounding)
        band[k] = scale.band_of(pcf)
    classes: NDArray[np.object_] = names[band]
    classes[~known] = scale.lowest_density_class
    return classes


def _decimal(value: float) -> Fraction:
    """A measure at its shortest decimal form: 46.375 -> 371/8, 0.1 -> 1/10."""
    return Fraction(Decimal(repr(float(value))))


def exact_density(
    length_in: Fraction,
    width_in: Fraction,
    height_in: Fraction,
    weight_lb: Fraction,
    rounding: Rounding = "exact",
) -> Fraction:
    """Pounds per cubic foot in exact rational arithmetic (the reference computation)."""
    sides = []
    for side in (length_in, width_in, height_in):
        if rounding == "ceil":
            side = Fraction(-((-side.numerator) // side.denominator))
        elif rounding == "nearest":
            side = Fraction((2 * side.numerator + side.denominator) // (2 * side.denominator))
        sides.append(side)
    return weight_lb * CUBIC_INCHES_PER_FOOT / (sides[0] * sides[1] * sides[2])


def class_of_density(pcf: Fraction | Decimal | str | float, on: date) -> str:
    """The class of one density (pcf) on the scale in force on ``on``: exact."""
    value = Fraction(Decimal(str(pcf)))
    if value < 0:
        raise ParameterError("density_pcf", f"must be >= 0, got {pcf}")
    scale = scale_on(on)
    return scale.bands[scale.band_of(value)][1]
