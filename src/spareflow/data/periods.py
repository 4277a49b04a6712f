"""Demand transactions into a (series, periods) matrix.

The rule (documented in the README): transactions are summed into calendar periods (day;
ISO week starting Monday; calendar month) and every series is zero-filled from the
dataset's first period, or from its item's introduction date where the items table gives
one, to the dataset's last period. Periods before a series starts are NaN (not observed).
Filling from each series' own first demand instead would drop the empty periods before
it and make slow movers look fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from spareflow.errors import ParameterError

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")

_EPOCH = date(1970, 1, 1)
_MONDAY = date(1970, 1, 5)  # a Monday: ISO weeks are counted from it


@dataclass(frozen=True, slots=True)
class DemandMatrix:
    """Demand per series and period.

    ``keys`` has one row per series (item_id, and site_id where the data has sites);
    ``values`` is (series, periods) demand per period, NaN before a series starts;
    ``first`` is the index of the first period (see :func:`period_index`).
    """

    keys: pl.DataFrame
    values: NDArray[np.float64]
    period: Period
    first: int

    @property
    def n_periods(self) -> int:
        return int(self.values.shape[1])

    def dates(self, offset: int = 0, count: int | None = None) -> list[date]:
        """Start dates of periods ``offset .. offset+count-1`` (relative to the first)."""
        count = self.n_periods - offset if count is None else count
        return [period_start(self.first + offset + i, self.period) for i in range(count)]


def check_period(period: str) -> Period:
    if period not in PERIODS:
        raise ParameterError("period", f"must be one of {', '.join(PERIODS)}, got {period!r}")
    return period


def period_index_expr(column: str, period: Period) -> pl.Expr:
    """Polars expression: integer period index of a Date column."""
    col = pl.col(column)
    if period == "month":
        return (col.dt.year().cast(pl.Int64) * 12 + col.dt.month().cast(pl.Int64) - 1).alias(
            "_period"
        )
    days = col.cast(pl.Int64)
    if period == "week":
        return ((days - (_MONDAY - _EPOCH).days) // 7).alias("_period")
    return days.alias("_period")


def period_index(day: date, period: Period) -> int:
    """Integer index of the period containing ``day``."""
    if period == "month":
        return day.year * 12 + day.month - 1
    days = (day - _EPOCH).days
    if period == "week":
        return (days - (_MONDAY - _EPOCH).days) // 7
    return days


def period_start(index: int, period: Period) -> date:
    """First day of the period with integer ``index``."""
    if period == "month":
        return date(index // 12, index % 12 + 1, 1)
    if period == "week":
        return _MONDAY + timedelta(days=7 * index)
    return _EPOCH + timedelta(days=index)


def _dense_codes(column: pl.Series) -> tuple[NDArray[np.int64], pl.Series]:
    """Codes 0..k-1 in order of first appearance, and the distinct values in that order.

    Fast path: exports usually list each series' rows together; then the codes are the
    run numbers (one comparison per row, no hashing).
    """
    change = column.ne_missing(column.shift(1)).fill_null(True)
    starts = np.flatnonzero(change.to_numpy())
    firsts = column.gather(starts)
    if firsts.n_unique() == firsts.len():
        codes = np.cumsum(change.to_numpy()).astype(np.int64) - 1
        return codes, firsts
    physical = column.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    seen = np.zeros(int(physical.max(initial=-1)) + 1, dtype=bool)
    seen[physical] = True
    dense = np.cumsum(seen) - 1
    codes = dense[physical]
    first_rows = np.empty(int(dense[-1]) + 1 if dense.size else 0, dtype=np.int64)
    first_rows[codes[::-1]] = np.arange(codes.size - 1, -1, -1)  # last write wins: first row
    order = np.argsort(first_rows, kind="stable")  # codes in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[codes], column.gather(first_rows[order])


def demand_matrix(
    demand: pl.DataFrame,
    period: Period,
    keys: tuple[str, ...] | None = None,
    series_start: pl.DataFrame | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
) -> DemandMatrix:
    """Aggregate demand rows (key columns, ``date``, ``quantity``) into a DemandMatrix.

    ``series_start``: optional frame with ``item_id`` and ``start`` (a Date): series of
    that item start at that date's period instead of the dataset's first period.
    ``first_day``/``last_day`` widen (never narrow) the span of periods.
    """
    if keys is None:
        keys = ("item_id", "site_id") if "site_id" in demand.columns else ("item_id",)
    if demand.height == 0:
        raise ParameterError("demand", "the demand table has no rows")
    pidx = demand.select(period_index_expr("date", period)).to_series().to_numpy()
    first = int(pidx.min())
    last = int(pidx.max())
    if first_day is not None:
        first = min(first, period_index(first_day, period))
    if last_day is not None:
        last = max(last, period_index(last_day, period))
    n_periods = last - first + 1

    # a blank optional key (e.g. no site) is a key of its own, not a missing one
    keyed = demand.with_columns([pl.col(k).fill_null("") for k in keys])
    codes, key_values = _series_codes(keyed, keys)
    key_values = key_values.with_columns(
        [pl.when(pl.col(k) == "").then(None).otherwise(pl.col(k)).alias(k) for k in keys]
    )
    n_series = len(key_values)
    quantity = demand.get_column("quantity").cast(pl.Float64).to_numpy()
    flat = codes * n_periods + (pidx - first)
    values = np.bincount(flat, weights=quantity, minlength=n_series * n_periods).astype(np.float64)
    values = values.reshape(n_series, n_periods)

    if series_start is not None and series_start.height:
        starts = key_values.select("item_id").join(
            series_start.select("item_id", "start"), on="item_id", how="left"
        )
        begin = starts.select(period_index_expr("start", period)).to_series()
        begin_np = begin.fill_null(first).to_numpy() - first
        begin_np = np.clip(begin_np, 0, n_periods - 1)
        # demand recorded before an introduction date still counts: start at the earlier
        has_demand = values > 0
        first_demand = np.where(has_demand.any(axis=1), np.argmax(has_demand, axis=1), n_periods)
        begin_np = np.minimum(begin_np, first_demand)
        values[np.arange(n_periods)[None, :] < begin_np[:, None]] = np.nan
    return DemandMatrix(keys=key_values, values=values, period=period, first=first)


def _series_codes(
    demand: pl.DataFrame, keys: tuple[str, ...]
) -> tuple[NDArray[np.int64], pl.DataFrame]:
    """Series code per row and the distinct key rows, in order of first appearance."""
    if len(keys) == 1:
        codes, values = _dense_codes(demand.get_column(keys[0]))
        return codes, values.to_frame()
    parts = [_dense_codes(demand.get_column(k))[0] for k in keys]
    combined = parts[0]
    for p in parts[1:]:
        combined = combined * (int(p.max(initial=0)) + 1) + p
    _, first_rows, codes = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(first_rows, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    key_frame = demand.select(keys)[np.sort(first_rows)]
    return rank[codes.ravel()].astype(np.int64), key_frame
