"""GS1 EPCIS 2.0 under /epcis: the standard's examples captured and queried back, invalid
documents refused with the schema errors, events mapped onto shipments, and our moves and
shipments exported as events that the standard's schema accepts (checked with a second,
independent validator, jsonschema-rs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from spareflow.api import Settings, create_app
from spareflow.ingest.epcis import schema
from spareflow.services import ledger, master, orders, users
from spareflow.services.ledger import MoveRequest
from spareflow.services.orders import LineIn
from spareflow.services.shipments import ShipmentIn, create_shipment
from spareflow.store.session import unit_of_work

PASSWORD = "correct horse battery"
EXAMPLES = sorted((Path(__file__).parents[1] / "data" / "epcis").glob("*.jsonld"))
T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with unit_of_work(factory) as s:
        users.add_user(s, "root", PASSWORD, "admin")
        master.add_site(s, "FRA", latitude=50.11, longitude=8.68)
        master.add_site(s, "CGN", latitude=50.94, longitude=6.96)
        users.add_user(s, "viewer", PASSWORD, "viewer", ["FRA"])
        master.add_partner(s, "ACME", ["supplier"])
        master.add_item(s, "PUMP-1", unit_cost=100)
        create_shipment(s, ShipmentIn("SH-1", "FRA", "CGN", "ltl", T0, T0 + timedelta(hours=5)))
    app = create_app(Settings(database_url="sqlite://", secret_key="k" * 40), factory=factory)
    with TestClient(app) as c:
        r = c.post("/auth/token", data={"username": "root", "password": PASSWORD})
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c


def load(path: Path) -> dict[str, object]:
    return json.loads(path.read_text())


def capture(client: TestClient, document: object) -> str:
    r = client.post("/epcis/capture", content=json.dumps(document),
                    headers={"Content-Type": "application/ld+json"})  # fmt: skip
    assert r.status_code == 202, r.text
    assert r.headers["GS1-EPCIS-Version"] == "2.0.0"
    return r.headers["Location"]


def test_the_standards_examples_are_captured_and_queried_back(client: TestClient) -> None:
    sent = []
    for path in EXAMPLES:
        document = load(path)
        job = client.get(capture(client, document)).json()
        assert job["running"] is False and job["success"] is True, job
        sent += document["epcisBody"]["eventList"]  # type: ignore[index]
    assert len(sent) == 6
    r = client.get("/epcis/events", params={"perPage": 1000})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    answer = r.json()
    assert list(jsonschema_rs.validator_for(schema()).iter_errors(answer)) == []
    got = answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(got) == len(sent)
    assert {e["type"] for e in got} == {"ObjectEvent", "AggregationEvent", "TransactionEvent",
                                        "TransformationEvent"}  # fmt: skip
    # the events come back as sent, with the recordTime the repository adds
    by_id = {e["eventID"]: e for e in got}
    for event in sent:
        if "eventID" in event:
            back = dict(by_id[event["eventID"]])
            assert back.pop("recordTime")
            back.pop("@context", None)
            assert back == event
    times = [datetime.fromisoformat(e["eventTime"]) for e in got]
    assert times == sorted(times)

    one = next(e["eventID"] for e in sent if "eventID" in e)
    r = client.get(f"/epcis/events/{quote(one, safe='')}")
    assert r.status_code == 200, r.text
    assert r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"] == one
    assert client.get("/epcis/events/urn:uuid:nothing").status_code == 404


def test_queries_filter_and_page(client: TestClient) -> None:
    for path in EXAMPLES:
        capture(client, load(path))
    r = client.get("/epcis/events", params={"eventType": "AggregationEvent"})
    assert [
        e["type"] for e in r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ] == ["AggregationEvent"]
    seen, url, pages = [], "/epcis/events?perPage=3", 0
    while url:
        r = client.get(url)
        pages += 1
        seen += r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        link = r.headers.get("Link")
        url = link[1 : link.index(">")] if link else ""
    assert pages == 2 and len(seen) == 6
    r = client.get("/epcis/events", params={"GE_eventTime": "2013-06-08T00:00:00Z"})
    kept = r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert kept and all(
        datetime.fromisoformat(e["eventTime"]) >= datetime(2013, 6, 8, tzinfo=UTC) for e in kept
    )
    assert client.get("/epcis/events", params={"eventType": "Nonsense"}).status_code == 422
    assert client.get("/epcis/events", params={"nextPageToken": "!!"}).status_code == 422


def test_invalid_documents_get_400_with_the_schema_errors(client: TestClient) -> None:
    document = load(EXAMPLES[1])
    event = document["epcisBody"]["eventList"][0]  # type: ignore[index]
    del event["eventTimeZoneOffset"]
    event["action"] = "MOVE"
    r = client.post("/epcis/capture", json=document)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "epcisException:ValidationException"
    fields = {e["field"] for e in body["errors"]}
    assert "$.epcisBody.eventList[0].action" in fields
    assert any("eventTimeZoneOffset" in e["message"] for e in body["errors"])
    r = client.post(
        "/epcis/capture", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["detail"].startswith("not JSON")
    r = client.post("/epcis/capture", json={"type": "EPCISDocument"})
    assert r.status_code == 400 and r.json()["errors"]
    empty = client.get("/epcis/events").json()
    assert empty["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


def test_a_second_capture_of_the_same_events_is_refused_whole(client: TestClient) -> None:
    document = load(next(p for p in EXAMPLES if "ObjectEvent" in p.name))  # with eventIDs
    capture(client, document)
    r = client.post("/epcis/capture", json=document)
    assert r.status_code == 409 and "is captured already" in r.json()["detail"]
    listed = client.get("/epcis/events").json()["epcisBody"]["queryResults"]["resultsBody"]
    assert len(listed["eventList"]) == len(document["epcisBody"]["eventList"])  # type: ignore[index]


def test_epcis_is_admin_only(client: TestClient) -> None:
    """EPCIS events name no site of ours: a caller scoped to sites is refused every route."""
    capture(client, load(EXAMPLES[0]))
    r = client.post("/auth/token", data={"username": "viewer", "password": PASSWORD})
    viewer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    window = {"start": "2026-11-20T00:00:00Z", "end": "2026-11-21T00:00:00Z"}
    for method, path, kwargs in (
        ("POST", "/epcis/capture", {"json": load(EXAMPLES[0])}),
        ("GET", "/epcis/events", {}),
        ("GET", "/epcis/events/urn:uuid:x", {}),
        ("GET", "/epcis/capture/x", {}),
        ("GET", "/epcis/export", {"params": window}),
    ):
        r = client.request(method, path, headers=viewer, **kwargs)
        assert r.status_code == 403 and "may not epcis" in r.json()["detail"], (path, r.text)
    listed = client.get("/epcis/events").json()["epcisBody"]["queryResults"]["resultsBody"]
    assert len(listed["eventList"]) == len(load(EXAMPLES[0])["epcisBody"]["eventList"])  # type: ignore[index]


SHIPMENT = "urn:spareflow:shipment:SH-1"


def shipping(step: str, at: datetime, event_id: str) -> dict[str, object]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": at.isoformat(),
        "epcisBody": {"eventList": [{
            "type": "ObjectEvent", "eventID": event_id, "eventTime": at.isoformat(),
            "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": step,
            "epcList": ["urn:epc:id:sscc:4012345.0000000001"],
            "bizTransactionList": [{"type": "desadv", "bizTransaction": SHIPMENT}],
        }]},
    }  # fmt: skip


def test_events_naming_a_shipment_move_it_along(client: TestClient) -> None:
    capture(
        client,
        shipping(
            "departing", T0 + timedelta(minutes=20), "urn:uuid:00000000-0000-4000-8000-000000000001"
        ),
    )
    capture(
        client,
        shipping(
            "arriving", T0 + timedelta(hours=4), "urn:uuid:00000000-0000-4000-8000-000000000002"
        ),
    )
    app = client.app
    with unit_of_work(app.state.ctx.factory) as s:  # type: ignore[attr-defined]
        from spareflow.services.shipments import get_shipment, shipment_events

        sh = get_shipment(s, "SH-1")
        assert (sh.status, sh.departed_at, sh.arrived_at) == (
            "arrived",
            T0 + timedelta(minutes=20),
            T0 + timedelta(hours=4),
        )
        assert [e.kind for e in shipment_events(s, "SH-1")] == [
            "planned",
            "epcis_departing",
            "epcis_arriving",
        ]


def test_moves_and_shipments_export_as_valid_epcis(client: TestClient) -> None:
    app = client.app
    factory = app.state.ctx.factory  # type: ignore[attr-defined]
    with unit_of_work(factory) as s:
        po = orders.create(s, "purchase", "FRA", [LineIn("PUMP-1", Decimal(3))], "root",
                           partner_id="ACME", created_at=T0 - timedelta(hours=1))  # fmt: skip
        orders.act(s, po.order.order_id, "confirm", "root", {"at": T0})
        orders.act(s, po.order.order_id, "receive", "root", {"at": T0 + timedelta(hours=1)})
        ledger.post(s, [MoveRequest("PUMP-1", Decimal(1), "FRA/STOCK", "VIRTUAL/CUSTOMER", "issue",
                                    moved_at=T0 + timedelta(hours=2))], "root")  # fmt: skip
    capture(
        client,
        shipping(
            "departing", T0 + timedelta(minutes=30), "urn:uuid:00000000-0000-4000-8000-000000000003"
        ),
    )
    r = client.get(
        "/epcis/export", params={"start": "2026-11-20T00:00:00Z", "end": "2026-11-21T00:00:00Z"}
    )
    assert r.status_code == 200, r.text
    document = r.json()
    assert list(jsonschema_rs.validator_for(schema()).iter_errors(document)) == []
    events = document["epcisBody"]["eventList"]
    steps = [(e["bizStep"], e.get("quantityList", [{}])[0].get("quantity")) for e in events]
    assert steps == [("receiving", 3.0), ("installing", 1.0)]
    assert events[0]["bizTransactionList"][0]["bizTransaction"].startswith("urn:spareflow:order:")
    assert events[0]["quantityList"][0]["epcClass"] == "urn:spareflow:item:PUMP-1"
    again = client.get(
        "/epcis/export", params={"start": "2026-11-20T00:00:00Z", "end": "2026-11-21T00:00:00Z"}
    )
    assert [e["eventID"] for e in again.json()["epcisBody"]["eventList"]] == [
        e["eventID"] for e in events
    ]
    assert (
        client.get(
            "/epcis/export", params={"start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00Z"}
        ).status_code
        == 422
    )
    # our export is a document any EPCIS repository, this one included, captures
    capture(client, document)
