"""The system view: investment against aggregate fill rate across all item-sites
(Sherbrooke 2004, ch. 2: marginal analysis), and the plan that fits a budget.

Each item-site keeps its order quantity; its reorder point moves on a grid from -1 in
``STEPS`` equal steps (one unit per step, or several for parts whose target needs a
high reorder point) up to beyond the target's. Each step buys expected on hand (its cost:
the extra stock value) and units filled per year (its gain, times the criticality
weight). ``stock.optimise.efficient_curve`` orders all steps of all item-sites by gain
per cost on their concave hulls; a budget is met at the last curve point within it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.stock.optimise import Curve, curve_points, efficient_curve, steps_for_budget
from spareflow.stock.policy import DAYS_PER_YEAR, PolicyGrid, StockInputs

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Grid steps per item-site, and reorder points beyond the target's that the grid covers.
STEPS = 48
HEADROOM = 8


@dataclass(frozen=True)
class SystemCurve:
    """The efficient curve and what maps it back to item-sites and to fill rates.

    ``stride``: reorder-point units per step; the grid is ``-1 + stride * k``.
    ``base_value`` / ``base_filled``: stock value and weighted units filled per year
    with every reorder point at -1; ``weight_total``: weighted demand per year.
    """

    curve: Curve
    stride: I64
    base_value: float
    base_filled: float
    weight_total: float

    def reorder_points(self, steps: I64) -> I64:
        return np.asarray(-1 + self.stride * steps, dtype=np.int64)

    def points(self, n: int = 200) -> dict[str, list[float]]:
        """About ``n`` points: total investment and weighted aggregate fill rate."""
        sample = curve_points(self.curve, n)
        invest = self.base_value + sample.investment
        fill = (self.base_filled + sample.benefit) / max(self.weight_total, 1e-300)
        return {"investment": invest.tolist(), "fill_rate": fill.tolist()}


def system_curve(inputs: StockInputs, grid: PolicyGrid, weights: F64) -> SystemCurve:
    """The curve over each item-site's reorder-point grid (``grid``, from
    :func:`stock.policy.policies_with_grid` with ``STEPS`` and ``HEADROOM``)."""
    fill, on_hand = grid.fill_rate, grid.on_hand
    demand = np.maximum(np.nan_to_num(inputs.mean_per_day), 0.0) * DAYS_PER_YEAR
    w = np.asarray(weights, dtype=np.float64) * demand
    unit = np.maximum(np.nan_to_num(inputs.unit_cost), 0.0)
    gain = w[:, None] * np.diff(fill, axis=1)
    extra = np.diff(on_hand, axis=1)
    cost = np.maximum(extra, 1e-9) * np.maximum(unit, 1e-9)[:, None]
    curve = efficient_curve(np.maximum(gain, 0.0), cost)
    return SystemCurve(
        curve=curve,
        stride=grid.stride,
        base_value=float((on_hand[:, 0] * unit).sum()),
        base_filled=float((w * fill[:, 0]).sum()),
        weight_total=float(w.sum()),
    )


def reorder_points_for_budget(system: SystemCurve, budget: float) -> I64:
    """Reorder points at the last curve point whose total stock value is within
    ``budget`` (currency); all at -1 if even that is over it."""
    steps = steps_for_budget(system.curve, max(budget - system.base_value, 0.0))
    return system.reorder_points(steps)
