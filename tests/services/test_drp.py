"""DRP on the store: a worked three-site network with split sourcing (by hand), pegging
that ties every planned order back to the order that caused it, release into draft
orders once, and bad network data refused naming the rule or field."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import Conflict, NotFound, ParameterError
from spareflow.services import drp, ledger, orders
from spareflow.services.master import add_item, add_partner, add_site
from spareflow.services.network import LaneIn, RuleIn, add_lane, add_rule
from spareflow.services.orders import LineIn
from spareflow.store.session import unit_of_work

MONDAY = date(2026, 11, 23)
W = timedelta(weeks=1)


@pytest.fixture
def network(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(factory) as s:
        add_item(s, "P1", unit_cost=Decimal(100))
        for site in ("DC", "S1", "S2"):
            add_site(s, site)
        add_partner(s, "VEND", ["supplier"])
        add_partner(s, "VEND2", ["manufacturer"])
        add_partner(s, "TRUCKS", ["carrier"])
        add_partner(s, "AIRLINE", ["customer"])
        add_lane(s, LaneIn("V-DC", "DC", "ftl", 14, origin_partner_id="VEND"))
        add_lane(s, LaneIn("V2-DC", "DC", "ocean", 21, origin_partner_id="VEND2"))
        add_lane(s, LaneIn("DC-S1", "S1", "ltl", 5, origin_site_id="DC", carrier_id="TRUCKS"))
        add_lane(s, LaneIn("DC-S1-AIR", "S1", "air", 1, origin_site_id="DC", cost_per_kg=4.0))
        add_lane(s, LaneIn("DC-S2", "S2", "ltl", 7, origin_site_id="DC"))
        add_lane(s, LaneIn("V-S2", "S2", "parcel", 10, origin_partner_id="VEND"))
        add_rule(s, RuleIn("S1", source_site_id="DC", lane_id="DC-S1"))
        add_rule(s, RuleIn("S2", source_site_id="DC"))
        add_rule(s, RuleIn("DC", supplier_id="VEND", item_id="P1", share=0.7))
        add_rule(s, RuleIn("DC", supplier_id="VEND2", item_id="P1", share=0.3))
        add_rule(s, RuleIn("S2", supplier_id="VEND", item_id="P1", rank=2))  # an alternate
        ledger.post(
            s,
            [
                ledger.MoveRequest("P1", Decimal(5), "VIRTUAL/SUPPLIER", "S1/STOCK", "receipt"),
                ledger.MoveRequest("P1", Decimal(10), "VIRTUAL/SUPPLIER", "DC/STOCK", "receipt"),
            ],
            "test",
        )
        orders.create(
            s,
            "customer",
            "S1",
            [LineIn("P1", Decimal(8), due_date=MONDAY + 2 * W)],
            "test",
            partner_id="AIRLINE",
        )
        orders.create(
            s,
            "customer",
            "S2",
            [LineIn("P1", Decimal(12), due_date=MONDAY + 3 * W)],
            "test",
            partner_id="AIRLINE",
        )
    return factory


OPTIONS = drp.DrpOptions(bucket="week", horizon=8, start=MONDAY + timedelta(days=2))


def test_a_worked_network_planned_and_pegged(network: sessionmaker[Session]) -> None:
    with unit_of_work(network) as s:
        result = drp.compute(s, OPTIONS)
    assert result.start == MONDAY  # weekly buckets start on the Monday
    # S1: 5 on hand, 8 due in week 2 -> 3 planned for week 2, released a week ahead (5 days
    # of transit round up to one bucket). S2: 12 due in week 3 -> 12, released in week 2.
    # DC: 10 on hand - 3 (week 1) - 12 (week 2) -> 5 short in week 2, split 70/30 by
    # cumulative rounding: 3 from VEND (2 weeks ahead: week 0) and 2 from VEND2 (3 weeks
    # ahead: past due).
    rows = [
        (r["kind"], r["item_id"], r["site_id"], r["source_site_id"] or r["supplier_id"],
         r["lane_id"], r["release_date"], r["receipt_date"], r["quantity"], r["past_due"])
        for r in result.planned_orders.iter_rows(named=True)
    ]  # fmt: skip
    assert rows == [
        ("purchase", "P1", "DC", "VEND", "V-DC", MONDAY, MONDAY + 2 * W, 3.0, False),
        ("purchase", "P1", "DC", "VEND2", "V2-DC", MONDAY, MONDAY + 2 * W, 2.0, True),
        ("transfer", "P1", "S1", "DC", "DC-S1", MONDAY + W, MONDAY + 2 * W, 3.0, False),
        ("transfer", "P1", "S2", "DC", "DC-S2", MONDAY + 2 * W, MONDAY + 3 * W, 12.0, False),
    ]
    assert result.summary["echelons"] == 2
    assert result.summary["past_due_orders"] == 1
    pegs = {
        (p["site_id"], p["supply_kind"], p["supply_ref"], p["demand_kind"], p["demand_ref"]):
            p["quantity"]
        for p in result.pegs.iter_rows(named=True)
    }  # fmt: skip
    numbers = {p["demand_ref"] for p in result.pegs.iter_rows(named=True)}
    co1 = next(
        n
        for n in numbers
        if n.startswith("CO") and pegs.get(("S1", "on_hand", "", "customer_order", n))
    )
    co2 = next(n for n in numbers if n.startswith("CO") and n != co1)
    assert pegs == {
        ("S1", "on_hand", "", "customer_order", co1): 5.0,
        ("S1", "planned_order", "3", "customer_order", co1): 3.0,
        ("S2", "planned_order", "4", "customer_order", co2): 12.0,
        # the DC covers S1's transfer from stock, S2's from stock and the two purchases
        ("DC", "on_hand", "", "dependent", "3"): 3.0,
        ("DC", "on_hand", "", "dependent", "4"): 7.0,
        ("DC", "planned_order", "1", "dependent", "4"): 3.0,
        ("DC", "planned_order", "2", "dependent", "4"): 2.0,
    }
    # the time-phased record balances: on hand + receipts - demand = projected on hand
    dc = result.records.filter(site_id="DC").sort("bucket")
    assert dc["dependent_demand"].to_list()[:4] == [0, 3, 12, 0]
    assert dc["projected_on_hand"].to_list()[:4] == [10, 7, 0, 0]


def test_planned_orders_are_released_once(network: sessionmaker[Session]) -> None:
    with unit_of_work(network) as s:
        run = drp.store_run(s, drp.compute(s, OPTIONS), "planner")
        run_id = run.run_id
    with unit_of_work(network) as s:
        made = drp.release(s, run_id, "planner")  # due now: the two purchases
        got = sorted((v.order.kind, v.order.partner_id, str(v.lines[0].quantity)) for v in made)
        assert got == [
            ("purchase", "VEND", "3.000"), ("purchase", "VEND2", "2.000"),
        ]  # fmt: skip
        assert all(v.lines[0].due_date == MONDAY + 2 * W for v in made)
        again = drp.release(s, run_id, "planner")
        assert again == []  # nothing left due now
        transfers = drp.release(s, run_id, "planner", planned_order_ids=[3, 4])
        assert sorted((v.order.site_id, v.order.source_site_id) for v in transfers) == [
            ("S1", "DC"), ("S2", "DC"),
        ]  # fmt: skip
    with unit_of_work(network) as s, pytest.raises(Conflict, match="planned order 3 of DRP run"):
        drp.release(s, run_id, "planner", planned_order_ids=[3])
    with unit_of_work(network) as s, pytest.raises(NotFound, match="no planned order 99"):
        drp.release(s, run_id, "planner", planned_order_ids=[99])
    with unit_of_work(network) as s, pytest.raises(NotFound, match="DRP run 999"):
        drp.release(s, 999, "planner")
    # the released orders are scheduled receipts now: a new plan orders nothing for them
    with unit_of_work(network) as s:
        again = drp.compute(s, OPTIONS)
    assert again.planned_orders.height == 0


@pytest.mark.parametrize(
    ("rule", "error", "message"),
    [
        (RuleIn("S1"), ParameterError, "source_site_id: give exactly one of"),
        (RuleIn("S1", source_site_id="S1"), ParameterError, "cannot resupply itself"),
        (RuleIn("S1", source_site_id="S2"), ParameterError,
         "lane_id: no active lane from S2 to S1"),
        (RuleIn("S1", source_site_id="DC", lane_id="DC-S2"), ParameterError,
         "lane_id: lane DC-S2 runs from DC to S2, not from DC to S1"),
        (RuleIn("S1", supplier_id="TRUCKS"), ParameterError,
         "supplier_id: partner TRUCKS supplies nothing"),
        (RuleIn("S1", source_site_id="DC", share=1.5), ParameterError, r"share: in \(0, 1\]"),
        (RuleIn("S1", source_site_id="DC", rank=0), ParameterError, "rank: 1 \\(primary\\)"),
        (RuleIn("XX", source_site_id="DC"), NotFound, "site 'XX' does not exist"),
        (RuleIn("S1", source_site_id="DC", item_id="NOPE"), NotFound, "item 'NOPE'"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused(
    network: sessionmaker[Session], rule: RuleIn, error: type[Exception], message: str
) -> None:
    with unit_of_work(network) as s, pytest.raises(error, match=message):
        add_rule(s, rule)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"lane_id": "V-DC"}, Conflict, "lane 'V-DC' already exists"),
        ({"origin_partner_id": "VEND"}, ParameterError, "origin_site_id: give exactly one"),
        ({"origin_site_id": "S1"}, ParameterError, "destination_site_id: a lane joins two"),
        ({"mode": "rail"}, ParameterError, "mode: one of parcel"),
        ({"transit_days": -1}, ParameterError, "transit_days: must be a finite number >= 0"),
        ({"cost_per_kg": float("nan")}, ParameterError, "cost_per_kg: must be a finite"),
        ({"carrier_id": "VEND"}, ParameterError, "partner VEND is not a carrier"),
    ],
)
def test_bad_lanes_are_refused(
    network: sessionmaker[Session], changes: dict[str, object], error: type[Exception], message: str
) -> None:
    lane = {"lane_id": "NEW", "destination_site_id": "S1", "mode": "ltl", "transit_days": 2.0,
            "origin_site_id": "DC"} | changes  # fmt: skip
    with unit_of_work(network) as s, pytest.raises(error, match=message):
        add_lane(s, LaneIn(**lane))  # type: ignore[arg-type]


def test_primary_shares_must_add_up(network: sessionmaker[Session]) -> None:
    with unit_of_work(network) as s:
        add_rule(s, RuleIn("S2", supplier_id="VEND", item_id="P1", share=0.5))
        add_rule(s, RuleIn("S2", source_site_id="DC", item_id="P1", share=0.4))
        with pytest.raises(
            ParameterError,
            match=r"item P1 at site S2: primary \(rank 1\) shares add up to 0\.9, not 1",
        ):
            drp.compute(s, OPTIONS)


def test_bad_options_are_refused(network: sessionmaker[Session]) -> None:
    with unit_of_work(network) as s:
        for options, message in [
            (drp.DrpOptions(bucket="month"), "bucket: day or week"),
            (drp.DrpOptions(horizon=0), "horizon: 1 to 520"),
            (
                drp.DrpOptions(periods_of_supply=40, horizon=26),
                "periods_of_supply: 1 to the horizon",
            ),
        ]:
            with pytest.raises(ParameterError, match=message):
                drp.compute(s, options)
