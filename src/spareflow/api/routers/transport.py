"""Freight: NMFC density classes of handling units, LTL rating and the cheaper of LTL and
truckload (no store, no site: pure reckoning)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter
from numpy.typing import ArrayLike
from pydantic import Field, ValidationInfo, field_validator

from spareflow.api.deps import Ctx, User
from spareflow.api.schemas import Dec, Id, In, Out
from spareflow.errors import ParameterError
from spareflow.transport import FTL_MINIMUM, FTL_RATE_PER_MILE

router = APIRouter(tags=["freight"])
Inches = Annotated[float, Field(gt=0, le=10_000)]
NmfcClass = Literal[
    "50", "55", "60", "65", "70", "77.5", "85", "92.5", "100", "110", "125", "150", "175",
    "200", "250", "300", "400", "500",
]  # fmt: skip


class HandlingUnitIn(In):
    unit_id: Id
    length_in: Inches
    width_in: Inches
    height_in: Inches
    weight_lb: Annotated[float, Field(gt=0, le=1_000_000)]
    ship_date: date | None = None


class FreightClassIn(In):
    units: Annotated[list[HandlingUnitIn], Field(min_length=1, max_length=10_000)]
    rounding: Literal["exact", "ceil", "nearest"] = "exact"


class FreightClassOut(Out):
    unit_id: str
    cubic_feet: float
    density_pcf: float | None  # None: a side rounds to 0 (the lightest class, NMFC Item 170)
    freight_class: str
    scale_id: str


@router.post("/freight-class", response_model=list[FreightClassOut])
def freight_class(body: FreightClassIn, who: User) -> list[FreightClassOut]:
    """The NMFC density class of each handling unit: the 13-sub scale of Docket 2025-1
    for units shipped from 19 July 2025, the 11-sub scale before (``ship_date``; today
    when absent). Densities in pounds per cubic foot."""
    from spareflow.transport.freight import classify

    units = body.units

    def column(name: str) -> np.ndarray:
        return np.array([getattr(u, name) for u in units], dtype=np.float64)

    ship = np.array(
        [np.datetime64(u.ship_date, "D") if u.ship_date else np.datetime64("NaT") for u in units],
        dtype="datetime64[D]",
    )
    result = classify(
        column("length_in"),
        column("width_in"),
        column("height_in"),
        column("weight_lb"),
        ship,
        rounding=body.rounding,
    )
    return [
        FreightClassOut(
            unit_id=u.unit_id,
            cubic_feet=round(float(result.cubic_feet[k]), 4),
            density_pcf=round(float(result.density_pcf[k]), 4) if result.density_known[k] else None,
            freight_class=str(result.freight_class[k]),
            scale_id=str(result.scale_id[k]),
        )
        for k, u in enumerate(units)
    ]


class RateLineIn(In):
    """A handling unit or freight line of a shipment: the class as given, else from the
    density of its dimensions on the scale in force on ``ship_date`` (today if absent)."""

    shipment_id: Id
    lane: Id
    weight_lb: Annotated[float, Field(gt=0, le=1_000_000)]
    freight_class: NmfcClass | None = None
    length_in: Annotated[Inches | None, Field(validate_default=True)] = None
    width_in: Annotated[Inches | None, Field(validate_default=True)] = None
    height_in: Annotated[Inches | None, Field(validate_default=True)] = None
    ship_date: date | None = None
    accessorials: Annotated[list[Id], Field(max_length=20)] = Field(default_factory=list)
    miles: Annotated[float | None, Field(ge=0, le=20_000)] = None

    @field_validator("length_in", "width_in", "height_in")
    @classmethod
    def _needed_without_a_class(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None and "freight_class" in info.data and info.data["freight_class"] is None:
            raise ValueError("needed when freight_class is not given (class from density)")
        return value


class RateIn(In):
    lines: Annotated[list[RateLineIn], Field(min_length=1, max_length=10_000)]
    rounding: Literal["exact", "ceil", "nearest"] = "exact"
    ftl_rate_per_mile: Annotated[float, Field(gt=0, le=1_000)] = FTL_RATE_PER_MILE
    ftl_minimum: Annotated[float, Field(ge=0, le=1_000_000)] = FTL_MINIMUM


class RateOut(Out):
    shipment_id: str
    lane: str
    lines: int
    weight_lb: float
    billed_weight_lb: float  # above weight_lb: rated at a heavier group's minimum (deficit)
    gross: Dec
    net_linehaul: Dec  # after discount, at least the lane's minimum charge
    fuel: Dec
    accessorials: Dec
    total: Dec
    minimum_applied: bool
    ftl_total: Dec | None  # None: no miles, or the load does not fit one trailer
    cheapest_mode: Literal["ltl", "ftl"]
    cheapest_total: Dec
    sample_rates: bool  # True: a sample tariff (the shipped one), invented rates never to quote


def _cents(value: float) -> Decimal:
    """Money to the cent, rounded as ``spareflow rate`` rounds it."""
    return Decimal(f"{np.round(value, 2):.2f}")


@router.post("/rate", response_model=list[RateOut])
def rate(body: RateIn, ctx: Ctx, who: User) -> list[RateOut]:
    """LTL charge of each shipment (its lines by ``shipment_id``) from the server's
    class-rate tariff (``SPAREFLOW_TARIFF``, else the SAMPLE one: ``sample_rates``):
    deficit weight, mixed classes, discount, minimum charges, FAK, fuel and accessorials
    once per shipment; with ``miles``, the truckload price too and the cheaper mode."""
    from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
    from spareflow.transport.freight import (
        SCALES,
        classify,
    )
    from spareflow.transport.modes import FtlTariff, cheapest_mode
    from spareflow.transport.quote import cubic_feet, lane_index, number_shipments, truckload
    from spareflow.transport.rating import class_index, rate_ltl

    tariff = load_tariff(ctx.settings.tariff_path or SAMPLE_TARIFF)
    lines = body.lines

    def column(name: str) -> np.ndarray:
        return np.array([getattr(u, name) for u in lines], dtype=np.float64)  # None: NaN

    def refuse(bad: ArrayLike, field: str, message: Callable[[int], str]) -> None:
        """Name the first line ``k`` where ``bad`` holds, and its field (as pydantic does)."""
        mask = np.asarray(bad, dtype=bool)
        if mask.any():
            k = int(np.argmax(mask))
            raise ParameterError(f"lines[{k}].{field}", message(k))

    weight, miles = column("weight_lb"), column("miles")
    sides = [column(c) for c in ("length_in", "width_in", "height_in")]
    ids = np.array([u.shipment_id for u in lines])
    shipment, first = number_shipments(ids)
    lead = first[shipment]  # each line's shipment's first line
    names = np.array([u.lane for u in lines])
    refuse(
        names != names[lead],
        "lane",
        lambda k: f"one lane per shipment: {names[k]}, but lines[{lead[k]}] is on {names[lead[k]]}",
    )
    same = (miles == miles[lead]) | (np.isnan(miles) & np.isnan(miles[lead]))
    refuse(
        ~same,
        "miles",
        lambda k: (
            f"one distance per shipment: {miles[k]:g}, but lines[{lead[k]}] has {miles[lead[k]]:g}"
        ),
    )
    lane, known_lane = lane_index(tariff, names)
    shown = ", ".join(tariff.lanes[:5]) + (", ..." if len(tariff.lanes) > 5 else "")
    refuse(
        ~known_lane,
        "lane",
        lambda k: (
            f"{str(names[k])!r} is not a lane of the tariff ({len(tariff.lanes)} lanes: {shown})"
        ),
    )

    classes = np.array([u.freight_class or "" for u in lines], dtype=object)
    derived = classes == ""
    if derived.any():
        today = date.today()
        ship = np.array([np.datetime64(u.ship_date or today, "D") for u in lines])
        start = np.datetime64(min(scale.effective_from for scale in SCALES), "D")
        refuse(
            derived & (ship < start),
            "ship_date",
            lambda k: f"{ship[k]} is before {start}, the first density scale on file",
        )
        length, width, height = (side[derived] for side in sides)
        found = classify(
            length, width, height, weight[derived], ship[derived], rounding=body.rounding
        )
        classes[derived] = found.freight_class
    freight_class = class_index(classes.astype(str), tariff.fak)
    no_rate = np.isnan(tariff.rates[lane, freight_class, :]).any(axis=1)

    def no_rate_for(k: int) -> str:
        how = " (class from density)" if derived[k] else ""
        fak = f" (rated as {tariff.fak[classes[k]]}, FAK)" if classes[k] in tariff.fak else ""
        return f"no rate for class {classes[k]}{how}{fak} on lane {names[k]}"

    refuse(no_rate, "freight_class", no_rate_for)
    offered = set(tariff.accessorials)
    unknown = [sorted(set(u.accessorials) - offered) for u in lines]
    refuse(
        [bool(x) for x in unknown],
        "accessorials",
        lambda k: f"{', '.join(unknown[k])}: not in the tariff ({', '.join(sorted(offered))})",
    )
    charged: list[set[str]] = [set() for _ in first]
    for s, u in zip(shipment, lines, strict=True):
        charged[s].update(u.accessorials)

    rated = rate_ltl(tariff, shipment, lane, freight_class, weight, [sorted(c) for c in charged])
    count = np.bincount(shipment, minlength=first.size)
    cube = cubic_feet(shipment, sides, body.rounding, first.size)
    ftl = FtlTariff(rate_per_mile=body.ftl_rate_per_mile, minimum_charge=body.ftl_minimum)
    ftl_total = truckload(miles[first], rated.weight_lb, count.astype(np.float64), cube, ftl)
    mode, price = cheapest_mode({"ltl": rated.total, "ftl": ftl_total})
    return [
        RateOut(
            shipment_id=str(ids[k]),
            lane=str(names[k]),
            lines=int(count[s]),
            weight_lb=float(rated.weight_lb[s]),
            billed_weight_lb=float(rated.billed_weight_lb[s]),
            gross=_cents(rated.gross[s]),
            net_linehaul=_cents(rated.net_linehaul[s]),
            fuel=_cents(rated.fuel[s]),
            accessorials=_cents(rated.accessorials[s]),
            total=_cents(rated.total[s]),
            minimum_applied=bool(rated.floor_applied[s]),
            ftl_total=_cents(ftl_total[s]) if np.isfinite(ftl_total[s]) else None,
            cheapest_mode=mode[s],
            cheapest_total=_cents(price[s]),
            sample_rates=tariff.sample,
        )
        for s, k in enumerate(first)
    ]
