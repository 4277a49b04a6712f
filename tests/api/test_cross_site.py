"""Cross-site access: a user scoped to site A gets nothing of site B, on every route.

Sites A, B and C; one user of each non-admin role scoped to A. For every operation of the
API (but /auth, /health and /users, admin or personal: /users is checked on its own) a probe
tries to read or change B's objects (and C's: transfers between B and C have A at neither
end) as each of A's users:

- a read of a foreign object is 404, as if it did not exist (admin control: it exists);
- a list shows exactly the admin's view of A (and of transfers with A at one end), so its
  total excludes B, and a filter naming B finds nothing;
- a write touching B is 403 (a role with the right is refused for the site) or 404, and
  the store is unchanged afterwards, B's part or all of it.

``test_every_operation_is_probed`` and ``test_every_route_family_is_probed`` compare the
probes with /openapi.json: a new route, or a new route family, fails them until it has its
cross-site probe.

Runs on SQLite and PostgreSQL: ``engine`` (tests/conftest.py) is overridden here at module
scope, so the store is seeded once per backend (users' Argon2 hashes, two plan runs) and
the probes share it; each probe compares the store before and after its refused writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from spareflow.api import Settings, create_app
from spareflow.services import ledger, master, network, orders, shipments, users, work_orders
from spareflow.services.ledger import MoveRequest
from spareflow.services.network import LaneIn, RuleIn
from spareflow.services.orders import LineIn
from spareflow.services.shipments import ShipmentIn
from spareflow.services.users import PERMISSIONS
from spareflow.store.session import session_factory, unit_of_work
from store_backends import fresh_engine

PASSWORD = "correct horse battery"
SETTINGS = Settings(
    database_url="sqlite://",
    max_page_size=100,
    max_body_bytes=65536,
    secret_key="test-secret-" + "x" * 32,
)
ROLES = ("planner", "storekeeper", "technician", "viewer")
MINE = frozenset({"A"})
SPEC = create_app(SETTINGS, factory=sessionmaker()).openapi()
# admin-only or personal routes, outside site scoping (/users: test_users_are_admin_only;
# /epcis: tests/api/test_epcis.py::test_epcis_is_admin_only)
UNSCOPED_FAMILIES = {"/auth", "/health", "/users", "/epcis"}
ORDER_ACTIONS = (
    *("confirm", "release", "receive", "close", "cancel", "ship", "depart"),
    *("allocate", "pick", "deliver", "send", "return", "condemn"),
)
WORK_ORDER_ACTIONS = ("start", "wait_for_parts", "issue_parts", "complete", "cancel")
NOW = datetime.now(UTC)


def family(path: str) -> str:
    return "/" + path.split("/")[1]


def operations() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, methods in SPEC["paths"].items()
        for method in methods
        if family(path) not in UNSCOPED_FAMILIES
    }


# --- the world ----------------------------------------------------------------------------


@dataclass
class World:
    client: TestClient
    headers: dict[str, dict[str, str]]
    ids: dict[str, int] = field(default_factory=dict)

    def call(self, user: str, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=self.headers[user], **kwargs)

    def get(self, user: str, path: str, **params: Any) -> Any:
        r = self.call(user, "GET", path, params=params)
        assert r.status_code == 200, (user, path, params, r.status_code, r.text)
        return r.json()

    def every(self, user: str, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a paged list."""
        rows: list[dict[str, Any]] = []
        while True:
            page = self.get(user, path, limit=100, offset=len(rows), **params)
            rows += page["items"]
            if len(rows) >= page["total"] or not page["items"]:
                assert len(rows) == page["total"], (path, params, len(rows), page["total"])
                return rows


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """tests/conftest.py's ``engine`` (both backends), once per module here."""
    yield from fresh_engine(request.param, Path(tmp_path_factory.mktemp(request.param)))


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    factory = session_factory(engine)
    seed_history(factory)
    app = create_app(SETTINGS, factory=factory)
    with TestClient(app) as client:
        names = ["root", "planner_b", *(f"{role}_a" for role in ROLES)]
        headers = {}
        for name in names:
            r = client.post("/auth/token", data={"username": name, "password": PASSWORD})
            assert r.status_code == 200, r.text
            headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        w = World(client, headers)
        # plans ordering at every site (reorder points above the unit on hand): to read, to
        # draft as A's planner, to draft as A's and then B's planner
        for name in ("run", "run_to_draft", "run_to_share"):
            made = w.call("root", "POST", "/plan-runs", json={"target": 0.99})
            assert made.status_code == 201, made.text
            w.ids[name] = made.json()["run_id"]
        lines = w.every("root", f"/plan-runs/{w.ids['run']}/lines", orders_only=True)
        assert {line["site_id"] for line in lines} == {"A", "B", "C"}
        seed_objects(factory, w.ids)
        seed_network(factory)
        for name in ("drp", "drp_to_release"):
            made = w.call("root", "POST", "/drp-runs", json={"horizon": 12})
            assert made.status_code == 201, made.text
            w.ids[name] = made.json()["run_id"]
        yield w


def seed_history(factory: sessionmaker[Session]) -> None:
    """Sites A, B, C; users; items P1, P2 bought at each site long ago, then used weekly,
    and weekly units of the repairable R1: every item-site the objects add has demand (see
    test_schemathesis.py::test_plan_run_when_an_item_site_has_no_demand)."""
    with unit_of_work(factory) as s:
        for site in ("A", "B", "C"):
            master.add_site(s, site)
        master.add_location(s, "B/BIN-1", "B")
        master.add_item(s, "P1", unit_cost=10)
        master.add_item(s, "P2", unit_cost=20)
        master.add_item(s, "R1", unit_cost=100, repairable=True, serialised=True)
        master.add_partner(s, "ACME", ["supplier"], lead_time_days=10)
        master.add_partner(s, "AIRLINE", ["customer"])
        master.add_partner(s, "FIXIT", ["repair_vendor"])
        users.add_user(s, "root", PASSWORD, "admin")
        users.add_user(s, "planner_b", PASSWORD, "planner", ["B"])
        for role in ROLES:
            users.add_user(s, f"{role}_a", PASSWORD, role, ["A"])
        lines = [LineIn("P1", Decimal(1)), LineIn("P2", Decimal(1))]
        moves = []
        for site in ("A", "B", "C"):
            po = orders.create(
                s,
                "purchase",
                site,
                lines,
                "root",
                partner_id="ACME",
                created_at=NOW - timedelta(days=500),
            )
            orders.act(s, po.order.order_id, "confirm", "root", {"at": NOW - timedelta(days=500)})
            orders.act(s, po.order.order_id, "receive", "root", {"at": NOW - timedelta(days=490)})
            for week in range(60):
                day = NOW - timedelta(days=450 - 7 * week)
                for item in ("P1", "P2"):
                    moves += [
                        MoveRequest(
                            item,
                            Decimal(2),
                            "VIRTUAL/SUPPLIER",
                            f"{site}/STOCK",
                            "receipt",
                            moved_at=day,
                        ),
                        MoveRequest(
                            item,
                            Decimal(2),
                            f"{site}/STOCK",
                            "VIRTUAL/CUSTOMER",
                            "issue",
                            moved_at=day,
                        ),
                    ]
                unit = f"H-{site}-{week}"
                moves += [
                    MoveRequest(
                        "R1",
                        Decimal(1),
                        "VIRTUAL/SUPPLIER",
                        f"{site}/STOCK",
                        "receipt",
                        serial=unit,
                        moved_at=day,
                    ),
                    MoveRequest(
                        "R1",
                        Decimal(1),
                        f"{site}/STOCK",
                        "VIRTUAL/CUSTOMER",
                        "issue",
                        serial=unit,
                        moved_at=day,
                    ),
                ]
        ledger.post(s, moves, "root")


def seed_objects(factory: sessionmaker[Session], ids: dict[str, int]) -> None:
    """Repairable units, assets, moves, orders of every kind, work orders: at A and B."""
    with unit_of_work(factory) as s:
        master.add_asset(s, "PUMP-A", "A", "P-100")
        master.add_asset(s, "PUMP-B", "B", "P-100")
        units = [
            ("A/STOCK", "SN-A", "unserviceable"),
            ("A/STOCK", "SN-A2", "unserviceable"),
            ("B/STOCK", "SN-B", "unserviceable"),
            ("B/STOCK", "SN-B2", "serviceable"),
        ]
        ledger.post(
            s,
            [
                MoveRequest(
                    "R1",
                    Decimal(1),
                    "VIRTUAL/SUPPLIER",
                    loc,
                    "receipt",
                    serial=sn,
                    to_status=status,
                )
                for loc, sn, status in units
            ],
            "root",
        )
        a_move, b_move, ab_move = ledger.post(
            s,
            [
                MoveRequest("P1", Decimal(5), "VIRTUAL/SUPPLIER", "A/STOCK", "receipt"),
                MoveRequest("P1", Decimal(5), "VIRTUAL/SUPPLIER", "B/STOCK", "receipt"),
                MoveRequest("P1", Decimal(1), "A/STOCK", "B/STOCK", "transfer"),
            ],
            "root",
        )
        ids.update(a_move=a_move.move_id, b_move=b_move.move_id, ab_move=ab_move.move_id)
        one = [LineIn("P1", Decimal(1))]

        def order(name: str, kind: str, site: str, **kw: Any) -> int:
            made = orders.create(s, kind, site, kw.pop("lines", one), "root", **kw)
            ids[name] = made.order.order_id
            return made.order.order_id

        orders.act(s, order("a_po", "purchase", "A", partner_id="ACME"), "confirm", "root", {})
        order("a_customer", "customer", "A", partner_id="AIRLINE")
        for name, serial in (("a_repair_of_b_unit", "SN-B"), ("a_repair", "SN-A2")):
            order(
                name,
                "repair",
                "A",
                partner_id="FIXIT",
                lines=[LineIn("R1", Decimal(1), serial=serial)],
            )
        orders.act(s, order("b_po", "purchase", "B", partner_id="ACME"), "confirm", "root", {})
        order("b_customer", "customer", "B", partner_id="AIRLINE")
        order(
            "b_repair",
            "repair",
            "B",
            partner_id="FIXIT",
            lines=[LineIn("R1", Decimal(1), serial="SN-B")],
        )
        order("t_cb", "transfer", "B", source_site_id="C")
        order("t_bc", "transfer", "C", source_site_id="B")
        order("t_ba", "transfer", "A", source_site_id="B")
        order("t_ab", "transfer", "B", source_site_id="A")
        for name, asset in (("wo_a", "PUMP-A"), ("wo_b", "PUMP-B")):
            wo = work_orders.create(s, asset, "failure", "root", parts=[("P1", 1)])
            ids[name] = wo.work_order.work_order_id


def seed_network(factory: sessionmaker[Session]) -> None:
    """Lanes and rules: A gets from B and ACME, B from C; shipments A to B and B to C."""
    with unit_of_work(factory) as s:
        for lane in (
            LaneIn("L-BA", "A", "ltl", 3, origin_site_id="B"),
            LaneIn("L-CB", "B", "ltl", 4, origin_site_id="C"),
            LaneIn("L-SA", "A", "parcel", 10, origin_partner_id="ACME"),
            LaneIn("L-SB", "B", "parcel", 10, origin_partner_id="ACME"),
        ):
            network.add_lane(s, lane)
        network.add_rule(s, RuleIn("A", source_site_id="B", item_id="P1"))
        network.add_rule(s, RuleIn("A", supplier_id="ACME"))
        network.add_rule(s, RuleIn("B", source_site_id="C"))
        for shipment_id, origin, destination in (("SH-AB", "A", "B"), ("SH-BC", "B", "C")):
            shipments.create_shipment(
                s,
                ShipmentIn(shipment_id, origin, destination, "ltl", NOW, NOW + timedelta(days=2)),
            )


B_ORDERS = ("b_po", "b_customer", "b_repair", "t_cb", "t_bc")  # A at neither end
MIXED_TRANSFERS = ("t_ba", "t_ab")  # A at one end: visible to A, B's side refused


# --- helpers ----------------------------------------------------------------------------


def foreign(body: Any) -> list[Any]:
    """Objects in ``body`` of a site not A: an object with a site_id (and a transfer's
    source_site_id) is A's with either end at A; None is a virtual location."""
    found: list[Any] = []
    if isinstance(body, dict):
        ends = {body.get("site_id"), body.get("source_site_id")} - {None}
        if ends and not ends & MINE:
            found.append(body)
        for value in body.values():
            found += foreign(value)
    elif isinstance(body, list):
        for value in body:
            found += foreign(value)
    return found


def may(role: str, right: str) -> bool:
    return role in PERMISSIONS[right]


def refused(r: Any, role: str, right: str | None) -> None:
    """A write touching another site: 404, or 403; a role that has ``right`` is refused
    for the site (the problem names it), not for its role."""
    assert r.status_code in (403, 404), (role, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    if r.status_code == 403 and right is not None and may(role, right):
        assert "no access to site" in r.json()["detail"], (role, r.text)


def not_found(r: Any, who: str) -> None:
    assert r.status_code == 404, (who, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.text


def snapshot(w: World, sites: frozenset[str] | None = None) -> dict[str, Any]:
    """The store as the admin sees it (of ``sites``, default all): what a refused write
    must leave as it was."""

    def ours(row: dict[str, Any]) -> bool:
        ends = {row.get(f) for f in ENDS} - {None}
        return sites is None or bool(ends & sites)

    def keep(path: str, fields: tuple[str, ...]) -> list[Any]:
        return sorted(
            tuple(str(row.get(f)) for f in fields) for row in w.every("root", path) if ours(row)
        )

    return {
        "sites": keep("/sites", ("site_id", "parent_site_id")),
        "locations": keep("/locations", ("location_id", "site_id")),
        "assets": keep("/assets", ("asset_id", "status", "positions")),
        "stock": keep("/stock", ("item_id", "location_id", "status", "on_hand", "reserved")),
        "units": keep("/stock/units", ("item_id", "location_id", "serial", "status", "on_hand")),
        "orders": keep("/orders", ("order_id", "status", "lines")),
        "work_orders": keep("/work-orders", ("work_order_id", "status", "parts")),
        "moves": sorted(
            (site, w.get("root", "/moves", site_id=site, limit=1)["total"])
            for site in (sites or ("A", "B", "C"))
        ),
        "runs": keep("/plan-runs", ("run_id", "drafted_at")),
        "lanes": keep("/lanes", ("lane_id", "destination_site_id", "origin_site_id")),
        "rules": keep("/sourcing-rules", ("rule_id", "site_id", "source_site_id")),
        "planned": keep(
            f"/drp-runs/{w.ids['drp_to_release']}/planned-orders", ("planned_order_id", "order_id")
        ),
        "shipments": keep("/shipments", ("shipment_id", "status")),
    }


#: the fields naming a site at one end of an object (orders, lanes, rules, shipments)
ENDS = ("site_id", "source_site_id", "origin_site_id", "destination_site_id")


FOREIGN = frozenset({"B", "C"})

# --- probes: one per operation ----------------------------------------------------------

Probe = Callable[[World, str], None]  # (world, the operation's label)
PROBES: dict[str, Probe] = {}


def probe(*labels: str) -> Callable[[Probe], Probe]:
    def register(fn: Probe) -> Probe:
        for label in labels:
            assert label not in PROBES, label
            PROBES[label] = fn
        return fn

    return register


def each_role() -> list[tuple[str, str]]:
    return [(role, f"{role}_a") for role in ROLES]


# master data shared by all sites: readable by all, and carrying no site


SHARED_READS = {
    "GET /items": "/items",
    "GET /items/{item_id}": "/items/P1",
    "GET /items/{item_id}/substitutes": "/items/P1/substitutes",
    "GET /partners": "/partners",
    "GET /partners/{partner_id}": "/partners/ACME",
}


@probe(*SHARED_READS)
def shared_master_data(w: World, label: str) -> None:
    """Items and partners are shared by all sites: readable by all, carrying no site."""
    for _, user in each_role():
        assert not foreign(w.get(user, SHARED_READS[label]))


@probe("POST /items", "POST /partners")
def shared_master_data_writes(w: World, label: str) -> None:
    """Creating them needs master.write, no site: a planner of A creates, for all."""
    before = snapshot(w, FOREIGN)
    for role, user in each_role():
        if label == "POST /items":
            path, body = "/items", {"item_id": f"NEW-{role}"}
        else:
            path, body = "/partners", {"partner_id": f"NEW-{role}", "roles": ["supplier"]}
        r = w.call(user, "POST", path, json=body)
        assert r.status_code == (201 if may(role, "master.write") else 403), r.text
        assert not foreign(r.json())
    assert snapshot(w, FOREIGN) == before


# sites and locations


@probe("GET /sites")
def list_sites(w: World, label: str) -> None:
    assert w.get("root", "/sites")["total"] == 3
    for _, user in each_role():
        assert [s["site_id"] for s in w.every(user, "/sites")] == ["A"]
        assert w.get(user, "/sites", q="B")["total"] == 0


@probe("GET /sites/{site_id}")
def get_site(w: World, label: str) -> None:
    for site in ("B", "C"):
        w.get("root", f"/sites/{site}")
    for _, user in each_role():
        w.get(user, "/sites/A")
        for site in ("B", "C"):
            not_found(w.call(user, "GET", f"/sites/{site}"), user)


@probe("POST /sites")
def add_site(w: World, label: str) -> None:
    before = snapshot(w)
    for role, user in each_role():
        r = w.call(user, "POST", "/sites", json={"site_id": f"B-{role}", "parent_site_id": "B"})
        refused(r, role, "sites.write")
    assert snapshot(w) == before


@probe("GET /locations")
def list_locations(w: World, label: str) -> None:
    everywhere = w.every("root", "/locations")
    assert {"B/STOCK", "B/BIN-1", "C/STOCK"} <= {loc["location_id"] for loc in everywhere}
    expected = [loc for loc in everywhere if loc["site_id"] in ("A", None)]
    for _, user in each_role():
        assert w.every(user, "/locations") == expected
        for site in ("B", "C"):
            assert w.get(user, "/locations", site_id=site)["total"] == 0


@probe("POST /locations")
def add_location(w: World, label: str) -> None:
    before = snapshot(w)
    for role, user in each_role():
        body = {"location_id": f"B/BIN-{role}", "site_id": "B"}
        refused(w.call(user, "POST", "/locations", json=body), role, "sites.write")
    assert snapshot(w) == before


# assets


@probe("GET /assets")
def list_assets(w: World, label: str) -> None:
    expected = w.every("root", "/assets", site_id="A")
    assert "PUMP-B" in {a["asset_id"] for a in w.every("root", "/assets")}
    for _, user in each_role():
        assert w.every(user, "/assets") == expected
        assert w.get(user, "/assets", site_id="B")["total"] == 0


@probe("GET /assets/{asset_id}")
def get_asset(w: World, label: str) -> None:
    w.get("root", "/assets/PUMP-B")
    for _, user in each_role():
        w.get(user, "/assets/PUMP-A")
        not_found(w.call(user, "GET", "/assets/PUMP-B"), user)


@probe("POST /assets")
def add_asset(w: World, label: str) -> None:
    before = snapshot(w)
    for role, user in each_role():
        body = {
            "asset_id": f"NEW-{role}",
            "site_id": "B",
            "model": "M",
            "positions": [{"position": "seal", "item_id": "P1"}],
        }
        refused(w.call(user, "POST", "/assets", json=body), role, "assets.write")
    assert snapshot(w) == before


# moves and stock


def site_of(w: World) -> dict[str, str | None]:
    return {loc["location_id"]: loc["site_id"] for loc in w.every("root", "/locations")}


@probe("GET /moves")
def list_moves(w: World, label: str) -> None:
    sites = site_of(w)
    expected = [
        m["move_id"]
        for m in w.every("root", "/moves")
        if {sites[m["from_location_id"]], sites[m["to_location_id"]]} <= {"A", None}
    ]
    for _, user in each_role():
        assert [m["move_id"] for m in w.every(user, "/moves")] == expected
        for params in ({"site_id": "B"}, {"location_id": "B/STOCK"}, {"site_id": "C"}):
            assert w.get(user, "/moves", **params)["total"] == 0, params
        assert w.ids["b_move"] not in [m["move_id"] for m in w.every(user, "/moves", item_id="P1")]


@probe("GET /moves/{move_id}")
def get_move(w: World, label: str) -> None:
    for _, user in each_role():
        w.get(user, f"/moves/{w.ids['a_move']}")
        for name in ("b_move", "ab_move"):
            w.get("root", f"/moves/{w.ids[name]}")
            not_found(w.call(user, "GET", f"/moves/{w.ids[name]}"), user)


def move(item: str, qty: int, src: str, dst: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "item_id": item,
        "quantity": qty,
        "from_location_id": src,
        "to_location_id": dst,
        "reason": reason,
        **extra,
    }


FOREIGN_MOVES = {
    "take B's stock": [move("P1", 1, "B/STOCK", "A/STOCK", "transfer")],
    "receive at B": [move("P1", 1, "VIRTUAL/SUPPLIER", "B/STOCK", "receipt")],
    "issue from B": [move("P1", 1, "B/STOCK", "VIRTUAL/CUSTOMER", "issue")],
    "into B's bin": [move("P1", 1, "A/STOCK", "B/BIN-1", "transfer")],
    "C to B": [move("P1", 1, "C/STOCK", "B/STOCK", "transfer")],
    "B's unit": [move("R1", 1, "B/STOCK", "A/STOCK", "transfer", serial="SN-B2")],
    "status at B": [
        move(
            "R1",
            1,
            "B/STOCK",
            "B/STOCK",
            "status_change",
            serial="SN-B",
            from_status="unserviceable",
            to_status="serviceable",
        )
    ],
    "A's and B's together": [
        move("P1", 1, "VIRTUAL/SUPPLIER", "A/STOCK", "receipt"),
        move("P1", 1, "B/STOCK", "VIRTUAL/CUSTOMER", "issue"),
    ],
}


@probe("POST /moves", "POST /moves/bulk")
def post_moves(w: World, label: str) -> None:
    before = snapshot(w)
    path = label.split(" ")[1]
    for role, user in each_role():
        for what, moves in FOREIGN_MOVES.items():
            r = w.call(user, "POST", path, json={"moves": moves})
            assert r.status_code in (403, 404), (what, role, r.status_code, r.text)
            refused(r, role, "moves.write")
    assert snapshot(w) == before


@probe("POST /moves/{move_id}/reversal")
def reverse_move(w: World, label: str) -> None:
    before = snapshot(w)
    for role, user in each_role():
        for name in ("b_move", "ab_move"):
            r = w.call(user, "POST", f"/moves/{w.ids[name]}/reversal", json={})
            refused(r, role, "moves.write")
            if may(role, "moves.write"):
                not_found(r, user)
    assert snapshot(w) == before


@probe("GET /stock")
def stock(w: World, label: str) -> None:
    expected = w.every("root", "/stock", site_id="A")
    assert any(row["site_id"] == "B" for row in w.every("root", "/stock"))
    for _, user in each_role():
        assert w.every(user, "/stock") == expected
        assert w.every(user, "/stock", item_id="P1") == [
            r for r in expected if r["item_id"] == "P1"
        ]
        for params in ({"site_id": "B"}, {"location_id": "B/STOCK"}, {"site_id": "C"}):
            assert w.get(user, "/stock", **params)["total"] == 0, params


@probe("GET /stock/units")
def stock_units(w: World, label: str) -> None:
    expected = w.every("root", "/stock/units", site_id="A")
    assert w.get("root", "/stock/units", serial="SN-B")["total"] == 1
    for _, user in each_role():
        assert w.every(user, "/stock/units") == expected
        for params in ({"site_id": "B"}, {"serial": "SN-B"}, {"serial": "SN-B2"}):
            assert w.get(user, "/stock/units", **params)["total"] == 0, params


# orders


@probe("GET /orders")
def list_orders(w: World, label: str) -> None:
    everything = w.every("root", "/orders")
    expected = [o for o in everything if {o["site_id"], o["source_site_id"]} & MINE]
    ids = {o["order_id"] for o in expected}
    assert not ids & {w.ids[name] for name in B_ORDERS}
    assert {w.ids[name] for name in MIXED_TRANSFERS} <= ids
    for _, user in each_role():
        assert w.every(user, "/orders") == expected
        for site in ("B", "C"):  # only transfers with A at the other end
            shown = {o["order_id"] for o in w.every(user, "/orders", site_id=site)}
            assert shown == {
                o["order_id"] for o in expected if site in (o["site_id"], o["source_site_id"])
            }
        transfers = {o["order_id"] for o in w.every(user, "/orders", kind="transfer")}
        assert transfers == {o["order_id"] for o in expected if o["kind"] == "transfer"}


@probe("GET /orders/{order_id}", "GET /orders/{order_id}/events")
def get_order(w: World, label: str) -> None:
    suffix = label.removeprefix("GET /orders/{order_id}")
    for _, user in each_role():
        for name in MIXED_TRANSFERS:
            w.get(user, f"/orders/{w.ids[name]}{suffix}")
        for name in B_ORDERS:
            w.get("root", f"/orders/{w.ids[name]}{suffix}")
            not_found(w.call(user, "GET", f"/orders/{w.ids[name]}{suffix}"), user)


# the actions B's side takes on a transfer with A at the other end, and the right they need
B_SIDE = {
    "t_ba": {"release": "orders.plan", "ship": "orders.handle", "depart": "orders.handle"},
    "t_ab": {"receive": "orders.handle", "cancel": "orders.plan", "close": "orders.plan"},
}


@probe("POST /orders/{order_id}/actions/{action}")
def order_actions(w: World, label: str) -> None:
    before = snapshot(w)
    for role, user in each_role():
        for name in B_ORDERS:
            for action in ORDER_ACTIONS:
                r = w.call(user, "POST", f"/orders/{w.ids[name]}/actions/{action}", json={})
                not_found(r, f"{user} {action} {name}")
        for name, actions in B_SIDE.items():
            for action, right in actions.items():
                r = w.call(user, "POST", f"/orders/{w.ids[name]}/actions/{action}", json={})
                assert r.status_code == 403, (user, action, name, r.text)
                refused(r, role, right)
    assert snapshot(w) == before


FOREIGN_ORDERS = {
    "purchase at B": {"kind": "purchase", "site_id": "B", "partner_id": "ACME"},
    "customer at B": {"kind": "customer", "site_id": "B", "partner_id": "AIRLINE"},
    "transfer C to B": {"kind": "transfer", "site_id": "B", "source_site_id": "C"},
    "transfer B to A": {"kind": "transfer", "site_id": "A", "source_site_id": "B"},
    "transfer A to B": {"kind": "transfer", "site_id": "B", "source_site_id": "A"},
}


@probe("POST /orders")
def create_order(w: World, label: str) -> None:
    before = snapshot(w)
    line = [{"item_id": "P1", "quantity": 1}]
    for role, user in each_role():
        for what, body in FOREIGN_ORDERS.items():
            r = w.call(user, "POST", "/orders", json={**body, "lines": line})
            assert r.status_code == 403, (what, role, r.text)
            refused(r, role, "orders.plan")
        repair = {
            "kind": "repair",
            "site_id": "B",
            "partner_id": "FIXIT",
            "lines": [{"item_id": "R1", "quantity": 1, "serial": "SN-B"}],
        }
        refused(w.call(user, "POST", "/orders", json=repair), role, "repair.create")
    assert snapshot(w) == before


# work orders


@probe("GET /work-orders")
def list_work_orders(w: World, label: str) -> None:
    expected = w.every("root", "/work-orders", site_id="A")
    assert w.ids["wo_b"] in {wo["work_order_id"] for wo in w.every("root", "/work-orders")}
    for _, user in each_role():
        assert w.every(user, "/work-orders") == expected
        for params in ({"site_id": "B"}, {"asset_id": "PUMP-B"}):
            assert w.get(user, "/work-orders", **params)["total"] == 0, params


@probe("GET /work-orders/{work_order_id}")
def get_work_order(w: World, label: str) -> None:
    w.get("root", f"/work-orders/{w.ids['wo_b']}")
    for _, user in each_role():
        w.get(user, f"/work-orders/{w.ids['wo_a']}")
        not_found(w.call(user, "GET", f"/work-orders/{w.ids['wo_b']}"), user)


@probe("POST /work-orders")
def create_work_order(w: World, label: str) -> None:
    before = snapshot(w)
    for role, user in each_role():
        for kind in ("failure", "planned"):
            body = {"asset_id": "PUMP-B", "kind": kind, "parts": [{"item_id": "P1", "quantity": 1}]}
            r = w.call(user, "POST", "/work-orders", json=body)
            refused(r, role, "work_orders.write")
            if may(role, "work_orders.write"):
                not_found(r, user)
    assert snapshot(w) == before


@probe("POST /work-orders/{work_order_id}/actions/{action}")
def work_order_actions(w: World, label: str) -> None:
    before = snapshot(w)
    for _, user in each_role():
        for action in WORK_ORDER_ACTIONS:
            body = {"removed": [{"item_id": "P1"}]} if action == "issue_parts" else {}
            path = f"/work-orders/{w.ids['wo_b']}/actions/{action}"
            not_found(w.call(user, "POST", path, json=body), f"{user} {action}")
    assert snapshot(w) == before


# KPIs and plan runs


@probe("GET /kpis")
def kpis(w: World, label: str) -> None:
    window = {"start": (NOW - timedelta(days=400)).isoformat(), "end": NOW.isoformat()}
    expected = w.get("root", "/kpis", site_id="A", **window)
    assert expected != w.get("root", "/kpis", **window)  # B's figures differ the totals
    for role, user in each_role():
        assert w.get(user, "/kpis", **window) == expected
        for sites in (["B"], ["C"], ["A", "B"]):
            r = w.call(user, "GET", "/kpis", params={**window, "site_id": sites})
            assert r.status_code == 403, (user, sites, r.text)
            refused(r, role, "read")


@probe("GET /kpis/logistics")
def logistics_kpis(w: World, label: str) -> None:
    # 600 days: the purchase orders received 490 days ago, two lines at each site
    window = {"start": (NOW - timedelta(days=600)).isoformat(), "end": NOW.isoformat()}
    expected = w.get("root", "/kpis/logistics", site_id="A", **window)
    every = w.get("root", "/kpis/logistics", **window)
    assert expected["supplier_lead_time_days_by_partner"]["ACME"]["count"] == 2
    assert every["supplier_lead_time_days_by_partner"]["ACME"]["count"] == 6
    for role, user in each_role():
        assert w.get(user, "/kpis/logistics", **window) == expected
        for sites in (["B"], ["C"], ["A", "B"]):
            r = w.call(user, "GET", "/kpis/logistics", params={**window, "site_id": sites})
            assert r.status_code == 403, (user, sites, r.text)
            refused(r, role, "read")


def lines_of_a(w: World, run_id: int, **params: Any) -> list[dict[str, Any]]:
    return [
        line
        for line in w.every("root", f"/plan-runs/{run_id}/lines", **params)
        if line["site_id"] == "A"
    ]


@probe("GET /plan-runs/{run_id}/lines")
def plan_run_lines(w: World, label: str) -> None:
    run = w.ids["run"]
    for params in ({}, {"orders_only": True}):
        expected = lines_of_a(w, run, **params)
        assert expected and len(expected) < len(w.every("root", f"/plan-runs/{run}/lines"))
        for _, user in each_role():
            assert w.every(user, f"/plan-runs/{run}/lines", **params) == expected


def assert_run_shows_only_a(w: World, run: dict[str, Any]) -> None:
    assert not foreign(run), foreign(run)[:3]
    assert run["summary"]["item_sites"] == len(lines_of_a(w, run["run_id"]))


@probe("GET /plan-runs", "GET /plan-runs/{run_id}")
def read_plan_runs(w: World, label: str) -> None:
    for _, user in each_role():
        if label == "GET /plan-runs":
            runs = w.every(user, "/plan-runs")
            assert {r["run_id"] for r in runs} >= {w.ids["run"], w.ids["run_to_draft"]}
        else:
            runs = [w.get(user, f"/plan-runs/{w.ids['run']}")]
        for run in runs:
            assert_run_shows_only_a(w, run)


@probe("POST /plan-runs")
def create_plan_run(w: World, label: str) -> None:
    before = snapshot(w, FOREIGN)
    made = w.call("planner_a", "POST", "/plan-runs", json={"target": 0.99})
    assert made.status_code == 201, made.text
    assert snapshot(w, FOREIGN) == before
    assert_run_shows_only_a(w, made.json())


DRAFT = {"default_supplier": "ACME"}


@probe("POST /plan-runs/{run_id}/draft-orders")
def draft_orders(w: World, label: str) -> None:
    run = w.ids["run_to_draft"]
    for role, user in each_role():
        if role != "planner":
            r = w.call(user, "POST", f"/plan-runs/{run}/draft-orders", json=DRAFT)
            refused(r, role, "orders.plan")
    before = snapshot(w, FOREIGN)
    drafted = w.call("planner_a", "POST", f"/plan-runs/{run}/draft-orders", json=DRAFT)
    assert drafted.status_code == 201, drafted.text
    made = drafted.json()
    wanted = {line["item_id"] for line in lines_of_a(w, run, orders_only=True)}
    assert made and {line["item_id"] for o in made for line in o["lines"]} == wanted
    for order in made:  # only A's lines, only orders A's planner could place itself
        assert order["site_id"] == "A" and order["source_site_id"] in (None, "A"), order
    assert snapshot(w, FOREIGN) == before


# the network: lanes, sourcing rules, DRP runs, shipments, freight classes


def with_a(w: World, path: str, **params: Any) -> list[dict[str, Any]]:
    """The admin's rows of ``path`` with A at one end."""
    return [row for row in w.every("root", path, **params) if MINE & {row.get(f) for f in ENDS}]


@probe("GET /lanes", "GET /sourcing-rules", "GET /shipments")
def list_network(w: World, label: str) -> None:
    path = label.split(" ")[1]
    expected = with_a(w, path)
    assert expected and len(expected) < len(w.every("root", path))
    for _, user in each_role():
        assert w.every(user, path) == expected
        assert w.get(user, path, site_id="C")["total"] == 0


@probe(
    "GET /lanes/{lane_id}", "GET /shipments/{shipment_id}", "GET /shipments/{shipment_id}/events"
)
def get_network_object(w: World, label: str) -> None:
    path = label.split(" ")[1]
    mine, theirs = {
        "GET /lanes/{lane_id}": ("/lanes/L-BA", "/lanes/L-CB"),
        "GET /shipments/{shipment_id}": ("/shipments/SH-AB", "/shipments/SH-BC"),
        "GET /shipments/{shipment_id}/events": (
            "/shipments/SH-AB/events",
            "/shipments/SH-BC/events",
        ),
    }[label]
    assert path.split("{")[0] in mine
    w.get("root", theirs)
    for _, user in each_role():
        w.get(user, mine)
        not_found(w.call(user, "GET", theirs), user)


FOREIGN_LANES = {
    "into B from C": {"destination_site_id": "B", "origin_site_id": "C"},
    "into A from B": {"destination_site_id": "A", "origin_site_id": "B"},
    "into B from A": {"destination_site_id": "B", "origin_site_id": "A"},
    "into B from ACME": {"destination_site_id": "B", "origin_partner_id": "ACME"},
}


@probe("POST /lanes", "POST /sourcing-rules", "POST /shipments")
def create_network_object(w: World, label: str) -> None:
    before = snapshot(w)
    for role, user in each_role():
        for n, ends in enumerate(FOREIGN_LANES.values()):
            to, source = ends["destination_site_id"], ends.get("origin_site_id")
            if label == "POST /lanes":
                body: dict[str, Any] = {
                    "lane_id": f"X-{role}-{n}", "mode": "ltl", "transit_days": 2, **ends
                }  # fmt: skip
            elif label == "POST /sourcing-rules":
                body = {"site_id": to, "source_site_id": source} if source else {
                    "site_id": to, "supplier_id": "ACME"
                }  # fmt: skip
            else:
                if source is None:
                    continue
                body = {
                    "shipment_id": f"X-{role}-{n}", "origin_site_id": source,
                    "destination_site_id": to, "mode": "ltl",
                    "planned_departure": NOW.isoformat(),
                    "planned_arrival": (NOW + timedelta(days=1)).isoformat(),
                }  # fmt: skip
            r = w.call(user, "POST", label.split(" ")[1], json=body)
            right = "shipments.write" if label == "POST /shipments" else "master.write"
            assert r.status_code == 403, (label, role, body, r.text)
            refused(r, role, right)
    assert snapshot(w) == before


def planned_with_a(w: World, run: int, **params: Any) -> list[dict[str, Any]]:
    return with_a(w, f"/drp-runs/{run}/planned-orders", **params)


def assert_drp_run_shows_only_a(w: World, run: dict[str, Any]) -> None:
    by_site = run["summary"]["by_site"]
    assert [row["site_id"] for row in by_site] == ["A"], run["summary"]
    assert set(run["summary"]) == {"start", "bucket", "horizon", "echelons", "by_site"}
    assert run["item_sites"] == by_site[0]["item_sites"]


@probe("GET /drp-runs", "GET /drp-runs/{run_id}")
def read_drp_runs(w: World, label: str) -> None:
    assert len(w.get("root", f"/drp-runs/{w.ids['drp']}")["summary"]["by_site"]) == 3
    for _, user in each_role():
        if label == "GET /drp-runs":
            runs = w.every(user, "/drp-runs")
            assert {r["run_id"] for r in runs} >= {w.ids["drp"], w.ids["drp_to_release"]}
        else:
            runs = [w.get(user, f"/drp-runs/{w.ids['drp']}")]
        for run in runs:
            assert_drp_run_shows_only_a(w, run)


@probe("POST /drp-runs")
def create_drp_run(w: World, label: str) -> None:
    for role, user in each_role():
        if role != "planner":
            refused(w.call(user, "POST", "/drp-runs", json={"horizon": 4}), role, "plan.run")
    before = snapshot(w, FOREIGN)
    made = w.call("planner_a", "POST", "/drp-runs", json={"horizon": 4})
    assert made.status_code == 201, made.text
    assert snapshot(w, FOREIGN) == before
    assert_drp_run_shows_only_a(w, made.json())


@probe("GET /drp-runs/{run_id}/planned-orders", "GET /drp-runs/{run_id}/pegging")
def drp_run_rows(w: World, label: str) -> None:
    run = w.ids["drp"]
    path = label.split(" ")[1].replace("{run_id}", str(run))
    everything = w.every("root", path)
    if label.endswith("pegging"):
        expected = [row for row in everything if row["site_id"] == "A"]
    else:
        expected = planned_with_a(w, run)
        assert any(row["source_site_id"] == "B" for row in expected)  # B -> A transfers
    assert expected and len(expected) < len(everything)
    for _, user in each_role():
        assert w.every(user, path) == expected
        assert not [
            row for row in w.every(user, path, site_id="C") if "A" not in {row.get(f) for f in ENDS}
        ]


@probe("POST /drp-runs/{run_id}/release")
def release_planned_orders(w: World, label: str) -> None:
    run = w.ids["drp_to_release"]
    path = f"/drp-runs/{run}/release"
    rows = w.every("root", f"/drp-runs/{run}/planned-orders")
    b_only = next(r for r in rows if r["site_id"] != "A" and r["source_site_id"] != "A")
    b_to_a = next(r for r in rows if r["site_id"] == "A" and r["source_site_id"] == "B")
    a_buys = [r for r in rows if r["site_id"] == "A" and r["kind"] == "purchase"]
    assert a_buys
    for role, user in each_role():
        if role != "planner":
            refused(w.call(user, "POST", path, json={}), role, "orders.plan")
    before = snapshot(w, FOREIGN)
    r = w.call("planner_a", "POST", path, json={"planned_order_ids": [b_only["planned_order_id"]]})
    not_found(r, "planner_a")
    r = w.call("planner_a", "POST", path, json={"planned_order_ids": [b_to_a["planned_order_id"]]})
    assert r.status_code == 403 and "no access to site B" in r.text, r.text
    mine = [r["planned_order_id"] for r in a_buys]
    released = w.call("planner_a", "POST", path, json={"planned_order_ids": mine})
    assert released.status_code == 201, released.text
    assert {(o["kind"], o["site_id"]) for o in released.json()} == {("purchase", "A")}
    default = w.call("planner_a", "POST", path, json={"through": "2100-01-01"})
    assert default.status_code == 201, default.text
    for order in default.json():
        assert order["site_id"] == "A" and order["source_site_id"] in (None, "A"), order
    assert snapshot(w, FOREIGN) == before
    left = w.every("root", f"/drp-runs/{run}/planned-orders", released=False)
    assert b_to_a["planned_order_id"] in {r["planned_order_id"] for r in left}


@probe("POST /promise")
def promise_lines(w: World, label: str) -> None:
    """Sources are the caller's sites only; a line at another site does not exist."""
    lines = [{"item_id": "P1", "site_id": "A", "quantity": 1000}, {"item_id": "P2", "site_id": "A",
             "quantity": 1}]  # fmt: skip
    admin = w.call("root", "POST", "/promise", json={"lines": lines})
    assert admin.status_code == 200, admin.text
    for _, user in each_role():
        r = w.call(user, "POST", "/promise", json={"lines": lines})
        assert r.status_code == 200, r.text
        assert {p["source_site_id"] for p in r.json()} <= {"A", None}, r.text
        for site in ("B", "C"):
            foreign_line = [{"item_id": "P1", "site_id": site, "quantity": 1}]
            not_found(w.call(user, "POST", "/promise", json={"lines": foreign_line}), user)


@probe("GET /allocation")
def allocation_of_a_site(w: World, label: str) -> None:
    """A's stock shared between demands with A at one end; senders only A's sites."""
    for _, user in each_role():
        got = w.get(user, "/allocation", site_id="A")
        assert got["demands"], got
        assert not [t for t in got["transshipments"] if t["from_site_id"] != "A"]
        for site in ("B", "C"):
            not_found(w.call(user, "GET", "/allocation", params={"site_id": site}), user)


@probe("POST /freight-class")
def freight_class(w: World, label: str) -> None:
    """Pure reckoning: no site, every role."""
    unit = {"unit_id": "U", "length_in": 48, "width_in": 40, "height_in": 48, "weight_lb": 400}
    for _, user in each_role():
        r = w.call(user, "POST", "/freight-class", json={"units": [unit]})
        assert r.status_code == 200 and r.json()[0]["freight_class"] == "125", r.text


@probe("POST /rate")
def rate(w: World, label: str) -> None:
    """Pure reckoning on the sample tariff: no site, every role."""
    line = {"shipment_id": "S", "lane": "Z1-Z2", "weight_lb": 400, "freight_class": "125"}
    for _, user in each_role():
        r = w.call(user, "POST", "/rate", json={"lines": [line]})
        assert r.status_code == 200 and r.json()[0]["total"] == "164.55", r.text


@probe("POST /shipments/build")
def build_shipments(w: World, label: str) -> None:
    """A scoped caller builds only orders between its own sites (A has no transfer to
    itself: nothing); naming another site is as if it did not exist, and nothing is
    recorded either way."""
    body = {"ship_date": "2026-11-25", "dry_run": True}
    before = snapshot(w)
    for _, user in each_role():
        r = w.call(user, "POST", "/shipments/build", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["summary"]["orders"] == 0 and r.json()["shipments"] == [], r.text
        for site in ("B", "C"):
            not_found(w.call(user, "POST", "/shipments/build",
                             json={**body, "site_ids": ["A", site]}), user)  # fmt: skip
    assert snapshot(w) == before


@pytest.mark.parametrize("label", sorted(PROBES))
def test_cross_site(world: World, label: str) -> None:
    PROBES[label](world, label)


# --- coverage of the probes -------------------------------------------------------------


def test_every_operation_is_probed() -> None:
    """A new operation fails here until it has a cross-site probe in PROBES."""
    assert set(PROBES) == operations()


def test_every_route_family_is_probed() -> None:
    families = {family(path) for path in SPEC["paths"]} - UNSCOPED_FAMILIES
    assert {family(label.split(" ", 1)[1]) for label in PROBES} == families
    assert families >= {
        "/items",
        "/sites",
        "/locations",
        "/partners",
        "/assets",
        "/moves",
        "/stock",
        "/orders",
        "/work-orders",
        "/kpis",
        "/plan-runs",
        "/lanes",
        "/sourcing-rules",
        "/drp-runs",
        "/shipments",
        "/freight-class",
        "/rate",
        "/promise",
        "/allocation",
    }


# --- /users, and known cross-site writes through options ----------------------------------


def test_users_are_admin_only(world: World) -> None:
    w = world
    for role, user in each_role():
        w.get(user, f"/users/{user}")  # one's own record
        attempts = [
            ("GET", "/users", None),
            ("GET", "/users/planner_b", None),
            ("GET", "/users/root", None),
            ("PATCH", f"/users/{user}", {"sites": ["A", "B"]}),
            ("PATCH", "/users/planner_b", {"active": False}),
            ("POST", "/users", {"username": f"x-{role}", "password": PASSWORD, "role": "admin"}),
        ]
        for method, path, body in attempts:
            r = w.call(user, method, path, json=body)
            assert r.status_code == 403, (user, method, path, r.status_code, r.text)
    assert w.get("planner_b", "/users/planner_b")["active"] is True
    assert w.get("root", "/users/viewer_a")["sites"] == ["A"]


@pytest.mark.parametrize("how", ["receive into B", "send from B", "return into B"])
def test_order_actions_cannot_move_stock_at_another_site(world: World, how: str) -> None:
    w = world
    user = "storekeeper_a"
    if how == "return into B":
        sent = w.call(user, "POST", f"/orders/{w.ids['a_repair']}/actions/send", json={})
        assert sent.status_code == 200, sent.text
    order, action = {
        "receive into B": ("a_po", "receive"),
        "send from B": ("a_repair_of_b_unit", "send"),
        "return into B": ("a_repair", "return"),
    }[how]
    before = snapshot(w, FOREIGN)
    r = w.call(
        user, "POST", f"/orders/{w.ids[order]}/actions/{action}", json={"location_id": "B/STOCK"}
    )
    changed = snapshot(w, FOREIGN) != before
    assert r.status_code in (403, 404, 422) and not changed, (r.status_code, changed, r.text)


def test_drafting_leaves_other_sites_lines_to_them(world: World) -> None:
    w = world
    run = w.ids["run_to_share"]
    mine = w.call("planner_a", "POST", f"/plan-runs/{run}/draft-orders", json=DRAFT)
    assert mine.status_code == 201 and {o["site_id"] for o in mine.json()} == {"A"}, mine.text
    theirs = w.call("planner_b", "POST", f"/plan-runs/{run}/draft-orders", json=DRAFT)
    assert theirs.status_code == 201, theirs.text
    assert {o["site_id"] for o in theirs.json()} == {"B"}
