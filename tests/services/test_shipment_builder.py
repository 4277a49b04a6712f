"""Shipments built from released transfer orders in the store: lanes, windows, units and
the left-out orders worked by hand; the rated figures checked against the engine called
directly on arrays laid out by hand; what is recorded, and a second build finding
nothing left to ship."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
from spareflow.errors import ParameterError
from spareflow.services import ledger, orders
from spareflow.services.master import add_item, add_partner, add_site
from spareflow.services.network import LaneIn, add_lane
from spareflow.services.orders import LineIn
from spareflow.services.shipment_builder import KG_TO_LB, M_TO_IN, build
from spareflow.store.models import Shipment, ShipmentEvent, ShipmentOrder
from spareflow.store.session import unit_of_work
from spareflow.transport.shipment_build import OrderLines, build_shipments

TODAY = date(2026, 3, 2)
TARIFF = load_tariff(SAMPLE_TARIFF)


def transfer(
    s: Session, source: str, site: str, lines: list[LineIn], release: bool = True
) -> str:
    view = orders.create(s, "transfer", site, lines, "test", source_site_id=source)
    if release:
        orders.act(s, view.order.order_id, "release", "test")
    return view.order.number


@pytest.fixture
def store(factory: sessionmaker[Session]) -> tuple[sessionmaker[Session], dict[str, str]]:
    """DC ships to S1 over an LTL lane (Z2-Z3 in the tariff, 2 days), to S2 over an LTL
    lane the tariff does not price, to S3 by parcel only. Item HEAVY: 25 kg and 0.064 m3
    (a 0.4 m cube); LIGHT: 2 kg, 0.008 m3; NOWEIGHT has no weight."""
    numbers: dict[str, str] = {}
    with unit_of_work(factory) as s:
        add_item(s, "HEAVY", unit_weight_kg=25.0, unit_volume_m3=0.064)
        add_item(s, "LIGHT", unit_weight_kg=2.0, unit_volume_m3=0.008)
        add_item(s, "NOWEIGHT", unit_volume_m3=0.01)
        for site in ("DC", "S1", "S2", "S3"):
            add_site(s, site)
        add_partner(s, "CARRIER", ["carrier"])
        add_lane(
            s, LaneIn("DC-S1", "S1", "ltl", 2.0, origin_site_id="DC", tariff_lane="Z2-Z3",
                      carrier_id="CARRIER"),
        )  # fmt: skip
        add_lane(s, LaneIn("DC-S1-SLOW", "S1", "ltl", 5.0, origin_site_id="DC",
                           tariff_lane="Z1-Z1"))  # fmt: skip
        add_lane(s, LaneIn("DC-S2", "S2", "ltl", 1.0, origin_site_id="DC"))
        add_lane(s, LaneIn("DC-S3", "S3", "parcel", 1.0, origin_site_id="DC"))
        ledger.post(
            s,
            [ledger.MoveRequest(item, Decimal(5000), "VIRTUAL/SUPPLIER", f"{site}/STOCK", "receipt")
             for item in ("HEAVY", "LIGHT", "NOWEIGHT") for site in ("DC", "S1")],
            "test",
        )  # fmt: skip
        due = TODAY + timedelta(days=6)
        numbers["a"] = transfer(s, "DC", "S1", [LineIn("HEAVY", Decimal(12), due_date=due),
                                                LineIn("LIGHT", Decimal(30))])  # fmt: skip
        numbers["b"] = transfer(s, "DC", "S1", [LineIn("HEAVY", Decimal("7.5"))])
        numbers["draft"] = transfer(s, "DC", "S1", [LineIn("HEAVY", Decimal(3))], release=False)
        numbers["s2"] = transfer(s, "DC", "S2", [LineIn("HEAVY", Decimal(1))])
        numbers["s3"] = transfer(s, "DC", "S3", [LineIn("HEAVY", Decimal(1))])
        numbers["noweight"] = transfer(s, "S1", "DC", [LineIn("NOWEIGHT", Decimal(1))])
    return factory, numbers


def test_released_transfers_are_consolidated_and_rated(
    store: tuple[sessionmaker[Session], dict[str, str]],
) -> None:
    factory, numbers = store
    with unit_of_work(factory) as s:
        got = build(s, TARIFF, TODAY, window_days=3, dry_run=True)
    # the draft order waits; S2's lane has no tariff lane, S3 has no LTL lane, the S1 -> DC
    # order has neither a lane nor an item weight (the lane is checked first)
    assert sorted((x["number"], x["reason"]) for x in got.skipped) == sorted([
        (numbers["s2"], "lane DC-S2: tariff " + repr(TARIFF.name) + " has no lane 'DC-S2'"),
        (numbers["s3"], "no active LTL lane from DC to S3"),
        (numbers["noweight"], "no active LTL lane from S1 to DC"),
    ])  # fmt: skip
    assert got.orders["number"].to_list() == [numbers["a"], numbers["b"]]
    # the oracle: the engine on the two orders laid out by hand. A's earliest due date
    # is in 6 days, the fast lane takes 2: it may ship until day 4, kept in the 3-day
    # window; B has no due date: the window. 7.5 pieces round up to 8. Sides in inches
    # are the cube roots of the volumes: 0.4 m and 0.2 m.
    side = np.array([0.4, 0.2, 0.4]) * M_TO_IN
    oracle = build_shipments(
        OrderLines(
            order=[0, 0, 1], lane=[TARIFF.lanes.index("Z2-Z3")] * 3, ready_day=[0, 0, 0],
            due_day=[3, 3, 3], quantity=[12, 30, 8],
            unit_weight_lb=np.array([25.0, 2.0, 25.0]) * KG_TO_LB,
            length_in=side, width_in=side, height_in=side,
        ),
        TARIFF,
        TODAY,
    )  # fmt: skip
    assert oracle.shipment_price.size == 1  # together: one shipment
    (row,) = got.shipments.iter_rows(named=True)
    assert row["lane_id"] == "DC-S1" and row["tariff_lane"] == "Z2-Z3"
    assert row["orders"] == 2
    assert row["freight_cost"] == pytest.approx(round(oracle.consolidated_cost, 2), abs=0.005)
    assert row["alone_cost"] == pytest.approx(round(oracle.alone_cost, 2), abs=0.005)
    assert row["saving"] > 0
    # weight: goods (12 x 25 + 30 x 2 + 8 x 25 kg = 560 kg) plus the pallets' tare
    pallets = int((got.handling_units["kind"] == "pallet").sum())
    assert row["weight_kg"] == pytest.approx(560 + pallets * 40 / KG_TO_LB, abs=1e-3)
    assert got.orders["weight_kg"].sum() == pytest.approx(row["weight_kg"], abs=1e-2)
    assert got.handling_units["pieces"].sum() == 50
    ship_day = TODAY + timedelta(days=int(oracle.shipment_ship_day[0]))
    assert row["ship_date"] == ship_day
    assert row["planned_arrival"] == datetime(
        ship_day.year, ship_day.month, ship_day.day, tzinfo=UTC
    ) + timedelta(days=2)
    assert got.summary["saving"] == pytest.approx(row["saving"], abs=0.01)
    assert (got.summary["orders_per_shipment"], got.summary["consolidation_rate"]) == (2.0, 1.0)
    with unit_of_work(factory) as s:  # dry: nothing written
        assert s.scalars(select(Shipment)).all() == []


def test_a_build_records_shipments_once(
    store: tuple[sessionmaker[Session], dict[str, str]],
) -> None:
    factory, _numbers = store
    with unit_of_work(factory) as s:
        got = build(s, TARIFF, TODAY)
    (shipment_id,) = got.shipments["shipment_id"].to_list()
    assert shipment_id.startswith("SHP-2026030") and shipment_id.endswith("-0001")
    with unit_of_work(factory) as s:
        shipment = s.get(Shipment, shipment_id)
        assert shipment is not None
        assert (shipment.origin_site_id, shipment.destination_site_id, shipment.mode) == (
            "DC", "S1", "ltl",
        )  # fmt: skip
        assert (shipment.lane_id, shipment.carrier_id, shipment.status) == (
            "DC-S1", "CARRIER", "planned",
        )  # fmt: skip
        assert shipment.freight_cost == Decimal(str(got.shipments["freight_cost"][0])).quantize(
            Decimal("0.01")
        )
        links = s.scalars(select(ShipmentOrder).order_by(ShipmentOrder.order_id)).all()
        assert [x.shipment_id for x in links] == [shipment_id] * 2
        assert sum(x.alone_cost for x in links) == pytest.approx(
            Decimal(str(got.shipments["alone_cost"][0])), abs=Decimal("0.011")
        )
        kinds = s.scalars(select(ShipmentEvent.kind).where(
            ShipmentEvent.shipment_id == shipment_id)).all()  # fmt: skip
        assert kinds == ["planned"]
    with unit_of_work(factory) as s:  # nothing left: the two orders travel already
        again = build(s, TARIFF, TODAY)
    assert again.shipments.is_empty() and again.summary["orders"] == 0
    assert len(again.skipped) == 3
    # a newly released order gets the next number of its ship day
    with unit_of_work(factory) as s:
        transfer(s, "DC", "S1", [LineIn("LIGHT", Decimal(1))])
        third = build(s, TARIFF, TODAY, window_days=0)
    same_day = shipment_id.startswith(f"SHP-{TODAY:%Y%m%d}-")
    expected = f"SHP-{TODAY:%Y%m%d}-{'0002' if same_day else '0001'}"
    assert third.shipments["shipment_id"].to_list() == [expected]


def test_a_scoped_caller_builds_only_its_own_orders(
    store: tuple[sessionmaker[Session], dict[str, str]],
) -> None:
    factory, _numbers = store
    with unit_of_work(factory) as s:
        assert build(s, TARIFF, TODAY, site_ids=["S1"], dry_run=True).shipments.is_empty()
        got = build(s, TARIFF, TODAY, site_ids=["DC", "S1"], dry_run=True)
    assert got.summary["orders"] == 2 and got.summary["shipments"] == 1


@pytest.mark.parametrize("window", [-1, 61, 1.5])
def test_a_bad_window_is_refused(
    store: tuple[sessionmaker[Session], dict[str, str]], window: int
) -> None:
    factory, _numbers = store
    with unit_of_work(factory) as s, pytest.raises(ParameterError, match="window_days"):
        build(s, TARIFF, TODAY, window_days=window)


def test_an_order_no_trailer_takes_is_named(
    store: tuple[sessionmaker[Session], dict[str, str]],
) -> None:
    factory, _numbers = store
    with unit_of_work(factory) as s:
        number = transfer(s, "DC", "S1", [LineIn("HEAVY", Decimal(2000))])  # 50 t
        with pytest.raises(ParameterError, match=f"order {number} line 1"):
            build(s, TARIFF, TODAY)
