"""Demand transactions into a (series, periods) matrix, checked against hand-computed sums.

Calendar facts used: 2024-01-01 is a Monday; 2024 is a leap year (January 31 days,
February 29); ISO weeks start on Monday.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from spareflow.data.periods import (
    PERIODS,
    check_period,
    demand_matrix,
    period_index,
    period_index_expr,
    period_start,
)
from spareflow.errors import ParameterError

NAN = np.nan


def frame(rows: list[tuple[object, ...]], keys: tuple[str, ...] = ("item_id",)) -> pl.DataFrame:
    cols = [*keys, "date", "quantity"]
    data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    return pl.DataFrame(
        data, schema={**dict.fromkeys(keys, pl.String), "date": pl.Date, "quantity": pl.Float64}
    )


# Two items, rows interleaved; A is listed first.
ROWS = [
    ("A", date(2024, 1, 1), 1.0),  # Monday, week 0, January
    ("B", date(2024, 1, 3), 2.0),  # Wednesday, week 0
    ("A", date(2024, 1, 7), 3.0),  # Sunday, still week 0
    ("A", date(2024, 1, 8), 4.0),  # Monday, week 1
    ("B", date(2024, 1, 31), 5.0),  # Wednesday, week 4 (starts Mon 29 Jan)
    ("A", date(2024, 2, 1), 6.0),  # Thursday, week 4, February
    ("A", date(2024, 3, 15), 7.0),  # Friday, week 10 (starts Mon 11 Mar), March
]


def test_month_matrix() -> None:
    m = demand_matrix(frame(ROWS), "month")
    assert m.keys["item_id"].to_list() == ["A", "B"]
    np.testing.assert_array_equal(m.values, [[8.0, 6.0, 7.0], [7.0, 0.0, 0.0]])
    assert m.period == "month"
    assert m.n_periods == 3
    assert m.dates() == [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
    assert m.first == 2024 * 12 + 0


def test_week_matrix() -> None:
    m = demand_matrix(frame(ROWS), "week")
    expected = np.zeros((2, 11))
    expected[0, [0, 1, 4, 10]] = [1 + 3, 4, 6, 7]
    expected[1, [0, 4]] = [2, 5]
    np.testing.assert_array_equal(m.values, expected)
    dates = m.dates()
    assert dates[0] == date(2024, 1, 1)
    assert dates[4] == date(2024, 1, 29)
    assert dates[10] == date(2024, 3, 11)
    assert all(d.weekday() == 0 for d in dates)


def test_day_matrix() -> None:
    m = demand_matrix(frame(ROWS), "day")
    assert m.n_periods == 31 + 29 + 15  # 1 Jan .. 15 Mar 2024
    expected = np.zeros((2, 75))
    expected[0, [0, 6, 7, 31, 74]] = [1, 3, 4, 6, 7]
    expected[1, [2, 30]] = [2, 5]
    np.testing.assert_array_equal(m.values, expected)
    assert m.dates(74, 1) == [date(2024, 3, 15)]
    assert m.dates(30, 2) == [date(2024, 1, 31), date(2024, 2, 1)]


def test_week_starts_monday_when_data_starts_on_sunday() -> None:
    rows = [("A", date(2023, 12, 31), 1.0), ("A", date(2024, 1, 1), 2.0)]  # Sunday, Monday
    m = demand_matrix(frame(rows), "week")
    np.testing.assert_array_equal(m.values, [[1.0, 2.0]])
    assert m.dates() == [date(2023, 12, 25), date(2024, 1, 1)]


def test_iso_week_across_new_year() -> None:
    # Mon 30 Dec 2024 .. Sun 5 Jan 2025 is ISO week 1 of 2025: one period
    rows = [
        ("A", date(2024, 12, 30), 1.0),
        ("A", date(2025, 1, 5), 2.0),
        ("A", date(2025, 1, 6), 4.0),
    ]
    m = demand_matrix(frame(rows), "week")
    np.testing.assert_array_equal(m.values, [[3.0, 4.0]])
    assert m.dates() == [date(2024, 12, 30), date(2025, 1, 6)]


def test_month_across_year_end_and_leap_day() -> None:
    rows = [
        ("A", date(2023, 12, 31), 1.0),
        ("A", date(2024, 1, 1), 2.0),
        ("A", date(2024, 2, 29), 4.0),
        ("A", date(2024, 3, 1), 8.0),
    ]
    m = demand_matrix(frame(rows), "month")
    np.testing.assert_array_equal(m.values, [[1.0, 2.0, 4.0, 8.0]])
    assert m.dates() == [date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]


def test_zero_fill_from_dataset_first_period_not_series_first_demand() -> None:
    rows = [
        ("FAST", date(2024, 1, 10), 5.0),
        ("FAST", date(2024, 2, 10), 5.0),
        ("FAST", date(2024, 4, 10), 5.0),
        ("SLOW", date(2024, 4, 20), 1.0),  # first and only demand in the last month
    ]
    m = demand_matrix(frame(rows), "month")
    np.testing.assert_array_equal(m.values, [[5.0, 5.0, 0.0, 5.0], [0.0, 0.0, 0.0, 1.0]])
    assert not np.isnan(m.values).any()


def test_series_start_gives_leading_nan() -> None:
    rows = [
        ("A", date(2024, 1, 5), 1.0),
        ("NEW", date(2024, 4, 2), 3.0),
        ("A", date(2024, 5, 5), 1.0),
        ("OLD", date(2024, 5, 9), 2.0),
    ]
    starts = pl.DataFrame(
        {
            "item_id": ["NEW", "OLD", "GONE"],
            "start": [date(2024, 3, 15), date(2023, 6, 1), date(2024, 2, 1)],
        }
    )
    m = demand_matrix(frame(rows), "month", series_start=starts)
    assert m.keys["item_id"].to_list() == ["A", "NEW", "OLD"]
    np.testing.assert_array_equal(
        m.values,
        [
            [1.0, 0.0, 0.0, 0.0, 1.0],  # no introduction date: zero-filled from January
            [NAN, NAN, 0.0, 3.0, 0.0],  # introduced 15 March: NaN before March
            [0.0, 0.0, 0.0, 0.0, 2.0],  # introduced before the data starts: no NaN
        ],
    )


def test_series_start_later_than_first_demand_starts_at_the_demand() -> None:
    rows = [
        ("A", date(2024, 1, 5), 1.0),
        ("B", date(2024, 2, 5), 2.0),
        ("B", date(2024, 4, 5), 2.0),
    ]
    starts = pl.DataFrame({"item_id": ["B"], "start": [date(2024, 3, 1)]})
    m = demand_matrix(frame(rows), "month", series_start=starts)
    np.testing.assert_array_equal(m.values, [[1.0, 0.0, 0.0, 0.0], [NAN, 2.0, 0.0, 2.0]])


def test_series_start_applies_to_every_site_of_the_item() -> None:
    rows = [
        ("A", "S1", date(2024, 1, 5), 1.0),
        ("B", "S1", date(2024, 3, 5), 2.0),
        ("B", "S2", date(2024, 2, 5), 4.0),
    ]
    starts = pl.DataFrame({"item_id": ["B"], "start": [date(2024, 2, 1)]})
    m = demand_matrix(frame(rows, ("item_id", "site_id")), "month", series_start=starts)
    assert m.keys.rows() == [("A", "S1"), ("B", "S1"), ("B", "S2")]
    np.testing.assert_array_equal(m.values, [[1.0, 0.0, 0.0], [NAN, 0.0, 2.0], [NAN, 4.0, 0.0]])


def test_keys_in_order_of_first_appearance() -> None:
    rows = [
        ("Z", date(2024, 3, 1), 1.0),
        ("M", date(2024, 1, 1), 2.0),
        ("A", date(2024, 2, 1), 3.0),
        ("M", date(2024, 3, 1), 4.0),
        ("Z", date(2024, 1, 1), 5.0),
    ]
    m = demand_matrix(frame(rows), "month")
    assert m.keys["item_id"].to_list() == ["Z", "M", "A"]
    np.testing.assert_array_equal(m.values, [[5.0, 0.0, 1.0], [2.0, 0.0, 4.0], [0.0, 3.0, 0.0]])


def test_contiguous_and_scattered_rows_aggregate_the_same() -> None:
    rng = np.random.default_rng(3)
    n = 600
    items = [f"I{k:02d}" for k in rng.integers(0, 40, n)]
    sites = [f"S{k}" for k in rng.integers(0, 3, n)]
    days = [date(2023, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 400, n)]
    qty = rng.integers(1, 10, n).astype(float)
    scattered = pl.DataFrame({"item_id": items, "site_id": sites, "date": days, "quantity": qty})
    grouped = scattered.sort("item_id", "site_id", maintain_order=True)
    a = demand_matrix(scattered, "week")
    b = demand_matrix(grouped, "week")
    assert a.keys.height == scattered.select("item_id", "site_id").unique().height
    assert (
        a.keys.rows() == scattered.select("item_id", "site_id").unique(maintain_order=True).rows()
    )
    assert b.keys.rows() == grouped.select("item_id", "site_id").unique(maintain_order=True).rows()
    order = {k: i for i, k in enumerate(b.keys.rows())}
    np.testing.assert_array_equal(a.values, b.values[[order[k] for k in a.keys.rows()]])
    # and against a plain group-by
    expected = (
        scattered.group_by("item_id", "site_id", pl.col("date").dt.truncate("1w").alias("week"))
        .agg(pl.col("quantity").sum())
        .rows()
    )
    weeks = a.dates()
    row_of = {k: i for i, k in enumerate(a.keys.rows())}
    for item, site, week, q in expected:
        assert a.values[row_of[(item, site)], weeks.index(week)] == q
    assert a.values.sum() == qty.sum()


def test_single_key_scattered_rows() -> None:
    rows = [
        ("A", date(2024, 1, 1), 1.0),
        ("B", date(2024, 1, 2), 2.0),
        ("A", date(2024, 1, 3), 4.0),
        ("C", date(2024, 1, 3), 8.0),
        ("B", date(2024, 1, 1), 16.0),
    ]
    m = demand_matrix(frame(rows), "day")
    assert m.keys["item_id"].to_list() == ["A", "B", "C"]
    np.testing.assert_array_equal(m.values, [[1.0, 0.0, 4.0], [16.0, 2.0, 0.0], [0.0, 0.0, 8.0]])


def test_multi_key_item_and_site() -> None:
    rows = [
        ("A", "S2", date(2024, 1, 9), 1.0),
        ("A", "S1", date(2024, 2, 9), 2.0),
        ("B", "S2", date(2024, 2, 1), 3.0),
        ("A", "S2", date(2024, 2, 28), 4.0),
        ("A", "S1", date(2024, 2, 10), 5.0),
    ]
    m = demand_matrix(frame(rows, ("item_id", "site_id")), "month")
    assert m.keys.columns == ["item_id", "site_id"]
    assert m.keys.rows() == [("A", "S2"), ("A", "S1"), ("B", "S2")]
    np.testing.assert_array_equal(m.values, [[1.0, 4.0], [0.0, 7.0], [0.0, 3.0]])


def test_default_keys_follow_site_column() -> None:
    with_site = frame([("A", "S1", date(2024, 1, 1), 1.0)], ("item_id", "site_id"))
    assert demand_matrix(with_site, "month").keys.columns == ["item_id", "site_id"]
    without = frame([("A", date(2024, 1, 1), 1.0)])
    assert demand_matrix(without, "month").keys.columns == ["item_id"]
    # explicit keys: sum over sites
    rows = [("A", "S1", date(2024, 1, 1), 1.0), ("A", "S2", date(2024, 1, 2), 2.0)]
    m = demand_matrix(frame(rows, ("item_id", "site_id")), "month", keys=("item_id",))
    np.testing.assert_array_equal(m.values, [[3.0]])


def test_first_and_last_day_widen_never_narrow() -> None:
    rows = [("A", date(2024, 2, 10), 1.0), ("A", date(2024, 3, 10), 2.0)]
    m = demand_matrix(frame(rows), "month", first_day=date(2023, 12, 31), last_day=date(2024, 5, 1))
    np.testing.assert_array_equal(m.values, [[0.0, 0.0, 1.0, 2.0, 0.0, 0.0]])
    assert m.dates()[0] == date(2023, 12, 1)
    narrow = demand_matrix(
        frame(rows), "month", first_day=date(2024, 3, 1), last_day=date(2024, 2, 1)
    )
    np.testing.assert_array_equal(narrow.values, [[1.0, 2.0]])


def test_zero_quantity_rows_make_a_series() -> None:
    rows = [
        ("A", date(2024, 1, 1), 3.0),
        ("Q", date(2024, 1, 1), 0.0),
        ("A", date(2024, 2, 1), 1.0),
    ]
    m = demand_matrix(frame(rows), "month")
    np.testing.assert_array_equal(m.values, [[3.0, 1.0], [0.0, 0.0]])


def test_empty_demand_and_bad_period() -> None:
    with pytest.raises(ParameterError):
        demand_matrix(frame([]), "month")
    with pytest.raises(ParameterError, match="day, week, month"):
        check_period("year")
    assert [check_period(p) for p in PERIODS] == ["day", "week", "month"]


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_blank_site_in_scattered_rows() -> None:
    rows = [
        ("A", "S1", date(2024, 1, 3), 1.0),
        ("B", None, date(2024, 1, 10), 2.0),
        ("A", "S1", date(2024, 2, 5), 3.0),
        ("B", None, date(2024, 3, 1), 4.0),
    ]
    m = demand_matrix(frame(rows, ("item_id", "site_id")), "month")
    assert m.keys.rows() == [("A", "S1"), ("B", None)]
    np.testing.assert_array_equal(m.values, [[1.0, 3.0, 0.0], [2.0, 0.0, 4.0]])


# ---------------------------------------------------------------------------------------
# period_index / period_start


@pytest.mark.parametrize("period", PERIODS)
def test_period_index_start_round_trip(period: str) -> None:
    days = [date(1969, 12, 20) + timedelta(days=k) for k in range(0, 25_000, 3)]
    days += [date(1900, 3, 1), date(2000, 2, 29), date(2099, 12, 31)]
    for d in days:
        i = period_index(d, period)  # type: ignore[arg-type]
        start = period_start(i, period)  # type: ignore[arg-type]
        assert start <= d, (d, start)
        assert period_index(start, period) == i  # type: ignore[arg-type]
        assert period_start(i + 1, period) > d  # type: ignore[arg-type]
        if period == "week":
            assert start.weekday() == 0
            assert start.isocalendar()[:2] == d.isocalendar()[:2]
            assert (d - start).days < 7
        elif period == "month":
            assert start == d.replace(day=1)
        else:
            assert start == d


@pytest.mark.parametrize("period", PERIODS)
def test_period_index_expr_matches_python(period: str) -> None:
    days = [
        date(1969, 12, 21),
        date(1969, 12, 28),
        date(1969, 12, 29),
        date(1970, 1, 4),
        date(1970, 1, 5),
    ]
    days += [date(2024, 1, 1) + timedelta(days=k) for k in range(0, 800, 13)]
    got = pl.DataFrame({"date": days}).select(period_index_expr("date", period)).to_series()  # type: ignore[arg-type]
    assert got.to_list() == [period_index(d, period) for d in days]  # type: ignore[arg-type]


def test_known_indices() -> None:
    assert period_index(date(1970, 1, 1), "day") == 0
    assert period_index(date(1970, 1, 5), "week") == 0  # the first Monday
    assert period_index(date(1970, 1, 4), "week") == -1
    assert period_start(-1, "week") == date(1969, 12, 29)
    assert period_index(date(2024, 3, 15), "month") == 2024 * 12 + 2
    assert period_start(2024 * 12 + 11, "month") == date(2024, 12, 1)
    assert period_start(2025 * 12, "month") == date(2025, 1, 1)
