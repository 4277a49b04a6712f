"""LTL rating from a class-rate tariff: rate per hundredweight (CWT) by lane, class and
weight group; deficit-weight rating; mixed classes; discount; minimum and absolute
minimum charge; FAK; fuel surcharge; accessorials (../shared/reference/freight.md,
section 8).

Vectorised over shipment lines: every line is rated in every weight group of its
shipment at once (arrays lines x groups), and shipments are summed with ``bincount``.

Mixed classes (section 8.4): each line pays its own class's rate, in the weight group of
the whole shipment; billing at a heavier group's minimum weight charges the missing
weight at the lowest rate in the shipment, and the lowest of all these charges applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

#: The 18 NMFC classes, as strings (never integers: 77.5 and 92.5).
CLASSES: tuple[str, ...] = (
    "50", "55", "60", "65", "70", "77.5", "85", "92.5", "100", "110", "125", "150", "175",
    "200", "250", "300", "400", "500",
)  # fmt: skip


@dataclass(frozen=True)
class ClassRateTariff:
    """Rates per CWT: ``rates[lane, class, group]`` for ``lanes`` x ``CLASSES`` x
    ``breaks_lb`` (lower bound of each weight group, ascending, the first 0). NaN: no
    rate (that class is not rated on that lane)."""

    name: str
    lanes: tuple[str, ...]
    breaks_lb: NDArray[np.float64]
    rates: NDArray[np.float64]
    minimum_charge: NDArray[np.float64]  # per lane, after discount
    absolute_minimum_charge: NDArray[np.float64]  # per lane
    discount: float = 0.0  # share off the gross linehaul
    fak: dict[str, str] = field(default_factory=dict)  # actual class -> rated class
    fuel_surcharge: float = 0.0  # share of the net linehaul
    accessorials: dict[str, float] = field(default_factory=dict)
    sample: bool = False

    def __post_init__(self) -> None:
        shape = (len(self.lanes), len(CLASSES), len(self.breaks_lb))
        if self.rates.shape != shape:
            raise ParameterError("rates", f"shape {shape} expected, got {self.rates.shape}")
        if self.breaks_lb[0] != 0 or np.any(np.diff(self.breaks_lb) <= 0):
            raise ParameterError("breaks_lb", "ascending weight breaks starting at 0")
        if not 0 <= self.discount < 1:
            raise ParameterError("discount", f"a share in [0, 1), got {self.discount}")
        for actual, rated in self.fak.items():
            for c in (actual, rated):
                if c not in CLASSES:
                    raise ParameterError("fak", f"{c!r} is not an NMFC class")
        if np.nanmin(self.rates, initial=0.0) < 0:
            raise ParameterError("rates", "rates per CWT must be >= 0")

    def lane_index(self, lanes: list[str] | NDArray[np.str_]) -> NDArray[np.intp]:
        index = {lane: i for i, lane in enumerate(self.lanes)}
        try:
            return np.array([index[str(lane)] for lane in lanes], dtype=np.intp)
        except KeyError as exc:
            raise ParameterError("lane", f"no rates for lane {exc.args[0]!r}") from None


@dataclass(frozen=True)
class Rated:
    """Per shipment: billed weight (actual or a heavier group's minimum), gross and net
    linehaul, the floor applied, fuel, accessorials and the total."""

    weight_lb: NDArray[np.float64]
    billed_weight_lb: NDArray[np.float64]
    gross: NDArray[np.float64]
    net_linehaul: NDArray[np.float64]
    fuel: NDArray[np.float64]
    accessorials: NDArray[np.float64]
    total: NDArray[np.float64]
    floor_applied: NDArray[np.bool_]


def class_index(classes: list[str] | NDArray[np.str_], fak: dict[str, str]) -> NDArray[np.intp]:
    """Positions in ``CLASSES`` of the classes rated (after the FAK mapping); each
    distinct class is looked up once, whatever the number of lines."""
    names = np.asarray(classes).astype(str)
    distinct, inverse = np.unique(names, return_inverse=True)
    position = {c: i for i, c in enumerate(CLASSES)}
    rated = np.array([position.get(fak.get(c, c), -1) for c in distinct.tolist()], np.intp)
    out: NDArray[np.intp] = rated[inverse.reshape(-1)]
    if np.any(out < 0):
        k = int(np.argmax(out < 0))
        bad = str(names[k])
        raise ParameterError("freight_class", f"line {k + 1}: {bad!r} is not an NMFC class")
    return out


def rate_ltl(
    tariff: ClassRateTariff,
    shipment: NDArray[np.intp],
    lane: NDArray[np.intp],
    freight_class: NDArray[np.intp],
    weight_lb: NDArray[np.float64],
    accessorials: list[list[str]] | None = None,
) -> Rated:
    """Rate shipments given as lines: ``shipment`` numbers each line's shipment (0..S-1),
    ``lane`` its lane (index in ``tariff.lanes``, the same on every line of a shipment),
    ``freight_class`` its class index (see :func:`class_index`) and ``weight_lb`` its
    weight. ``accessorials``: per shipment, the names of the services charged."""
    shipment = np.asarray(shipment, dtype=np.intp)
    weight = np.asarray(weight_lb, dtype=np.float64)
    if np.any(weight <= 0) or not np.all(np.isfinite(weight)):
        k = int(np.argmax(~(weight > 0) | ~np.isfinite(weight)))
        raise ParameterError("weight_lb", f"line {k + 1}: must be above zero")
    n_ship = int(shipment.max()) + 1 if shipment.size else 0
    total_w = np.bincount(shipment, weights=weight, minlength=n_ship).astype(np.float64)
    ship_lane = np.zeros(n_ship, dtype=np.intp)
    ship_lane[shipment] = lane
    if np.any(ship_lane[shipment] != lane):
        raise ParameterError("lane", "every line of a shipment must be on the same lane")

    breaks = tariff.breaks_lb
    line_rates = tariff.rates[lane, freight_class, :]  # lines x groups
    if np.any(np.isnan(line_rates)):
        k = int(np.argmax(np.isnan(line_rates).any(axis=1)))
        raise ParameterError(
            "freight_class",
            f"line {k + 1}: no rate for class {CLASSES[freight_class[k]]} on lane "
            f"{tariff.lanes[lane[k]]}",
        )
    own_group = np.searchsorted(breaks, total_w, side="right") - 1  # per shipment
    n_groups = breaks.size
    # charge of every shipment in every group: its lines at that group's rates
    charges = np.zeros((n_ship, n_groups))
    lowest = np.full((n_ship, n_groups), np.inf)
    for g in range(n_groups):  # a handful of weight groups; vectorised over lines
        charges[:, g] = np.bincount(
            shipment, weights=weight / 100 * line_rates[:, g], minlength=n_ship
        )
        np.minimum.at(lowest[:, g], shipment, line_rates[:, g])
    deficit = np.maximum(breaks[None, :] - total_w[:, None], 0.0)
    candidates = charges + deficit / 100 * lowest
    allowed = np.arange(n_groups)[None, :] >= own_group[:, None]  # own group or heavier
    candidates = np.where(allowed, candidates, np.inf)
    best = np.argmin(candidates, axis=1)
    gross = candidates[np.arange(n_ship), best]
    billed = np.maximum(total_w, breaks[best])

    net = gross * (1.0 - tariff.discount)
    floor = np.maximum(tariff.minimum_charge[ship_lane], tariff.absolute_minimum_charge[ship_lane])
    floor_applied = net < floor
    net = np.maximum(net, floor)
    fuel = net * tariff.fuel_surcharge
    extra = np.zeros(n_ship)
    if accessorials is not None:
        for s, names in enumerate(accessorials):
            for name in names:
                if name not in tariff.accessorials:
                    raise ParameterError(
                        "accessorials",
                        f"shipment {s + 1}: {name!r} is not in the tariff "
                        f"({', '.join(sorted(tariff.accessorials))})",
                    )
                extra[s] += tariff.accessorials[name]
    return Rated(
        weight_lb=total_w,
        billed_weight_lb=billed,
        gross=gross,
        net_linehaul=net,
        fuel=fuel,
        accessorials=extra,
        total=net + fuel + extra,
        floor_applied=floor_applied,
    )
