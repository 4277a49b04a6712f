"""KPIs and plan runs over the API: plan the store, read the lines, draft the orders once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from spareflow.api import Settings, create_app
from spareflow.services import ledger, master, orders, users
from spareflow.services.ledger import MoveRequest
from spareflow.services.orders import LineIn
from spareflow.store.session import unit_of_work

PASSWORD = "correct horse battery"


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    now = datetime.now(UTC)
    with unit_of_work(factory) as s:
        users.add_user(s, "root", PASSWORD, "admin")
        for site in ("NORTH", "SOUTH"):
            master.add_site(s, site)
        users.add_user(s, "north", PASSWORD, "planner", ["NORTH"])
        users.add_user(s, "viewer", PASSWORD, "viewer", ["NORTH"])
        master.add_partner(s, "ACME", ["supplier"], lead_time_days=10)
        for n in range(6):
            master.add_item(s, f"P{n}", unit_cost=10 + n)
        for site in ("NORTH", "SOUTH"):
            po = orders.create(
                s,
                "purchase",
                site,
                [LineIn(f"P{n}", Decimal(1)) for n in range(6)],
                "root",
                partner_id="ACME",
                created_at=now - timedelta(days=700),
            )
            orders.act(s, po.order.order_id, "confirm", "root", {"at": now - timedelta(days=700)})
            orders.act(s, po.order.order_id, "receive", "root", {"at": now - timedelta(days=690)})
            moves = []
            for week in range(90):
                day = now - timedelta(days=650 - 7 * week)
                for n in range(6):
                    moves += [
                        MoveRequest(
                            f"P{n}",
                            Decimal(2),
                            "VIRTUAL/SUPPLIER",
                            f"{site}/STOCK",
                            "receipt",
                            moved_at=day,
                        ),
                        MoveRequest(
                            f"P{n}",
                            Decimal(2),
                            f"{site}/STOCK",
                            "VIRTUAL/CUSTOMER",
                            "issue",
                            moved_at=day,
                        ),
                    ]
            ledger.post(s, moves, "root")
    app = create_app(Settings(database_url="sqlite://", secret_key="k" * 40), factory=factory)
    with TestClient(app) as c:
        yield c


def auth(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_kpis_are_scoped_to_the_callers_sites(client: TestClient) -> None:
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(days=400)).isoformat(), "end": now.isoformat()}
    mine = client.get("/kpis", params=window, headers=auth(client, "north"))
    assert mine.status_code == 200, mine.text
    every = client.get("/kpis", params=window, headers=auth(client, "root")).json()
    cogs = Decimal(mine.json()["inventory"]["cost_of_goods_issued"])
    assert Decimal(every["inventory"]["cost_of_goods_issued"]) == 2 * cogs > 0
    denied = client.get(
        "/kpis", params={**window, "site_id": "SOUTH"}, headers=auth(client, "north")
    )
    assert denied.status_code == 403
    naive = client.get(
        "/kpis",
        params={"start": "2026-01-01T00:00:00", "end": window["end"]},
        headers=auth(client, "root"),
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "start"


def test_a_plan_run_is_kept_and_drafted_once(client: TestClient) -> None:
    north = auth(client, "north")
    assert client.post("/plan-runs", json={}, headers=auth(client, "viewer")).status_code == 403
    # at 99 % the reorder point (4) is above the one unit on hand: every part orders; at
    # 90 % the plan's lot of ~65 alone meets the target with r = -1 and nothing orders
    made = client.post("/plan-runs", json={"target": 0.99}, headers=north)
    assert made.status_code == 201, made.text
    run = made.json()
    assert run["item_sites"] == 6 and run["options"]["target"] == 0.99  # NORTH's of 12
    lines = client.get(f"/plan-runs/{run['run_id']}/lines", headers=north).json()
    assert lines["total"] == 6 and {r["site_id"] for r in lines["items"]} == {"NORTH"}
    wanted = client.get(
        f"/plan-runs/{run['run_id']}/lines", params={"orders_only": True}, headers=north
    ).json()["items"]
    assert len(wanted) == 6
    drafted = client.post(f"/plan-runs/{run['run_id']}/draft-orders", headers=north)
    assert drafted.status_code == 201, drafted.text
    (po,) = drafted.json()
    assert (po["kind"], po["status"], po["site_id"], po["partner_id"]) == (
        "purchase",
        "draft",
        "NORTH",
        "ACME",
    )
    assert {line["item_id"]: float(line["quantity"]) for line in po["lines"]} == {
        r["item_id"]: r["order_now"] for r in wanted
    }
    again = client.post(f"/plan-runs/{run['run_id']}/draft-orders", headers=north)
    assert again.status_code == 409 and "drafted already" in again.json()["detail"]
    assert client.get("/plan-runs", headers=north).json()["total"] == 1
