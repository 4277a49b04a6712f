"""The fast DemandMatrix build (hashed series codes, period look-up table, blockwise sums)
held to a plain-Python oracle of the documented rule, including its fallbacks.

The oracle: series in order of first appearance (a blank site is a key of its own,
shown as null), quantities summed per calendar period in row order, zero-filled from the
first period, NaN before an item's introduction unless it has demand earlier.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

import spareflow.data.periods as periods
from spareflow.data.periods import (
    PERIODS,
    DemandMatrix,
    Period,
    demand_matrix,
    period_index,
    period_index_expr,
)

KEYS2 = ("item_id", "site_id")


def oracle(
    demand: pl.DataFrame,
    period: Period,
    keys: tuple[str, ...],
    series_start: pl.DataFrame | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
) -> tuple[list[tuple[object, ...]], np.ndarray, int]:
    """Keys, values and first period index, computed row by row."""
    rows = demand.select(*keys, "date", "quantity").rows()
    index = [period_index(r[len(keys)], period) for r in rows]
    first, last = min(index), max(index)
    if first_day is not None:
        first = min(first, period_index(first_day, period))
    if last_day is not None:
        last = max(last, period_index(last_day, period))
    series: dict[tuple[object, ...], int] = {}
    for r in rows:
        series.setdefault(tuple("" if v is None else v for v in r[: len(keys)]), len(series))
    values = np.zeros((len(series), last - first + 1))
    for r, p in zip(rows, index, strict=True):
        key = tuple("" if v is None else v for v in r[: len(keys)])
        values[series[key], p - first] += r[-1]
    starts = {} if series_start is None else dict(series_start.select("item_id", "start").rows())
    for key, i in series.items():
        start = starts.get(key[0])
        if start is None:
            continue
        begin = min(max(period_index(start, period) - first, 0), values.shape[1] - 1)
        demanded = np.flatnonzero(values[i] > 0)
        if demanded.size:
            begin = min(begin, int(demanded[0]))
        values[i, :begin] = np.nan
    shown = [tuple(None if v == "" else v for v in key) for key in series]
    return shown, values, first


def assert_matches(
    m: DemandMatrix, expected: tuple[list[tuple[object, ...]], np.ndarray, int]
) -> None:
    keys, values, first = expected
    assert m.keys.rows() == keys
    assert m.first == first
    np.testing.assert_array_equal(m.values, values)  # exact, NaN where NaN


def random_demand(seed: int, n: int = 700, chunks: int = 5) -> pl.DataFrame:
    """Interleaved rows of 40 items at up to 5 sites (some blank or null), fractional
    quantities, two years of dates; stored in several chunks like a Parquet read."""
    rng = np.random.default_rng(seed)
    site_names = ["S1", "S2", "DC", "", None]
    frame = pl.DataFrame(
        {
            "item_id": [f"P{k:03d}" for k in rng.integers(0, 40, n)],
            "site_id": [site_names[k] for k in rng.integers(0, 5, n)],
            "date": [date(2023, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 730, n)],
            "quantity": np.round(rng.exponential(3.0, n), 3) * (rng.random(n) < 0.8),
        },
        schema={
            "item_id": pl.String,
            "site_id": pl.String,
            "date": pl.Date,
            "quantity": pl.Float64,
        },
    )
    cuts = np.linspace(0, n, chunks + 1).astype(int)
    parts = [frame.slice(int(a), int(b - a)) for a, b in itertools.pairwise(cuts)]
    return pl.concat(parts, rechunk=False)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few rows, so every block boundary inside a chunk is exercised."""
    monkeypatch.setattr(periods, "_BLOCK", 37)


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_interleaved_rows_match_oracle(period: Period, seed: int, small_blocks: None) -> None:
    demand = random_demand(seed)
    assert demand.n_chunks() > 1
    assert_matches(demand_matrix(demand, period, KEYS2), oracle(demand, period, KEYS2))
    one = ("item_id",)
    assert_matches(demand_matrix(demand, period, one), oracle(demand, period, one))


def test_item_at_one_site_only_and_null_equals_blank_site() -> None:
    rows = [
        ("A", "S1", date(2024, 1, 3), 1.0),
        ("B", None, date(2024, 1, 10), 2.0),
        ("A", "S2", date(2024, 2, 5), 3.0),
        ("C", "S2", date(2024, 2, 7), 0.5),  # C is never at S1
        ("B", "", date(2024, 3, 1), 4.0),  # the same series as B at a null site
        ("A", "S1", date(2024, 3, 2), 0.25),
    ]
    demand = pl.DataFrame(
        rows,
        schema={
            "item_id": pl.String,
            "site_id": pl.String,
            "date": pl.Date,
            "quantity": pl.Float64,
        },
        orient="row",
    )
    m = demand_matrix(demand, "month", KEYS2)
    assert m.keys.rows() == [("A", "S1"), ("B", None), ("A", "S2"), ("C", "S2")]
    assert_matches(m, oracle(demand, "month", KEYS2))


@pytest.mark.parametrize("period", PERIODS)
def test_items_introduced_later_and_widened_span(period: Period, small_blocks: None) -> None:
    demand = random_demand(7)
    starts = pl.DataFrame(
        {
            "item_id": ["P001", "P002", "P003", "P039"],
            "start": [date(2024, 6, 1), date(2022, 1, 1), date(2024, 12, 31), date(2023, 3, 15)],
        }
    )
    span = {"first_day": date(2022, 11, 20), "last_day": date(2025, 2, 1)}
    m = demand_matrix(demand, period, KEYS2, series_start=starts, **span)
    assert_matches(m, oracle(demand, period, KEYS2, starts, **span))
    assert np.isnan(m.values).any()


def test_hash_clash_falls_back_to_exact_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    demand = random_demand(4)
    # without the mix every item at a site gets the same hash: the check must catch it
    monkeypatch.setattr(periods, "_MIX", 0)
    keyed = demand.with_columns(pl.col("site_id").fill_null(""))
    assert periods._hashed_codes(keyed, KEYS2) is None
    assert_matches(demand_matrix(demand, "week", KEYS2), oracle(demand, "week", KEYS2))


def test_index_of_resolves_values_sharing_their_low_bits() -> None:
    rng = np.random.default_rng(0)
    # 500 values alike in their low 40 bits: the first rounds all clash
    distinct = (np.arange(500, dtype=np.uint64) << np.uint64(40)) | np.uint64(12345)
    distinct = np.concatenate([distinct, rng.integers(0, 2**63, 500, dtype=np.uint64)])
    assert np.unique(distinct).size == distinct.size
    picks = rng.integers(0, distinct.size, 20_000)
    values = pl.concat(
        [pl.Series(distinct[picks[:7000]]), pl.Series(distinct[picks[7000:]])], rechunk=False
    )
    np.testing.assert_array_equal(periods._index_of(values, distinct), picks)


def test_index_of_values_alike_but_in_the_top_bit() -> None:
    distinct = np.array([1 << 63, 0, 5, (1 << 63) + 5], dtype=np.uint64)
    picks = np.array([0, 1, 1, 3, 2, 0, 3])
    np.testing.assert_array_equal(periods._index_of(pl.Series(distinct[picks]), distinct), picks)


@pytest.mark.parametrize("period", PERIODS)
def test_period_lookup_matches_the_expression(period: Period) -> None:
    rng = np.random.default_rng(9)
    days = [date(1999, 12, 25) + timedelta(days=int(d)) for d in rng.integers(0, 9000, 5000)]
    dates = pl.Series("date", days, dtype=pl.Date)
    expected = dates.to_frame().select(period_index_expr("date", period)).to_series().to_numpy()
    np.testing.assert_array_equal(periods._period_indices(dates, period), expected)
    # a span too wide for a table (two dates two centuries apart) is computed per row
    wide = pl.Series("date", [date(1900, 1, 1), date(2100, 12, 31)], dtype=pl.Date)
    assert periods._period_indices(wide, period).tolist() == [
        period_index(date(1900, 1, 1), period),
        period_index(date(2100, 12, 31), period),
    ]


@pytest.mark.parametrize("keys", [KEYS2, ("item_id",), ("site_id",)])
def test_hashed_and_categorical_codes_agree(keys: tuple[str, ...]) -> None:
    demand = random_demand(6).with_columns(pl.col("site_id").fill_null(""))
    hashed = periods._hashed_codes(demand, keys)
    assert hashed is not None
    exact = periods._categorical_codes(demand, keys)
    np.testing.assert_array_equal(hashed[0], exact[0])
    np.testing.assert_array_equal(hashed[1], exact[1])


def test_first_appearance_of_values_too_wide_for_a_table() -> None:
    values = np.array([5_000_000_000, 3, 5_000_000_000, 7, 3, 9_000_000_000], dtype=np.int64)
    codes, first_rows = periods._first_appearance(values)
    assert codes.tolist() == [0, 1, 0, 2, 1, 3]
    assert first_rows.tolist() == [0, 1, 3, 5]
    narrow = np.array([4, 3, 4, 7, 3, 0], dtype=np.int64)
    codes, first_rows = periods._first_appearance(narrow)
    assert codes.tolist() == [0, 1, 0, 2, 1, 3]
    assert first_rows.tolist() == [0, 1, 3, 5]
