"""The operations commands as a user runs them on a SQLite store: plan it, draft its
orders, read its KPIs."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import select

from cli_runner import spareflow as run_spareflow
from spareflow.services import ledger, master, orders, users
from spareflow.services.ledger import MoveRequest
from spareflow.services.orders import LineIn
from spareflow.store.models import Order
from spareflow.store.session import make_engine, session_factory, unit_of_work, upgrade

PASSWORD = "correct horse battery"


def spareflow(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    database = {"SPAREFLOW_DATABASE_URL": f"sqlite:///{cwd / 'ops.db'}"}
    return run_spareflow(args, cwd, database, timeout=600)


def build_store(folder: Path) -> None:
    """A depot with 20 parts, two years of weekly issues, a supplier who delivers in 10 days."""
    engine = make_engine(f"sqlite:///{folder / 'ops.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    now = datetime.now(UTC)
    with unit_of_work(factory) as s:
        users.add_user(s, "root", PASSWORD, "admin")
        master.add_site(s, "DEPOT")
        master.add_partner(s, "ACME", ["supplier"], lead_time_days=10)
        for n in range(20):
            master.add_item(s, f"P{n:02d}", unit_cost=5 + n)
        po = orders.create(
            s,
            "purchase",
            "DEPOT",
            [LineIn(f"P{n:02d}", Decimal(1)) for n in range(20)],
            "root",
            partner_id="ACME",
            created_at=now - timedelta(days=800),
        )
        orders.act(s, po.order.order_id, "confirm", "root", {"at": now - timedelta(days=800)})
        orders.act(s, po.order.order_id, "receive", "root", {"at": now - timedelta(days=790)})
        moves = []
        for week in range(104):
            day = now - timedelta(days=730 - 7 * week)
            for n in range(20):
                if (week + n) % (1 + n % 4) == 0:
                    moves.append(
                        MoveRequest(
                            f"P{n:02d}",
                            Decimal(1 + n % 3),
                            "VIRTUAL/SUPPLIER",
                            "DEPOT/STOCK",
                            "receipt",
                            moved_at=day,
                        )
                    )
                    moves.append(
                        MoveRequest(
                            f"P{n:02d}",
                            Decimal(1 + n % 3),
                            "DEPOT/STOCK",
                            "VIRTUAL/CUSTOMER",
                            "issue",
                            moved_at=day,
                        )
                    )
        ledger.post(s, moves, "root")
    engine.dispose()


def test_plan_the_store_draft_its_orders_and_read_kpis(tmp_path: Path) -> None:
    build_store(tmp_path)
    planned = spareflow(["plan", "--from-store", "--out", "out"], tmp_path)
    assert planned.returncode == 0, planned.stderr
    plan = pl.read_parquet(tmp_path / "out" / "plan.parquet")
    assert plan.height == 20 and set(plan["site_id"]) == {"DEPOT"}
    exported = pl.read_parquet(tmp_path / "out" / "dataset" / "demand.parquet")
    assert exported["quantity"].sum() > 0
    wanted = plan.filter(pl.col("order_now") > 0)
    assert wanted.height > 0  # the depot holds one unit of each: most parts need ordering

    dry = spareflow(["orders", "draft", "out", "--user", "root", "--dry-run"], tmp_path)
    assert dry.returncode == 0 and len(dry.stdout.splitlines()) == wanted.height
    (tmp_path / "junk.csv").write_text("not,a\nplan,table\n")
    junk = spareflow(["orders", "draft", "junk.csv", "--user", "root"], tmp_path)
    assert junk.returncode == 2 and "junk.csv" in junk.stderr, junk.stderr
    assert "Traceback" not in junk.stderr
    missing = spareflow(["orders", "draft", "nope.parquet", "--user", "root"], tmp_path)
    assert missing.returncode == 2 and "nope.parquet: no such plan table" in missing.stderr
    nobody = spareflow(["orders", "draft", "out", "--user", "ghost"], tmp_path)
    assert nobody.returncode == 2 and "no user 'ghost'" in nobody.stderr
    drafted = spareflow(["orders", "draft", "out", "--user", "root"], tmp_path)
    assert drafted.returncode == 0, drafted.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    with unit_of_work(session_factory(engine)) as s:
        drafts = list(s.scalars(select(Order).where(Order.status == "draft")))
        assert [(d.kind, d.partner_id) for d in drafts] == [("purchase", "ACME")]
        view = orders.get(s, drafts[0].order_id)
        got = {line.item_id: float(line.quantity) for line in view.lines}
        assert got == {r["item_id"]: r["order_now"] for r in wanted.iter_rows(named=True)}
    engine.dispose()

    start = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    end = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    shown = spareflow(["kpis", "--start", start, "--end", end, "--out", "kpis.json"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    report = json.loads((tmp_path / "kpis.json").read_text())
    assert float(report["inventory"]["value_end_serviceable"]) == sum(5 + n for n in range(20))
    (tmp_path / "afile").write_text("")
    nowhere = spareflow(["kpis", "--start", start, "--end", end, "--out", "afile/k.json"], tmp_path)
    assert nowhere.returncode == 2 and "afile/k.json" in nowhere.stderr, nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    bad = spareflow(["kpis", "--start", "yesterday", "--end", end], tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --start:")
    both = spareflow(["plan", "data", "--from-store", "--out", "x"], tmp_path)
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_dataset_imports_once_and_plans_from_the_store(tmp_path: Path) -> None:
    assert (
        spareflow(
            ["generate", "--items", "60", "--sites", "2", "--out", "data"], tmp_path
        ).returncode
        == 0
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    upgrade(engine)
    with unit_of_work(session_factory(engine)) as s:
        users.add_user(s, "root", PASSWORD, "admin")
    engine.dispose()
    done = spareflow(["db", "import", "data", "--user", "root"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "imported data" in done.stderr and "60 items" in done.stderr
    again = spareflow(["db", "import", "data", "--user", "root"], tmp_path)
    assert again.returncode == 2 and "already holds item" in again.stderr
    (tmp_path / "bad").mkdir()
    for name in ("items", "sites"):
        (tmp_path / "bad" / f"{name}.csv").write_text(
            (tmp_path / "data" / f"{name}.csv").read_text()
        )
    (tmp_path / "bad" / "demand.csv").write_text(
        "item_id,site_id,date,quantity\nNOPE,S1,2024-01-01,1\n"
    )
    bad = spareflow(["db", "import", "bad", "--user", "root"], tmp_path)
    assert bad.returncode == 2 and "demand.csv, row 2" in bad.stderr, bad.stderr
    planned = spareflow(["plan", "--from-store", "--out", "out"], tmp_path)
    assert planned.returncode == 0, planned.stderr
    imported = pl.read_csv(tmp_path / "data" / "stock.csv")
    plan = pl.read_parquet(tmp_path / "out" / "plan.parquet")
    joined = plan.join(imported, on=["item_id", "site_id"], suffix="_file")
    assert joined.height == plan.height
    assert (joined["on_hand"] == joined["on_hand_file"]).all()
    # an item-site the file lists with nothing on hand, on order or ever demanded leaves
    # no trace in the ledger, so the store does not plan it
    idle = imported.join(plan, on=["item_id", "site_id"], how="anti")
    assert (idle["on_hand"] == 0).all() and (idle["on_order"] == 0).all()
    demanded = pl.read_csv(tmp_path / "data" / "demand.csv").select("item_id", "site_id")
    assert idle.join(demanded, on=["item_id", "site_id"]).height == 0
