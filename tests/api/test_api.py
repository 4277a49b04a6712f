"""The REST API end to end (FastAPI TestClient) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.api import Settings, create_app
from spareflow.services import ledger, master, users
from spareflow.services.ledger import MoveRequest
from spareflow.store.models import Order
from spareflow.store.session import unit_of_work

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with unit_of_work(factory) as s:
        master.add_site(s, "A")
        master.add_site(s, "B")
        master.add_item(s, "P1", unit_cost=10)
        master.add_partner(s, "ACME", ["supplier"])
        master.add_partner(s, "AIRLINE", ["customer"])
        master.add_asset(s, "PUMP-A", "A", "P-100")
        users.add_user(s, "root", PASSWORD, "admin")
        users.add_user(s, "plan_a", PASSWORD, "planner", ["A"])
        users.add_user(s, "store_a", PASSWORD, "storekeeper", ["A"])
        users.add_user(s, "store_b", PASSWORD, "storekeeper", ["B"])
        users.add_user(s, "tech_a", PASSWORD, "technician", ["A"])
        users.add_user(s, "view_a", PASSWORD, "viewer", ["A"])
        ledger.post(s, [MoveRequest("P1", 10, "VIRTUAL/SUPPLIER", "B/STOCK", "receipt")], "x")  # type: ignore[arg-type]
    app = create_app(
        Settings(
            database_url="sqlite://",
            max_page_size=100,
            max_body_bytes=4096,
            secret_key="test-secret-" + "x" * 32,
        ),
        factory=factory,
    )
    with TestClient(app) as c:
        yield c


def auth(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer"
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def is_problem(r: object, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    body: dict[str, object] = r.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_openapi_31_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert {
        "/auth/token",
        "/items",
        "/moves",
        "/orders/{order_id}/actions/{action}",
        "/work-orders",
        "/stock",
    } <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
    health = client.get("/health")
    assert health.json()["status"] == "ok"
    assert health.headers["x-content-type-options"] == "nosniff"
    assert health.headers["cache-control"] == "no-store"


def test_sign_in_and_bearer_tokens(client: TestClient) -> None:
    is_problem(client.get("/items"), 401)
    bad = client.post("/auth/token", data={"username": "root", "password": "nope"})
    assert is_problem(bad, 401) and bad.headers["www-authenticate"] == "Bearer"
    is_problem(client.get("/items", headers={"Authorization": "Bearer forged"}), 401)
    me = client.get("/auth/me", headers=auth(client, "plan_a")).json()
    assert me == {"username": "plan_a", "role": "planner", "sites": ["A"], "active": True}


def test_repeated_failed_sign_ins_are_throttled(client: TestClient) -> None:
    for _ in range(5):
        client.post("/auth/token", data={"username": "view_a", "password": "wrong"})
    r = client.post("/auth/token", data={"username": "view_a", "password": PASSWORD})
    assert is_problem(r, 429) and r.headers["retry-after"] == "300"


def test_api_tokens_for_machines_can_be_revoked(client: TestClient) -> None:
    made = client.post(
        "/auth/api-tokens", json={"name": "scanner"}, headers=auth(client, "store_a")
    )
    assert made.status_code == 201
    machine = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/auth/me", headers=machine).json()["username"] == "store_a"
    gone = client.delete(f"/auth/api-tokens/{made.json()['token_id']}", headers=machine)
    assert gone.json()["revoked_at"] is not None
    is_problem(client.get("/auth/me", headers=machine), 401)


def test_roles_limit_functions(client: TestClient) -> None:
    item = {"item_id": "P9", "unit_cost": "3.50"}
    body = is_problem(client.post("/items", json=item, headers=auth(client, "view_a")), 403)
    assert "role viewer may not master.write" in str(body["detail"])
    made = client.post("/items", json=item, headers=auth(client, "plan_a"))
    assert made.status_code == 201 and made.json()["unit_cost"] == "3.5"
    is_problem(
        client.post(
            "/users",
            json={"username": "eve", "password": PASSWORD, "role": "admin"},
            headers=auth(client, "plan_a"),
        ),
        403,
    )


def test_users_see_and_touch_only_their_sites(client: TestClient) -> None:
    a, b = auth(client, "store_a"), auth(client, "store_b")
    assert [s["site_id"] for s in client.get("/sites", headers=a).json()["items"]] == ["A"]
    is_problem(client.get("/sites/B", headers=a), 404)
    # B's stock is invisible to A, and A cannot move it
    assert client.get("/stock", headers=a).json()["total"] == 0
    assert client.get("/stock", headers=b).json()["items"][0]["on_hand"] == "10"
    steal = {
        "moves": [
            {
                "item_id": "P1",
                "quantity": 1,
                "from_location_id": "B/STOCK",
                "to_location_id": "A/STOCK",
                "reason": "transfer",
            }
        ]
    }
    body = is_problem(client.post("/moves", json=steal, headers=a), 403)
    assert "no access to site B" in str(body["detail"])
    # an order at B is not found for A, listed for B
    po = client.post(
        "/orders",
        json={
            "kind": "customer",
            "site_id": "B",
            "partner_id": "AIRLINE",
            "lines": [{"item_id": "P1", "quantity": 1}],
        },
        headers=auth(client, "root"),
    ).json()
    is_problem(client.get(f"/orders/{po['order_id']}", headers=a), 404)
    is_problem(client.post(f"/orders/{po['order_id']}/actions/pick", headers=a), 404)
    assert client.get("/orders", headers=a).json()["total"] == 0
    assert client.get("/orders", headers=b).json()["total"] == 1


def test_purchase_flow_and_illegal_transition(client: TestClient) -> None:
    planner, store = auth(client, "plan_a"), auth(client, "store_a")
    po = client.post(
        "/orders",
        json={
            "kind": "purchase",
            "site_id": "A",
            "partner_id": "ACME",
            "lines": [{"item_id": "P1", "quantity": "4"}],
        },
        headers=planner,
    )
    assert po.status_code == 201 and po.json()["status"] == "draft"
    oid = po.json()["order_id"]
    body = is_problem(client.post(f"/orders/{oid}/actions/receive", headers=store), 409)
    assert "is draft: cannot receive" in str(body["detail"])
    assert body["errors"] == [{"field": "status", "message": body["detail"]}]
    is_problem(client.post(f"/orders/{oid}/actions/receive", headers=planner), 403)
    assert (
        client.post(f"/orders/{oid}/actions/confirm", headers=planner).json()["status"]
        == "confirmed"
    )
    got = client.post(
        f"/orders/{oid}/actions/receive", json={"quantities": {"1": "4"}}, headers=store
    )
    assert got.json()["status"] == "received"
    stock = client.get("/stock", params={"site_id": "A"}, headers=store).json()["items"]
    assert [(s["item_id"], s["on_hand"]) for s in stock] == [("P1", "4")]
    trail = client.get(f"/orders/{oid}/events", headers=store).json()
    assert [e["action"] for e in trail] == ["create", "confirm", "receive"]


def test_errors_name_the_field(client: TestClient) -> None:
    h = auth(client, "root")
    body = is_problem(client.post("/items", json={"item_id": "X", "unit_cost": -1}, headers=h), 422)
    assert body["errors"][0]["field"] == "unit_cost"  # type: ignore[index]
    body = is_problem(client.post("/items", json={"item_id": "X", "colour": "red"}, headers=h), 422)
    assert body["errors"][0]["field"] == "colour"  # type: ignore[index]
    body = is_problem(
        client.post(
            "/orders",
            json={
                "kind": "purchase",
                "site_id": "A",
                "partner_id": "ACME",
                "lines": [{"item_id": "P1", "quantity": "0"}],
            },
            headers=h,
        ),
        422,
    )
    assert body["errors"][0]["field"] == "lines[0].quantity"  # type: ignore[index]
    body = is_problem(client.post("/items", json={"item_id": "P1"}, headers=h), 409)
    assert body["errors"] == [{"field": "item_id", "message": "item 'P1' already exists"}]
    body = is_problem(client.get("/items", params={"limit": 101}, headers=h), 422)
    assert body["errors"][0]["field"] == "limit"  # type: ignore[index]
    is_problem(client.get("/items/NOPE", headers=h), 404)
    big = {"item_id": "Y", "description": "x" * 5000}
    is_problem(client.post("/items", json=big, headers=h), 413)


def test_idempotency_key_makes_retries_safe(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    h = {**auth(client, "plan_a"), "Idempotency-Key": "po-2026-11-25-001"}
    order = {
        "kind": "purchase",
        "site_id": "A",
        "partner_id": "ACME",
        "lines": [{"item_id": "P1", "quantity": 2}],
    }
    first = client.post("/orders", json=order, headers=h)
    again = client.post("/orders", json=order, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 1
    other = {**order, "lines": [{"item_id": "P1", "quantity": 3}]}
    body = is_problem(client.post("/orders", json=other, headers=h), 422)
    assert body["errors"][0]["field"] == "Idempotency-Key"  # type: ignore[index]


def test_work_order_over_the_api(client: TestClient) -> None:
    tech = auth(client, "tech_a")
    wo = client.post(
        "/work-orders",
        json={"asset_id": "PUMP-A", "kind": "failure", "parts": [{"item_id": "P1", "quantity": 1}]},
        headers=tech,
    )
    assert wo.status_code == 201 and wo.json()["priority"] == 1
    wid = wo.json()["work_order_id"]
    started = client.post(f"/work-orders/{wid}/actions/start", headers=tech).json()
    assert started["status"] == "waiting_for_parts"
    assert client.get("/assets/PUMP-A", headers=tech).json()["status"] == "down"
    is_problem(
        client.post(f"/work-orders/{wid}/actions/start", headers=auth(client, "view_a")), 403
    )
    is_problem(client.get(f"/work-orders/{wid}", headers=auth(client, "store_b")), 404)
    done = client.post(f"/work-orders/{wid}/actions/complete", json={"partial": True}, headers=tech)
    assert done.json()["status"] == "done"


def test_concurrent_retries_with_one_key_create_once(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Six copies of one request race; exactly one order exists and all six get it."""
    import threading

    h = {**auth(client, "plan_a"), "Idempotency-Key": "race-1"}
    order = {
        "kind": "purchase",
        "site_id": "A",
        "partner_id": "ACME",
        "lines": [{"item_id": "P1", "quantity": 1}],
    }
    start = threading.Barrier(6)
    answers: list[tuple[int, str]] = []

    def post() -> None:
        with TestClient(client.app) as mine:
            start.wait()
            r = mine.post("/orders", json=order, headers=h)
            answers.append((r.status_code, r.json().get("number", r.text)))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [(201, "PO-000001")] * 6
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 1


PUBLIC = {
    ("POST", "/auth/token"),
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
}


def test_every_route_but_sign_in_needs_a_token(client: TestClient) -> None:
    """Function-level authorisation cannot be forgotten on a new route (OWASP API2, API5):
    every operation the OpenAPI document lists answers 401 without a token."""
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        for method in operations:
            if (method.upper(), path) in PUBLIC:
                continue
            concrete = path
            for name in ("order_id", "run_id", "move_id", "work_order_id", "token_id"):
                concrete = concrete.replace("{" + name + "}", "1")
            concrete = concrete.replace("{action}", "confirm").replace("{", "").replace("}", "")
            r = client.request(method.upper(), concrete)
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            checked += 1
    assert checked >= 35


def test_a_retried_receipt_is_not_received_twice(client: TestClient) -> None:
    planner, store = auth(client, "plan_a"), auth(client, "store_a")
    po = client.post(
        "/orders",
        json={
            "kind": "purchase",
            "site_id": "A",
            "partner_id": "ACME",
            "lines": [{"item_id": "P1", "quantity": 10}],
        },
        headers=planner,
    ).json()
    client.post(f"/orders/{po['order_id']}/actions/confirm", headers=planner)
    retry = {**store, "Idempotency-Key": "gr-7781"}
    receipt = {"quantities": {"1": 4}}
    first = client.post(f"/orders/{po['order_id']}/actions/receive", json=receipt, headers=retry)
    again = client.post(f"/orders/{po['order_id']}/actions/receive", json=receipt, headers=retry)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    lines = client.get(f"/orders/{po['order_id']}", headers=store).json()["lines"]
    assert lines[0]["quantity_received"] == "4"


def test_units_by_serial_and_status(client: TestClient) -> None:
    root = auth(client, "root")
    client.post(
        "/items", json={"item_id": "R1", "repairable": True, "serialised": True}, headers=root
    )
    moves = {
        "moves": [
            {
                "item_id": "R1",
                "quantity": 1,
                "from_location_id": "VIRTUAL/SUPPLIER",
                "to_location_id": "A/STOCK",
                "reason": "receipt",
                "serial": "SN1",
            },
            {
                "item_id": "R1",
                "quantity": 1,
                "from_location_id": "VIRTUAL/SUPPLIER",
                "to_location_id": "A/STOCK",
                "reason": "receipt",
                "serial": "SN2",
                "to_status": "unserviceable",
            },
        ]
    }
    assert client.post("/moves", json=moves, headers=auth(client, "store_a")).status_code == 201
    units = client.get("/stock/units", params={"item_id": "R1"}, headers=auth(client, "view_a"))
    got = [(u["serial"], u["status"], u["on_hand"]) for u in units.json()["items"]]
    assert got == [("SN1", "serviceable", "1"), ("SN2", "unserviceable", "1")]
    one = client.get("/stock/units", params={"serial": "SN2"}, headers=root).json()
    assert one["total"] == 1
    theirs = client.get("/stock/units", headers=auth(client, "store_b")).json()["items"]
    assert [(u["item_id"], u["site_id"]) for u in theirs] == [("P1", "B")]


def test_admins_manage_users_but_keep_one_admin(client: TestClient) -> None:
    root = auth(client, "root")
    moved = client.patch("/users/view_a", json={"sites": ["A", "B"]}, headers=root)
    assert moved.json()["sites"] == ["A", "B"]
    assert client.get("/sites", headers=auth(client, "view_a")).json()["total"] == 2
    off = client.patch("/users/view_a", json={"active": False}, headers=root)
    assert off.json()["active"] is False
    r = client.post("/auth/token", data={"username": "view_a", "password": PASSWORD})
    assert r.status_code == 401
    last = client.patch("/users/root", json={"role": "viewer"}, headers=root)
    assert last.status_code == 409 and "last active admin" in last.json()["detail"]
    is_problem(
        client.patch("/users/view_a", json={"role": "admin"}, headers=auth(client, "plan_a")), 403
    )


def test_assets_show_their_positions(client: TestClient) -> None:
    made = client.post(
        "/assets",
        json={
            "asset_id": "GEN-1",
            "site_id": "A",
            "model": "G-5",
            "positions": [{"position": "fuel-pump", "item_id": "P1", "quantity": 2}],
        },
        headers=auth(client, "tech_a"),
    )
    assert made.status_code == 201, made.text
    assert made.json()["positions"] == [
        {"position": "fuel-pump", "item_id": "P1", "quantity": "2", "installed_serial": None}
    ]
    is_problem(
        client.post(
            "/assets",
            json={"asset_id": "GEN-2", "site_id": "B", "model": "G"},
            headers=auth(client, "tech_a"),
        ),
        403,
    )
