"""Demand transactions into a (series, periods) matrix.

The rule (documented in the README): transactions are summed into calendar periods (day;
ISO week starting Monday; calendar month) and every series is zero-filled from the
dataset's first period, or from its item's introduction date where the items table gives
one, to the dataset's last period. Periods before a series starts are NaN (not observed).
Filling from each series' own first demand instead would drop the empty periods before
it and make slow movers look fast.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

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
    pidx = _period_indices(demand.get_column("date"), period)
    first = int(pidx.min())
    last = int(pidx.max())
    if first_day is not None:
        first = min(first, period_index(first_day, period))
    if last_day is not None:
        last = max(last, period_index(last_day, period))
    n_periods = last - first + 1

    # a blank optional key (e.g. no site) is a key of its own, not a missing one
    keyed = demand.with_columns(
        [pl.col(k).fill_null("") for k in keys if demand.get_column(k).null_count()]
    )
    codes, key_values = _series_codes(keyed, keys)
    key_values = key_values.with_columns(
        [pl.when(pl.col(k) == "").then(None).otherwise(pl.col(k)).alias(k) for k in keys]
    )
    n_series = len(key_values)
    flat = codes  # in place: the row codes become flat cell indices
    flat *= n_periods
    flat += pidx
    flat -= first
    del pidx
    sums = np.zeros(n_series * n_periods, dtype=np.float64)
    for lo, quantity in _blocks(demand.get_column("quantity").cast(pl.Float64)):
        np.add.at(sums, flat[lo : lo + quantity.size], quantity)  # rows summed in order
    values = sums.reshape(n_series, n_periods)

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


def _period_indices(dates: pl.Series, period: Period) -> NDArray[np.int32]:
    """Period index of each date (as :func:`period_index_expr`).

    Computed once per day of the span and looked up per row: the calendar arithmetic
    per row costs ten times more.
    """
    if dates.dtype == pl.Date and dates.len() and not dates.null_count():
        days = dates.to_physical().to_numpy()
        low, high = int(days.min()), int(days.max())
        if high - low < max(dates.len(), 1 << 16):
            span = pl.Series("date", np.arange(low, high + 1, dtype=np.int32)).cast(pl.Date)
            table = span.to_frame().select(period_index_expr("date", period)).to_series()
            index: NDArray[np.int32] = np.subtract(days, low, dtype=np.int32)
            np.take(table.to_numpy().astype(np.int32), index, out=index, mode="clip")
            return index
    per_row = dates.to_frame("date").select(period_index_expr("date", period)).to_series()
    return np.asarray(per_row.to_numpy(), dtype=np.int32)


def _series_codes(
    demand: pl.DataFrame, keys: tuple[str, ...]
) -> tuple[NDArray[np.int64], pl.DataFrame]:
    """Series code per row and the distinct key rows, in order of first appearance."""
    found = _hashed_codes(demand, keys)
    codes, first_rows = found if found is not None else _categorical_codes(demand, keys)
    return codes, _rows(demand, keys, first_rows)


def _rows(frame: pl.DataFrame, columns: tuple[str, ...], rows: NDArray[np.int64]) -> pl.DataFrame:
    """``rows`` of ``columns``, column by column (a frame-wide gather would first align
    the columns' chunks, copying them all)."""
    index = pl.Series(rows)
    return pl.DataFrame([frame.get_column(c).gather(index) for c in columns])


#: Odd multiplier mixing the hashes of several key columns into one (golden ratio).
_MIX = 0x9E3779B97F4A7C15
#: Rows handled at a time by the numpy steps: bounds their temporary arrays.
_BLOCK = 1 << 21


def _hashed_codes(
    demand: pl.DataFrame, keys: tuple[str, ...]
) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """Series codes from one 64-bit hash per row, exact: the rows are then checked to
    carry the key of their series' first row, and None (use another way) if any does not.

    Hashing a short id costs a nanosecond, a hash-table lookup by string ten times more;
    this takes one polars pass over integers (first row of each distinct hash) and
    a few direct-address table lookups in numpy.
    """
    mixed = pl.col(keys[0]).hash()
    for k in keys[1:]:
        mixed = mixed * pl.lit(_MIX, pl.UInt64) + pl.col(k).hash()  # wraps around
    hashes = demand.lazy().select(mixed).collect().to_series()
    first_rows = np.sort(hashes.arg_unique().to_numpy().astype(np.int64))
    codes = _index_of(hashes, hashes.gather(first_rows).to_numpy())
    del hashes
    key_rows = _rows(demand, keys, first_rows)
    same = (
        demand.lazy()
        .select(*keys, pl.Series("_code", codes))
        .select((pl.col(k) == pl.lit(key_rows.get_column(k)).gather("_code")).all() for k in keys)
        .collect(engine="streaming")  # a block of rows at a time, on every core
        .row(0)
    )
    if not all(same):
        return None  # two keys share a hash: never seen, but then be exact another way
    return codes, first_rows


def _index_of(values: pl.Series, distinct: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Position in ``distinct`` (distinct UInt64 values) of each of ``values`` (all of which
    are in ``distinct``), by rounds of a direct-address table on a slice of the bits.

    Each round gives every slot of the table to one of the values not placed yet that
    fall in it and codes the rows holding those; the other rows wait for the next round,
    on another slice. Every round places a value, and in practice two or three rounds
    place them all.
    """
    k = distinct.size
    bits = max((4 * k).bit_length(), 8)  # table 4-8x sparser than the values: few clashes
    mask = np.uint64((1 << bits) - 1)
    step = max((64 - bits) // 5, 1)
    codes = np.empty(values.len(), dtype=np.int64)
    left = np.arange(k, dtype=np.int64)  # distinct values not placed yet
    pending: NDArray[np.int64] | None = None  # rows not coded yet (None: all rows)
    for round_ in itertools.count():
        shift = (round_ * step) % (64 - bits + 1)
        table = np.zeros(1 << bits, dtype=np.int32 if k < 1 << 31 else np.int64)
        slots = ((distinct[left] >> np.uint64(shift)) & mask).view(np.int64)
        table[slots] = left  # one of the values of each slot wins it
        if pending is None:
            pending = _first_round(values, distinct, table, shift, mask, codes)
        else:
            part = values.gather(pl.Series(pending)).to_numpy()
            code = table[((part >> np.uint64(shift)) & mask).view(np.int64)]
            codes[pending] = code
            pending = pending[distinct[code] != part]
        if not pending.size:
            break
        placed = np.zeros(k, dtype=bool)
        placed[table[slots]] = True
        left = left[~placed[left]]
    return codes


def _first_round(
    values: pl.Series,
    distinct: NDArray[np.uint64],
    table: NDArray[Any],
    shift: int,
    mask: np.uint64,
    codes: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Look every row up in ``table`` (into ``codes``), a block at a time in reused
    buffers; the rows whose value is not the one found."""
    slot = np.empty(min(values.len(), _BLOCK), dtype=np.uint64)
    miss = np.empty(slot.size, dtype=bool)
    misses = []
    for lo, part in _blocks(values):
        buf, bad = slot[: part.size], miss[: part.size]
        np.right_shift(part, np.uint64(shift), out=buf)
        np.bitwise_and(buf, mask, out=buf)
        out = codes[lo : lo + part.size]
        out[:] = np.take(table, buf.view(np.int64))
        np.take(distinct, out, out=buf)
        np.not_equal(buf, part, out=bad)
        misses.append(np.flatnonzero(bad) + lo)
    return np.concatenate(misses)


def _blocks(series: pl.Series) -> Iterator[tuple[int, NDArray[Any]]]:
    """(first row, values) of each block of ``series``: its chunks as numpy arrays
    (views where possible: no copy of the whole column), at most ``_BLOCK`` rows each."""
    offset = 0
    for chunk in series.get_chunks():
        array = chunk.to_numpy()
        for lo in range(0, array.size, _BLOCK):
            yield offset + lo, array[lo : lo + _BLOCK]
        offset += array.size


def _categorical_codes(
    demand: pl.DataFrame, keys: tuple[str, ...]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Series codes by categorical codes per key column (a string hash-table lookup per
    row and column), combined into one integer per row and numbered by first appearance."""
    labels = (
        demand.lazy()
        .select(
            pl.col(k).cast(pl.String).cast(pl.Categorical(pl.Categories.random())).to_physical()
            for k in keys
        )
        .collect()
    )
    combined = labels.get_column(keys[0]).to_numpy().astype(np.int64)
    for k in keys[1:]:
        part = labels.get_column(k).to_numpy()
        combined *= int(part.max(initial=0)) + 1
        combined += part
    del labels
    return _first_appearance(combined)


def _first_appearance(values: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Dense codes 0..k-1 of ``values`` (non-negative), numbered in order of first
    appearance, and the row where each code first appears.

    The first row of each value is a minimum scattered into a table indexed by value
    (no sort of the rows); values spread too wide for such a table are sorted instead.
    """
    n = values.size
    size = int(values.max(initial=0)) + 1
    if size > 2 * n + (1 << 20):
        _, first_rows, inverse = np.unique(values, return_index=True, return_inverse=True)
        order = np.argsort(first_rows, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return rank[inverse.ravel()].astype(np.int64), np.sort(first_rows).astype(np.int64)
    first = np.full(size, n, dtype=np.int64)
    step = 1 << 20  # row numbers a block at a time: no array of all of them
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        np.minimum.at(first, values[lo:hi], np.arange(lo, hi, dtype=np.int64))
    present = np.flatnonzero(first < n)
    first_rows = first[present]
    order = np.argsort(first_rows)  # distinct rows: no ties
    del first
    rank = np.zeros(size, dtype=np.int64)
    rank[present[order]] = np.arange(order.size, dtype=np.int64)
    codes = rank[values]
    return codes, first_rows[order]
