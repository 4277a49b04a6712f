"""The inventory ledger on SQLite and PostgreSQL: balances equal the sum of moves, always."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import Conflict, InsufficientStock, NotFound, ParameterError
from spareflow.services import ledger, master
from spareflow.services.ledger import MoveRequest
from spareflow.store.session import unit_of_work

SUP, CUS, SCRAP, REPAIR = "VIRTUAL/SUPPLIER", "VIRTUAL/CUSTOMER", "VIRTUAL/SCRAP", "VIRTUAL/REPAIR"


@pytest.fixture
def world(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(factory) as s:
        master.add_site(s, "A")
        master.add_site(s, "B")
        master.add_site(s, "N", allow_negative_stock=True)
        master.add_location(s, "A/BIN-2", "A")
        master.add_item(s, "P1", unit_cost="12.50")
        master.add_item(s, "R1", unit_cost=900, repairable=True, serialised=True)
    return factory


def receipt(item: str, qty: str | int, to: str = "A/STOCK", **kw: object) -> MoveRequest:
    return MoveRequest(item, Decimal(str(qty)), SUP, to, "receipt", **kw)  # type: ignore[arg-type]


def issue(item: str, qty: str | int, frm: str = "A/STOCK", **kw: object) -> MoveRequest:
    return MoveRequest(item, Decimal(str(qty)), frm, CUS, "issue", **kw)  # type: ignore[arg-type]


def test_receive_transfer_issue_keeps_balances_equal_to_moves(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        ledger.post(s, [receipt("P1", 10), receipt("P1", "2.5")], "alice")
    with unit_of_work(world) as s:
        ledger.post(s, [MoveRequest("P1", Decimal(4), "A/STOCK", "A/BIN-2", "transfer")], "bob")
        ledger.post(s, [issue("P1", "0.1"), issue("P1", "0.2")], "bob")
    with unit_of_work(world) as s:
        levels = {(lv.location_id): lv.on_hand for lv in ledger.stock_levels(s)}
        assert levels == {"A/STOCK": Decimal("8.2"), "A/BIN-2": Decimal(4)}
        # virtual locations mirror the flows: the supplier gave 12.5, the customer took 0.3
        virtual = {
            lv.location_id: lv.on_hand
            for lv in ledger.stock_levels(s, include_virtual=True)
            if lv.site_id is None
        }
        assert virtual == {SUP: Decimal("-12.5"), CUS: Decimal("0.3")}
        assert ledger.reconcile(s) == []


def test_stock_never_goes_negative_and_a_failed_posting_writes_nothing(
    world: sessionmaker[Session],
) -> None:
    with unit_of_work(world) as s:
        ledger.post(s, [receipt("P1", 3)], "alice")
    overdraw = pytest.raises(InsufficientStock, match=r"P1 at A/STOCK: 4 wanted, only 3 available")
    with overdraw, unit_of_work(world) as s:
        # the first move alone is fine; together they overdraw: neither may land
        ledger.post(s, [issue("P1", 2), issue("P1", 2)], "bob")
    with unit_of_work(world) as s:
        assert ledger.on_hand(s, "P1", "A/STOCK") == 3
        assert s.execute(text("select count(*) from moves")).scalar_one() == 1


def test_a_site_may_allow_negative_stock(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        ledger.post(s, [issue("P1", 5, frm="N/STOCK")], "bob")
        assert ledger.on_hand(s, "P1", "N/STOCK") == -5
        assert ledger.reconcile(s) == []


def test_reserved_stock_is_not_available_to_others(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        ledger.post(s, [receipt("P1", 5)], "alice")
        held = ledger.reserve(s, "P1", "A/STOCK", Decimal(3), "planner")
        assert held is not None
        assert ledger.available(s, "P1", "A/STOCK") == 2
        with pytest.raises(InsufficientStock, match="3 wanted, only 2 available"):
            ledger.reserve(s, "P1", "A/STOCK", Decimal(3), "other")
        partial = ledger.reserve(s, "P1", "A/STOCK", Decimal(3), "other", partial=True)
        assert partial is not None and partial.quantity == 2
        reservation_id = held.reservation_id
    with pytest.raises(InsufficientStock, match="unreserved"), unit_of_work(world) as s:
        ledger.post(s, [issue("P1", 1)], "thief")  # all 5 are held
    with unit_of_work(world) as s:
        ledger.post(s, [issue("P1", 3, reservation_id=reservation_id)], "bob")
        assert ledger.on_hand(s, "P1", "A/STOCK") == 2
        assert ledger.reserved(s, "P1", "A/STOCK") == 2
        assert ledger.available(s, "P1", "A/STOCK") == 0


def test_a_reservation_must_match_the_move(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        ledger.post(s, [receipt("P1", 5), receipt("P1", 5, to="A/BIN-2")], "alice")
        held = ledger.reserve(s, "P1", "A/STOCK", Decimal(1), "planner")
        assert held is not None
        with pytest.raises(ParameterError, match="holds P1 at A/STOCK, not P1 at A/BIN-2"):
            ledger.post(s, [issue("P1", 1, frm="A/BIN-2", reservation_id=held.reservation_id)], "b")


def test_corrections_are_reversing_moves_and_moves_cannot_be_edited(
    world: sessionmaker[Session], engine: Engine
) -> None:
    with unit_of_work(world) as s:
        (wrong,) = ledger.post(s, [receipt("P1", 7)], "alice")
    with unit_of_work(world) as s:
        undo = ledger.reverse(s, wrong.move_id, "alice")
        assert (undo.from_location_id, undo.to_location_id) == ("A/STOCK", SUP)
        assert undo.reverses_move_id == wrong.move_id
        assert ledger.on_hand(s, "P1", "A/STOCK") == 0
    twice = pytest.raises(Conflict, match=f"already reversed by move {undo.move_id}")
    with twice, unit_of_work(world) as s:
        ledger.reverse(s, wrong.move_id, "alice")
    for statement in ("UPDATE moves SET quantity = 1", "DELETE FROM moves"):
        with pytest.raises(DBAPIError, match="moves are immutable"), engine.begin() as c:
            c.execute(text(statement))
    with unit_of_work(world) as s:
        assert ledger.reconcile(s) == []
        assert s.execute(text("select count(*) from moves")).scalar_one() == 2


def test_a_reversal_cannot_take_stock_that_is_gone(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        (got,) = ledger.post(s, [receipt("P1", 2)], "alice")
        ledger.post(s, [issue("P1", 2)], "bob")
        with pytest.raises(InsufficientStock):
            ledger.reverse(s, got.move_id, "alice")


def test_serialised_repairable_units(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        with pytest.raises(ParameterError, match="serialised; give its serial"):
            ledger.post(s, [receipt("R1", 1)], "alice")
        with pytest.raises(ParameterError, match="one at a time"):
            ledger.post(s, [receipt("R1", 2, serial="SN1")], "alice")
        ledger.post(s, [receipt("R1", 1, serial="SN1"), receipt("R1", 1, serial="SN2")], "alice")
        with pytest.raises(Conflict, match="serial SN1 would be in stock twice"):
            ledger.post(s, [receipt("R1", 1, to="B/STOCK", serial="SN1")], "alice")
    with unit_of_work(world) as s:
        # SN1 fails in service: declared unserviceable, sent to repair, back serviceable
        ledger.post(
            s,
            [
                MoveRequest(
                    "R1",
                    Decimal(1),
                    "A/STOCK",
                    "A/STOCK",
                    "status_change",
                    serial="SN1",
                    to_status="unserviceable",
                )
            ],
            "tech",
        )
        levels = {(lv.status): lv.on_hand for lv in ledger.stock_levels(s, item_id="R1")}
        assert levels == {"serviceable": 1, "unserviceable": 1}
        ledger.post(
            s,
            [
                MoveRequest(
                    "R1",
                    Decimal(1),
                    "A/STOCK",
                    REPAIR,
                    "repair_out",
                    serial="SN1",
                    from_status="unserviceable",
                    to_status="unserviceable",
                )
            ],
            "store",
        )
        ledger.post(
            s,
            [
                MoveRequest(
                    "R1",
                    Decimal(1),
                    REPAIR,
                    "B/STOCK",
                    "repair_in",
                    serial="SN1",
                    from_status="unserviceable",
                    to_status="serviceable",
                )
            ],
            "store",
        )
        by_site = {lv.location_id: lv.on_hand for lv in ledger.stock_levels(s, item_id="R1")}
        assert by_site == {"A/STOCK": 1, "B/STOCK": 1}
        assert ledger.reconcile(s) == []


def test_bad_requests_name_the_field(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        with pytest.raises(NotFound, match="item 'NOPE' does not exist"):
            ledger.post(s, [receipt("NOPE", 1)], "a")
        with pytest.raises(NotFound, match="to_location_id 'Z/STOCK' does not exist"):
            ledger.post(s, [receipt("P1", 1, to="Z/STOCK")], "a")
        with pytest.raises(ParameterError, match="quantity: move: must be > 0"):
            ledger.post(s, [receipt("P1", 0)], "a")
        with pytest.raises(ParameterError, match="at most 3 decimal places"):
            ledger.post(s, [receipt("P1", "0.0001")], "a")
        with pytest.raises(ParameterError, match="not repairable"):
            ledger.post(s, [receipt("P1", 1, to_status="unserviceable")], "a")
        with pytest.raises(ParameterError, match="reason"):
            ledger.post(s, [MoveRequest("P1", Decimal(1), SUP, "A/STOCK", "gift")], "a")


@pytest.mark.parametrize("workers", [8])
def test_concurrent_issues_never_overdraw(world: sessionmaker[Session], workers: int) -> None:
    """Eight clerks each issue 1 unit of the 5 in stock at the same moment: exactly 5 succeed."""
    with unit_of_work(world) as s:
        ledger.post(s, [receipt("P1", 5)], "alice")
    start = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def clerk(n: int) -> None:
        start.wait()
        try:
            with unit_of_work(world) as s:
                ledger.post(s, [issue("P1", 1)], f"clerk{n}")
            result = "ok"
        except InsufficientStock:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] * 5 + ["refused"] * (workers - 5)
    with unit_of_work(world) as s:
        assert ledger.on_hand(s, "P1", "A/STOCK") == 0
        assert ledger.reconcile(s) == []


def test_concurrent_transfers_in_opposite_directions_do_not_deadlock(
    world: sessionmaker[Session],
) -> None:
    with unit_of_work(world) as s:
        ledger.post(s, [receipt("P1", 100), receipt("P1", 100, to="B/STOCK")], "alice")
    errors: list[BaseException] = []

    def shuttle(frm: str, to: str) -> None:
        try:
            for _ in range(15):
                with unit_of_work(world) as s:
                    ledger.post(s, [MoveRequest("P1", Decimal(1), frm, to, "transfer")], "x")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=shuttle, args=p)
        for p in [("A/STOCK", "B/STOCK"), ("B/STOCK", "A/STOCK")] * 2
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with unit_of_work(world) as s:
        assert ledger.on_hand(s, "P1", "A/STOCK") == 100
        assert ledger.on_hand(s, "P1", "B/STOCK") == 100
        assert ledger.reconcile(s) == []


def test_a_release_gives_back_a_positive_quantity(world: sessionmaker[Session]) -> None:
    with unit_of_work(world) as s:
        ledger.post(s, [receipt("P1", 2)], "alice")
        held = ledger.reserve(s, "P1", "A/STOCK", Decimal(2), "planner")
        assert held is not None
        with pytest.raises(ParameterError, match="release a positive quantity"):
            ledger.release(s, held.reservation_id, Decimal(-5))
        ledger.release(s, held.reservation_id, Decimal(1))
        assert ledger.reserved(s, "P1", "A/STOCK") == 1


def test_a_serial_owed_at_a_negative_site_does_not_hide_a_second_unit(
    world: sessionmaker[Session],
) -> None:
    with unit_of_work(world) as s:
        ledger.post(s, [receipt("R1", 1, serial="SN1")], "alice")
        ledger.post(s, [issue("R1", 1, frm="N/STOCK", serial="SN1")], "bob")  # N: -1
        with pytest.raises(Conflict, match="serial SN1 would be in stock twice"):
            ledger.post(s, [receipt("R1", 1, to="B/STOCK", serial="SN1")], "alice")
