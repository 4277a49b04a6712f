"""Many clients race for the last unit through the REST API, on SQLite and PostgreSQL.

One item has exactly one unit at a site. Twelve clients (each its own TestClient and
token, spread over several users) are released together by a barrier and each tries to
take that unit: exactly one may win in every trial, every other one gets 409 as an
RFC 9457 problem naming the field ``quantity``, and the ledger still reconciles with
nothing on hand. The same holds for customer orders allocating the last unit: exactly one
order is allocated, every other one backordered, and the unit is reserved once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.api import Settings, create_app
from spareflow.services import ledger, master, users
from spareflow.services.ledger import MoveRequest
from spareflow.store.models import Move, Reservation
from spareflow.store.session import unit_of_work

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"
RACERS = 12
TRIALS = 10
ORDER_TRIALS = 5
STOCK = "A/STOCK"
STOREKEEPERS = ("store_1", "store_2", "store_3", "root")  # may post moves at A
PLANNERS = ("plan_1", "plan_2", "plan_3", "root")  # may create and allocate orders at A


@dataclass
class Race:
    factory: sessionmaker[Session]
    clients: list[TestClient]

    def tokens(self, users: tuple[str, ...]) -> list[dict[str, str]]:
        """A token of its own for every racer, signed in as ``users`` in turn."""
        out = []
        for n, client in enumerate(self.clients):
            r = client.post(
                "/auth/token", data={"username": users[n % len(users)], "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            out.append({"Authorization": f"Bearer {r.json()['access_token']}"})
        return out

    def restock(self, amount: int = 1) -> None:
        with unit_of_work(self.factory) as s:
            receipt = MoveRequest("P1", Decimal(amount), "VIRTUAL/SUPPLIER", STOCK, "receipt")
            ledger.post(s, [receipt], "setup")
            assert ledger.on_hand(s, "P1", STOCK) == amount

    def run(self, racer: Callable[[int, TestClient, threading.Barrier], Any]) -> list[Any]:
        """Run ``racer(n, client, barrier)`` in one thread per client; their results, in
        racer order (an exception in a racer fails the test)."""
        barrier = threading.Barrier(len(self.clients), timeout=120)
        results: list[Any] = [None] * len(self.clients)
        errors: list[BaseException] = []

        def go(n: int) -> None:
            try:
                results[n] = racer(n, self.clients[n], barrier)
            except BaseException as exc:  # pragma: no cover - reported below
                barrier.abort()
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(n,)) for n in range(len(self.clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        assert not any(t.is_alive() for t in threads), "a racer hung"
        if errors:
            raise errors[0]
        return results


@pytest.fixture
def race(factory: sessionmaker[Session]) -> Iterator[Race]:
    with unit_of_work(factory) as s:
        master.add_site(s, "A")
        master.add_item(s, "P1", unit_cost=10)
        master.add_partner(s, "AIRLINE", ["customer"])
        users.add_user(s, "root", PASSWORD, "admin")
        for n in (1, 2, 3):
            users.add_user(s, f"store_{n}", PASSWORD, "storekeeper", ["A"])
            users.add_user(s, f"plan_{n}", PASSWORD, "planner", ["A"])
    app = create_app(
        Settings(database_url="sqlite://", secret_key="test-secret-" + "x" * 32), factory=factory
    )
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(app)) for _ in range(RACERS)]
        yield Race(factory, clients)


def moves_count(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as s:
        return s.scalar(select(func.count()).select_from(Move)) or 0


def test_exactly_one_client_takes_the_last_unit(race: Race) -> None:
    headers = race.tokens(STOREKEEPERS)
    issue = {
        "moves": [
            {
                "item_id": "P1",
                "quantity": 1,
                "from_location_id": STOCK,
                "to_location_id": "VIRTUAL/CUSTOMER",
                "reason": "issue",
                "reference": "race",
            }
        ]
    }

    def take(n: int, client: TestClient, barrier: threading.Barrier) -> Any:
        barrier.wait()
        return client.post("/moves", json=issue, headers=headers[n])

    for trial in range(TRIALS):
        race.restock()
        before = moves_count(race.factory)
        answers = race.run(take)
        codes = sorted(r.status_code for r in answers)
        assert codes == [201] + [409] * (RACERS - 1), (trial, [r.text for r in answers])
        for r in answers:
            if r.status_code == 201:
                assert [m["quantity"] for m in r.json()] == ["1"]
                continue
            assert r.headers["content-type"].startswith(PROBLEM), r.text
            body = r.json()
            assert body["status"] == 409 and body["type"].endswith("/insufficientstock")
            assert [e["field"] for e in body["errors"]] == ["quantity"], body
        with unit_of_work(race.factory) as s:
            assert ledger.on_hand(s, "P1", STOCK) == 0, trial
            assert ledger.reconcile(s) == [], trial
        assert moves_count(race.factory) == before + 1, trial  # one issue, no more
    with unit_of_work(race.factory) as s:
        assert ledger.on_hand(s, "P1", "VIRTUAL/CUSTOMER") == TRIALS


def test_exactly_one_customer_order_allocates_the_last_unit(race: Race) -> None:
    planners = race.tokens(PLANNERS)
    storekeeper = race.tokens(("store_1",))[0]
    order = {"kind": "customer", "site_id": "A", "partner_id": "AIRLINE"}

    def order_and_allocate(n: int, client: TestClient, barrier: threading.Barrier) -> Any:
        barrier.wait()  # everyone creates an order at once (document numbers race too)
        made = client.post(
            "/orders",
            json={**order, "lines": [{"item_id": "P1", "quantity": 1}]},
            headers=planners[n],
        )
        assert made.status_code == 201, made.text
        barrier.wait()  # then everyone allocates at once
        got = client.post(
            f"/orders/{made.json()['order_id']}/actions/allocate", headers=planners[n]
        )
        assert got.status_code == 200, got.text
        return got.json()

    numbers: set[str] = set()
    for trial in range(ORDER_TRIALS):
        race.restock()
        results = race.run(order_and_allocate)
        numbers |= {o["number"] for o in results}
        statuses = sorted(o["status"] for o in results)
        assert statuses == ["allocated"] + ["backordered"] * (RACERS - 1), trial
        (winner,) = [o for o in results if o["status"] == "allocated"]
        assert [x["quantity_allocated"] for x in winner["lines"]] == ["1"]
        for o in results:
            if o is not winner:
                assert [x["quantity_allocated"] for x in o["lines"]] == ["0"], o
        with unit_of_work(race.factory) as s:
            assert ledger.reserved(s, "P1", STOCK) == 1, trial
            assert ledger.available(s, "P1", STOCK) == 0, trial
            assert s.scalar(select(func.count()).select_from(Reservation)) == trial + 1
            assert ledger.reconcile(s) == [], trial
        # the winner ships its unit; the stock is gone and nothing stays reserved
        client = race.clients[0]
        for action in ("pick", "ship"):
            r = client.post(f"/orders/{winner['order_id']}/actions/{action}", headers=storekeeper)
            assert r.status_code == 200, r.text
        assert r.json()["status"] == "shipped"
        with unit_of_work(race.factory) as s:
            assert ledger.on_hand(s, "P1", STOCK) == 0, trial
            assert ledger.reserved(s, "P1", STOCK) == 0, trial
            assert ledger.reconcile(s) == [], trial
    assert len(numbers) == RACERS * ORDER_TRIALS  # every order got a number of its own
