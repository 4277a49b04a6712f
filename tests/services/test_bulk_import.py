"""Bulk import of a planning dataset, on SQLite and PostgreSQL: the ledger ends at the stock
file, bad rows and clashing ids write nothing, and a killed import leaves no trace."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from spareflow.data.demo import generate_dataset
from spareflow.data.validate import FaultLog
from spareflow.data.write import write_dataset
from spareflow.errors import Conflict, InputError
from spareflow.services import ledger, master
from spareflow.services.bulk_import import _fill_sites, import_dataset
from spareflow.store.models import (
    Asset,
    AssetPosition,
    Balance,
    Base,
    Item,
    Location,
    Move,
    Order,
    OrderLine,
    Partner,
    Site,
)
from spareflow.store.session import session_factory, unit_of_work

ROOT = Path(__file__).resolve().parents[2]


def small_tables() -> dict[str, pl.DataFrame]:
    """A generated dataset (one superseded item, open orders from suppliers and from the
    warehouse) plus a zero-quantity demand row, assets and a bill of positions."""
    tables = generate_dataset(items=30, sites=3, months=12, seed=7)
    demand = tables["demand"]
    zero = demand.head(1).with_columns(quantity=pl.lit(0.0), order_id=pl.lit("SO-ZERO"))
    tables["demand"] = pl.concat([demand, zero])
    first, second = tables["items"]["item_id"].head(2).to_list()
    tables["assets"] = pl.DataFrame(
        {"asset_id": ["PUMP-1", "PUMP-2"], "site_id": ["S02", "S03"], "model": ["P-100"] * 2}
    )
    tables["bill_of_positions"] = pl.DataFrame(
        {
            "model": ["P-100", "P-100"],
            "item_id": [first, second],
            "quantity_per_asset": [2.0, 1.0],
            "parent_item_id": [None, first],
        }
    )
    return tables


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pl.DataFrame]]:
    tables = small_tables()
    folder = tmp_path_factory.mktemp("dataset")
    write_dataset(tables, folder)
    return folder, tables


def table_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with unit_of_work(factory) as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_import_ends_the_ledger_at_the_stock_file(
    factory: sessionmaker[Session], dataset: tuple[Path, dict[str, pl.DataFrame]]
) -> None:
    folder, tables = dataset
    stages: list[str] = []
    summary = import_dataset(
        factory, folder, "importer", progress=lambda stage, done, total: stages.append(stage)
    )
    items, sites, demand, stock, sourcing = (
        tables[n] for n in ("items", "sites", "demand", "stock", "sourcing")
    )
    issued = demand.filter(pl.col("quantity") > 0)
    suppliers = sourcing.filter(~pl.col("supplier_id").is_in(sites["site_id"].implode()))
    open_ = stock.filter(pl.col("on_order") > 0).join(sourcing, on=["item_id", "site_id"])
    from_sites = open_.filter(pl.col("supplier_id").is_in(sites["site_id"].implode()))
    assert summary.items == items.height == 30
    assert summary.sites == summary.locations == 3
    assert summary.partners == suppliers["supplier_id"].n_unique()
    assert summary.issue_moves == issued.height
    assert summary.zero_demand_rows == 1
    assert (summary.assets, summary.asset_positions) == (2, 4)
    assert summary.order_lines == open_.height and from_sites.height > 0
    assert summary.as_dict()["elapsed_seconds"] == summary.elapsed_seconds > 0
    assert list(dict.fromkeys(stages)) == [
        "load",
        "items",
        "sites",
        "partners",
        "assets",
        "moves",
        "balances",
        "orders",
    ]
    with unit_of_work(factory) as s:
        assert ledger.reconcile(s) == []
        counted = Counter(s.scalars(select(Move.reason)))
        assert counted == {
            "import": counted["import"],
            "issue": summary.issue_moves,
            "transfer": from_sites.height,  # the warehouse's shipments, now in transit
        }
        assert summary.moves == counted.total()
        balances = s.scalar(select(func.count()).select_from(Balance))
        assert balances == summary.balances + from_sites["item_id"].n_unique()  # + in transit
        # serviceable on hand per item-site is the stock file's on_hand, nothing else
        levels = {
            (lv.item_id, lv.site_id): lv.on_hand
            for lv in ledger.stock_levels(s)
            if lv.status == "serviceable"
        }
        expected = {
            (i, site): Decimal(str(q))
            for i, site, q in stock.select("item_id", "site_id", "on_hand").iter_rows()
            if q > 0
        }
        assert levels == expected
        # one issue per demand row with a quantity, at its date, for the item it names
        issues = s.execute(
            select(
                Move.item_id,
                Move.from_location_id,
                Move.moved_at,
                Move.quantity,
                Move.reference,
                Move.username,
            ).where(Move.reason == "issue", Move.to_location_id == "VIRTUAL/CUSTOMER")
        ).all()
        assert Counter(tuple(r) for r in issues) == Counter(
            (
                i,
                f"{site}/STOCK",
                datetime(d.year, d.month, d.day, tzinfo=UTC),
                Decimal(str(q)),
                order,
                "importer",
            )
            for i, site, d, q, order in issued.iter_rows()
        )
        # each item-site opens at its first demand date with on_hand + all its demand
        opening = {
            (r.item_id, r.to_location_id): (r.moved_at, r.quantity)
            for r in s.scalars(select(Move).where(Move.reason == "import"))
        }
        first = issued.group_by("item_id", "site_id").agg(
            pl.col("date").min(), pl.col("quantity").sum()
        )
        on_hand = dict(
            zip(zip(stock["item_id"], stock["site_id"], strict=True), stock["on_hand"], strict=True)
        )
        shipped = from_sites.group_by("item_id", "supplier_id").agg(pl.col("on_order").sum())
        out = {(i, site): q for i, site, q in shipped.iter_rows()}
        for i, site, d, total in first.iter_rows():
            moment, q = opening[(i, f"{site}/STOCK")]
            assert moment == datetime(d.year, d.month, d.day, tzinfo=UTC)
            assert q == Decimal(str(on_hand.get((i, site), 0) + total + out.get((i, site), 0)))
        # master data: supersession, parents, suppliers with their median lead time
        first, second = items["item_id"].head(2).to_list()
        successor = items.filter(pl.col("replaced_by").is_not_null()).row(0, named=True)
        item = s.get(Item, successor["item_id"])
        assert item is not None
        assert (item.replaced_by, item.interchangeability) == (successor["replaced_by"], "one-way")
        assert s.get(Site, "S02").parent_site_id == "DC01"  # type: ignore[union-attr]
        assert s.get(Location, "S03/STOCK") is not None
        sup, lead = suppliers.group_by("supplier_id").agg(pl.col("lead_time_days").median()).row(0)
        partner = s.get(Partner, sup)
        assert partner is not None
        assert (partner.roles, partner.lead_time_days) == (["supplier"], lead)
        positions = {(p.asset_id, p.position): p.quantity for p in s.scalars(select(AssetPosition))}
        assert positions[("PUMP-2", f"{first}/{second}")] == 1
        assert positions[("PUMP-1", first)] == 2 and s.get(Asset, "PUMP-2") is not None
        # open quantities: confirmed purchase orders, shipped transfers in transit
        status = Counter(s.scalars(select(Order.kind + ":" + Order.status)))
        bought = open_.filter(~pl.col("supplier_id").is_in(sites["site_id"].implode()))
        assert status == {
            "purchase:confirmed": bought.select("site_id", "supplier_id").n_unique(),
            "transfer:shipped": from_sites.select("site_id", "supplier_id").n_unique(),
        }
        assert summary.orders == status.total()
        assert sum(s.scalars(select(OrderLine.quantity))) == Decimal(str(open_["on_order"].sum()))
        transit = ledger.stock_levels(s, location_id="VIRTUAL/TRANSIT", include_virtual=True)
        assert sum(lv.on_hand for lv in transit) == Decimal(str(from_sites["on_order"].sum()))


def test_superseded_history_stays_with_the_item_the_file_names(
    factory: sessionmaker[Session], dataset: tuple[Path, dict[str, pl.DataFrame]]
) -> None:
    folder, tables = dataset
    old = tables["items"].filter(pl.col("replaced_by").is_not_null())["item_id"][0]
    rows = tables["demand"].filter((pl.col("item_id") == old) & (pl.col("quantity") > 0)).height
    assert rows > 0
    import_dataset(factory, folder, "importer")
    with unit_of_work(factory) as s:
        moved = s.scalar(select(func.count()).where(Move.reason == "issue", Move.item_id == old))
    assert moved == rows


@pytest.mark.parametrize(
    ("row", "column", "value", "message"),
    [
        (3, "item_id", "NO-SUCH-PART", "unknown id"),
        (4, "quantity", -2.0, "negative"),
        (5, "quantity", 1.0005, "more than 3 decimal places"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(
    factory: sessionmaker[Session],
    tmp_path: Path,
    row: int,
    column: str,
    value: float | str,
    message: str,
) -> None:
    tables = small_tables()
    demand = tables["demand"]
    tables["demand"] = demand.with_columns(demand[column].clone().scatter(row - 2, value))
    write_dataset(tables, tmp_path)
    before = table_counts(factory)
    with pytest.raises(InputError) as caught:
        import_dataset(factory, tmp_path, "importer")
    fault = caught.value.faults[0]
    assert (fault.file, fault.row, fault.column) == ("demand.csv", row, column)
    assert message in fault.message
    assert table_counts(factory) == before
    assert before["items"] == before["moves"] == before["sites"] == 0


def test_a_second_import_is_refused_and_changes_nothing(
    factory: sessionmaker[Session], dataset: tuple[Path, dict[str, pl.DataFrame]]
) -> None:
    folder, tables = dataset
    import_dataset(factory, folder, "importer")
    before = table_counts(factory)
    with pytest.raises(Conflict) as caught:
        import_dataset(factory, folder, "importer")
    first = sorted(tables["items"]["item_id"].to_list())[:5]
    assert str(caught.value).startswith(
        "the store already holds " + ", ".join(f"item {i}" for i in first) + " and "
    )
    assert table_counts(factory) == before


def test_one_clashing_site_is_enough_to_refuse(
    factory: sessionmaker[Session], dataset: tuple[Path, dict[str, pl.DataFrame]]
) -> None:
    folder, _ = dataset
    with unit_of_work(factory) as s:
        master.add_site(s, "S03")
    before = table_counts(factory)
    with pytest.raises(Conflict, match=r"holds site S03; ") as caught:
        import_dataset(factory, folder, "importer")
    assert caught.value.field == "site_id"
    assert table_counts(factory) == before


def test_demand_without_a_site_goes_to_the_only_site_else_each_row_faults() -> None:
    frame = pl.DataFrame({"item_id": ["A", "B"], "site_id": [None, "X"], "_row": [2, 3]})
    log = FaultLog()
    filled = _fill_sites(frame, {"X"}, "demand.csv", log)
    assert filled["site_id"].to_list() == ["X", "X"] and log.total == 0
    _fill_sites(frame, {"X", "Y"}, "demand.csv", log)
    assert [(f.row, f.column) for f in log.faults] == [(2, "site_id")]
    assert "the dataset has 2 sites" in log.faults[0].message


KILLED_IMPORT = """
import os, sys, time
from pathlib import Path
from sqlalchemy import event
from spareflow.services.bulk_import import import_dataset
from spareflow.store.session import make_engine, session_factory

url, schema, folder, marker = sys.argv[1:5]
engine = make_engine(url, **({"connect_args": {"options": f"-csearch_path={schema}"}}
                             if schema else {}))
if engine.dialect.name == "sqlite":
    @event.listens_for(engine, "connect")
    def small_cache(dbapi_connection, record):
        dbapi_connection.execute("PRAGMA cache_size=8")  # spill uncommitted pages to the WAL

def progress(stage, done, total):
    if stage == os.environ["SPAREFLOW_TEST_PAUSE_AT"] and done > 0:
        Path(marker).touch()
        time.sleep(600)

import_dataset(session_factory(engine), folder, "killed", progress=progress)
"""


def test_an_import_killed_mid_transaction_leaves_the_store_as_it_was(
    engine: Engine, dataset: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    folder, _ = dataset
    factory = session_factory(engine)
    before = table_counts(factory)
    schema = ""
    wal = Path(f"{engine.url.database}-wal")
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            schema = str(connection.execute(text("SHOW search_path")).scalar())
    engine.dispose()  # the killed process is the only one with the database open
    if engine.dialect.name == "sqlite":  # the last to close checkpointed and removed the WAL
        assert not wal.exists() or wal.stat().st_size == 0
    marker = tmp_path / "paused"
    url = engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, url, schema, str(folder), str(marker)],
        cwd=ROOT,
        env={**os.environ, "SPAREFLOW_TEST_PAUSE_AT": "moves"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if process.poll() is not None:
                _, err = process.communicate()
                pytest.fail(f"the import ended before pausing: {err.decode()}")
            assert time.monotonic() < deadline, "the import never reached its moves"
            time.sleep(0.05)
        if engine.dialect.name == "sqlite":
            assert wal.stat().st_size > 0  # uncommitted pages were written to the WAL
            with closing(sqlite3.connect(wal.with_name(wal.name[: -len("-wal")]))) as peek:
                assert peek.execute("SELECT count(*) FROM items").fetchone() == (0,)
        else:
            with engine.connect() as connection:
                count = connection.execute(text("SELECT count(*) FROM items")).scalar()
            assert count == 0  # not visible to others before the commit
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert table_counts(factory) == before
    summary = import_dataset(factory, folder, "importer")
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Move)) == summary.moves
        assert ledger.reconcile(s) == []


def test_an_open_quantity_without_a_supplier_is_named(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    tables = small_tables()
    sourcing = tables["sourcing"]
    tables["sourcing"] = sourcing.with_columns(supplier_id=pl.lit(None, pl.String))
    write_dataset(tables, tmp_path)
    with pytest.raises(InputError) as caught:
        import_dataset(factory, tmp_path, "importer")
    stock = tables["stock"].with_row_index("row", offset=2).filter(pl.col("on_order") > 0)
    assert [(f.file, f.row, f.column) for f in caught.value.faults] == [
        ("stock.csv", row, "on_order") for row in stock["row"]
    ]
    assert "no supplier_id" in caught.value.faults[0].message
    assert table_counts(factory)["items"] == 0


def test_bulk_written_values_are_stored_as_the_ledger_stores_them(
    factory: sessionmaker[Session], dataset: tuple[Path, dict[str, pl.DataFrame]]
) -> None:
    folder, _ = dataset
    import_dataset(factory, folder, "importer")
    raw = text("SELECT CAST(quantity AS TEXT), CAST(moved_at AS TEXT) FROM moves WHERE move_id=:i")
    with unit_of_work(factory) as s:
        bulk = s.scalars(
            select(Move).where(Move.reason == "issue").order_by(Move.move_id.desc())
        ).first()
        assert bulk is not None
        request = ledger.MoveRequest(
            bulk.item_id,
            bulk.quantity,
            "VIRTUAL/SUPPLIER",
            bulk.from_location_id,
            "receipt",
            moved_at=bulk.moved_at,
        )
        posted = ledger.post(s, [request], "clerk")[0]
        assert (
            s.execute(raw, {"i": posted.move_id}).one() == s.execute(raw, {"i": bulk.move_id}).one()
        )
        assert ledger.reconcile(s) == []
