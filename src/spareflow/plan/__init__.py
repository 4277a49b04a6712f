"""Orchestration: a planning dataset in, the engines called, the plan out.

``demand``: classes, forecasts and backtest accuracy per item-site. ``stock``: the stock
plan on top of it (policies for service targets, the order to place now, simulation).
"""

from spareflow.plan.demand import (
    DEFAULT_LEVELS,
    PERIODS_PER_YEAR,
    DemandPlan,
    classify_matrix,
    matrix_from_dataset,
)

__all__ = [
    "DEFAULT_LEVELS",
    "PERIODS_PER_YEAR",
    "DemandPlan",
    "classify_matrix",
    "matrix_from_dataset",
]
