"""The network and DRP over the API: lanes and sourcing rules made through the routes,
a DRP run with the planned orders of the worked three-site network
(tests/services/test_drp.py), pegging, release once and per site; shipments with legs
and events; freight classes. Bad bodies are refused naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from spareflow.api import Settings, create_app
from spareflow.services import ledger, orders, users
from spareflow.services.master import add_item, add_partner, add_site
from spareflow.services.orders import LineIn
from spareflow.store.session import unit_of_work

PASSWORD = "correct horse battery"
MONDAY = date(2026, 11, 23)
W = timedelta(weeks=1)
LANES = [
    {"lane_id": "V-DC", "destination_site_id": "DC", "mode": "ftl", "transit_days": 14,
     "origin_partner_id": "VEND"},
    {"lane_id": "V2-DC", "destination_site_id": "DC", "mode": "ocean", "transit_days": 21,
     "origin_partner_id": "VEND2"},
    {"lane_id": "DC-S1", "destination_site_id": "S1", "mode": "ltl", "transit_days": 5,
     "origin_site_id": "DC", "carrier_id": "TRUCKS", "cost_per_shipment": 120.5},
    {"lane_id": "DC-S1-AIR", "destination_site_id": "S1", "mode": "air", "transit_days": 1,
     "origin_site_id": "DC", "cost_per_kg": 4.0},
    {"lane_id": "DC-S2", "destination_site_id": "S2", "mode": "ltl", "transit_days": 7,
     "origin_site_id": "DC"},
]  # fmt: skip
RULES = [
    {"site_id": "S1", "source_site_id": "DC", "lane_id": "DC-S1"},
    {"site_id": "S2", "source_site_id": "DC"},
    {"site_id": "DC", "supplier_id": "VEND", "item_id": "P1", "share": 0.7},
    {"site_id": "DC", "supplier_id": "VEND2", "item_id": "P1", "share": 0.3},
]


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with unit_of_work(factory) as s:
        users.add_user(s, "root", PASSWORD, "admin")
        add_item(s, "P1", unit_cost=Decimal(100))
        for site in ("DC", "S1", "S2"):
            add_site(s, site)
        users.add_user(s, "s1", PASSWORD, "planner", ["S1", "DC"])
        users.add_user(s, "s2", PASSWORD, "planner", ["S2"])
        users.add_user(s, "viewer", PASSWORD, "viewer", ["S1"])
        add_partner(s, "VEND", ["supplier"])
        add_partner(s, "VEND2", ["manufacturer"])
        add_partner(s, "TRUCKS", ["carrier"])
        add_partner(s, "AIRLINE", ["customer"])
        ledger.post(
            s,
            [
                ledger.MoveRequest("P1", Decimal(5), "VIRTUAL/SUPPLIER", "S1/STOCK", "receipt"),
                ledger.MoveRequest("P1", Decimal(10), "VIRTUAL/SUPPLIER", "DC/STOCK", "receipt"),
            ],
            "test",
        )
        for site, qty, weeks in (("S1", 8, 2), ("S2", 12, 3)):
            orders.create(
                s, "customer", site, [LineIn("P1", Decimal(qty), due_date=MONDAY + weeks * W)],
                "test", partner_id="AIRLINE",
            )  # fmt: skip
    app = create_app(Settings(database_url="sqlite://", secret_key="k" * 40), factory=factory)
    with TestClient(app) as c:
        yield c


def auth(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def build(client: TestClient) -> dict[str, str]:
    root = auth(client, "root")
    for lane in LANES:
        r = client.post("/lanes", json=lane, headers=root)
        assert r.status_code == 201, r.text
    for rule in RULES:
        r = client.post("/sourcing-rules", json=rule, headers=root)
        assert r.status_code == 201, r.text
    return root


def test_lanes_and_rules_round_trip(client: TestClient) -> None:
    root = build(client)
    lane = client.get("/lanes/DC-S1", headers=root).json()
    assert lane["carrier_id"] == "TRUCKS"
    assert lane["transit_days"] == 5.0
    assert lane["cost_per_shipment"] == 120.5
    assert client.get("/lanes", params={"site_id": "S1"}, headers=root).json()["total"] == 2
    assert client.get("/lanes", params={"mode": "ltl"}, headers=root).json()["total"] == 2
    rules = client.get("/sourcing-rules", params={"site_id": "S2"}, headers=root).json()
    # no lane named: the fastest active one from DC to S2
    assert [(r["source_site_id"], r["lane_id"]) for r in rules["items"]] == [("DC", "DC-S2")]
    # S2's planner sees the lanes and rules into S2 only (none out of it)
    s2 = auth(client, "s2")
    assert {x["lane_id"] for x in client.get("/lanes", headers=s2).json()["items"]} == {"DC-S2"}
    assert [r["site_id"] for r in client.get("/sourcing-rules", headers=s2).json()["items"]] == [
        "S2"
    ]
    assert client.get("/lanes/V-DC", headers=s2).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**LANES[0], "lane_id": "X", "mode": "rail"}, 422, "mode"),
        ({**LANES[0], "lane_id": "X", "transit_days": -1}, 422, "transit_days"),
        ({**LANES[0], "lane_id": "X", "origin_site_id": "S1"}, 422, "origin_site_id"),
        ({**LANES[0], "lane_id": "X", "destination_site_id": "NOWHERE"}, 404, None),
        ({**LANES[0], "lane_id": "X", "origin_partner_id": "AIRLINE"}, 422, "supplies nothing"),
        ({**LANES[0], "lane_id": "X", "surprise": 1}, 422, "surprise"),
        (LANES[0], 409, "lane_id"),
    ],
)
def test_bad_lanes_are_refused_naming_the_field(
    client: TestClient, body: dict[str, object], status: int, field: str | None
) -> None:
    root = build(client)
    r = client.post("/lanes", json=body, headers=root)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in r.text
    assert client.get("/lanes", headers=root).json()["total"] == len(LANES)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"site_id": "S1", "source_site_id": "DC", "share": 1.5}, 422, "share"),
        ({"site_id": "S1", "source_site_id": "DC", "rank": 0}, 422, "rank"),
        ({"site_id": "S1", "source_site_id": "DC", "supplier_id": "VEND"}, 422, "source_site_id"),
        ({"site_id": "S1", "source_site_id": "S1"}, 422, "source_site_id"),
        ({"site_id": "S2", "supplier_id": "VEND"}, 422, "lane_id"),  # no lane VEND -> S2
        ({"site_id": "S1", "source_site_id": "DC", "lane_id": "DC-S2"}, 422, "lane_id"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(
    client: TestClient, body: dict[str, object], status: int, field: str
) -> None:
    root = build(client)
    r = client.post("/sourcing-rules", json=body, headers=root)
    assert r.status_code == status, r.text
    assert field in r.text
    assert client.get("/sourcing-rules", headers=root).json()["total"] == len(RULES)


def run(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    r = client.post(
        "/drp-runs",
        json={"bucket": "week", "horizon": 8, "start": (MONDAY + timedelta(days=2)).isoformat()},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_a_drp_run_plans_pegs_and_releases_once(client: TestClient) -> None:
    root = build(client)
    made = run(client, root)
    summary = made["summary"]
    assert isinstance(summary, dict)
    assert (summary["planned_orders"], summary["echelons"], summary["past_due_orders"]) == (4, 2, 1)
    assert {row["site_id"]: row["planned_orders"] for row in summary["by_site"]} == {
        "DC": 2, "S1": 1, "S2": 1,
    }  # fmt: skip
    path = f"/drp-runs/{made['run_id']}"
    planned = client.get(f"{path}/planned-orders", headers=root).json()["items"]
    # the worked example of tests/services/test_drp.py, by release date
    assert [
        (p["kind"], p["site_id"], p["source_site_id"] or p["supplier_id"], p["lane_id"],
         p["release_date"], p["receipt_date"], p["quantity"], p["past_due"])
        for p in planned
    ] == [
        ("purchase", "DC", "VEND", "V-DC", "2026-11-23", "2026-12-07", "3", False),
        ("purchase", "DC", "VEND2", "V2-DC", "2026-11-23", "2026-12-07", "2", True),
        ("transfer", "S1", "DC", "DC-S1", "2026-11-30", "2026-12-07", "3", False),
        ("transfer", "S2", "DC", "DC-S2", "2026-12-07", "2026-12-14", "12", False),
    ]  # fmt: skip
    pegs = client.get(f"{path}/pegging", params={"site_id": "DC"}, headers=root).json()
    assert sorted((p["supply_kind"], p["demand_kind"], p["quantity"]) for p in pegs["items"]) == [
        ("on_hand", "dependent", 3.0),
        ("on_hand", "dependent", 7.0),
        ("planned_order", "dependent", 2.0),
        ("planned_order", "dependent", 3.0),
    ]
    assert (
        client.get(f"{path}/pegging", params={"short_only": True}, headers=root).json()["total"]
        == 0
    )

    # S2's planner sees S2's part only, and releases nothing of the DC's
    s2 = auth(client, "s2")
    mine = client.get(path, headers=s2).json()
    assert [row["site_id"] for row in mine["summary"]["by_site"]] == ["S2"]
    assert "planned_orders" not in mine["summary"]
    assert mine["item_sites"] == 1
    seen = client.get(f"{path}/planned-orders", headers=s2).json()["items"]
    assert [p["site_id"] for p in seen] == ["S2"]
    r = client.post(f"{path}/release", json={"planned_order_ids": [4]}, headers=s2)
    assert r.status_code == 403 and "no access to site DC" in r.text  # a transfer out of DC
    r = client.post(f"{path}/release", json={"planned_order_ids": [1]}, headers=s2)
    assert r.status_code == 404  # a DC purchase: not S2's to see

    # the default release: due now and past due: the two DC purchases, one order each
    released = client.post(f"{path}/release", json={}, headers=root)
    assert released.status_code == 201, released.text
    assert sorted((o["kind"], o["site_id"], o["partner_id"]) for o in released.json()) == [
        ("purchase", "DC", "VEND"), ("purchase", "DC", "VEND2"),
    ]  # fmt: skip
    again = client.post(f"{path}/release", json={"planned_order_ids": [1]}, headers=root)
    assert again.status_code == 409 and "released already" in again.text
    done = client.get(f"{path}/planned-orders", params={"released": True}, headers=root).json()
    assert [p["planned_order_id"] for p in done["items"]] == [1, 2]

    # S1's planner (S1 and DC) releases the DC -> S1 transfer by name
    s1 = auth(client, "s1")
    r = client.post(f"{path}/release", json={"planned_order_ids": [3]}, headers=s1)
    assert r.status_code == 201, r.text
    (order,) = r.json()
    assert (order["kind"], order["site_id"], order["source_site_id"]) == ("transfer", "S1", "DC")
    assert order["lines"][0]["quantity"] == "3"


def test_drp_runs_need_the_right_and_good_options(client: TestClient) -> None:
    build(client)
    viewer = auth(client, "viewer")
    assert client.post("/drp-runs", json={}, headers=viewer).status_code == 403
    root = auth(client, "root")
    for body, field in (
        ({"bucket": "month"}, "bucket"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": 4, "periods_of_supply": 5}, "periods_of_supply"),
        ({"start": "2026-13-01"}, "start"),
    ):
        r = client.post("/drp-runs", json=body, headers=root)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text
    assert client.get("/drp-runs", headers=root).json()["total"] == 0
    assert client.get("/drp-runs/7/planned-orders", headers=root).status_code == 404
    made = run(client, root)
    r = client.post(f"/drp-runs/{made['run_id']}/release", json={"planned_order_ids": [99]},
                    headers=root)  # fmt: skip
    assert r.status_code == 404 and "no planned order 99" in r.text


def test_shipments_with_legs_and_events(client: TestClient) -> None:
    root = build(client)
    start = datetime(2026, 11, 24, 8, tzinfo=UTC)
    body = {
        "shipment_id": "SH-1", "origin_site_id": "DC", "destination_site_id": "S1",
        "mode": "ltl", "planned_departure": start.isoformat(),
        "planned_arrival": (start + timedelta(days=2)).isoformat(), "device_id": "TRK-1",
        "freight_cost": "412.50", "weight_kg": 300,
    }  # fmt: skip
    legs = [
        {"origin_site_id": "DC", "destination_site_id": "S2", "mode": "ltl",
         "planned_departure": start.isoformat(),
         "planned_arrival": (start + timedelta(days=1)).isoformat()},
        {"origin_site_id": "S2", "destination_site_id": "S1", "mode": "parcel",
         "planned_departure": (start + timedelta(days=1)).isoformat(),
         "planned_arrival": (start + timedelta(days=2)).isoformat()},
    ]  # fmt: skip
    r = client.post("/shipments", json={**body, "legs": legs}, headers=root)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["status"], made["freight_cost"], len(made["legs"])) == ("planned", "412.5", 2)
    assert [leg["destination_site_id"] for leg in made["legs"]] == ["S2", "S1"]
    events = client.get("/shipments/SH-1/events", headers=root).json()
    assert [(e["kind"], e["time"]) for e in events] == [("planned", "2026-11-24T08:00:00Z")]
    s2 = auth(client, "s2")
    assert client.get("/shipments/SH-1", headers=s2).status_code == 404  # S2 is a leg, no end
    assert client.get("/shipments", headers=s2).json()["total"] == 0
    s1 = auth(client, "s1")
    assert client.get("/shipments", params={"device_id": "TRK-1"}, headers=s1).json()["total"] == 1
    first, second = legs
    bad = {**body, "shipment_id": "SH-2", "legs": [{**first, "destination_site_id": "S1"}, second]}
    r = client.post("/shipments", json=bad, headers=root)
    assert r.status_code == 422 and "legs[2].origin_site_id" in r.text
    for change, field in (
        ({"mode": "rail"}, "mode"),
        ({"planned_arrival": "2026-11-20T00:00:00+00:00", "legs": []}, "planned_arrival"),
        ({"planned_departure": "2026-11-24T08:00:00"}, "planned_departure"),
        ({"shipment_id": "SH-1"}, "shipment_id"),
    ):
        r = client.post("/shipments", json={**body, "shipment_id": "SH-3", **change}, headers=root)
        assert r.status_code in (409, 422), (change, r.text)
        assert field in r.text, (change, r.text)
    assert client.get("/shipments", headers=root).json()["total"] == 1


def test_freight_classes_over_the_api(client: TestClient) -> None:
    root = auth(client, "root")
    # shared/reference/freight.md: 48 x 40 x 48 in, 400 lb = 7.50 pcf -> class 125 on both
    # scales; 48 x 40 x 36 in = 40 ft3, 1,600 lb = 40 pcf -> 55 on the 2025-1 scale (35 to
    # 50 pcf), 60 on the 11-sub scale before 19 July 2025 (30 pcf or more)
    units = [
        {"unit_id": "U1", "length_in": 48, "width_in": 40, "height_in": 48, "weight_lb": 400},
        {"unit_id": "U2", "length_in": 48, "width_in": 40, "height_in": 36, "weight_lb": 1600,
         "ship_date": "2025-07-19"},
        {"unit_id": "U3", "length_in": 48, "width_in": 40, "height_in": 36, "weight_lb": 1600,
         "ship_date": "2025-07-18"},
    ]  # fmt: skip
    r = client.post("/freight-class", json={"units": units}, headers=root)
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(u["unit_id"], u["cubic_feet"], u["density_pcf"], u["freight_class"]) for u in out] == [
        ("U1", 53.3333, 7.5, "125"), ("U2", 40.0, 40.0, "55"), ("U3", 40.0, 40.0, "60"),
    ]  # fmt: skip
    assert out[1]["scale_id"] != out[2]["scale_id"]
    r = client.post("/freight-class", json={"units": [{**units[0], "weight_lb": 0}]}, headers=root)
    assert r.status_code == 422 and "weight_lb" in r.text
    assert client.post("/freight-class", json={"units": []}, headers=root).status_code == 422


def test_promise_and_allocation_over_the_api(client: TestClient) -> None:
    root = build(client)
    today = date.today()
    # S1 has 5 and owes 8: nothing to promise there; the DC's 10 (owed to no one) come
    # over the air lane in a day (1 day beats the truck's 5), at no cost per unit
    r = client.post(
        "/promise", json={"lines": [{"item_id": "P1", "site_id": "S1", "quantity": 2}]},
        headers=root,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    (got,) = r.json()
    assert (got["kind"], got["quantity"], got["source_site_id"], got["lane_id"]) == (
        "lateral", 2.0, "DC", "DC-S1-AIR",
    )  # fmt: skip
    assert got["promised_date"] in {
        (today + timedelta(days=d)).isoformat()
        for d in (1, 2)  # across midnight UTC
    }
    for body, field in (
        ({"lines": []}, "lines"),
        ({"lines": [{"item_id": "P1", "site_id": "S1", "quantity": 0}]}, "quantity"),
        ({"lines": [{"item_id": "P1", "site_id": "S1", "quantity": 1, "priority": 0}]}, "priority"),
        ({"lines": [{"item_id": "P1", "site_id": "S1", "quantity": 1}], "horizon_days": 0},
         "horizon_days"),
    ):  # fmt: skip
        r = client.post("/promise", json=body, headers=root)
        assert r.status_code == 422 and field in r.text, (body, r.text)
    r = client.post(
        "/promise", json={"lines": [{"item_id": "NOPE", "site_id": "S1", "quantity": 1}]},
        headers=root,
    )  # fmt: skip
    assert r.status_code == 404 and "lines[1]: item 'NOPE'" in r.text

    # S1's 5 go to its customer's 8; the 3 short come from the DC by air (cheapest per
    # unit: the truck lane charges 120.50 a shipment)
    got = client.get("/allocation", params={"site_id": "S1"}, headers=root).json()
    assert [
        (d["class_name"], d["quantity"], d["allocated"], d["short"]) for d in got["demands"]
    ] == [("service_contract", 8.0, 5.0, 3.0)]
    assert [
        (t["from_site_id"], t["to_site_id"], t["lane_id"], t["quantity"], t["transit_days"])
        for t in got["transshipments"]
    ] == [("DC", "S1", "DC-S1-AIR", 3.0, 1.0)]
    assert client.get("/allocation", params={"site_id": "NOWHERE"}, headers=root).status_code == 404


def test_shipments_built_from_released_transfers(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    root = auth(client, "root")
    lane = {**LANES[2], "tariff_lane": "Z1-Z2"}
    assert client.post("/lanes", json=lane, headers=root).status_code == 201
    assert client.get("/lanes/DC-S1", headers=root).json()["tariff_lane"] == "Z1-Z2"
    with unit_of_work(factory) as s:
        from spareflow.store.models import Item

        item = s.get(Item, "P1")
        assert item is not None
        item.unit_weight_kg, item.unit_volume_m3 = 30.0, 0.05
        view = orders.create(s, "transfer", "S1", [LineIn("P1", Decimal(4))], "test",
                             source_site_id="DC")  # fmt: skip
        orders.act(s, view.order.order_id, "release", "test")
        number = view.order.number
    body = {"ship_date": "2026-11-25", "dry_run": True}
    scoped = client.post("/shipments/build", json=body, headers=auth(client, "s2")).json()
    assert scoped["summary"]["orders"] == 0  # S2's planner: DC is not theirs
    dry = client.post("/shipments/build", json=body, headers=root)
    assert dry.status_code == 200, dry.text
    (planned,) = dry.json()["shipments"]
    assert (planned["lane_id"], planned["orders"], planned["destination_site_id"]) == (
        "DC-S1", 1, "S1",
    )  # fmt: skip
    assert dry.json()["orders"][0]["number"] == number
    assert client.get("/shipments", headers=root).json()["total"] == 0  # dry: nothing kept
    denied = client.post("/shipments/build", json={**body, "dry_run": False},
                         headers=auth(client, "viewer"))  # fmt: skip
    assert denied.status_code == 403
    made = client.post("/shipments/build", json={**body, "dry_run": False}, headers=root)
    assert made.status_code == 200, made.text
    (shipment,) = made.json()["shipments"]
    # no due date: the order may wait the whole 2-day window for others, and ships its
    # last day
    assert shipment["shipment_id"] == planned["shipment_id"] == "SHP-20261127-0001"
    got = client.get(f"/shipments/{shipment['shipment_id']}", headers=root).json()
    assert (got["lane_id"], got["mode"], got["status"]) == ("DC-S1", "ltl", "planned")
    assert float(got["freight_cost"]) == pytest.approx(shipment["freight_cost"], abs=0.005)
    again = client.post("/shipments/build", json={**body, "dry_run": False}, headers=root)
    assert again.json()["summary"]["orders"] == 0  # the order travels already
    for bad, field in (({"window_days": 99}, "window_days"), ({"site_ids": ["NOPE"]}, None)):
        r = client.post("/shipments/build", json={**body, **bad}, headers=root)
        assert r.status_code in (404, 422), r.text
        if field:
            assert field in r.text
        else:
            assert "NOPE" in r.text
