"""The plan's work on one partition of item-sites: pure functions of arrays that an
engine (``plan.engine``) maps over partitions, and the merges of their results.

The pipeline is item-site by item-site except where the whole plan must agree, and those
steps run once on the merged results: ``auto``'s fallback method (the best pooled
backtest score), the quantile calibration (pooled over a fixed sample of item-sites), ABC
classes and the system curve (a sum of the partitions' ``CurvePart``). So a plan is the
same whatever engine runs its partitions.

1. ``backtest_part``: the rolling-origin backtest of every ``auto`` candidate.
2. ``stock_part``: forecasts (``auto`` with the plan-wide choice), daily demand, the
   least-stock policy for each target, its service grid and its share of the curve.
3. ``budget_part``: the policies at one level of the system curve (``--budget``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from spareflow.data.periods import DemandMatrix
from spareflow.demand.auto import AutoChoice
from spareflow.demand.backtest import BacktestResult, backtest
from spareflow.demand.forecast import ForecastResult, run_forecast
from spareflow.demand.methods import AUTO_CANDIDATES, MethodParams
from spareflow.plan import engine
from spareflow.plan.budget import (
    HEADROOM,
    STEPS,
    CurvePart,
    curve_part,
    reorder_points_at_level,
)
from spareflow.stock.policy import (
    Policy,
    StockInputs,
    policies_for_targets,
    policies_with_grid,
    protection_demand,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def partitions(n: int, rows: int | None = None) -> list[slice]:
    """Consecutive slices of ``rows`` (default ``engine.PARTITION_ROWS``) item-sites, the
    last maybe shorter."""
    size = rows if rows is not None else engine.PARTITION_ROWS
    return [slice(a, min(a + size, n)) for a in range(0, n, size)]


@dataclass(frozen=True)
class BacktestPart:
    """One partition's demand (series, periods) and the backtest's settings."""

    values: F64
    horizon: int
    origins: int
    step: int
    params: MethodParams
    levels: tuple[float, ...] = ()


def backtest_part(part: BacktestPart) -> BacktestResult:
    """Score every ``auto`` candidate on the partition; quantile coverage at ``levels``
    only for the plan's calibration sample (pooled once, not per partition)."""
    return backtest(
        part.values,
        AUTO_CANDIDATES,
        part.horizon,
        origins=part.origins,
        step=part.step,
        params=part.params,
        levels=part.levels,
    )


def merge_backtests(parts: list[BacktestResult], calibration: BacktestResult) -> BacktestResult:
    """One backtest of all partitions' series (in order); quantile coverage from
    ``calibration``, the backtest of the calibration sample."""
    first = parts[0]
    return BacktestResult(
        methods=first.methods,
        origins=first.origins,
        horizon=first.horizon,
        mae=np.concatenate([p.mae for p in parts]),
        mse=np.concatenate([p.mse for p in parts]),
        bias=np.concatenate([p.bias for p in parts]),
        scale=np.concatenate([p.scale for p in parts]),
        levels=calibration.levels,
        coverage=calibration.coverage,
        forecast_total=np.sum([p.forecast_total for p in parts], axis=0),
        actual_total=np.sum([p.actual_total for p in parts], axis=0),
    )


def take_choice(choice: AutoChoice, rows: slice) -> AutoChoice:
    return AutoChoice(choice.first[rows], choice.second[rows], choice.weight[rows], choice.fallback)


@dataclass(frozen=True)
class StockPart:
    """One partition: its demand matrix, its slice of the plan-wide ``auto`` choice, its
    stock inputs (demand still zero), criticality weights and the forecast settings."""

    matrix: DemandMatrix
    choice: AutoChoice
    inputs: StockInputs
    weights: F64
    horizon: int
    params: MethodParams
    levels: tuple[float, ...]
    days_per_period: float
    installed: F64 | None = None  # demand per day from the installed base; NaN: history


@dataclass(frozen=True)
class StockPartResult:
    """Forecasts of every method, the policies and demand family of each item-site, and
    the partition's share of the system curve."""

    forecast: ForecastResult
    mean_per_day: F64
    variance_per_day: F64
    policy: Policy
    family: NDArray[np.int8]
    curve: CurvePart


def stock_part(part: StockPart) -> StockPartResult:
    """Forecast the partition (``auto`` as chosen plan-wide), turn the forecast into
    daily demand, and choose each item-site's least-stock policy for its target."""
    fc = run_forecast(
        part.matrix,
        ("auto", *AUTO_CANDIDATES),
        part.horizon,
        part.matrix.period,
        part.params,
        part.levels,
        uncertainty=True,
        choice=part.choice,  # the plan-wide backtest is merged in by merge_forecasts
    )
    inputs = with_demand(part.inputs, fc, part.days_per_period, part.installed)
    grid = policies_with_grid(inputs, STEPS, HEADROOM)
    return StockPartResult(
        forecast=fc,
        mean_per_day=inputs.mean_per_day,
        variance_per_day=inputs.variance_per_day,
        policy=grid.policy,
        family=protection_demand(inputs).family.astype(np.int8),
        curve=curve_part(inputs, grid, part.weights),
    )


def with_demand(
    inputs: StockInputs,
    fc: ForecastResult,
    days_per_period: float,
    installed: F64 | None = None,
) -> StockInputs:
    """``inputs`` with daily demand from the ``auto`` forecast: mean / days per period
    and variance / days per period (the periods' demands independent); where
    ``installed`` is a number, the installed base's demand per day instead (variance
    equal to the mean: see ``plan.installed``)."""
    mean = np.nan_to_num(fc.point["auto"]) / days_per_period
    var = np.nan_to_num(fc.variance["auto"]) / days_per_period
    if installed is not None:
        use = np.isfinite(installed)
        mean = np.where(use, installed, mean)
        var = np.where(use, installed, var)
    return replace(inputs, mean_per_day=mean, variance_per_day=var)


@dataclass(frozen=True)
class BudgetPart:
    """One partition's stock inputs (with demand), weights and the curve level."""

    inputs: StockInputs
    weights: F64
    level: int


def budget_part(part: BudgetPart) -> Policy:
    """The (r, Q) policies at curve level ``part.level``: each item-site's reorder point
    at the end of its last hull segment in that level's bins."""
    grid = policies_with_grid(part.inputs, STEPS, HEADROOM)
    r = reorder_points_at_level(part.inputs, grid, part.weights, part.level)
    return policies_for_targets(part.inputs, reorder_points=r)


def merge_forecasts(
    parts: list[ForecastResult], matrix: DemandMatrix, bt: BacktestResult
) -> ForecastResult:
    """One forecast of all partitions' series (in order)."""
    first = parts[0]

    def cat(get: str) -> dict[str, F64]:
        keys = getattr(first, get).keys()
        return {m: np.concatenate([getattr(p, get)[m] for p in parts]) for m in keys}

    auto = None
    if first.auto_method is not None:
        auto = np.concatenate([p.auto_method for p in parts])
    return ForecastResult(
        matrix=matrix,
        horizon=first.horizon,
        point=cat("point"),
        variance=cat("variance"),
        quantiles=cat("quantiles"),
        levels=first.levels,
        auto_method=auto,
        backtest=bt,
    )
