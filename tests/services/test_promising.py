"""Order promising and allocation on the store, worked by hand on a three-site network:
own stock, a superseding part, a lateral over a lane, priorities, partial promises, a
caller scoped to one site; a site's scarce stock shared by class with fair shares and
the lateral transshipments for what stays short. Bad lines refused naming the field."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import NotFound, ParameterError
from spareflow.services import allocation, ledger, orders, work_orders
from spareflow.services.master import add_asset, add_item, add_site
from spareflow.services.network import LaneIn, add_lane
from spareflow.services.orders import LineIn
from spareflow.services.promising import LineRequest, promise
from spareflow.store.session import unit_of_work
from spareflow.store.types import utcnow

TODAY = utcnow().date()


def receive(item: str, qty: int, site: str) -> ledger.MoveRequest:
    return ledger.MoveRequest(item, Decimal(qty), "VIRTUAL/SUPPLIER", f"{site}/STOCK", "receipt")


@pytest.fixture
def store(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """P1 (superseded by P1B, 2 kg a unit) at DC 10, S1 2, S2 4; P1B at S2 5. S1 owes a
    customer 1 P1 in 3 days and receives 5 in 10 days. Lanes DC -> S1 (2 days, 5 a unit)
    and S2 -> S1 (1 day, 3 a unit + 0.5 a kg); none into S2."""
    with unit_of_work(factory) as s:
        add_item(s, "P1B", unit_cost=Decimal(60))
        add_item(s, "P1", unit_cost=Decimal(50), replaced_by="P1B", unit_weight_kg=2.0)
        for site in ("DC", "S1", "S2"):
            add_site(s, site)
        from spareflow.services.master import add_partner

        add_partner(s, "VEND", ["supplier"])
        add_partner(s, "AIRLINE", ["customer"])
        add_lane(s, LaneIn("DC-S1", "S1", "ltl", 1.5, origin_site_id="DC", cost_per_unit=5))
        add_lane(
            s, LaneIn("S2-S1", "S1", "parcel", 1, origin_site_id="S2", cost_per_unit=3,
                      cost_per_kg=0.5),
        )  # fmt: skip
        ledger.post(
            s,
            [receive("P1", 10, "DC"), receive("P1", 2, "S1"), receive("P1", 4, "S2"),
             receive("P1B", 5, "S2")],
            "test",
        )  # fmt: skip
        orders.create(
            s, "customer", "S1", [LineIn("P1", Decimal(1), due_date=TODAY + timedelta(days=3))],
            "test", partner_id="AIRLINE",
        )  # fmt: skip
        orders.create(
            s, "purchase", "S1", [LineIn("P1", Decimal(5), due_date=TODAY + timedelta(days=10))],
            "test", partner_id="VEND",
        )  # fmt: skip
    return factory


def test_lines_are_promised_from_the_earliest_source(store: sessionmaker[Session]) -> None:
    lines = [
        LineRequest("P1", "S1", 3, TODAY, priority=5),
        LineRequest("P1", "S1", 1, TODAY, priority=1),  # promised first
        LineRequest("P1", "S2", 2, TODAY, priority=9),
        LineRequest("P1", "S1", 30, TODAY + timedelta(days=4), priority=9),
    ]
    with unit_of_work(store) as s:
        got = promise(s, lines, horizon_days=30, today=TODAY)
    view = [
        (p.kind, p.quantity, p.short, p.promised_date, p.source_item_id, p.source_site_id,
         p.lane_id, p.cost)
        for p in got
    ]  # fmt: skip
    day = [TODAY + timedelta(days=d) for d in range(12)]
    assert view == [
        # S1's ATP: 2 on hand less 1 owed in 3 days = 1 now (taken by line 2), 5 more on
        # day 10. S2 has 4: over S2-S1 (1 day) 3 arrive tomorrow, before DC's (1.5 days:
        # 2 whole days) and S1's own on day 10. Cost 3 x (3 + 0.5 x 2 kg) = 12.
        ("lateral", 3.0, 0.0, day[1], "P1", "S2", "S2-S1", 12.0),
        ("own", 1.0, 0.0, day[0], "P1", "S1", None, 0.0),
        # S2 has 1 P1 left after the lateral: its superseding P1B (5 at S2) serves now
        ("supersession", 2.0, 0.0, day[0], "P1B", "S2", None, 0.0),
        # 30 from nowhere in 30 days: what S1 can promise on the day wanted (the 5 due on
        # day 10 are after it: 0) - so nothing, all short
        ("none", 0.0, 30.0, None, None, None, None, 0.0),
    ]


def test_a_partial_promise_gives_what_the_site_has_then(store: sessionmaker[Session]) -> None:
    with unit_of_work(store) as s:
        (got,) = promise(
            s, [LineRequest("P1", "S1", 30, TODAY + timedelta(days=12))], horizon_days=20,
            today=TODAY,
        )  # fmt: skip
    # on day 12 S1 has 2 - 1 + 5 = 6; no source has 30
    assert (got.kind, got.quantity, got.short, got.promised_date) == (
        "own", 6.0, 24.0, TODAY + timedelta(days=12),
    )  # fmt: skip


def test_a_scoped_caller_gets_no_other_sites(store: sessionmaker[Session]) -> None:
    with unit_of_work(store) as s:
        (got,) = promise(s, [LineRequest("P1", "S1", 3)], today=TODAY, site_ids=["S1"])
        # no lanes to S1 within its scope: its own receipt on day 10 is the answer
        assert (got.kind, got.quantity, got.promised_date, got.source_site_id) == (
            "own", 3.0, TODAY + timedelta(days=10), "S1",
        )  # fmt: skip
        with pytest.raises(NotFound, match="lines\\[1\\]: site 'S2'"):
            promise(s, [LineRequest("P1", "S2", 1)], today=TODAY, site_ids=["S1"])


@pytest.mark.parametrize(
    ("line", "error", "text"),
    [
        (LineRequest("NOPE", "S1", 1), NotFound, "lines[1]: item 'NOPE'"),
        (LineRequest("P1", "NOWHERE", 1), NotFound, "lines[1]: site 'NOWHERE'"),
        (LineRequest("P1", "S1", 0), ParameterError, "lines[1].quantity"),
        (LineRequest("P1", "S1", float("nan")), ParameterError, "lines[1].quantity"),
        (LineRequest("P1", "S1", 1, TODAY - timedelta(days=1)), ParameterError, "lines[1].wanted"),
        (LineRequest("P1", "S1", 1, TODAY + timedelta(days=90)), ParameterError, "horizon"),
    ],
)
def test_bad_lines_are_refused(
    store: sessionmaker[Session], line: LineRequest, error: type[Exception], text: str
) -> None:
    with unit_of_work(store) as s, pytest.raises(error) as caught:
        promise(s, [LineRequest("P1", "S1", 1), line], today=TODAY)
    assert text.replace("[1]", "[2]") in str(caught.value)


def test_scarce_stock_goes_by_class_then_fair_share(store: sessionmaker[Session]) -> None:
    """DC has 10 P1: a work order on a pump that is down wants 4 (equipment down), a
    customer 3 (contract), and transfers 6 to S1 and 3 to S2 (replenishment). 10 - 4 - 3
    = 3 left for 9 asked: fair shares 3 x 6/9 = 2 and 3 x 3/9 = 1."""
    with unit_of_work(store) as s:
        from spareflow.services.master import add_partner

        add_partner(s, "SHOP", ["customer"])
        add_asset(s, "PUMP", "DC", "P-100")
        work_orders.create(s, "PUMP", "failure", "test", parts=[("P1", 4)])
        orders.create(s, "customer", "DC", [LineIn("P1", Decimal(3))], "test", partner_id="SHOP")
        for site, qty in (("S1", 6), ("S2", 3)):
            orders.create(
                s, "transfer", site, [LineIn("P1", Decimal(qty))], "test", source_site_id="DC"
            )
    with unit_of_work(store) as s:
        result = allocation.allocate(s, "DC")
    rows = sorted(
        (r["class_name"], r["kind"], r["destination_site_id"], r["quantity"], r["allocated"],
         r["short"])
        for r in result.demands.iter_rows(named=True)
    )  # fmt: skip
    assert rows == [
        ("equipment_down", "work_order", "DC", 4.0, 4.0, 0.0),
        ("replenishment", "transfer_out", "S1", 6.0, 2.0, 4.0),
        ("replenishment", "transfer_out", "S2", 3.0, 1.0, 2.0),
        ("service_contract", "customer_order", "DC", 3.0, 3.0, 0.0),
    ]
    assert result.summary["short_by_class"] == {
        "equipment_down": 0.0, "service_contract": 0.0, "replenishment": 6.0,
    }  # fmt: skip
    # S1's 4 short: S2 has 4 P1 above its needs (no orders, no plan) and a lane to S1;
    # S1's own 2 less the 1 it owes is not moved to itself; nothing runs into S2
    moves = [
        (m["item_id"], m["from_site_id"], m["to_site_id"], m["lane_id"], m["quantity"],
         m["transit_days"], m["cost"])
        for m in result.transshipments.iter_rows(named=True)
    ]  # fmt: skip
    assert moves == [("P1", "S2", "S1", "S2-S1", 4.0, 1.0, 16.0)]  # 4 x (3 + 0.5 x 2)
    assert result.summary["transshipped"] == 4.0
    with unit_of_work(store) as s:
        scoped = allocation.allocate(s, "DC", site_ids=["DC", "S1"])
        assert scoped.transshipments.height == 0  # S2 is not the caller's
        with pytest.raises(NotFound):
            allocation.allocate(s, "S2", site_ids=["DC"])
