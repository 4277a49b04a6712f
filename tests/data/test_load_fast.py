"""The fast load of typed (Parquet) tables held to the value-by-value path.

The fast path proves whole columns clean with one query and skips parsing them; the
slow path parses and checks every value (as every column did before). Forcing the slow
path (no column proven ready) must give the same tables, or the same faults in the same
order (file, row, column, value, message) and the same count beyond the cap.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

import spareflow.data.validate as validate
from spareflow.data.demo import generate_dataset
from spareflow.data.load import Dataset, load_dataset, load_demand_table
from spareflow.data.schema import Column
from spareflow.errors import InputError

Outcome = tuple[str, object]
Faults = tuple[list[tuple[object, ...]], int]


def outcome(load: Callable[[], object]) -> Outcome:
    """What a load gives: its result, or its faults as plain tuples and the truncation."""
    try:
        return "ok", load()
    except InputError as err:
        faults = [(f.file, f.row, f.column, f.value, f.message) for f in err.faults]
        return "faults", (faults, err.truncated)


def fast_and_slow(load: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> list[Outcome]:
    fast = outcome(load)
    with monkeypatch.context() as m:
        m.setattr(validate, "ready_columns", lambda raw, columns, ids: set())
        slow = outcome(load)
    return [fast, slow]


def assert_same(fast: Outcome, slow: Outcome) -> None:
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "faults":
        assert fast[1] == slow[1]
        return
    a, b = fast[1], slow[1]
    if isinstance(a, Dataset) and isinstance(b, Dataset):
        assert a.carried_over == b.carried_over
        assert list(a.tables) == list(b.tables)
        for name in a.tables:
            assert a[name].schema == b[name].schema, name
            assert a[name].equals(b[name]), name
    else:
        assert isinstance(a, pl.DataFrame) and isinstance(b, pl.DataFrame)
        assert a.schema == b.schema
        assert a.equals(b)


@pytest.fixture(scope="module")
def demo() -> dict[str, pl.DataFrame]:
    tables = generate_dataset(items=60, sites=3, seed=5)
    # chains of supersession: P000001 -> P000002 -> P000003, and items introduced later
    items = tables["items"].with_columns(
        pl.when(pl.col("item_id") == "P000001")
        .then(pl.lit("P000002"))
        .when(pl.col("item_id") == "P000002")
        .then(pl.lit("P000003"))
        .otherwise(pl.col("replaced_by"))
        .alias("replaced_by")
    )
    tables["items"] = items
    return tables


def write(folder: Path, tables: dict[str, pl.DataFrame]) -> Path:
    """Parquet files in small row groups, so the demand table is read in many chunks."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_parquet(folder / f"{name}.parquet", row_group_size=500)
    return folder


def check(
    folder: Path, monkeypatch: pytest.MonkeyPatch, max_faults: int = 50, expect: str = ""
) -> Outcome:
    fast, slow = fast_and_slow(lambda: load_dataset(folder, max_faults=max_faults), monkeypatch)
    assert_same(fast, slow)
    if expect:
        assert fast[0] == expect, fast
    return fast


def faults_of(result: Outcome) -> Faults:
    kind, found = result
    assert kind == "faults" and isinstance(found, tuple)
    faults, truncated = found
    return list(faults), int(truncated)


def test_clean_dataset_with_chains(
    demo: dict[str, pl.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ds = check(write(tmp_path, demo), monkeypatch, expect="ok")
    assert isinstance(ds, Dataset)
    assert ds["demand"].n_chunks() > 1
    final = dict(ds.carried_over)
    assert final["P000001"] == final["P000002"] == "P000003"
    assert demo["items"]["introduction_date"].is_not_null().any()
    # demand rows in place, superseded items moved to their last successor
    expected = [final.get(i, i) for i in demo["demand"]["item_id"].to_list()]
    assert ds["demand"]["item_id"].to_list() == expected
    assert ds["demand"].drop("item_id").equals(demo["demand"].drop("item_id"))


def test_clean_parquet_needs_no_value_by_value_check(
    demo: dict[str, pl.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[tuple[str, str]] = []
    real = validate._check_column

    def spy(
        raw: pl.DataFrame, parsed: pl.DataFrame, col: Column, file: str, log: validate.FaultLog
    ) -> None:
        checked.append((file, col.name))
        real(raw, parsed, col, file, log)

    monkeypatch.setattr(validate, "_check_column", spy)
    load_dataset(write(tmp_path, demo))
    assert checked == []
    tables = edit(demo, "demand", "order_id", {2: " SO2"})
    load_dataset(write(tmp_path / "padded", tables))
    assert checked == [("demand.parquet", "order_id")]


def edit(
    tables: dict[str, pl.DataFrame], name: str, column: str, rows: dict[int, object]
) -> dict[str, pl.DataFrame]:
    """``tables`` with cells of ``column`` in table ``name`` set, by 0-based row."""
    frame = tables[name]
    values = frame[column].to_list()
    for row, value in rows.items():
        values[row] = value
    out = dict(tables)
    out[name] = frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))
    return out


CASES: dict[str, tuple[str, str, dict[int, object], str]] = {
    # clean after parsing: padded or unicode-spaced ids and text are stripped
    "padded-ids": ("demand", "item_id", {3: " P000004", 700: "P000005\t"}, "ok"),
    "padded-site": ("demand", "site_id", {5: "S02 "}, "ok"),
    "nbsp-order": ("demand", "order_id", {1: "\u00a0SO1", 2: "SO2\u2003", 9: ""}, "ok"),
    "non-ascii-text": ("items", "description", {0: "Dichtung für Pumpe ü", 4: "Ölfilter"}, "ok"),
    "padded-successor": ("items", "replaced_by", {10: " P000012 "}, "ok"),
    # faults
    "blank-item": ("demand", "item_id", {4: "", 8: "   "}, "faults"),
    "null-item": ("demand", "item_id", {6: None}, "faults"),
    "unknown-item": ("demand", "item_id", {7: "NOPE", 900: "P999999"}, "faults"),
    "null-site": ("demand", "site_id", {2: None}, "faults"),
    "unknown-site": ("demand", "site_id", {3: "S99"}, "faults"),
    "bad-quantity": (
        "demand",
        "quantity",
        {1: -1.0, 2: float("nan"), 3: float("inf"), 4: None},
        "faults",
    ),
    "null-date": ("demand", "date", {5: None}, "faults"),
    "negative-cost": ("items", "unit_cost", {3: -2.0}, "faults"),
    "duplicate-item": ("items", "item_id", {5: "P000001"}, "faults"),
    "unknown-successor": ("items", "replaced_by", {6: "P777777"}, "faults"),
    "loop": ("items", "replaced_by", {2: "P000001"}, "faults"),
    "duplicate-stock": ("stock", "site_id", {1: "DC01"}, "faults"),
    "stock-unknown-item": ("stock", "item_id", {0: "X"}, "faults"),
    "share-out-of-range": ("targets", "target_fill_rate", {0: 1.5}, "faults"),
    "negative-lead-time": ("sourcing", "lead_time_days", {3: -4.0}, "faults"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_outcome_as_value_by_value(
    case: str, demo: dict[str, pl.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, column, rows, expect = CASES[case]
    check(write(tmp_path, edit(demo, name, column, rows)), monkeypatch, expect=expect)


def test_many_faults_capped_the_same(
    demo: dict[str, pl.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = edit(demo, "demand", "quantity", dict.fromkeys(range(0, 600, 7), -1.0))
    tables = edit(tables, "demand", "item_id", dict.fromkeys(range(3, 600, 11), ""))
    tables = edit(tables, "stock", "site_id", {1: "DC01", 4: "ZZ"})
    faults, truncated = faults_of(check(write(tmp_path, tables), monkeypatch, 20, "faults"))
    assert len(faults) == 20 and truncated > 0


def test_other_column_types_are_parsed(
    demo: dict[str, pl.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole quantities, timestamps and text dates: parsed, and the same as before."""
    demand = demo["demand"].with_columns(
        pl.col("quantity").cast(pl.Int64),
        pl.col("date").cast(pl.Datetime) + pl.duration(hours=5),
    )
    items = demo["items"].with_columns(pl.col("introduction_date").cast(pl.String))
    tables = {**demo, "demand": demand, "items": items}
    _, ds = check(write(tmp_path, tables), monkeypatch, expect="ok")
    assert isinstance(ds, Dataset)
    assert ds["demand"].schema["quantity"] == pl.Float64
    assert ds["demand"]["date"].equals(demo["demand"]["date"])


def test_many_sites_use_the_hashed_reference_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = generate_dataset(items=40, sites=12, seed=2)
    check(write(tmp_path / "ok", tables), monkeypatch, expect="ok")
    bad = edit(tables, "demand", "site_id", {10: "S99", 11: " S02"})
    check(write(tmp_path / "bad", bad), monkeypatch, expect="faults")


def test_incomplete_table_still_checked_as_before(
    demo: dict[str, pl.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items without unit_cost: its raw ids still serve the reference checks."""
    tables = {**demo, "items": demo["items"].drop("unit_cost")}
    tables = edit(tables, "demand", "item_id", {3: "GHOST"})
    faults, _ = faults_of(check(write(tmp_path, tables), monkeypatch, expect="faults"))
    assert [f[4] for f in faults][:1] == [
        "missing required column 'unit_cost' (columns found: item_id, description, "
        "criticality, repairable, unit_weight_kg, unit_volume_m3, replaced_by, "
        "introduction_date)"
    ]
    assert ("demand.parquet", 5, "item_id", "GHOST", "unknown id, not in items") in faults


def test_items_without_id_column_is_a_fault_not_a_traceback(
    demo: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    write(tmp_path, {**demo, "items": demo["items"].drop("item_id")})
    with pytest.raises(InputError, match="missing required column 'item_id'"):
        load_dataset(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "item_id,date,quantity\nA,2024-01-01,1\nB,2024-02-01,2.5\n",
        "item_id,site_id,date,quantity\n A ,S1,2024-01-01,1\nB,,2024-02-01,x\n",
        "item_id,date,quantity,order_id\nA,2024-01-01T10:00:00,1, o1\nA,2024-01-02,-3,o2\n",
    ],
)
def test_standalone_demand_csv_same(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text)
    assert_same(*fast_and_slow(lambda: load_demand_table(path), monkeypatch))


def test_standalone_demand_parquet_with_timestamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.parquet"
    pl.DataFrame(
        {
            "item_id": ["A", "B ", "A"],
            "date": [datetime(2024, 1, 1, 8), datetime(2024, 1, 2), datetime(2024, 2, 1)],
            "quantity": [1.0, 2.0, 0.0],
            "order_id": ["o1", None, "o3"],
        }
    ).write_parquet(path)
    kind, frame = outcome(lambda: load_demand_table(path))
    assert kind == "ok" and isinstance(frame, pl.DataFrame)
    assert frame["item_id"].to_list() == ["A", "B", "A"]
    assert frame["date"].to_list() == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 2, 1)]
    assert_same(*fast_and_slow(lambda: load_demand_table(path), monkeypatch))
