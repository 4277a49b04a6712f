"""The system view: investment against aggregate fill rate across all item-sites
(Sherbrooke 2004, ch. 2: marginal analysis), and the plan that fits a budget.

Each item-site keeps its order quantity; its reorder point moves on a grid from -1 in
``STEPS`` equal steps (one unit per step, or several for parts whose target needs a
high reorder point) up to beyond the target's. Each step buys expected on hand (its cost:
the extra stock value) and units filled per year (its gain, times the criticality
weight). ``stock.optimise.hull_segments`` turns each item-site's steps into the segments
of its concave hull, whose gain per cost never rises.

Greedy marginal analysis takes the segments of all item-sites by gain per cost, best
first (Fox 1966). Its curve is traced here by the Lagrange multiplier instead of a
global sort (Everett 1963): at multiplier ``lambda`` every item-site takes exactly its
hull segments with ratio >= lambda, and that allocation is an exact point of the greedy
curve, the most benefit for its investment. The multipliers are a fixed log grid,
``PER_DECADE`` levels per decade (ratios 2.3 % apart) from ``10**RATIO_LOW`` to
``10**RATIO_HIGH`` units filled per year per currency; a segment counts in the bin of
its ratio, so the curve is a sum over item-sites of per-bin money and benefit. That sum
is what partitions of item-sites merge (``CurvePart.merge``): the same curve, to the
last bit, however the item-sites are split. A budget is met at the costliest level
within it: an exact curve point, short of the budget by at most one bin's segments.
Segments worth less than ``10**RATIO_LOW`` units per currency are never bought.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.stock.optimise import HullSegments, hull_segments
from spareflow.stock.policy import DAYS_PER_YEAR, PolicyGrid, StockInputs

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Grid steps per item-site, and reorder points beyond the target's that the grid covers.
STEPS = 48
HEADROOM = 8

#: The multiplier grid: 10 ** (RATIO_LOW + j / PER_DECADE), j = 0 .. BINS - 1.
RATIO_LOW = -16
RATIO_HIGH = 12
PER_DECADE = 100
BINS = (RATIO_HIGH - RATIO_LOW) * PER_DECADE


def ratio_bins(ratio: F64) -> NDArray[np.int32]:
    """The bin of each gain-per-cost ratio: j with 10**(RATIO_LOW + j/PER_DECADE) <=
    ratio (the top bin takes everything above the grid); -1 for none (ratio <= 0, NaN or
    below the grid)."""
    r = np.asarray(ratio, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.floor((np.log10(r) - RATIO_LOW) * PER_DECADE)
    b = np.where(r > 0, np.clip(np.nan_to_num(b, nan=-1.0, neginf=-1.0), -1, BINS - 1), -1)
    return b.astype(np.int32)


@dataclass(frozen=True)
class CurvePart:
    """The curve's sums over some item-sites: per bin the investment (currency) and
    weighted units filled per year of their segments in that bin; stock value and units
    filled with every reorder point at -1; weighted demand per year. Parts of disjoint
    item-sites add up (``merge``)."""

    investment: F64
    benefit: F64
    base_value: float
    base_filled: float
    weight_total: float

    def merge(self, other: CurvePart) -> CurvePart:
        return CurvePart(
            self.investment + other.investment,
            self.benefit + other.benefit,
            self.base_value + other.base_value,
            self.base_filled + other.base_filled,
            self.weight_total + other.weight_total,
        )


@dataclass(frozen=True)
class SystemCurve:
    """The efficient curve over all item-sites at every multiplier level: level j takes
    every segment in bins >= j (level ``BINS``: none, every reorder point at -1)."""

    investment: F64  # (BINS + 1,) total stock value at each level
    filled: F64  # (BINS + 1,) weighted units filled per year at each level
    weight_total: float

    @classmethod
    def from_parts(cls, parts: list[CurvePart]) -> SystemCurve:
        total = parts[0]
        for p in parts[1:]:
            total = total.merge(p)
        invest = np.concatenate([np.cumsum(total.investment[::-1])[::-1], [0.0]])
        benefit = np.concatenate([np.cumsum(total.benefit[::-1])[::-1], [0.0]])
        return cls(total.base_value + invest, total.base_filled + benefit, total.weight_total)

    @property
    def fill_rate(self) -> F64:
        """Weighted aggregate fill rate at each level."""
        return self.filled / max(self.weight_total, 1e-300)

    def level_for_budget(self, budget: float) -> int:
        """The costliest level whose total stock value is within ``budget`` (currency);
        ``BINS`` (every reorder point at -1) when even that is over it."""
        within = np.flatnonzero(self.investment <= budget)
        return int(within[0]) if within.size else BINS

    def points(self, n: int = 200) -> dict[str, list[float]]:
        """At most ``n`` distinct curve points, cheapest first: total investment and
        weighted aggregate fill rate (half spaced evenly in money, half in level)."""
        invest = self.investment[::-1]
        fill = self.fill_rate[::-1]
        keep = np.concatenate([[True], np.diff(invest) > 0])
        invest, fill = invest[keep], fill[keep]
        last = invest.size - 1
        by_money = np.searchsorted(invest, np.linspace(invest[0], invest[-1], n // 2), "right")
        by_index = np.rint(np.linspace(0, last, n - n // 2)).astype(np.int64)
        pick = np.unique(np.concatenate([np.maximum(by_money - 1, 0), by_index, [0, last]]))
        return {"investment": invest[pick].tolist(), "fill_rate": fill[pick].tolist()}


def _steps(inputs: StockInputs, grid: PolicyGrid, weights: F64) -> tuple[F64, F64, F64, F64]:
    """Each grid step's gain (weighted units filled per year) and cost (currency), and
    the item-sites' weighted demand per year and unit cost."""
    fill, on_hand = grid.fill_rate, grid.on_hand
    demand = np.maximum(np.nan_to_num(inputs.mean_per_day), 0.0) * DAYS_PER_YEAR
    w = np.asarray(weights, dtype=np.float64) * demand
    unit = np.maximum(np.nan_to_num(inputs.unit_cost), 0.0)
    gain = np.maximum(w[:, None] * np.diff(fill, axis=1), 0.0)
    cost = np.maximum(np.diff(on_hand, axis=1), 1e-9) * np.maximum(unit, 1e-9)[:, None]
    return gain, cost, w, unit


def _hull(inputs: StockInputs, grid: PolicyGrid, weights: F64) -> tuple[HullSegments, F64, F64]:
    gain, cost, w, unit = _steps(inputs, grid, weights)
    return hull_segments(gain, cost), w, unit


def curve_part(inputs: StockInputs, grid: PolicyGrid, weights: F64) -> CurvePart:
    """The curve sums of these item-sites (``grid`` from
    :func:`stock.policy.policies_with_grid` with ``STEPS`` and ``HEADROOM``)."""
    hull, w, unit = _hull(inputs, grid, weights)
    bins = ratio_bins(hull.ratio)
    used = bins >= 0
    money = np.bincount(bins[used], weights=hull.cost[used], minlength=BINS).astype(np.float64)
    filled = np.bincount(bins[used], weights=hull.gain[used], minlength=BINS).astype(np.float64)
    return CurvePart(
        investment=money,
        benefit=filled,
        base_value=float((grid.on_hand[:, 0] * unit).sum()),
        base_filled=float((w * grid.fill_rate[:, 0]).sum()),
        weight_total=float(w.sum()),
    )


def reorder_points_at_level(inputs: StockInputs, grid: PolicyGrid, weights: F64, level: int) -> I64:
    """Each item-site's reorder point at curve level ``level``: the end of its last hull
    segment in a bin >= ``level`` (-1 where it has none)."""
    hull, _, _ = _hull(inputs, grid, weights)
    taken = (ratio_bins(hull.ratio) >= level).sum(axis=1)  # a prefix: ratios never rise
    steps = taken.astype(np.int64)
    if hull.vertex is not None:
        rows = np.flatnonzero(taken)
        steps[rows] = hull.vertex[rows, taken[rows] - 1]
    return np.asarray(-1 + grid.stride * steps, dtype=np.int64)
