"""Loading a planning dataset or a demand table: round trips and every kind of bad input.

Row numbers in fault lines are spreadsheet rows: the header is row 1, the first data row
is row 2.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from spareflow.data.demo import generate_dataset
from spareflow.data.load import load_dataset, load_demand_table
from spareflow.data.schema import TABLES, Kind
from spareflow.data.write import write_dataset
from spareflow.errors import InputError, NotFound

DTYPES = {
    Kind.ID: pl.String,
    Kind.TEXT: pl.String,
    Kind.NUMBER: pl.Float64,
    Kind.NONNEG: pl.Float64,
    Kind.SHARE: pl.Float64,
    Kind.DATE: pl.Date,
    Kind.BOOL: pl.Boolean,
}

# A small valid dataset; each bad case replaces one table.
ITEMS = "item_id,unit_cost,replaced_by\nA,1.5,\nB,2.0,\nC,3.0,\n"
SITES = "site_id,name\nS1,one\nS2,two\n"
DEMAND = "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,S2,2024-01-10,2\nC,S1,2024-02-05,3\n"
STOCK = "item_id,site_id,on_hand\nA,S1,1\nB,S1,2\nC,S2,0\n"
BASE = {"items.csv": ITEMS, "sites.csv": SITES, "demand.csv": DEMAND, "stock.csv": STOCK}


def make_dataset(folder: Path, **tables: str | None) -> Path:
    """Write BASE with some tables replaced (key 'demand' -> demand.csv; None drops it)."""
    files = dict(BASE)
    for name, text in tables.items():
        files[f"{name}.csv"] = text
    folder.mkdir(parents=True, exist_ok=True)
    for file, text in files.items():
        if text is not None:
            (folder / file).write_text(text, encoding="utf-8")
    return folder


def load_lines(folder: Path, max_faults: int = 50) -> list[str]:
    with pytest.raises(InputError) as info:
        load_dataset(folder, max_faults=max_faults)
    lines = info.value.lines()
    assert lines, "an InputError must carry at least one line"
    return lines


def find_fault(lines: list[str], file: str, row: int, column: str, what: str) -> str:
    """The one line naming ``file``, ``row N``, ``column 'x'`` and containing ``what``."""
    where = f"{file}, row {row}, column '{column}': "
    hits = [ln for ln in lines if ln.startswith(where) and what in ln]
    assert len(hits) == 1, f"expected one line starting {where!r} with {what!r} in {lines}"
    return hits[0]


# ---------------------------------------------------------------------------------------
# Round trip of the demo dataset in every format


@pytest.fixture(scope="module")
def demo_tables() -> dict[str, pl.DataFrame]:
    return generate_dataset(items=50, sites=3)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_demo_dataset_round_trip(
    fmt: str, demo_tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    paths = write_dataset(demo_tables, tmp_path, fmt)
    assert sorted(p.name for p in paths) == sorted(f"{n}.{fmt}" for n in demo_tables)
    ds = load_dataset(tmp_path)
    assert sorted(ds.tables) == sorted(demo_tables)
    assert ds.source == str(tmp_path)
    for name, original in demo_tables.items():
        loaded = ds[name]
        assert loaded.height == original.height, name
        assert loaded.columns == original.columns, name  # no _row helper column left
        for col in TABLES[name].columns:
            if col.name in loaded.columns:
                assert loaded.schema[col.name] == DTYPES[col.kind], (name, col.name)
    # the core columns come back with the same values (demand after supersession)
    items = demo_tables["items"]
    links = items.filter(pl.col("replaced_by").is_not_null())
    assert links.height >= 1  # the demo supersedes ~2 % of items: 1 of 50
    assert dict(ds.carried_over) == dict(zip(links["item_id"], links["replaced_by"], strict=True))
    expected = demo_tables["demand"].with_columns(pl.col("item_id").replace(dict(ds.carried_over)))
    assert (
        ds["demand"]
        .select("item_id", "site_id", "date", "quantity")
        .equals(expected.select("item_id", "site_id", "date", "quantity"))
    )
    assert ds["items"]["item_id"].to_list() == items["item_id"].to_list()
    assert ds["items"]["unit_cost"].to_list() == pytest.approx(items["unit_cost"].to_list())
    assert ds["items"]["introduction_date"].equals(items["introduction_date"])
    assert ds["items"]["repairable"].to_list() == items["repairable"].to_list()
    assert ds["stock"]["on_hand"].to_list() == pytest.approx(
        demo_tables["stock"]["on_hand"].to_list()
    )
    predecessors = set(links["item_id"])
    assert predecessors.isdisjoint(ds["demand"]["item_id"].unique().to_list())


def test_unknown_columns_are_kept(tmp_path: Path) -> None:
    make_dataset(tmp_path, items="item_id,unit_cost,colour\nA,1,red\nB,2,\nC,3,blue\n")
    ds = load_dataset(tmp_path)
    assert ds["items"].columns == ["item_id", "unit_cost", "colour"]
    assert ds["items"]["colour"].to_list() == ["red", None, "blue"]
    assert ds["demand"]["quantity"].to_list() == [1.0, 2.0, 3.0]
    assert ds["demand"]["date"].to_list() == [date(2024, 1, 3), date(2024, 1, 10), date(2024, 2, 5)]


def test_missing_dataset_folder_and_file_instead_of_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such folder"):
        load_dataset(tmp_path / "nowhere")
    file = tmp_path / "demand.csv"
    file.write_text(DEMAND)
    with pytest.raises(NotFound, match="expected a dataset folder"):
        load_dataset(file)


# ---------------------------------------------------------------------------------------
# Bad input, one fault each: (table replaced, its text, file, row, column, what is wrong)

ROW_FAULTS = [
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,S2,2024-13-45,2\n",
        "demand.csv",
        3,
        "date",
        "not a date",
        id="date-month-13",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,yesterday,1\nB,S2,2024-01-10,2\n",
        "demand.csv",
        2,
        "date",
        "not a date",
        id="date-yesterday",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,S2,2024-01-10,abc\n",
        "demand.csv",
        3,
        "quantity",
        "not a number",
        id="quantity-abc",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,S2,2024-01-10,-2\n",
        "demand.csv",
        3,
        "quantity",
        "negative value not allowed",
        id="quantity-negative",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,NaN\nB,S2,2024-01-10,2\n",
        "demand.csv",
        2,
        "quantity",
        "not a finite number",
        id="quantity-nan",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,S2,2024-01-10,inf\n",
        "demand.csv",
        3,
        "quantity",
        "not a finite number",
        id="quantity-inf",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,\nB,S2,2024-01-10,2\n",
        "demand.csv",
        2,
        "quantity",
        "missing value",
        id="quantity-blank",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nZ,S2,2024-01-10,2\n",
        "demand.csv",
        3,
        "item_id",
        "unknown id, not in items",
        id="unknown-item",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,S9,2024-01-10,2\n",
        "demand.csv",
        3,
        "site_id",
        "unknown id, not in sites",
        id="unknown-site",
    ),
    pytest.param(
        "stock",
        "item_id,site_id,on_hand\nA,S1,1\nB,S7,2\n",
        "stock.csv",
        3,
        "site_id",
        "unknown id, not in sites",
        id="unknown-site-in-stock",
    ),
    pytest.param(
        "items",
        "item_id,unit_cost,replaced_by\nA,1,\nB,2,Q\nC,3,\n",
        "items.csv",
        3,
        "replaced_by",
        "unknown id, not in items",
        id="unknown-successor",
    ),
    pytest.param(
        "items",
        "item_id,unit_cost\nA,1\nB,2\nC,3\nA,4\n",
        "items.csv",
        5,
        "item_id",
        "duplicate key (item_id); first seen at row 2",
        id="duplicate-item",
    ),
    pytest.param(
        "stock",
        "item_id,site_id,on_hand\nA,S1,1\nB,S1,2\nB,S2,3\nB,S1,4\n",
        "stock.csv",
        5,
        "item_id",
        "duplicate key (item_id, site_id); first seen at row 3",
        id="duplicate-stock",
    ),
]


@pytest.mark.parametrize(("table", "text", "file", "row", "column", "what"), ROW_FAULTS)
def test_row_fault_names_file_row_column(
    table: str, text: str, file: str, row: int, column: str, what: str, tmp_path: Path
) -> None:
    lines = load_lines(make_dataset(tmp_path, **{table: text}))
    assert len(lines) == 1, lines
    find_fault(lines, file, row, column, what)


def test_fault_shows_the_offending_value(tmp_path: Path) -> None:
    text = "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,S2,yesterday,2\nZ,S1,2024-01-05,1\n"
    lines = load_lines(make_dataset(tmp_path, demand=text))
    line = find_fault(lines, "demand.csv", 3, "date", "not a date")
    assert line.endswith("(got 'yesterday')")


def test_duplicate_key_repeated_three_times_names_first_row_each_time(tmp_path: Path) -> None:
    lines = load_lines(make_dataset(tmp_path, items="item_id,unit_cost\nA,1\nB,2\nA,3\nA,4\nC,5\n"))
    assert len(lines) == 2
    find_fault(lines, "items.csv", 4, "item_id", "first seen at row 2")
    find_fault(lines, "items.csv", 5, "item_id", "first seen at row 2")


FILE_FAULTS = [
    pytest.param(
        "demand",
        "item_id,site_id,date\nA,S1,2024-01-03\n",
        "demand.csv: missing required column 'quantity' (columns found: item_id, site_id, date)",
        id="missing-column",
    ),
    pytest.param(
        "items",
        "item_id,description\nA,x\nB,y\nC,z\n",
        "items.csv: missing required column 'unit_cost' (columns found: item_id, description)",
        id="missing-column-items",
    ),
    pytest.param(
        "demand",
        "",
        "demand.csv: file is empty (expected a header row and data)",
        id="empty-file",
    ),
    pytest.param(
        "demand",
        "item_id,site_id,date,quantity\n",
        "demand.csv: has a header but no data rows",
        id="header-only",
    ),
    pytest.param(
        "demand",
        None,
        "demand.csv: required table 'demand' not found in ",
        id="missing-table",
    ),
]


@pytest.mark.parametrize(("table", "text", "expected"), FILE_FAULTS)
def test_file_fault(table: str, text: str | None, expected: str, tmp_path: Path) -> None:
    lines = load_lines(make_dataset(tmp_path, **{table: text}))
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines


def test_missing_table_message_lists_what_was_looked_for(tmp_path: Path) -> None:
    lines = load_lines(make_dataset(tmp_path, demand=None))
    assert "demand.parquet, demand.csv, demand.xlsx" in lines[0]
    assert str(tmp_path) in lines[0]


def test_supersession_loop(tmp_path: Path) -> None:
    items = "item_id,unit_cost,replaced_by\nA,1,B\nB,2,A\nC,3,\n"
    lines = load_lines(make_dataset(tmp_path, items=items))
    assert len(lines) == 2
    assert "supersession loop: A -> B -> A" in find_fault(
        lines, "items.csv", 2, "replaced_by", "loop"
    )
    assert "supersession loop: B -> A -> B" in find_fault(
        lines, "items.csv", 3, "replaced_by", "loop"
    )


def test_supersession_self_loop(tmp_path: Path) -> None:
    lines = load_lines(
        make_dataset(tmp_path, items="item_id,unit_cost,replaced_by\nA,1,A\nB,2,\nC,3,\n")
    )
    assert len(lines) == 1
    find_fault(lines, "items.csv", 2, "replaced_by", "supersession loop: A -> A")


def test_several_faults_are_all_reported(tmp_path: Path) -> None:
    text = (
        "item_id,site_id,date,quantity\n"
        "A,S1,2024-01-03,x\n"
        "B,S2,2024-01-10,-1\n"
        "C,S1,bad,3\n"
        "A,S2,2024-01-11,4\n"
    )
    lines = load_lines(make_dataset(tmp_path, demand=text))
    assert len(lines) == 3, lines
    find_fault(lines, "demand.csv", 2, "quantity", "not a number")
    find_fault(lines, "demand.csv", 3, "quantity", "negative value not allowed")
    find_fault(lines, "demand.csv", 4, "date", "not a date")


def test_faults_in_several_files_are_all_reported(tmp_path: Path) -> None:
    make_dataset(
        tmp_path,
        items="item_id,unit_cost\nA,-1\nB,2\nC,3\n",
        stock="item_id,site_id,on_hand\nA,S1,lots\n",
        demand="item_id,site_id,date,quantity\nA,S1,2024-02-30,1\n",
    )
    lines = load_lines(tmp_path)
    assert len(lines) == 3, lines
    find_fault(lines, "items.csv", 2, "unit_cost", "negative value not allowed")
    find_fault(lines, "demand.csv", 2, "date", "not a date")
    find_fault(lines, "stock.csv", 2, "on_hand", "not a number")


def test_fault_cap(tmp_path: Path) -> None:
    rows = "".join(f"A,S1,2024-01-{i + 1:02d},-{i + 1}\n" for i in range(20))
    make_dataset(tmp_path, demand="item_id,site_id,date,quantity\n" + rows)
    lines = load_lines(tmp_path, max_faults=5)
    assert len(lines) == 6, lines
    for i, row in enumerate(range(2, 7)):
        assert lines[i].startswith(f"demand.csv, row {row}, column 'quantity': negative value")
    assert lines[5] == "... and 15 more faults not shown"


def test_fault_cap_counts_duplicates(tmp_path: Path) -> None:
    make_dataset(tmp_path, stock="item_id,site_id,on_hand\nA,S1,1\n" + "A,S1,2\n" * 9)
    with pytest.raises(InputError) as info:
        load_dataset(tmp_path, max_faults=4)
    assert len(info.value.faults) == 4
    assert info.value.truncated == 5
    assert info.value.lines()[-1] == "... and 5 more faults not shown"
    assert all(f.row is not None and f.column == "item_id" for f in info.value.faults)
    assert [f.row for f in info.value.faults] == [3, 4, 5, 6]


def test_input_error_faults_carry_structured_fields(tmp_path: Path) -> None:
    text = "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,S2,2024-01-10,abc\n"
    with pytest.raises(InputError) as info:
        load_dataset(make_dataset(tmp_path, demand=text))
    (fault,) = info.value.faults
    assert (fault.file, fault.row, fault.column, fault.value) == (
        "demand.csv",
        3,
        "quantity",
        "abc",
    )
    assert fault.message == "not a number"


def test_unknown_id_reported_together_with_a_parse_fault(tmp_path: Path) -> None:
    text = "item_id,site_id,date,quantity\nA,S1,bad,1\nZ,S2,2024-01-10,2\n"
    lines = load_lines(make_dataset(tmp_path, demand=text))
    find_fault(lines, "demand.csv", 2, "date", "not a date")
    find_fault(lines, "demand.csv", 3, "item_id", "unknown id")
    assert len(lines) == 2


def test_duplicate_reported_together_with_a_parse_fault(tmp_path: Path) -> None:
    text = "item_id,site_id,on_hand\nA,S1,-1\nB,S1,2\nB,S1,4\n"
    lines = load_lines(make_dataset(tmp_path, stock=text))
    find_fault(lines, "stock.csv", 2, "on_hand", "negative value")
    find_fault(lines, "stock.csv", 4, "item_id", "first seen at row 3")
    assert len(lines) == 2


def test_negative_infinity_is_one_fault(tmp_path: Path) -> None:
    text = "item_id,site_id,date,quantity\nA,S1,2024-01-03,-inf\n"
    lines = load_lines(make_dataset(tmp_path, demand=text))
    assert len(lines) == 1, lines
    find_fault(lines, "demand.csv", 2, "quantity", "not a finite number")


# ---------------------------------------------------------------------------------------
# Excel and Parquet


def _excel_parquet_base(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"item_id": ["A", "B"], "unit_cost": [1.0, 2.0]}).write_excel(
        folder / "items.xlsx"
    )
    pl.DataFrame({"site_id": ["S1", "S2"]}).write_parquet(folder / "sites.parquet")


def test_excel_bad_rows(tmp_path: Path) -> None:
    _excel_parquet_base(tmp_path)
    pl.DataFrame(
        {
            "item_id": ["A", "B", "A", "Z"],
            "site_id": ["S1", "S1", "S2", "S1"],
            "date": ["2024-01-01", "yesterday", "2024-01-02", "2024-01-03"],
            "quantity": [1.0, 3.0, -2.0, 1.0],
        }
    ).write_excel(tmp_path / "demand.xlsx")
    lines = load_lines(tmp_path)
    assert len(lines) == 3, lines
    find_fault(lines, "demand.xlsx", 3, "date", "not a date")
    find_fault(lines, "demand.xlsx", 4, "quantity", "negative value not allowed")
    find_fault(lines, "demand.xlsx", 5, "item_id", "unknown id, not in items")


def test_excel_unknown_item_with_native_dates(tmp_path: Path) -> None:
    _excel_parquet_base(tmp_path)
    pl.DataFrame(
        {
            "item_id": ["A", "B", "Z"],
            "site_id": ["S1", "S1", "S2"],
            "date": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)],
            "quantity": [1, 2, 3],
        }
    ).write_excel(tmp_path / "demand.xlsx")
    lines = load_lines(tmp_path)
    assert len(lines) == 1
    find_fault(lines, "demand.xlsx", 4, "item_id", "unknown id, not in items")


def test_excel_valid_loads_dates_and_numbers(tmp_path: Path) -> None:
    _excel_parquet_base(tmp_path)
    pl.DataFrame(
        {
            "item_id": ["A", "B"],
            "site_id": ["S1", "S2"],
            "date": [date(2024, 1, 1), date(2024, 2, 29)],
            "quantity": [1.0, 2.5],
        }
    ).write_excel(tmp_path / "demand.xlsx")
    ds = load_dataset(tmp_path)
    assert ds["demand"]["date"].to_list() == [date(2024, 1, 1), date(2024, 2, 29)]
    assert ds["demand"]["quantity"].to_list() == [1.0, 2.5]
    assert ds["items"]["unit_cost"].to_list() == [1.0, 2.0]


def test_parquet_bad_rows_typed_columns(tmp_path: Path) -> None:
    _excel_parquet_base(tmp_path)
    pl.DataFrame(
        {
            "item_id": ["A", "B", "A"],
            "site_id": ["S1", "S1", "S1"],
            "date": [date(2024, 1, 1)] * 3,
            "quantity": [1.0, -3.0, float("nan")],
        }
    ).write_parquet(tmp_path / "demand.parquet")
    lines = load_lines(tmp_path)
    assert len(lines) == 2, lines
    find_fault(lines, "demand.parquet", 3, "quantity", "negative value not allowed")
    find_fault(lines, "demand.parquet", 4, "quantity", "not a finite number")


def test_parquet_text_columns_are_parsed(tmp_path: Path) -> None:
    _excel_parquet_base(tmp_path)
    pl.DataFrame(
        {
            "item_id": ["A", "B", "A"],
            "site_id": ["S1", "S1", "S1"],
            "date": ["2024-01-01", "2024-13-45", "2024-01-02"],
            "quantity": [1, 3, None],
        }
    ).write_parquet(tmp_path / "demand.parquet")
    lines = load_lines(tmp_path)
    assert len(lines) == 2, lines
    find_fault(lines, "demand.parquet", 3, "date", "not a date")
    find_fault(lines, "demand.parquet", 4, "quantity", "missing value")


@pytest.mark.parametrize("suffix", ["parquet", "xlsx"])
def test_corrupt_binary_file_is_named_not_a_traceback(suffix: str, tmp_path: Path) -> None:
    _excel_parquet_base(tmp_path)
    (tmp_path / f"demand.{suffix}").write_bytes(b"this is not a real file")
    lines = load_lines(tmp_path)
    assert len(lines) == 1
    assert lines[0].startswith(f"demand.{suffix}: cannot be read as {suffix}: ")


def test_parquet_preferred_over_csv(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    pl.DataFrame(
        {"item_id": ["C"], "site_id": ["S2"], "date": [date(2025, 5, 5)], "quantity": [9.0]}
    ).write_parquet(tmp_path / "demand.parquet")
    ds = load_dataset(tmp_path)
    assert ds["demand"].rows() == [("C", "S2", date(2025, 5, 5), 9.0)]


# ---------------------------------------------------------------------------------------
# Supersession carry-over


def test_supersession_moves_demand_to_successor(tmp_path: Path) -> None:
    make_dataset(tmp_path, items="item_id,unit_cost,replaced_by\nA,1,B\nB,2,\nC,3,\n")
    ds = load_dataset(tmp_path)
    assert ds.carried_over == (("A", "B"),)
    assert ds["demand"].select("item_id", "site_id", "quantity").rows() == [
        ("B", "S1", 1.0),
        ("B", "S2", 2.0),
        ("C", "S1", 3.0),
    ]
    # the items table itself is unchanged: A is still listed, pointing at B
    assert ds["items"]["replaced_by"].to_list() == ["B", None, None]
    assert ds["stock"]["item_id"].to_list() == ["A", "B", "C"]


def test_supersession_chain_ends_at_last_successor(tmp_path: Path) -> None:
    make_dataset(tmp_path, items="item_id,unit_cost,replaced_by\nA,1,B\nB,2,C\nC,3,\n")
    ds = load_dataset(tmp_path)
    assert ds.carried_over == (("A", "C"), ("B", "C"))
    assert ds["demand"]["item_id"].to_list() == ["C", "C", "C"]
    assert ds["demand"]["quantity"].to_list() == [1.0, 2.0, 3.0]
    assert ds["demand"]["date"].to_list() == [date(2024, 1, 3), date(2024, 1, 10), date(2024, 2, 5)]


def test_no_supersession_column_means_nothing_carried(tmp_path: Path) -> None:
    make_dataset(tmp_path, items="item_id,unit_cost\nA,1\nB,2\nC,3\n")
    ds = load_dataset(tmp_path)
    assert ds.carried_over == ()
    assert ds["demand"]["item_id"].to_list() == ["A", "B", "C"]


# ---------------------------------------------------------------------------------------
# A demand table alone


def test_standalone_demand_without_site(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("item_id,date,quantity\nA,2024-01-01,1\nB,2024-02-01,2.5\nX,2024-02-03,0\n")
    frame = load_demand_table(path)
    assert frame.columns == ["item_id", "date", "quantity"]
    assert frame.schema == pl.Schema(
        {"item_id": pl.String, "date": pl.Date, "quantity": pl.Float64}
    )
    assert frame.rows() == [
        ("A", date(2024, 1, 1), 1.0),
        ("B", date(2024, 2, 1), 2.5),
        ("X", date(2024, 2, 3), 0.0),  # no items table: any id is fine
    ]


def test_standalone_demand_with_site(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "item_id,site_id,date,quantity,order_id\nA,S1,2024-01-01,1,o1\nA,S2,2024-01-05,2,o2\n"
    )
    frame = load_demand_table(path)
    assert frame.columns == ["item_id", "site_id", "date", "quantity", "order_id"]
    assert frame["site_id"].to_list() == ["S1", "S2"]
    assert frame["quantity"].dtype == pl.Float64


def test_standalone_demand_from_folder(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    frame = load_demand_table(tmp_path)
    assert frame.height == 3
    assert frame["item_id"].to_list() == ["A", "B", "C"]


def test_standalone_demand_folder_without_demand(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no demand table"):
        load_demand_table(tmp_path)


@pytest.mark.parametrize("name", ["demand.txt", "demand.json", "demand.xls"])
def test_standalone_demand_unsupported_suffix(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text("item_id,date,quantity\nA,2024-01-01,1\n")
    with pytest.raises(NotFound, match="unsupported file type"):
        load_demand_table(path)


def test_standalone_demand_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("item_id,date,quantity\nA,2024-01-01,1\n,2024-01-02,2\nB,2024-02-01,x\n")
    with pytest.raises(InputError) as info:
        load_demand_table(path)
    lines = info.value.lines()
    assert len(lines) == 2, lines
    find_fault(lines, "d.csv", 3, "item_id", "missing value")
    find_fault(lines, "d.csv", 4, "quantity", "not a number")


def test_standalone_demand_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        load_demand_table(tmp_path / "nope.csv")
    (line,) = info.value.lines()
    assert line.endswith("nope.csv: file not found")


def test_standalone_demand_missing_folder_message(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        load_demand_table(tmp_path / "no_such_folder")
    text = str(info.value)
    assert "unsupported file type" not in text
    assert "no such" in text or "not found" in text or "does not exist" in text
