"""Forecast tables from demand: the Python API behind ``spareflow forecast``.

Takes a demand table (polars) or a :class:`DemandMatrix` and returns the long forecast
table of the command contract: key columns (item_id[, site_id]), step, date, method,
forecast, plus ``variance`` (of demand per period) and, on request, quantile columns
(``q90`` ...). With ``auto`` the table also names the method chosen per series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from spareflow.data.periods import DemandMatrix, check_period, demand_matrix
from spareflow.demand._ses import F64
from spareflow.demand.auto import AUTO_ORIGINS, AUTO_STEP, AutoChoice, choose, combine
from spareflow.demand.backtest import BacktestResult, backtest, backtest_horizon
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

    def table_parts(
        self, categorical: bool = False, rows_per_part: int = 300_000
    ) -> Iterator[pl.DataFrame]:
        """The same table in consecutive blocks (for writing large outputs lean)."""
        return table_parts(self, categorical, rows_per_part)


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
    origins: int = AUTO_ORIGINS,
    progress: Progress | None = None,
    uncertainty: bool = False,
    scored: BacktestResult | None = None,
    step: int = AUTO_STEP,
    choice: AutoChoice | None = None,
) -> ForecastResult:
    """Forecast every series with every method; ``auto`` runs a backtest to choose.

    With ``uncertainty`` (implied by quantile ``levels``) each forecast also carries the
    variance of demand per period, and the quantiles at ``levels``. ``auto`` backtests its
    candidates from ``origins`` rolling origins ``step`` periods apart; ``scored``: a
    backtest already run on the same series that scores every candidate, used instead;
    ``choice``: ``auto``'s choice made already (e.g. over more series than these, as a
    partition of a larger plan does), used as it is.
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
        if choice is not None or (
            scored is not None and set(AUTO_CANDIDATES) <= set(scored.methods)
        ):
            bt = scored
        else:
            bt = backtest(
                y,
                AUTO_CANDIDATES,
                backtest_horizon(y.shape[1], horizon),
                origins=origins,
                step=step,
                params=params,
                progress=(lambda d, t: progress("backtest", d, t)) if progress else None,
            )
        if choice is None:
            assert bt is not None
            choice = choose(bt)
        auto_method = choice.method
        point["auto"] = combine(point, choice)
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


def forecast_blocks(
    matrix: DemandMatrix,
    methods: Sequence[str] = INTERMITTENT,
    horizon: int = 12,
    params: MethodParams = MethodParams(),
    levels: Sequence[float] = (),
    series_per_block: int = 16_384,
    progress: Progress | None = None,
    uncertainty: bool = False,
) -> Iterator[ForecastResult]:
    """Forecasts for consecutive blocks of series, computed one block at a time.

    Every method but ``auto`` forecasts each series on its own history, so the blocks
    together equal one :func:`run_forecast`; a caller can write block k while block k+1
    is computed, and memory stays bounded. With ``auto`` (which pools the backtest over
    all series) there is a single block.
    """
    names = check_methods(methods)
    n_series = matrix.values.shape[0]
    if "auto" in names or n_series <= series_per_block:
        yield run_forecast(
            matrix,
            names,
            horizon,
            matrix.period,
            params,
            levels,
            progress=progress,
            uncertainty=uncertainty,
        )
        return
    for start in range(0, n_series, series_per_block):
        stop = min(start + series_per_block, n_series)
        if progress:
            progress("forecast", start, n_series)
        block = DemandMatrix(
            keys=matrix.keys.slice(start, stop - start),
            values=matrix.values[start:stop],
            period=matrix.period,
            first=matrix.first,
        )
        yield run_forecast(
            block, names, horizon, matrix.period, params, levels, uncertainty=uncertainty
        )
    if progress:
        progress("forecast", n_series, n_series)


def long_table(
    result: ForecastResult, categorical: bool = False, series: slice = slice(None)
) -> pl.DataFrame:
    """Build the long table (for the block ``series`` of series) with numpy repeats and
    gathers of small categorical columns: no Python loop per series."""
    return _TableBuilder(result, categorical).block(series)


class _TableBuilder:
    """What every block of the long table shares: keys, dates and methods, each built
    once as a small column that blocks gather from."""

    def __init__(self, result: ForecastResult, categorical: bool) -> None:
        self.result = result
        matrix = result.matrix
        self.key_names = matrix.keys.columns
        self.keys = matrix.keys.with_columns(pl.all().cast(pl.Categorical))
        self.categorical = categorical
        self.methods = list(result.point)
        self.method_values = pl.Series("method", self.methods, dtype=pl.Enum(self.methods))
        dates = matrix.dates(matrix.n_periods, result.horizon)
        self.date_values = pl.Series("date", dates, dtype=pl.Date)

    def block(self, series: slice) -> pl.DataFrame:
        result, h, methods = self.result, self.result.horizon, self.methods
        start, stop, _ = series.indices(result.matrix.values.shape[0])
        n_series, n_methods = max(stop - start, 0), len(methods)
        series_idx = np.repeat(np.arange(start, stop, dtype=np.uint32), n_methods * h)
        keys = self.keys[series_idx]
        if not self.categorical:
            keys = keys.with_columns([pl.col(k).cast(pl.String) for k in self.key_names])
        cols: dict[str, pl.Series] = {k: keys.get_column(k) for k in self.key_names}
        step_codes = np.tile(np.arange(h, dtype=np.uint32), n_series * n_methods)
        cols["step"] = pl.Series("step", (step_codes + 1).astype(np.int32))
        cols["date"] = self.date_values.gather(step_codes)
        del step_codes
        method_codes = np.tile(np.repeat(np.arange(n_methods, dtype=np.uint32), h), n_series)
        cols["method"] = self.method_values.gather(method_codes)
        del method_codes

        def per_row(name: str, by_method: list[F64]) -> pl.Series:
            block = np.stack([v[start:stop] for v in by_method], axis=1)  # (series, methods)
            return pl.Series(name, np.repeat(block.ravel(), h))

        cols["forecast"] = per_row("forecast", [result.point[m] for m in methods])
        if result.variance:
            cols["variance"] = per_row("variance", [result.variance[m] for m in methods])
        for q, level in enumerate(result.levels):
            name = quantile_column(level)
            cols[name] = per_row(name, [result.quantiles[m][:, q] for m in methods])
        if result.auto_method is not None:
            chosen = pl.Series(np.asarray(result.auto_method, dtype=str)[series_idx])
            is_auto = pl.Series(np.tile(np.repeat(np.asarray(methods) == "auto", h), n_series))
            cols["auto_method"] = chosen.zip_with(is_auto, pl.Series([None], dtype=pl.String))
        return pl.DataFrame(cols)


def table_parts(
    result: ForecastResult, categorical: bool = False, rows_per_part: int = 300_000
) -> Iterator[pl.DataFrame]:
    """The long table in consecutive blocks of about ``rows_per_part`` rows, so a large
    forecast can be written without holding the whole table in memory."""
    n_series = result.matrix.values.shape[0]
    rows_per_series = max(len(result.point) * result.horizon, 1)
    step = max(rows_per_part // rows_per_series, 1)
    builder = _TableBuilder(result, categorical)
    for start in range(0, max(n_series, 1), step):
        yield builder.block(slice(start, start + step))
