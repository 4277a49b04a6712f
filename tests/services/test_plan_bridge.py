"""The store as a planning dataset and the plan's orders as drafts, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.data.load import load_dataset
from spareflow.errors import NotFound, ParameterError
from spareflow.plan.stock import DEFAULT_LEAD_TIME_DAYS, PlanParams, stock_plan
from spareflow.services import ledger, master, orders, work_orders
from spareflow.services.ledger import MoveRequest
from spareflow.services.orders import LineIn
from spareflow.services.plan_bridge import (
    DEFAULT_TRANSFER_LEAD_TIME_DAYS,
    draft_orders,
    export_dataset,
    orders_to_place,
    plan_from_store,
)
from spareflow.store.models import Location, Move, Order, OrderLine
from spareflow.store.session import unit_of_work

SUP, CUS, USED = "VIRTUAL/SUPPLIER", "VIRTUAL/CUSTOMER", "VIRTUAL/CONSUMED"
NOW = datetime.now(UTC)
START = datetime(NOW.year - 2, NOW.month, 1, 12, tzinfo=UTC)  # two years of history
T = NOW - timedelta(days=30)  # when this month's orders were placed


def month(n: int, day: int = 15) -> datetime:
    """Day ``day`` of the ``n``-th month after START."""
    y, m = divmod(START.month - 1 + n, 12)
    return datetime(START.year + y, m + 1, day, 12, tzinfo=UTC)


def move(item: str, qty: float | str, frm: str, to: str, reason: str, at: datetime) -> MoveRequest:
    return MoveRequest(item, Decimal(str(qty)), frm, to, reason, moved_at=at)


@pytest.fixture
def store(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """DC buys (ACME, BOLT); BASE is resupplied by DC, FAR by BASE; SHOP has no supplier."""
    with unit_of_work(factory) as s:
        master.add_site(s, "DC", name="Depot", kind="warehouse")
        master.add_site(s, "BASE", parent_site_id="DC", latitude=51.5, longitude=-0.1)
        master.add_site(s, "SHOP")
        master.add_site(s, "FAR", parent_site_id="BASE")
        master.add_location(s, "DC/BIN-2", "DC")
        for item, cost in (("P1", 10), ("P2", 4), ("P3", "2.5"), ("P4", 7)):
            master.add_item(s, item, unit_cost=cost, criticality="high" if item == "P1" else None)
        master.add_partner(s, "ACME", ["supplier"], lead_time_days=20)
        master.add_partner(s, "BOLT", ["supplier"], lead_time_days=45)
        master.add_partner(s, "AIRLINE", ["customer"])
        master.add_asset(s, "PUMP", "BASE", "P-100")
        opening = month(-1)
        ledger.post(
            s,
            [
                move(i, 500, SUP, f"{site}/STOCK", "receipt", opening)
                for i in ("P1", "P2", "P3")
                for site in ("DC", "BASE")
            ]
            + [move("P1", 40, SUP, "DC/BIN-2", "receipt", opening)]
            + [move("P2", 10, SUP, "SHOP/STOCK", "receipt", opening)]
            + [move("P4", 10, SUP, "FAR/STOCK", "receipt", opening)],
            "setup",
        )
        history = []
        for n in range(24):
            history.append(move("P1", n % 3 + 1, "DC/STOCK", CUS, "issue", month(n)))
            history.append(move("P1", 1, "DC/BIN-2", CUS, "issue", month(n, 3)))
            if n % 2:
                history.append(move("P2", "2.5", "DC/STOCK", CUS, "issue", month(n)))
            if n % 3 == 0:
                history.append(move("P1", 2, "BASE/STOCK", USED, "consumption", month(n, 20)))
                history.append(move("P3", 1, "BASE/STOCK", CUS, "issue", month(n, 20)))
        history.append(move("P2", 4, "DC/STOCK", "DC/BIN-2", "transfer", month(5)))  # no demand
        posted = ledger.post(s, history, "setup")
        wrong = ledger.post(s, [move("P2", 30, "DC/STOCK", CUS, "issue", month(7))], "setup")
        ledger.reverse(s, wrong[0].move_id, "setup")  # never happened
        twice = ledger.post(s, [move("P3", 3, "BASE/STOCK", CUS, "issue", month(8))], "setup")
        undo = ledger.reverse(s, twice[0].move_id, "setup")
        ledger.reverse(s, undo.move_id, "setup")  # the reversal was the mistake: it stands
        assert posted
    with unit_of_work(factory) as s:
        # P1 at DC from ACME, received 12 days after confirmation; P2 partly, after 8
        po = orders.create(
            s,
            "purchase",
            "DC",
            [LineIn("P1", Decimal(6))],
            "buyer",
            partner_id="ACME",
            created_at=T,
        )
        orders.act(s, po.order.order_id, "confirm", "buyer", {"at": T})
        orders.act(s, po.order.order_id, "receive", "store", {"at": T + timedelta(days=12)})
        po = orders.create(
            s,
            "purchase",
            "DC",
            [LineIn("P2", Decimal(10))],
            "buyer",
            partner_id="ACME",
            created_at=T,
        )
        orders.act(s, po.order.order_id, "confirm", "buyer", {"at": T})
        orders.act(
            s,
            po.order.order_id,
            "receive",
            "store",
            {"quantities": {1: 4}, "at": T + timedelta(days=8)},
        )
        # P3 from BOLT (a draft: on order), P4 from ACME (no receipt of P4 yet)
        orders.create(s, "purchase", "DC", [LineIn("P3", Decimal(5))], "buyer", partner_id="BOLT")
        orders.create(s, "purchase", "DC", [LineIn("P4", Decimal(2))], "buyer", partner_id="ACME")
        # a later, cancelled order from BOLT for P1 neither counts nor names the supplier
        po = orders.create(
            s, "purchase", "DC", [LineIn("P1", Decimal(9))], "buyer", partner_id="BOLT"
        )
        orders.act(s, po.order.order_id, "cancel", "buyer")
        # DC -> BASE: one received after 3 days, one drafted
        to = orders.create(
            s,
            "transfer",
            "BASE",
            [LineIn("P1", Decimal(5))],
            "planner",
            source_site_id="DC",
            created_at=T,
        )
        for action in ("release", "ship"):
            orders.act(s, to.order.order_id, action, "store", {"at": T})
        orders.act(s, to.order.order_id, "receive", "store", {"at": T + timedelta(days=3)})
        orders.create(
            s, "transfer", "BASE", [LineIn("P2", Decimal(2))], "planner", source_site_id="DC"
        )
        # a customer order for 3 P1 not shipped; a job at BASE needing 2 P3
        co = orders.create(
            s, "customer", "DC", [LineIn("P1", Decimal(3))], "desk", partner_id="AIRLINE"
        )
        orders.act(s, co.order.order_id, "allocate", "desk")
        work_orders.create(s, "PUMP", "failure", "tech", parts=[("P3", 2)])
    return factory


# --- what the store says, computed the long way -------------------------------------------


def store_demand(s: Session, before: datetime) -> dict[tuple[str, str], float]:
    sites = {loc.location_id: (loc.site_id, loc.kind) for loc in s.scalars(select(Location))}
    moves = list(s.scalars(select(Move)))
    reversed_by = {m.reverses_move_id: m.move_id for m in moves if m.reverses_move_id}
    out: dict[tuple[str, str], float] = defaultdict(float)
    for m in moves:
        site, kind = sites[m.from_location_id]
        undone = m.move_id in reversed_by and reversed_by[m.move_id] not in reversed_by
        demand = m.reason in ("issue", "consumption") and kind == "internal"
        if demand and m.moved_at < before and not undone:
            out[(m.item_id, str(site))] += float(m.quantity)
    return dict(out)


def store_on_hand(s: Session) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = defaultdict(float)
    for level in ledger.stock_levels(s):
        if level.status == "serviceable":
            out[(level.item_id, str(level.site_id))] += float(level.on_hand)
    return {k: v for k, v in out.items() if v}


def store_on_order(s: Session) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = defaultdict(float)
    for line, order in s.execute(select(OrderLine, Order).join(Order)).all():
        if order.kind in ("purchase", "transfer") and order.status not in ("cancelled", "closed"):
            out[(line.item_id, order.site_id)] += float(line.quantity - line.quantity_received)
    return {k: v for k, v in out.items() if v}


def by_key(frame: pl.DataFrame, column: str) -> dict[tuple[str, str], float]:
    rows = frame.group_by("item_id", "site_id").agg(pl.col(column).sum())
    return {(i, s): v for i, s, v in rows.iter_rows() if v}


# --- export -------------------------------------------------------------------------------


def test_export_round_trips_through_load_and_plan(
    store: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "dataset"
    (folder).mkdir()
    (folder / "stock.csv").write_text("stale\n")  # replaced, never read beside the new one
    as_of = month(24, 1).replace(hour=0)
    with unit_of_work(store) as s:
        summary = export_dataset(s, folder, as_of=as_of)
        demand, on_hand, on_order = store_demand(s, as_of), store_on_hand(s), store_on_order(s)
    assert sorted(p.name for p in folder.iterdir()) == [
        "demand.parquet",
        "items.parquet",
        "sites.parquet",
        "sourcing.parquet",
        "stock.parquet",
    ]
    ds = load_dataset(folder)  # no faults
    assert by_key(ds["demand"], "quantity") == pytest.approx(demand)
    assert summary.demand_quantity == pytest.approx(sum(demand.values()))
    # P2 30 reversed: not demand; P3 3 reversed and restored: demand
    assert demand[("P2", "DC")] == pytest.approx(12 * 2.5)
    assert demand[("P3", "BASE")] == pytest.approx(8 + 3)
    assert ds["demand"]["date"].max() == (as_of - timedelta(days=1)).date()  # the zero marker
    stock = ds["stock"]
    assert by_key(stock, "on_hand") == pytest.approx(on_hand)
    assert by_key(stock, "on_order") == pytest.approx(on_order)
    assert on_order == {("P2", "DC"): 6, ("P3", "DC"): 5, ("P4", "DC"): 2, ("P2", "BASE"): 2}
    # owed: 3 P1 to the customer and 2 P2 to BASE at DC, 2 P3 to the job at BASE
    assert by_key(stock, "backorders") == {("P1", "DC"): 3, ("P2", "DC"): 2, ("P3", "BASE"): 2}

    src = {(r["item_id"], r["site_id"]): r for r in ds["sourcing"].iter_rows(named=True)}
    assert set(src) == {(i, "DC") for i in ("P1", "P2", "P3", "P4")} | {
        (i, "BASE") for i in ("P1", "P2", "P3")
    } | {("P4", "FAR")}  # not P2 at SHOP: no supplier known there
    picked = {
        k: (r["supplier_id"] or r["source_site_id"], r["lead_time_source"]) for k, r in src.items()
    }
    assert picked == {
        ("P1", "DC"): ("ACME", "measured_item"),
        ("P2", "DC"): ("ACME", "measured_item"),
        ("P3", "DC"): ("BOLT", "partner"),
        ("P4", "DC"): ("ACME", "measured_lane"),
        ("P1", "BASE"): ("DC", "measured_lane"),
        ("P2", "BASE"): ("DC", "measured_lane"),
        ("P3", "BASE"): ("DC", "measured_lane"),
        ("P4", "FAR"): ("BASE", "default"),
    }
    lead = {k: r["lead_time_days"] for k, r in src.items()}
    assert lead[("P1", "DC")] == pytest.approx(12, abs=0.01)
    assert lead[("P2", "DC")] == pytest.approx(8, abs=0.01)
    assert lead[("P4", "DC")] == pytest.approx(10, abs=0.01)  # ACME's mean to DC
    assert src[("P4", "DC")]["lead_time_sd_days"] == pytest.approx(2**0.5 * 2, abs=0.01)
    assert lead[("P3", "DC")] == 45
    assert lead[("P1", "BASE")] == pytest.approx(3, abs=0.01)
    assert lead[("P4", "FAR")] == DEFAULT_TRANSFER_LEAD_TIME_DAYS

    plan = stock_plan(ds, PlanParams(simulate_days=0, horizon=6)).table
    got = {(r["item_id"], r["site_id"]): r for r in plan.iter_rows(named=True)}
    assert set(got) >= set(demand) | set(on_hand)
    for key, row in got.items():
        assert row["on_hand"] == pytest.approx(on_hand.get(key, 0.0))
        assert row["on_order"] == pytest.approx(on_order.get(key, 0.0))
    assert not got[("P1", "DC")]["lead_time_assumed"]
    shop = got[("P2", "SHOP")]
    assert shop["lead_time_assumed"] and shop["lead_time_days"] == DEFAULT_LEAD_TIME_DAYS


def test_export_without_demand_or_naive_time_is_refused(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    tmp_path = tmp_path / "dataset"
    tmp_path.mkdir()
    with unit_of_work(factory) as s:
        with pytest.raises(NotFound, match="no items or no sites"):
            export_dataset(s, tmp_path)
        master.add_site(s, "DC")
        master.add_item(s, "P1", unit_cost=1)
        with pytest.raises(NotFound, match="no issue or consumption moves before"):
            export_dataset(s, tmp_path)
        with pytest.raises(ParameterError, match="no time zone"):
            export_dataset(s, tmp_path, as_of=datetime(2024, 1, 1))
    assert list(tmp_path.iterdir()) == []


def test_negative_on_hand_becomes_a_backorder(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with unit_of_work(factory) as s:
        master.add_site(s, "N", allow_negative_stock=True)
        master.add_item(s, "P1", unit_cost=1)
        ledger.post(s, [move("P1", 4, "N/STOCK", CUS, "issue", NOW - timedelta(days=40))], "u")
        export_dataset(s, tmp_path)
    stock = load_dataset(tmp_path)["stock"]
    assert stock.select("on_hand", "on_order", "backorders").row(0) == (0.0, 0.0, 4.0)


# --- draft orders -------------------------------------------------------------------------


def hand_plan(**extra: object) -> pl.DataFrame:
    rows = [
        # item, site, policy, r, S, Q, on_hand, on_order, backorders
        ("P1", "DC", "sS", 5, 20, 15, 3.0, 2.0, 1.0),  # p 4 <= 5: up to 20 -> 16
        ("P2", "DC", "rQ", 10, 16, 6, 2.5, 0.0, 0.0),  # p 2.5: floor(7.5/6)+1 = 2 lots -> 12
        ("P3", "DC", "sS", 2, 9, 7, 2.0, 0.0, 0.0),  # p 2 <= 2: 7, from BOLT
        ("P1", "BASE", "base_stock", 3, 4, 1, 1.0, 0.0, 0.0),  # 3, transfer from DC
        ("P2", "BASE", "rQ", 1, 5, 4, 2.0, 0.0, 0.0),  # p 2 > 1: nothing
        ("P3", "BASE", "rQ", 4, 10, 6, 0.0, 5.0, 0.0),  # p 5 > 4: nothing
        ("P4", "DC", "rQ", 3, 5, 2, 0.0, 0.0, 1.0),  # p -1: floor(4/2)+1 = 3 lots -> 6
    ]
    names = [
        "item_id",
        "site_id",
        "policy",
        "reorder_point",
        "order_up_to",
        "order_quantity",
        "on_hand",
        "on_order",
        "backorders",
    ]
    frame = pl.DataFrame(rows, schema=names, orient="row")
    return frame.with_columns(**{k: pl.lit(v) for k, v in extra.items()})


def lines_of(views: list[orders.OrderView]) -> dict[tuple[str, str, str], dict[str, Decimal]]:
    out: dict[tuple[str, str, str], dict[str, Decimal]] = {}
    for v in views:
        o = v.order
        assert o.status == "draft"
        source = o.partner_id if o.kind == "purchase" else o.source_site_id
        assert (o.kind, o.site_id, str(source)) not in out  # one document per site and source
        out[(o.kind, o.site_id, str(source))] = {ln.item_id: ln.quantity for ln in v.lines}
    return out


def test_draft_orders_follow_the_contract_and_group_by_site_and_source(
    store: sessionmaker[Session],
) -> None:
    plan = hand_plan(lead_time_days=10)
    assert orders_to_place(plan).select("item_id", "site_id", "quantity").rows() == [
        ("P1", "DC", 16.0),
        ("P2", "DC", 12.0),
        ("P3", "DC", 7.0),
        ("P1", "BASE", 3.0),
        ("P4", "DC", 6.0),
    ]
    with unit_of_work(store) as s:
        views = draft_orders(s, plan, "planner")
        assert lines_of(views) == {
            ("purchase", "DC", "ACME"): {"P1": 16, "P2": 12, "P4": 6},
            ("transfer", "BASE", "DC"): {"P1": 3},
            ("purchase", "DC", "BOLT"): {"P3": 7},
        }
        due = {ln.due_date for v in views for ln in v.lines}
        assert due == {NOW.date() + timedelta(days=10)}
        assert {v.order.created_by for v in views} == {"planner"}
    with unit_of_work(store) as s:  # committed: the drafts are on order now
        assert store_on_order(s)[("P1", "BASE")] == 3


def test_boolean_order_now_gates_and_plan_supplier_wins(store: sessionmaker[Session]) -> None:
    plan = hand_plan().with_columns(
        (pl.col("item_id") != "P2").alias("order_now"),
        pl.when(pl.col("item_id") == "P1").then(pl.lit("BOLT")).alias("supplier_id"),
    )
    with unit_of_work(store) as s:
        got = lines_of(draft_orders(s, plan, "planner"))
    assert got == {
        ("purchase", "DC", "ACME"): {"P4": 6},
        ("purchase", "DC", "BOLT"): {"P1": 16, "P3": 7},
        ("transfer", "BASE", "DC"): {"P1": 3},
    }


def test_a_purchase_without_supplier_is_refused_naming_item_and_site(
    store: sessionmaker[Session],
) -> None:
    shop = pl.DataFrame(
        {"item_id": ["P1", "P2"], "site_id": ["SHOP", "DC"], "order_now": [4.0, 2.0]}
    )
    with unit_of_work(store) as s:
        before = s.scalar(select(func.count()).select_from(Order))
        with pytest.raises(ParameterError, match="item P1 at site SHOP") as err:
            draft_orders(s, shop, "planner")
        assert err.value.name == "default_supplier"
        assert s.scalar(select(func.count()).select_from(Order)) == before
        got = lines_of(draft_orders(s, shop, "planner", default_supplier="BOLT"))
    assert got == {("purchase", "SHOP", "BOLT"): {"P1": 4}, ("purchase", "DC", "ACME"): {"P2": 2}}


def test_bad_plans_are_refused(store: sessionmaker[Session]) -> None:
    with unit_of_work(store) as s:
        with pytest.raises(ParameterError, match="missing columns: policy"):
            draft_orders(s, pl.DataFrame({"item_id": ["P1"], "site_id": ["DC"]}), "u")
        odd = hand_plan().with_columns(pl.lit("XYZ").alias("policy"))
        with pytest.raises(ParameterError, match="item P1 at site DC: cannot size"):
            draft_orders(s, odd, "u")
        twice = pl.concat([hand_plan(), hand_plan().head(1)])
        with pytest.raises(ParameterError, match="P1 at site DC has more than one row"):
            draft_orders(s, twice, "u")
        nowhere = pl.DataFrame({"item_id": ["P1"], "site_id": ["MARS"], "order_now": [1.0]})
        with pytest.raises(NotFound, match="MARS"):
            draft_orders(s, nowhere, "u")
        assert draft_orders(s, hand_plan().head(0), "u") == []


# --- the plan of the store ----------------------------------------------------------------


def test_plan_from_store_writes_the_plan_and_its_orders_become_drafts(
    store: sessionmaker[Session], tmp_path: Path
) -> None:
    with unit_of_work(store) as s:  # run P1 dry at DC and P3 at BASE: orders are due
        ledger.post(
            s,
            [
                move(
                    item,
                    float(ledger.available(s, item, loc)),
                    loc,
                    "VIRTUAL/ADJUSTMENT",
                    "adjustment",
                    NOW - timedelta(days=1),
                )
                for item, loc in (("P1", "DC/STOCK"), ("P1", "DC/BIN-2"), ("P3", "BASE/STOCK"))
            ],
            "counter",
        )
    params = PlanParams(simulate_days=0, horizon=6)
    result = plan_from_store(store, tmp_path / "out", params, dataset_dir=tmp_path / "ds")
    assert result.paths["plan"] == tmp_path / "out" / "plan.parquet"
    assert result.export.as_of.day == 1 and result.export.as_of.date() <= NOW.date()
    table = pl.read_parquet(result.paths["plan"])
    assert table.height == result.plan.table.height > 0
    assert (tmp_path / "ds" / "demand.parquet").is_file()
    wanted = table.filter(pl.col("order_now") > 0)
    assert {("P1", "DC"), ("P3", "BASE")} <= set(wanted.select("item_id", "site_id").rows())
    with unit_of_work(store) as s:
        views = draft_orders(s, table, "planner")
    drafted = {(v.order.site_id, ln.item_id): float(ln.quantity) for v in views for ln in v.lines}
    assert drafted == {
        (r["site_id"], r["item_id"]): r["order_now"] for r in wanted.iter_rows(named=True)
    }
    for v in views:
        kind = "transfer" if v.order.site_id == "BASE" else "purchase"
        assert v.order.kind == kind
