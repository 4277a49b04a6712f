"""Order and work-order lifecycles over the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import Conflict, IllegalTransition, InsufficientStock, ParameterError
from spareflow.services import ledger, master, orders, work_orders
from spareflow.services.ledger import MoveRequest
from spareflow.services.orders import LineIn
from spareflow.store.models import Asset
from spareflow.store.session import unit_of_work


@pytest.fixture
def world(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(factory) as s:
        master.add_site(s, "DC")
        master.add_site(s, "BASE", parent_site_id="DC")
        master.add_item(s, "P1", unit_cost=10)
        master.add_item(s, "P2", unit_cost=4)
        master.add_item(s, "R1", unit_cost=900, repairable=True, serialised=True)
        master.add_partner(s, "ACME", ["supplier"])
        master.add_partner(s, "FIXIT", ["repair_vendor"])
        master.add_partner(s, "AIRLINE", ["customer"])
        master.add_asset(s, "PUMP-7", "BASE", "P-100", positions={"seal": ("P1", 2)})
    return factory


def stock(s: Session, item: str, site: str) -> Decimal:
    return ledger.on_hand(s, item, f"{site}/STOCK")


def test_purchase_order_lifecycle(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        po = orders.create(
            s,
            "purchase",
            "DC",
            [LineIn("P1", Decimal(10)), LineIn("P2", Decimal(5))],
            "buyer",
            partner_id="ACME",
        )
        assert (po.order.number, po.order.status) == ("PO-000001", "draft")
        order_id = po.order.order_id
        with pytest.raises(
            IllegalTransition,
            match=r"PO-000001 is draft: cannot receive; "
            r"allowed from draft: cancel, confirm",
        ):
            orders.act(s, order_id, "receive", "store")
        orders.act(s, order_id, "confirm", "buyer")
        got = orders.act(s, order_id, "receive", "store", {"quantities": {1: 4}})
        assert got.order.status == "partly_received" and stock(s, "P1", "DC") == 4
        with pytest.raises(Conflict, match="cannot receive 7, only 6 open"):
            orders.act(s, order_id, "receive", "store", {"quantities": {"1": 7}})
        assert stock(s, "P1", "DC") == 4  # the refused receipt left nothing behind
        done = orders.act(s, order_id, "receive", "store")  # the rest
        assert done.order.status == "received"
        assert (stock(s, "P1", "DC"), stock(s, "P2", "DC")) == (10, 5)
        orders.act(s, order_id, "close", "buyer")
        with pytest.raises(IllegalTransition, match="it is final"):
            orders.act(s, order_id, "cancel", "buyer")
        trail = [(e.action, e.from_status, e.to_status) for e in orders.events(s, order_id)]
        assert trail == [
            ("create", None, "draft"),
            ("confirm", "draft", "confirmed"),
            ("receive", "confirmed", "partly_received"),
            ("receive", "partly_received", "received"),
            ("close", "received", "closed"),
        ]
        assert ledger.reconcile(s) == []


def test_order_creation_checks_partners_and_lines(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        with pytest.raises(ParameterError, match="FIXIT is not a supplier or manufacturer"):
            orders.create(s, "purchase", "DC", [LineIn("P1", Decimal(1))], "b", partner_id="FIXIT")
        with pytest.raises(ParameterError, match=r"lines\[1\].quantity: must be > 0"):
            orders.create(s, "purchase", "DC", [LineIn("P1", Decimal(0))], "b", partner_id="ACME")
        with pytest.raises(ParameterError, match="source and destination are the same"):
            orders.create(s, "transfer", "DC", [LineIn("P1", Decimal(1))], "b", source_site_id="DC")
        with pytest.raises(ParameterError, match="P1 is not repairable"):
            orders.create(s, "repair", "DC", [LineIn("P1", Decimal(1))], "b", partner_id="FIXIT")


def test_transfer_order_reserves_ships_through_transit_and_receives(
    world: sessionmaker[Session],
) -> None:
    with unit_of_work(world) as s:
        ledger.post(
            s, [MoveRequest("P1", Decimal(6), "VIRTUAL/SUPPLIER", "DC/STOCK", "receipt")], "x"
        )
        to = orders.create(
            s, "transfer", "BASE", [LineIn("P1", Decimal(5))], "planner", source_site_id="DC"
        )
        order_id = to.order.order_id
        orders.act(s, order_id, "release", "planner")
        assert ledger.available(s, "P1", "DC/STOCK") == 1
        orders.act(s, order_id, "ship", "store")
        assert stock(s, "P1", "DC") == 1
        assert ledger.on_hand(s, "P1", "VIRTUAL/TRANSIT") == 5
        assert orders.act(s, order_id, "depart", "carrier").order.status == "in_transit"
        orders.act(s, order_id, "receive", "store", {"quantities": {1: 2}})
        got = orders.act(s, order_id, "receive", "store")
        assert got.order.status == "received"
        assert (stock(s, "P1", "BASE"), ledger.on_hand(s, "P1", "VIRTUAL/TRANSIT")) == (5, 0)
        assert ledger.reserved(s, "P1", "DC/STOCK") == 0
        assert ledger.reconcile(s) == []


def test_transfer_release_refuses_when_source_lacks_stock(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        to = orders.create(
            s, "transfer", "BASE", [LineIn("P1", Decimal(5))], "p", source_site_id="DC"
        )
        with pytest.raises(InsufficientStock, match="P1 at DC/STOCK: 5 wanted, only 0"):
            orders.act(s, to.order.order_id, "release", "p")
        assert orders.get(s, to.order.order_id).order.status == "draft"


def test_customer_order_backorders_then_ships_and_measures_accuracy(
    world: sessionmaker[Session],
) -> None:
    with unit_of_work(world) as s:
        ledger.post(
            s, [MoveRequest("P1", Decimal(3), "VIRTUAL/SUPPLIER", "DC/STOCK", "receipt")], "x"
        )
        co = orders.create(
            s,
            "customer",
            "DC",
            [LineIn("P1", Decimal(5)), LineIn("P2", Decimal(1))],
            "sales",
            partner_id="AIRLINE",
            priority=1,
        )
        order_id = co.order.order_id
        got = orders.act(s, order_id, "allocate", "sales")
        assert got.order.status == "backordered"
        assert [line.quantity_allocated for line in got.lines] == [3, 0]
        orders.act(s, order_id, "pick", "store")
        shipped = orders.act(s, order_id, "ship", "store")
        assert shipped.order.status == "backordered"  # 2 of P1 and 1 of P2 still owed
        assert stock(s, "P1", "DC") == 0
        ledger.post(
            s,
            [
                MoveRequest("P1", Decimal(2), "VIRTUAL/SUPPLIER", "DC/STOCK", "receipt"),
                MoveRequest("P2", Decimal(1), "VIRTUAL/SUPPLIER", "DC/STOCK", "receipt"),
            ],
            "x",
        )
        assert orders.act(s, order_id, "allocate", "sales").order.status == "allocated"
        orders.act(s, order_id, "pick", "store")
        assert orders.act(s, order_id, "ship", "store").order.status == "shipped"
        done = orders.act(
            s, order_id, "deliver", "carrier", {"received": {2: {"item_id": "P2", "quantity": 2}}}
        )
        assert done.order.status == "delivered"
        assert [line.delivered_right_first_time for line in done.lines] == [True, False]
        assert ledger.on_hand(s, "P1", "VIRTUAL/CUSTOMER") == 5
        assert ledger.reconcile(s) == []


def test_cancelling_a_customer_order_releases_its_stock(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        ledger.post(
            s, [MoveRequest("P1", Decimal(3), "VIRTUAL/SUPPLIER", "DC/STOCK", "receipt")], "x"
        )
        co = orders.create(
            s, "customer", "DC", [LineIn("P1", Decimal(2))], "s", partner_id="AIRLINE"
        )
        orders.act(s, co.order.order_id, "allocate", "s")
        assert ledger.available(s, "P1", "DC/STOCK") == 1
        orders.act(s, co.order.order_id, "cancel", "s", {"reason": "customer withdrew"})
        assert ledger.available(s, "P1", "DC/STOCK") == 3


def test_repair_order_round_trip_of_a_serialised_unit(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        ledger.post(
            s,
            [
                MoveRequest(
                    "R1",
                    Decimal(1),
                    "VIRTUAL/SUPPLIER",
                    "BASE/STOCK",
                    "receipt",
                    serial="SN9",
                    to_status="unserviceable",
                )
            ],
            "x",
        )
        ro = orders.create(
            s,
            "repair",
            "BASE",
            [LineIn("R1", Decimal(1), serial="SN9")],
            "tech",
            partner_id="FIXIT",
        )
        orders.act(s, ro.order.order_id, "send", "store")
        assert ledger.on_hand(s, "R1", "VIRTUAL/REPAIR", "unserviceable") == 1
        orders.act(s, ro.order.order_id, "return", "store")
        assert ledger.on_hand(s, "R1", "BASE/STOCK", "serviceable") == 1
        assert ledger.on_hand(s, "R1", "BASE/STOCK", "unserviceable") == 0
        assert ledger.reconcile(s) == []


def test_failure_work_order_waits_for_parts_and_records_downtime(
    world: sessionmaker[Session],
) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=30)
    with unit_of_work(world) as s:
        wo = work_orders.create(s, "PUMP-7", "failure", "tech", parts=[("P1", 2)], failed_at=t0)
        assert s.get(Asset, "PUMP-7").status == "down"  # type: ignore[union-attr]
        wid = wo.work_order.work_order_id
        started = work_orders.act(s, wid, "start", "tech", {"at": t0 + timedelta(hours=2)})
        assert started.work_order.status == "waiting_for_parts"  # no P1 at BASE
        ledger.post(
            s, [MoveRequest("P1", Decimal(2), "VIRTUAL/SUPPLIER", "BASE/STOCK", "receipt")], "x"
        )
        resumed = work_orders.act(s, wid, "start", "tech", {"at": t0 + timedelta(hours=20)})
        assert resumed.work_order.status == "in_progress"
        assert resumed.work_order.waiting_hours == pytest.approx(18.0)
        done = work_orders.act(s, wid, "complete", "tech", {"at": t0 + timedelta(hours=24)})
        w = done.work_order
        assert w.status == "done" and w.downtime_end - w.downtime_start == timedelta(hours=24)
        assert [p.quantity_issued for p in done.parts] == [2]
        assert stock(s, "P1", "BASE") == 0 and ledger.on_hand(s, "P1", "VIRTUAL/CONSUMED") == 2
        assert s.get(Asset, "PUMP-7").status == "operating"  # type: ignore[union-attr]
        with pytest.raises(IllegalTransition, match="is done: cannot start"):
            work_orders.act(s, wid, "start", "tech")
        assert ledger.reconcile(s) == []


def test_completing_without_parts_needs_consent(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        wo = work_orders.create(s, "PUMP-7", "planned", "tech", parts=[("P2", 1)])
        wid = wo.work_order.work_order_id
        assert work_orders.act(s, wid, "start", "tech").work_order.status == "waiting_for_parts"
        with pytest.raises(ParameterError, match=r"parts not issued \(P2\)"):
            work_orders.act(s, wid, "complete", "tech")
        done = work_orders.act(s, wid, "complete", "tech", {"partial": True})
        assert done.work_order.status == "done"


def test_steps_can_be_dated_but_not_in_the_future_or_out_of_order(
    world: sessionmaker[Session],
) -> None:
    t0 = datetime.now(UTC) - timedelta(days=10)
    with unit_of_work(world) as s:
        po = orders.create(
            s, "purchase", "DC", [LineIn("P1", Decimal(1))], "b", partner_id="ACME", created_at=t0
        )
        oid = po.order.order_id
        with pytest.raises(ParameterError, match="is before the order's last step"):
            orders.act(s, oid, "confirm", "b", {"at": t0 - timedelta(hours=1)})
        with pytest.raises(ParameterError, match="is in the future"):
            orders.act(s, oid, "confirm", "b", {"at": datetime.now(UTC) + timedelta(days=1)})
        orders.act(s, oid, "confirm", "b", {"at": t0 + timedelta(days=1)})
        orders.act(s, oid, "receive", "s", {"at": t0 + timedelta(days=4)})
        stamps = [(e.action, e.at) for e in orders.events(s, oid)]
        assert stamps == [
            ("create", t0),
            ("confirm", t0 + timedelta(days=1)),
            ("receive", t0 + timedelta(days=4)),
        ]
        (receipt,) = ledger.stock_levels(s, item_id="P1")
        assert receipt.on_hand == 1


def test_work_order_steps_cannot_be_dated_in_the_future(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        wo = work_orders.create(s, "PUMP-7", "planned", "tech")
        with pytest.raises(ParameterError, match="is in the future"):
            work_orders.act(
                s,
                wo.work_order.work_order_id,
                "start",
                "tech",
                {"at": datetime.now(UTC) + timedelta(days=2)},
            )
