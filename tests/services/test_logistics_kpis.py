"""Logistics KPIs against a month of shipments worked out by hand, on SQLite and PostgreSQL;
the ``logistics-kpis`` command and ``GET /kpis/logistics`` on the same store.

Period: [2024-03-01, 2024-04-01) UTC. ``t(d, h)`` = March 1 + d days + h hours. Sites DC,
S1, S2 (and EMPTY); lane DC-S1 (DC to S1, ltl); suppliers ACME and BOLTS. Transfer orders
TO1..TO9 (DC to S1, P1 lines); a shipment carries orders through ShipmentOrder rows
(``alone``: what the order would have cost shipped alone). Planned: departure, arrival.

ship  lane          planned        departed, arrived     freight  kg   orders (units; alone)
SH1   DC-S1         t1, t3         t1, t(3, 12h)            300    100  TO1 (4+6; 200), TO2 (5; 180)
SH2   DC-S1         t5, t7         t5, t8                   150     50  TO3 (3; 150)
SH3   DC-S1         t10, t12       t(10, 6h), t(11, 18h)    240      -  -
SH4   S2>S1/parcel  t20, t21       t20, t(21, 6h)*            -     10  TO4 (2; 50), TO5 (1; 40)
SH5   DC-S1         t13, t14       never, t(15, 1h)          60     50  -
SH9   DC>S2/ftl     t2, t4         t2, t6                   800    800  -
SH6   DC-S1         Feb 26, Feb 28 Feb 26, Feb 28          1000    100  TO6 (1; 900)
SH7   DC-S1         t30, Apr 2     t30, in transit          500      -  TO7 (1; 300), TO8 (1; 350)
SH8   DC-S1         Mar 30, Apr 1  Mar 30, Apr 1 00:00      999      -  -
SH10  DC-S1         t12, t14       cancelled                100      -  TO9 (1; 70)

(* given as 08:00 +02:00.) In March, arrived: SH1, SH2, SH3, SH4, SH5, SH9 (SH6 in
February, SH8 at the end instant, SH7 still travelling).

Purchase orders (S1 unless said): PO1 ACME, 2 lines, confirmed t0, received t4 (4 days
each line); PO2 ACME, promised Mar 10, confirmed t2, received t12 (10 days, late); PO3
BOLTS at DC, confirmed t1, received t(3, 12h) (2.5 days).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from cli_runner import spareflow
from spareflow.api import Settings, create_app
from spareflow.errors import NotFound, ParameterError
from spareflow.services import kpis, logistics_kpis, master, orders, users
from spareflow.services.logistics_kpis import LogisticsReport, Spread
from spareflow.services.network import LaneIn, add_lane
from spareflow.services.orders import LineIn
from spareflow.services.shipments import ShipmentIn, create_shipment
from spareflow.store.models import ShipmentOrder
from spareflow.store.session import unit_of_work

START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 4, 1, tzinfo=UTC)
PASSWORD = "correct horse battery"
approx = pytest.approx


def t(days: float, hours: float = 0) -> datetime:
    return START + timedelta(days=days, hours=hours)


def transfer(s: Session, units: Sequence[int]) -> int:
    """A transfer order DC -> S1 with a P1 line of each of ``units``."""
    lines = [LineIn("P1", Decimal(n)) for n in units]
    return orders.create(s, "transfer", "S1", lines, "u", source_site_id="DC").order.order_id


def ship(
    s: Session,
    shipment_id: str,
    route: tuple[str, str, str],
    planned: tuple[datetime, datetime],
    actual: tuple[datetime | None, datetime | None],
    freight: int | None,
    kg: float | None,
    carried: Sequence[tuple[Sequence[int], int]] = (),
    lane: str | None = "DC-S1",
    status: str | None = None,
) -> None:
    """A shipment as tracking leaves it, carrying transfer orders (units, alone cost)."""
    origin, destination, mode = route
    made = create_shipment(
        s,
        ShipmentIn(
            shipment_id, origin, destination, mode, *planned, weight_kg=kg,
            freight_cost=None if freight is None else Decimal(freight),
        ),
    )  # fmt: skip
    made.lane_id = lane
    made.departed_at, made.arrived_at = actual
    made.status = status or ("arrived" if actual[1] else "in_transit" if actual[0] else "planned")
    for units, alone in carried:
        s.add(
            ShipmentOrder(
                shipment_id=shipment_id,
                order_id=transfer(s, units),
                weight_kg=1.0,
                handling_units=1,
                alone_cost=Decimal(alone),
            )
        )
    s.flush()


def purchase(
    s: Session, site: str, partner: str, lines: int, confirmed: datetime, received: datetime,
    promised: date | None = None,
) -> None:  # fmt: skip
    view = orders.create(
        s, "purchase", site, [LineIn("P1", Decimal(1)) for _ in range(lines)], "u",
        partner_id=partner, created_at=confirmed, promised_date=promised,
    )  # fmt: skip
    oid = view.order.order_id
    orders.act(s, oid, "confirm", "u", {"at": confirmed})
    orders.act(s, oid, "receive", "u", {"at": received})


def scenario(s: Session) -> None:
    """The month of the module docstring."""
    for site in ("DC", "S1", "S2", "EMPTY"):
        master.add_site(s, site)
    master.add_item(s, "P1", unit_cost=10)
    master.add_partner(s, "ACME", ["supplier"])
    master.add_partner(s, "BOLTS", ["supplier"])
    add_lane(s, LaneIn("DC-S1", "S1", "ltl", 2, origin_site_id="DC"))
    dc_s1 = ("DC", "S1", "ltl")
    feb = datetime(2024, 2, 26, tzinfo=UTC)
    plus2 = timezone(timedelta(hours=2))
    ship(s, "SH1", dc_s1, (t(1), t(3)), (t(1), t(3, 12)), 300, 100, [([4, 6], 200), ([5], 180)])
    ship(s, "SH2", dc_s1, (t(5), t(7)), (t(5), t(8)), 150, 50, [([3], 150)])
    ship(s, "SH3", dc_s1, (t(10), t(12)), (t(10, 6), t(11, 18)), 240, None)
    ship(
        s, "SH4", ("S2", "S1", "parcel"), (t(20), t(21)),
        (t(20), datetime(2024, 3, 22, 8, tzinfo=plus2)), None, 10, [([2], 50), ([1], 40)],
        lane=None,
    )  # fmt: skip
    ship(s, "SH5", dc_s1, (t(13), t(14)), (None, t(15, 1)), 60, 50)
    ship(s, "SH9", ("DC", "S2", "ftl"), (t(2), t(4)), (t(2), t(6)), 800, 800, lane=None)
    ship(s, "SH6", dc_s1, (feb, feb + timedelta(2)), (feb, feb + timedelta(2)), 1000, 100,
         [([1], 900)])  # fmt: skip
    ship(s, "SH7", dc_s1, (t(30), t(32)), (t(30), None), 500, None, [([1], 300), ([1], 350)])
    ship(s, "SH8", dc_s1, (t(29), END), (t(29), END), 999, None)
    ship(s, "SH10", dc_s1, (t(12), t(14)), (None, None), 100, None, [([1], 70)],
         status="cancelled")  # fmt: skip
    purchase(s, "S1", "ACME", 2, t(0), t(4))
    purchase(s, "S1", "ACME", 1, t(2), t(12), promised=date(2024, 3, 10))
    purchase(s, "DC", "BOLTS", 1, t(1), t(3, 12))


@pytest.fixture
def month(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(factory) as s:
        scenario(s)
    return factory


def report(
    factory: sessionmaker[Session],
    sites: list[str] | None = None,
    start: datetime = START,
    end: datetime = END,
) -> LogisticsReport:
    with unit_of_work(factory) as s:
        return logistics_kpis.compute(s, start, end, sites)


def parts(r: Any) -> tuple[Any, ...]:
    """(numerator, denominator) of a Ratio, (cost, quantity, shipments, value) of a CostPer."""
    assert r is not None
    if isinstance(r, kpis.Ratio):
        return r.numerator, r.denominator
    return r.cost, r.quantity, r.shipments, r.value


def loose(*values: Any) -> tuple[Any, ...]:
    """``values`` typed loosely, so that tests compare them with ints and pytest.approx."""
    return values


def same_spread(got: Spread | None, days: list[float], planned: float | None) -> None:
    """``got`` summarises ``days``, checked against numpy and statistics independently."""
    assert got is not None
    assert got.count == len(days)
    assert got.mean == approx(statistics.fmean(days))
    assert got.sd == (approx(statistics.stdev(days)) if len(days) > 1 else None)
    assert got.p90 == approx(float(np.percentile(days, 90)))
    assert got.planned_mean == (None if planned is None else approx(planned))


# --- the service ---------------------------------------------------------------------------


def test_transit_times_per_lane(month: sessionmaker[Session]) -> None:
    r = report(month)
    # departed and arrived in March: SH1 2.5, SH2 3, SH3 1.5 (DC-S1), SH4 1.25, SH9 4 days;
    # SH5 never departed. Planned: 2 days each, SH4 1 day.
    assert set(r.transit_days_by_lane) == {"DC-S1", "S2>S1/parcel", "DC>S2/ftl"}
    lane = r.transit_days_by_lane["DC-S1"]
    same_spread(lane, [2.5, 3.0, 1.5], 2.0)
    # by hand: mean 7/3; sd sqrt(((1/6)^2 + (2/3)^2 + (5/6)^2) / 2) = sqrt(7/12);
    # p90: sorted 1.5, 2.5, 3; h = 0.9 x 2 = 1.8: 2.5 + 0.8 x 0.5 = 2.9
    assert loose(lane.count, lane.mean, lane.sd, lane.p90) == (
        3, approx(7 / 3), approx((7 / 12) ** 0.5), approx(2.9),
    )  # fmt: skip
    same_spread(r.transit_days_by_lane["S2>S1/parcel"], [1.25], 1.0)
    same_spread(r.transit_days_by_lane["DC>S2/ftl"], [4.0], 2.0)
    # all five: mean 12.25 / 5 = 2.45; p90: h = 3.6 over 1.25 1.5 2.5 3 4: 3 + 0.6 = 3.6;
    # planned (2 + 2 + 2 + 1 + 2) / 5 = 1.8
    same_spread(r.transit_days, [2.5, 3.0, 1.5, 1.25, 4.0], 1.8)
    assert r.transit_days is not None
    assert loose(r.transit_days.mean, r.transit_days.p90) == (approx(2.45), approx(3.6))


def test_supplier_lead_times_per_partner(month: sessionmaker[Session]) -> None:
    r = report(month)
    # ACME: PO1's two lines 4 days each, PO2 10 days: mean 6, sd sqrt((4 + 4 + 16) / 2),
    # p90 h = 1.8 over 4 4 10: 4 + 0.8 x 6 = 8.8. BOLTS: PO3 2.5 days.
    acme = r.supplier_lead_time_days_by_partner["ACME"]
    same_spread(acme, [4.0, 4.0, 10.0], None)
    assert loose(acme.mean, acme.sd, acme.p90) == (6.0, approx(12**0.5), approx(8.8))
    same_spread(r.supplier_lead_time_days_by_partner["BOLTS"], [2.5], None)
    assert set(r.supplier_lead_time_days_by_partner) == {"ACME", "BOLTS"}


def test_on_time_delivery(month: sessionmaker[Session]) -> None:
    r = report(month)
    # by the UTC day of arrival vs planned arrival: SH1 Mar 4 12:00 vs Mar 4 on time; SH2
    # Mar 9 vs Mar 8 late; SH3 Mar 12 vs Mar 13 on time; SH4 Mar 22 06:00 UTC vs Mar 22
    # on time; SH5 Mar 16 vs Mar 15 late; SH9 Mar 7 vs Mar 5 late
    assert parts(r.on_time_delivery) == (3, 6)
    by_lane = {lane: parts(ratio) for lane, ratio in r.on_time_delivery_by_lane.items()}
    assert by_lane == {"DC-S1": (2, 4), "S2>S1/parcel": (1, 1), "DC>S2/ftl": (0, 1)}


def test_freight_costs(month: sessionmaker[Session]) -> None:
    r = report(month)
    # rated arrivals: SH1 300, SH2 150, SH3 240, SH5 60, SH9 800 (SH4 has no freight cost)
    assert parts(r.cost_per_shipment) == (1550, 5, 5, 310)
    # with a weight: SH1 100, SH2 50, SH5 50, SH9 800 kg: 1310 / 1000 kg
    assert parts(r.cost_per_kg) == (1310, 1000, 4, Decimal("1.31"))
    # carrying orders: SH1 4 + 6 + 5 = 15 units, SH2 3 units: 450 / 18
    assert parts(r.cost_per_unit) == (450, 18, 2, 25)


def test_consolidation(month: sessionmaker[Session]) -> None:
    c = report(month).consolidation
    assert c is not None
    # planned to depart in March, carrying orders, not cancelled: SH1 (2 orders), SH2 (1),
    # SH4 (2), SH7 (2): 7 orders on 4 shipments, 6 travelling with another
    assert (c.shipments, c.orders, c.consolidated_orders) == (4, 7, 6)
    assert loose(c.orders_per_shipment, c.consolidation_rate) == (1.75, approx(6 / 7))
    # rated: SH1, SH2, SH7: alone 200 + 180 + 150 + 300 + 350 = 1180, shipped 300 + 150 +
    # 500 = 950; SH4 has no freight cost and stays out of both
    assert loose(c.rated_shipments, c.alone_cost, c.consolidated_cost, c.saving) == (
        3, 1180, 950, 230,
    )  # fmt: skip


def test_orders_kpis_come_from_the_operations_report(month: sessionmaker[Session]) -> None:
    r = report(month)
    with unit_of_work(month) as s:
        ops = kpis.compute(s, START, END)
    assert r.otif_purchase_orders == ops.otif_purchase_orders
    assert parts(r.otif_purchase_orders) == (2, 3)  # PO2 received after its promised date
    assert r.otif_customer_orders is None and ops.otif_customer_orders is None
    assert r.order_accuracy is None and ops.order_accuracy is None


def test_other_periods_take_their_own_shipments(month: sessionmaker[Session]) -> None:
    feb = report(month, start=datetime(2024, 2, 1, tzinfo=UTC), end=START)
    # only SH6: 2 days on the lane, on time, 1000 for 100 kg and one unit, TO6 alone
    same_spread(feb.transit_days, [2.0], 2.0)
    assert set(feb.transit_days_by_lane) == {"DC-S1"}
    assert parts(feb.on_time_delivery) == (1, 1)
    assert parts(feb.cost_per_kg) == (1000, 100, 1, 10)
    assert parts(feb.cost_per_unit) == (1000, 1, 1, 1000)
    assert feb.consolidation is not None
    assert (feb.consolidation.orders, feb.consolidation.consolidated_orders) == (1, 0)
    assert feb.consolidation.saving == -100  # 900 alone, 1000 shipped
    # SH8 arrived at April 1 00:00 exactly: April's, not March's
    april = report(month, start=END, end=datetime(2024, 5, 1, tzinfo=UTC))
    assert parts(april.cost_per_shipment) == (999, 1, 1, 999)
    same_spread(april.transit_days, [2.0], 2.0)
    assert april.consolidation is None  # SH7 departs in March


def test_sites_scope_shipments_by_either_end(month: sessionmaker[Session]) -> None:
    r = report(month, ["S2"])
    # S2 at one end: SH4 (S2 -> S1) and SH9 (DC -> S2)
    same_spread(r.transit_days, [1.25, 4.0], 1.5)
    assert r.transit_days is not None and r.transit_days.p90 == approx(1.25 + 0.9 * 2.75)
    assert set(r.transit_days_by_lane) == {"S2>S1/parcel", "DC>S2/ftl"}
    assert parts(r.on_time_delivery) == (1, 2)
    assert parts(r.cost_per_shipment) == (800, 1, 1, 800)
    assert parts(r.cost_per_kg) == (800, 800, 1, 1)
    assert r.cost_per_unit is None  # SH4 is not rated, SH9 carries no orders
    c = r.consolidation
    assert c is not None and (c.shipments, c.orders, c.consolidated_orders) == (1, 2, 2)
    assert (c.rated_shipments, c.alone_cost, c.consolidated_cost, c.saving) == (0, None, None, None)
    assert r.supplier_lead_time_days_by_partner == {}  # purchase orders count by their site
    dc = report(month, ["DC"])
    assert set(dc.supplier_lead_time_days_by_partner) == {"BOLTS"}
    assert parts(dc.cost_per_shipment) == (1550, 5, 5, 310)  # every rated March arrival
    assert parts(dc.on_time_delivery) == (2, 5)  # all but SH4


def test_nothing_to_measure_is_none(month: sessionmaker[Session]) -> None:
    for r in (
        report(month, ["EMPTY"]),
        report(month, []),
        report(month, start=datetime(2023, 1, 1, tzinfo=UTC), end=datetime(2023, 2, 1, tzinfo=UTC)),
    ):
        assert r.transit_days is None and r.on_time_delivery is None
        assert r.transit_days_by_lane == {} and r.on_time_delivery_by_lane == {}
        assert r.supplier_lead_time_days_by_partner == {}
        assert (r.cost_per_shipment, r.cost_per_kg, r.cost_per_unit) == (None, None, None)
        assert r.consolidation is None and r.otif_purchase_orders is None


def test_report_as_json(month: sessionmaker[Session]) -> None:
    out = json.loads(json.dumps(report(month, ["S1", "S2"]).as_dict()))
    assert out["start"] == "2024-03-01T00:00:00+00:00" and out["site_ids"] == ["S1", "S2"]
    assert out["cost_per_kg"] == {"value": "1.31", "cost": "1310", "quantity": "1000",
                                  "shipments": 4}  # fmt: skip
    assert out["cost_per_unit"]["value"] == "25"
    assert out["on_time_delivery"] == {"value": 0.5, "numerator": "3", "denominator": "6"}
    assert out["transit_days_by_lane"]["S2>S1/parcel"] == {
        "count": 1, "mean": 1.25, "sd": None, "p90": 1.25, "planned_mean": 1.0,
    }  # fmt: skip
    assert out["consolidation"]["saving"] == "230"
    assert out["consolidation"]["orders_per_shipment"] == 1.75
    # PO3 is received at DC, out of scope: PO1 OTIF, PO2 late
    assert out["otif_purchase_orders"] == {"value": 0.5, "numerator": "1", "denominator": "2"}
    assert out["order_accuracy"] is None
    assert out["supplier_lead_time_days_by_partner"] == {  # BOLTS delivers to DC
        "ACME": {"count": 3, "mean": 6.0, "sd": approx(12**0.5), "p90": approx(8.8),
                 "planned_mean": None},
    }  # fmt: skip
    # 1/3 of a cost rounds to the money's 0.0001
    assert logistics_kpis.CostPer(Decimal(1), Decimal(3), 1).as_dict()["value"] == "0.3333"


def test_period_and_sites_are_checked(month: sessionmaker[Session]) -> None:
    with unit_of_work(month) as s:
        with pytest.raises(ParameterError, match="start: a datetime with a time zone"):
            logistics_kpis.compute(s, datetime(2024, 3, 1), END)
        with pytest.raises(ParameterError, match=r"end: .* is not after start"):
            logistics_kpis.compute(s, END, START)
        with pytest.raises(NotFound, match="no site 'MARS'"):
            logistics_kpis.compute(s, START, END, ["DC", "MARS"])


# --- the command and the route ---------------------------------------------------------


def store_url(engine: Engine) -> str:
    """A URL another process can open the test store with (its schema on PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as connection:
        schema = connection.scalar(text("select current_schema()"))
    url = engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def test_the_command(month: sessionmaker[Session], engine: Engine, tmp_path: Path) -> None:
    env = {"SPAREFLOW_DATABASE_URL": store_url(engine)}
    period = ["--start", "2024-03-01", "--end", "2024-04-01"]
    shown = spareflow(["logistics-kpis", *period, "--site", "S2"], tmp_path, env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == report(month, ["S2"]).as_dict()
    written = spareflow(["logistics-kpis", *period, "--out", "l.json"], tmp_path, env)
    assert written.returncode == 0 and "wrote l.json" in written.stderr, written.stderr
    out = json.loads((tmp_path / "l.json").read_text())
    assert out["cost_per_shipment"]["value"] == "310" and out["site_ids"] is None
    bad = spareflow(
        ["logistics-kpis", "--start", "yesterday", "--end", "2024-04-01"], tmp_path, env
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: --start:"), bad.stderr
    assert "'yesterday'" in bad.stderr and "Traceback" not in bad.stderr
    mars = spareflow(["logistics-kpis", *period, "--site", "MARS"], tmp_path, env)
    assert mars.returncode == 2 and "no site 'MARS'" in mars.stderr, mars.stderr


@pytest.fixture
def client(month: sessionmaker[Session]) -> Iterator[TestClient]:
    with unit_of_work(month) as s:
        users.add_user(s, "root", PASSWORD, "admin")
        users.add_user(s, "s2", PASSWORD, "planner", ["S2"])
    app = create_app(Settings(database_url="sqlite://", secret_key="k" * 40), factory=month)
    with TestClient(app) as c:
        yield c


def auth(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_route_is_scoped_to_the_callers_sites(
    client: TestClient, month: sessionmaker[Session]
) -> None:
    window = {"start": START.isoformat(), "end": END.isoformat()}
    every = client.get("/kpis/logistics", params=window, headers=auth(client, "root"))
    assert every.status_code == 200, every.text
    assert every.json() == report(month).as_dict()
    s2 = auth(client, "s2")
    mine = client.get("/kpis/logistics", params=window, headers=s2)
    assert mine.status_code == 200 and mine.json() == report(month, ["S2"]).as_dict()
    assert mine.json()["cost_per_shipment"]["cost"] == "800"
    for sites in (["S1"], ["S2", "DC"]):
        denied = client.get("/kpis/logistics", params={**window, "site_id": sites}, headers=s2)
        assert denied.status_code == 403, (sites, denied.text)
    naive = client.get(
        "/kpis/logistics",
        params={"start": "2024-03-01T00:00:00", "end": window["end"]},
        headers=auth(client, "root"),
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "start"
    backwards = client.get(
        "/kpis/logistics", params={"start": window["end"], "end": window["start"]},
        headers=auth(client, "root"),
    )  # fmt: skip
    assert backwards.status_code == 422, backwards.text
