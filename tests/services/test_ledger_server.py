"""The one-round-trip posting function on PostgreSQL (``sf_post_moves``).

It must take every plain posting without the Python path, refuse (post nothing, answer
None) exactly where the Python path would raise, and write what the Python path writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import Forbidden, InsufficientStock, NotFound, ParameterError
from spareflow.services import ledger, ledger_server, master
from spareflow.services.ledger import MoveRequest
from spareflow.store.models import Move
from spareflow.store.session import session_factory, unit_of_work
from spareflow.store.types import utcnow
from store_backends import fresh_engine

SUP, CUS = "VIRTUAL/SUPPLIER", "VIRTUAL/CUSTOMER"


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Engine]:
    yield from fresh_engine("postgresql", tmp_path)


@pytest.fixture
def world(pg: Engine) -> sessionmaker[Session]:
    factory = session_factory(pg)
    with unit_of_work(factory) as s:
        master.add_site(s, "A")
        master.add_site(s, "B")
        master.add_site(s, "N", allow_negative_stock=True)
        master.add_item(s, "P1", unit_cost=5)
        master.add_item(s, "R1", unit_cost=900, repairable=True)
        master.add_item(s, "S1", unit_cost=900, serialised=True)
        ledger.post(
            s,
            [
                MoveRequest("P1", Decimal(10), SUP, "A/STOCK", "receipt"),
                MoveRequest("R1", Decimal(2), SUP, "A/STOCK", "receipt"),
            ],
            "seed",
        )
    return factory


def move(item: str, qty: str, frm: str, to: str, **kw: object) -> MoveRequest:
    return MoveRequest(item, Decimal(qty), frm, to, "transfer", **kw)  # type: ignore[arg-type]


def on_server(s: Session, requests: list[MoveRequest]) -> list[Move] | None:
    amounts = [r.quantity for r in requests]
    posted = ledger_server.post(s.connection(), requests, amounts, "u", utcnow())
    return None if posted is None else posted[0]


def test_plain_postings_never_take_the_python_path(
    world: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def python_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Python path ran for a plain posting")

    monkeypatch.setattr(ledger, "_apply", python_path)
    with unit_of_work(world) as s:
        moves = ledger.post(
            s,
            [
                MoveRequest("P1", Decimal("2.5"), SUP, "B/STOCK", "receipt", lot="L7"),
                move("P1", "1", "A/STOCK", CUS, moved_at=None),
                MoveRequest(
                    "R1",
                    Decimal(1),
                    "A/STOCK",
                    "A/STOCK",
                    "status_change",
                    to_status="unserviceable",
                ),
            ],
            "alice",
        )
        assert [m.quantity for m in moves] == [Decimal("2.500"), Decimal("1.000"), Decimal(1)]
        assert [m.lot for m in moves] == ["L7", "", ""]
        assert moves[0].move_id < moves[1].move_id < moves[2].move_id
        assert {m.username for m in moves} == {"alice"}
        assert len(ledger.post(s, [move("P1", "0.5", "A/STOCK", "N/STOCK")], "bob")) == 1
    with unit_of_work(world) as s:
        assert ledger.on_hand(s, "P1", "A/STOCK") == Decimal("8.5")  # 10 - 1 - 0.5
        assert ledger.on_hand(s, "P1", "B/STOCK") == Decimal("2.5")  # lot L7
        assert ledger.on_hand(s, "R1", "A/STOCK", status="unserviceable") == 1
        assert ledger.reconcile(s) == []


@pytest.mark.parametrize(
    ("requests_", "python_error"),
    [
        ([move("NOPE", "1", "A/STOCK", "B/STOCK")], NotFound),
        ([move("P1", "1", "A/STOCK", "Z/STOCK")], NotFound),
        ([move("S1", "1", SUP, "A/STOCK")], ParameterError),  # serialised: needs a serial
        ([move("P1", "1", "A/STOCK", "A/STOCK", to_status="unserviceable")], ParameterError),
        ([move("P1", "11", "A/STOCK", "B/STOCK")], InsufficientStock),
        ([move("P1", "1", "A/STOCK", "B/STOCK", lot="L9")], InsufficientStock),  # no such lot
        (
            [move("P1", "6", "A/STOCK", "B/STOCK"), move("P1", "5", "A/STOCK", CUS)],
            InsufficientStock,
        ),
    ],
)
def test_the_function_refuses_where_the_python_path_raises(
    world: sessionmaker[Session], requests_: list[MoveRequest], python_error: type[Exception]
) -> None:
    with unit_of_work(world) as s:
        before = s.scalar(select(func.count()).select_from(Move))
        assert on_server(s, requests_) is None
        assert s.scalar(select(func.count()).select_from(Move)) == before
        assert ledger.on_hand(s, "P1", "A/STOCK") == 10
    with pytest.raises(python_error), unit_of_work(world) as s:
        ledger.post(s, requests_, "u")


def test_reservations_hold_stock_on_the_server_path_too(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        ledger.reserve(s, "P1", "A/STOCK", Decimal(8), "planner")
    with unit_of_work(world) as s:
        assert on_server(s, [move("P1", "3", "A/STOCK", "B/STOCK")]) is None
        assert on_server(s, [move("P1", "2", "A/STOCK", "B/STOCK")]) is not None
    with pytest.raises(InsufficientStock, match="unreserved"), unit_of_work(world) as s:
        ledger.post(s, [move("P1", "3", "A/STOCK", "B/STOCK")], "u")


def test_negative_stock_where_the_site_allows_it(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        moves = on_server(s, [move("P1", "4", "N/STOCK", CUS)])
        assert moves is not None and len(moves) == 1
        assert ledger.on_hand(s, "P1", "N/STOCK") == -4
        assert ledger.reconcile(s) == []


def test_a_refused_site_posts_nothing(world: sessionmaker[Session]) -> None:
    def only_site_b(site_id: str | None) -> None:
        if site_id not in (None, "B"):
            raise Forbidden(f"no access to site {site_id}")

    with unit_of_work(world) as s:
        with pytest.raises(Forbidden, match="site A"):
            ledger.post(s, [move("P1", "1", "A/STOCK", "B/STOCK")], "u", guard=only_site_b)
        assert ledger.on_hand(s, "P1", "A/STOCK") == 10
        assert s.scalar(select(func.count()).select_from(Move)) == 2


def test_sqlite_has_no_function(tmp_path: Path) -> None:
    for engine in fresh_engine("sqlite", tmp_path):
        with unit_of_work(session_factory(engine)) as s:
            assert not ledger_server.available(s)


def test_post_alone_commits_plain_moves_in_one_call(world: sessionmaker[Session]) -> None:
    engine = world.kw["bind"]
    moves = ledger.post_alone(engine, [move("P1", "3", "A/STOCK", "B/STOCK")], "ann", None)
    assert moves is not None and [m.quantity for m in moves] == [Decimal("3.000")]
    with unit_of_work(world) as s:  # committed: another session sees it
        assert ledger.on_hand(s, "P1", "B/STOCK") == 3
        assert ledger.reconcile(s) == []


@pytest.mark.parametrize(
    ("requests_", "sites"),
    [
        ([move("P1", "1", "A/STOCK", "B/STOCK")], ["B"]),  # A is not the user's site
        ([move("P1", "11", "A/STOCK", "B/STOCK")], None),  # not enough stock
        ([move("P1", "1", "A/STOCK", "B/STOCK", serial="X")], None),  # not plain
        ([move("P1", "0", "A/STOCK", "B/STOCK")], None),  # refused by the pure checks
    ],
)
def test_post_alone_posts_nothing_where_the_unit_of_work_path_must_decide(
    world: sessionmaker[Session], requests_: list[MoveRequest], sites: list[str] | None
) -> None:
    assert ledger.post_alone(world.kw["bind"], requests_, "ann", sites) is None
    with unit_of_work(world) as s:
        assert ledger.on_hand(s, "P1", "A/STOCK") == 10
        assert ledger.on_hand(s, "P1", "B/STOCK") == 0
        assert s.scalar(select(func.count()).select_from(Move)) == 2


def test_post_alone_takes_the_users_sites_and_virtual_locations(
    world: sessionmaker[Session],
) -> None:
    moves = ledger.post_alone(world.kw["bind"], [move("P1", "1", "A/STOCK", CUS)], "ann", ["A"])
    assert moves is not None and moves[0].to_location_id == CUS


def test_post_alone_is_postgresql_only(tmp_path: Path) -> None:
    for engine in fresh_engine("sqlite", tmp_path):
        assert ledger.post_alone(engine, [move("P1", "1", SUP, "A/STOCK")], "u", None) is None
