"""Forecast tables from demand: the Python API behind ``spareflow forecast``.

Takes a demand table (polars) or a :class:`DemandMatrix` and returns the long forecast
table of the command contract: key columns (item_id[, site_id]), step, date, method,
forecast, plus ``variance`` (of demand per period) and, on request, quantile columns
(``q90`` ...). With ``auto`` the table also names the method chosen per series.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from spareflow.data.periods import DemandMatrix, check_period, demand_matrix
from spareflow.demand._ses import F64
from spareflow.demand.auto import choose, pick
from spareflow.demand.backtest import BacktestResult, backtest, backtest_horizon
from spareflow.demand.classify import classify
from spareflow.demand.methods import (
    AUTO_CANDIDATES,
    INTERMITTENT,
    MethodParams,
    check_methods,
    point_forecasts,
)
from spareflow.demand.uncertainty import demand_shape, quantile_column, quantiles, variance
from spareflow.errors import ParameterError

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ForecastResult:
    """Per-series forecasts (arrays (series,) per method) and what produced them."""

    matrix: DemandMatrix
    horizon: int
    point: dict[str, F64]
    variance: dict[str, F64]
    quantiles: dict[str, F64]  # method -> (series, levels)
    levels: tuple[float, ...]
    auto_method: np.ndarray | None = None
    backtest: BacktestResult | None = None

    def table(self, categorical: bool = False) -> pl.DataFrame:
        """The long forecast table: one row per series, method and step.

        ``categorical`` keeps key columns categorical (cheaper for large outputs).
        """
        return long_table(self, categorical)


def check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(q) for q in levels)
    for q in out:
        if not 0.0 < q < 1.0:
            raise ParameterError(
                "quantiles", f"levels must be between 0 and 1 (exclusive), got {q}"
            )
    return out


def as_matrix(demand: pl.DataFrame | DemandMatrix, period: str) -> DemandMatrix:
    if isinstance(demand, DemandMatrix):
        return demand
    return demand_matrix(demand, check_period(period))


def run_forecast(
    demand: pl.DataFrame | DemandMatrix,
    methods: Sequence[str] = INTERMITTENT,
    horizon: int = 12,
    period: str = "month",
    params: MethodParams = MethodParams(),
    levels: Sequence[float] = (),
    origins: int = 3,
    progress: Progress | None = None,
    uncertainty: bool = False,
    scored: BacktestResult | None = None,
) -> ForecastResult:
    """Forecast every series with every method; ``auto`` runs a backtest to choose.

    With ``uncertainty`` (implied by quantile ``levels``) each forecast also carries the
    variance of demand per period, and the quantiles at ``levels``. ``scored``: a backtest
    already run on the same series that scores every ``auto`` candidate; ``auto`` then
    chooses from it instead of backtesting again.
    """
    names = check_methods(methods)
    if horizon < 1:
        raise ParameterError("horizon", f"must be at least 1, got {horizon}")
    lv = check_levels(levels)
    matrix = as_matrix(demand, period)
    y = matrix.values
    singles = [m for m in names if m != "auto"]
    computed = list(dict.fromkeys([*singles, *(AUTO_CANDIDATES if "auto" in names else ())]))
    if progress:
        progress("forecast", 0, 1)
    point = point_forecasts(y, computed, params)
    auto_method = None
    bt = None
    if "auto" in names:
        if scored is not None and set(AUTO_CANDIDATES) <= set(scored.methods):
            bt = scored
        else:
            bt = backtest(
                y,
                AUTO_CANDIDATES,
                backtest_horizon(y.shape[1], horizon),
                origins=origins,
                params=params,
                progress=(lambda d, t: progress("backtest", d, t)) if progress else None,
            )
        auto_method = choose(bt, classify(y).demand_class).method
        point["auto"] = pick(point, auto_method)
    point = {m: point[m] for m in names}
    var: dict[str, F64] = {}
    qs: dict[str, F64] = {}
    if uncertainty or lv:
        shape = demand_shape(y, params.alpha_p)
        var = {m: variance(np.nan_to_num(f), shape) for m, f in point.items()}
        if lv:
            qs = {m: quantiles(np.nan_to_num(f), shape, lv) for m, f in point.items()}
    if progress:
        progress("forecast", 1, 1)
    return ForecastResult(matrix, horizon, point, var, qs, lv, auto_method, bt)


def long_table(result: ForecastResult, categorical: bool = False) -> pl.DataFrame:
    """Build the long table with numpy repeats: no Python loop per series."""
    matrix, h = result.matrix, result.horizon
    methods = list(result.point)
    n_series, n_methods = matrix.values.shape[0], len(methods)
    per_series = n_methods * h
    series_idx = np.repeat(np.arange(n_series), per_series)
    # Keys, dates and methods repeat: gather small categorical columns (codes, not text).
    dates = matrix.dates(matrix.n_periods, h)
    cols: dict[str, pl.Series] = {}
    keys = matrix.keys.with_columns(pl.all().cast(pl.Categorical))[series_idx]
    stacked = np.stack([result.point[m] for m in methods], axis=1)  # (series, methods)
    step_codes = np.tile(np.arange(h, dtype=np.uint32), n_series * n_methods)
    cols["step"] = pl.Series("step", (step_codes + 1).astype(np.int32))
    cols["date"] = pl.Series("date", dates, dtype=pl.Date).gather(step_codes)
    method_codes = np.tile(np.repeat(np.arange(n_methods, dtype=np.uint32), h), n_series)
    cols["method"] = pl.Series("method", methods, dtype=pl.Enum(methods)).gather(method_codes)
    cols["forecast"] = pl.Series("forecast", np.repeat(stacked.ravel(), h))
    if result.variance:
        var = np.stack([result.variance[m] for m in methods], axis=1)
        cols["variance"] = pl.Series("variance", np.repeat(var.ravel(), h))
    for q, level in enumerate(result.levels):
        qv = np.stack([result.quantiles[m][:, q] for m in methods], axis=1)
        name = quantile_column(level)
        cols[name] = pl.Series(name, np.repeat(qv.ravel(), h))
    out = keys.with_columns(list(cols.values()))
    if not categorical:
        out = out.with_columns([pl.col(k).cast(pl.String) for k in matrix.keys.columns])
    if result.auto_method is not None:
        chosen = pl.Series("auto_method", np.asarray(result.auto_method, dtype=str)[series_idx])
        out = out.with_columns(
            pl.when(pl.col("method") == "auto").then(chosen).otherwise(None).alias("auto_method")
        )
    return out
