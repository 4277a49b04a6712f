"""The fast path from a clean demand CSV to a DemandMatrix equals the validating path, and
steps aside (returns None) for anything the validating path must explain."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from spareflow.data.fastpath import clean_demand_matrix, first_appearance_codes
from spareflow.data.load import load_demand_matrix, load_demand_table
from spareflow.data.periods import DemandMatrix, demand_matrix
from spareflow.errors import InputError


def slow_matrix(path: Path, period: str) -> DemandMatrix:
    return demand_matrix(load_demand_table(path), period)  # type: ignore[arg-type]


def assert_same(fast: DemandMatrix | None, slow: DemandMatrix) -> None:
    assert fast is not None
    assert fast.keys.equals(slow.keys)
    assert fast.keys.schema == slow.keys.schema
    assert fast.first == slow.first and fast.period == slow.period
    np.testing.assert_array_equal(fast.values, slow.values)


def random_demand(rng: np.random.Generator, sites: bool, grouped: bool) -> pl.DataFrame:
    n = 400
    frame = pl.DataFrame(
        {
            "item_id": [f"P{i}" for i in rng.integers(0, 37, n)],
            "date": pl.date_range(
                pl.date(2023, 1, 1), pl.date(2024, 12, 31), "1d", eager=True
            ).sample(n, with_replacement=True, seed=int(rng.integers(1 << 30))),
            "quantity": rng.integers(0, 5, n).astype(float) * rng.choice([1.0, 0.5], n),
        }
    )
    if sites:
        frame = frame.with_columns(
            pl.Series("site_id", [f"S{k}" for k in rng.integers(0, 3, n)])
        ).select("item_id", "site_id", "date", "quantity")
    if grouped:
        frame = frame.sort("item_id", maintain_order=True)
    return frame


@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize("sites", [False, True])
@pytest.mark.parametrize("grouped", [False, True])
def test_fast_path_equals_validating_path(
    period: str, sites: bool, grouped: bool, tmp_path: Path
) -> None:
    rng = np.random.default_rng(hash((period, sites, grouped)) % 2**32)
    path = tmp_path / "demand.csv"
    random_demand(rng, sites, grouped).write_csv(path)
    fast = clean_demand_matrix(path, period)  # type: ignore[arg-type]
    assert_same(fast, slow_matrix(path, period))
    assert_same(load_demand_matrix(path, period), slow_matrix(path, period))  # type: ignore[arg-type]


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "demand.csv"
    path.write_text(
        "order_id,item_id,date,quantity,note\no1,B,2024-01-05,2,x\no2,A,2024-03-01,1,\n"
        "o3,B,2024-02-11,0.5,y\n"
    )
    fast = clean_demand_matrix(path, "month")
    assert_same(fast, slow_matrix(path, "month"))
    assert fast is not None
    assert fast.keys["item_id"].to_list() == ["B", "A"]  # order of first appearance
    np.testing.assert_array_equal(fast.values, [[2.0, 0.5, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize(
    "body",
    [
        "item_id,date,quantity\n A,2024-01-05,2\nA,2024-02-05,1\n",  # padded id: merged
        "item_id,date,quantity\n,2024-01-05,2\n",  # blank id
        "item_id,date,quantity\nA,2024-01-05,-2\n",  # negative
        "item_id,date,quantity\nA,2024-01-05,nan\n",  # not finite
        "item_id,date,quantity\nA,2024-01-05,\n",  # missing quantity
        "item_id,date,quantity\nA,05/01/2024,2\n",  # not ISO
        "item_id,date\nA,2024-01-05\n",  # missing column
        "item_id,date,quantity\n",  # header only
        "item_id,site_id,date,quantity\nA,,2024-01-05,2\n",  # blank optional site
        " item_id,date,quantity\nA,2024-01-05,2\n",  # padded header
    ],
)
def test_anything_unusual_takes_the_validating_path(body: str, tmp_path: Path) -> None:
    path = tmp_path / "demand.csv"
    path.write_text(body)
    assert clean_demand_matrix(path, "month") is None
    try:
        expected = slow_matrix(path, "month")
    except InputError as exc:
        with pytest.raises(InputError) as got:
            load_demand_matrix(path, "month")
        assert [str(f) for f in got.value.faults] == [str(f) for f in exc.faults]
    else:
        assert_same(load_demand_matrix(path, "month"), expected)


def test_not_csv_or_empty_is_not_the_fast_path(tmp_path: Path) -> None:
    empty = tmp_path / "demand.csv"
    empty.write_text("")
    assert clean_demand_matrix(empty, "month") is None
    parquet = tmp_path / "demand.parquet"
    pl.DataFrame({"item_id": ["A"], "date": [date(2024, 1, 1)], "quantity": [1.0]}).write_parquet(
        parquet
    )
    assert clean_demand_matrix(parquet, "month") is None
    assert load_demand_matrix(parquet, "month").values.tolist() == [[1.0]]


def test_dates_parse_as_the_validating_path_parses_them(tmp_path: Path) -> None:
    path = tmp_path / "demand.csv"
    path.write_text(
        "item_id,date,quantity\nA,2024-01-05 10:00:00,2\nA,2024-02-05T08:30:00,1\nB,2024-03-01,4\n"
    )
    fast = clean_demand_matrix(path, "month")
    assert_same(fast, slow_matrix(path, "month"))
    assert fast is not None
    np.testing.assert_array_equal(fast.values, [[2.0, 1.0, 0.0], [0.0, 0.0, 4.0]])


def test_day_first_dates_are_refused_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "demand.csv"
    path.write_text("item_id,date,quantity\nA,05/01/2024,2\nA,2024-01-07,1\n")
    with pytest.raises(InputError) as got:
        load_demand_matrix(path, "month")
    assert [(f.row, f.column, f.value) for f in got.value.faults] == [(2, "date", "05/01/2024")]


@pytest.mark.parametrize(
    ("raw", "codes", "first"),
    [
        ([7, 7, 3, 3, 3, 9], [0, 0, 1, 1, 1, 2], [0, 2, 5]),  # runs
        ([7, 3, 7, 9, 3], [0, 1, 0, 2, 1], [0, 1, 3]),  # interleaved
        ([5], [0], [0]),
    ],
)
def test_first_appearance_codes(raw: list[int], codes: list[int], first: list[int]) -> None:
    got_codes, got_first = first_appearance_codes(np.asarray(raw, dtype=np.uint32))
    assert got_codes.tolist() == codes
    assert got_first.tolist() == first
