"""Random sequences of ledger, order and work-order operations keep every ledger invariant.

A hypothesis state machine drives the real services on a fresh store per example (a SQLite
file, or a PostgreSQL schema from ``store_backends.fresh_engine``) and keeps a plain Python
model beside it: balances per (item, location, lot, serial, status), reservations, the
moves posted, orders and work orders. Before each call the model predicts its outcome
(done, or refused with which error) and, when done, the exact moves and reservations it
writes; the model changes only when the call succeeds. A refused call is committed anyway
(its unit of work catches the error and commits): the services' savepoints must have
undone everything, so the store must still equal the model.

Every example starts from the same opening (some stock at sites A, B and N, one
reservation, two customer orders, a purchase order, a work order), posted and checked
like any step. Operations: receipts, issues, transfers (within and across sites),
adjustments and scrap, postings of several moves at once, malformed postings, reversals
of earlier moves, reservations (partial or not), releases and issues against them, status
changes of serialised repairable units, purchase orders (create, confirm, receive partly
or fully, close, cancel), customer orders (create, allocate, pick, ship, deliver, cancel)
and work orders (create, start, wait, issue parts, complete with removed units, cancel).
Choices lean to what can succeed (stocked places, actions the lifecycle allows now) but
keep drawing what must be refused.

Invariants after every step, read from the database: balances reconcile with the moves;
balances equal the model; no internal location of a site without negative stock is below
zero, nor its serviceable stock below its reservations (site N allows negative stock, and
the ledger deliberately guards neither there); reservations are never negative and equal
the model; available = on hand - reserved (``ledger.available`` and ``stock_levels``);
moves are only ever appended (their ids equal the model's and a digest of the earlier rows
never changes); orders and work orders (status, line and part quantities, events) equal
the model.
"""

from __future__ import annotations

import copy
import hashlib
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import (
    Conflict,
    IllegalTransition,
    InsufficientStock,
    NotFound,
    ParameterError,
)
from spareflow.services import ledger, lifecycle, master, orders, work_orders
from spareflow.services.ledger import MoveRequest
from spareflow.services.orders import LineIn
from spareflow.store.models import (
    Balance,
    Location,
    Move,
    Order,
    OrderEvent,
    OrderLine,
    Reservation,
    Site,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPart,
)
from spareflow.store.session import session_factory, unit_of_work
from store_backends import fresh_engine, postgres_reachable, skip_or_fail

SUP, CUS, ADJ, SCRAP, CONSUMED = (
    "VIRTUAL/SUPPLIER",
    "VIRTUAL/CUSTOMER",
    "VIRTUAL/ADJUSTMENT",
    "VIRTUAL/SCRAP",
    "VIRTUAL/CONSUMED",
)
INTERNAL = ("A/STOCK", "A/BIN-2", "B/STOCK", "N/STOCK")  # N allows negative stock
NEGATIVE_OK = frozenset({"N/STOCK"})
SERIAL_PLACES = ("A/STOCK", "A/BIN-2", "B/STOCK")  # serialised units stay off site N
PLAIN = ("P1", "P2")
SERIALISED = frozenset({"R1"})
ITEMS = (*PLAIN, "R1")
SERIALS = ("SN1", "SN2", "SN3")
LOTS = ("", "L1")  # P2 is kept by lot
STATUSES = ("serviceable", "unserviceable")
SERVICEABLE = "serviceable"
QTY = st.sampled_from(["1", "2", "3", "0.5", "0.125", "7"]).map(Decimal)
RECEIPT_QTY = st.sampled_from(["5", "10", "2", "0.5", "12.125"]).map(Decimal)
PURCHASE_ACTIONS = ("confirm", "receive", "close", "cancel")
CUSTOMER_ACTIONS = ("allocate", "pick", "ship", "deliver", "cancel")
WORK_ORDER_ACTIONS = ("start", "wait_for_parts", "issue_parts", "complete", "cancel")
USER = "machine"
REFUSALS = (Conflict, ParameterError, NotFound)
# flawed moves, each with the error the ledger must refuse it with
MALFORMED: dict[str, tuple[type[Exception], MoveRequest]] = {
    "zero quantity": (ParameterError, MoveRequest("P1", Decimal(0), SUP, "A/STOCK", "receipt")),
    "four decimals": (
        ParameterError,
        MoveRequest("P1", Decimal("0.0001"), SUP, "A/STOCK", "receipt"),
    ),
    "not repairable": (
        ParameterError,
        MoveRequest("P1", Decimal(1), SUP, "A/STOCK", "receipt", to_status="unserviceable"),
    ),
    "no serial": (ParameterError, MoveRequest("R1", Decimal(1), SUP, "A/STOCK", "receipt")),
    "two units of one serial": (
        ParameterError,
        MoveRequest("R1", Decimal(2), SUP, "A/STOCK", "receipt", serial="SN9"),
    ),
    "moves nothing": (
        ParameterError,
        MoveRequest("P1", Decimal(1), "A/STOCK", "A/STOCK", "transfer"),
    ),
    "unknown reason": (ParameterError, MoveRequest("P1", Decimal(1), SUP, "A/STOCK", "gift")),
    "unknown item": (NotFound, MoveRequest("NOPE", Decimal(1), SUP, "A/STOCK", "receipt")),
    "unknown location": (NotFound, MoveRequest("P1", Decimal(1), SUP, "Z/STOCK", "receipt")),
}

Key = tuple[str, str, str, str, str]  # item, location, lot, serial, status
Outcome = type[Exception] | None  # None: the call succeeds


# --- the model ------------------------------------------------------------------------------


@dataclass(eq=False)
class Res:
    """A reservation; ``rid`` is None until the store has named it."""

    item: str
    location: str
    quantity: Decimal
    owner: tuple[str, int] | None = None  # ("line", line_id) or ("part", part_id)
    rid: int | None = None


@dataclass(frozen=True)
class Mv:
    """A move as the model sees it; ``res`` is the reservation it consumes (not stored)."""

    item: str
    qty: Decimal
    frm: str
    to: str
    reason: str
    lot: str = ""
    serial: str = ""
    fs: str = SERVICEABLE
    ts: str = SERVICEABLE
    res: Res | None = field(default=None, compare=False)

    @property
    def src(self) -> Key:
        return (self.item, self.frm, self.lot, self.serial, self.fs)

    @property
    def dst(self) -> Key:
        return (self.item, self.to, self.lot, self.serial, self.ts)

    def sig(self) -> tuple[Any, ...]:
        m = self
        return (m.item, m.qty, m.frm, m.to, m.reason, m.lot, m.serial, m.fs, m.ts)

    def request(self) -> MoveRequest:
        rid = self.res.rid if self.res is not None else None
        return MoveRequest(
            self.item,
            self.qty,
            self.frm,
            self.to,
            self.reason,
            lot=self.lot,
            serial=self.serial,
            from_status=self.fs,
            to_status=self.ts,
            reservation_id=rid,
        )


OPENING = [  # every example starts with some stock, so that takings are often possible
    Mv("P1", Decimal(10), SUP, "A/STOCK", "receipt"),
    Mv("P1", Decimal(4), SUP, "B/STOCK", "receipt"),
    Mv("P2", Decimal("6.5"), SUP, "A/BIN-2", "receipt", lot="L1"),
    Mv("P2", Decimal(3), SUP, "N/STOCK", "receipt"),
    Mv("R1", Decimal(1), SUP, "A/STOCK", "receipt", serial="SN1"),
    Mv("R1", Decimal(1), SUP, "B/STOCK", "receipt", "", "SN2", "unserviceable", "unserviceable"),
]


@dataclass
class LineM:
    line_id: int
    line_no: int
    item: str
    quantity: Decimal
    allocated: Decimal = Decimal(0)
    shipped: Decimal = Decimal(0)
    received: Decimal = Decimal(0)


@dataclass
class OrderM:
    kind: str
    site: str
    status: str
    lines: list[LineM]
    events: int = 1


@dataclass
class PartM:
    part_id: int
    item: str
    required: Decimal
    issued: Decimal = Decimal(0)


@dataclass
class WorkM:
    status: str
    parts: list[PartM]
    events: int = 1


@dataclass
class Model:
    bal: dict[Key, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    res: list[Res] = field(default_factory=list)  # in creation order
    orders: dict[int, OrderM] = field(default_factory=dict)
    works: dict[int, WorkM] = field(default_factory=dict)

    def on_hand(self, item: str, location: str, status: str = SERVICEABLE) -> Decimal:
        return sum(
            (q for k, q in self.bal.items() if k[:2] == (item, location) and k[4] == status),
            Decimal(0),
        )

    def held(self, item: str, location: str) -> Decimal:
        return sum(
            (r.quantity for r in self.res if (r.item, r.location) == (item, location)),
            Decimal(0),
        )

    def owned(self, kind: str, owner_id: int) -> list[Res]:
        """Reservations of an order line or work-order part still holding stock, in id order."""
        return [r for r in self.res if r.owner == (kind, owner_id) and r.quantity > 0]

    def places(self, serial: str) -> list[tuple[str, str]]:
        """Where a serialised unit is in stock: (location, status)."""
        return sorted(
            (k[1], k[4])
            for k, q in self.bal.items()
            if k[0] == "R1" and k[3] == serial and k[1] in INTERNAL and q == 1
        )

    def post(self, moves: list[Mv]) -> Outcome:
        """Apply a posting (all or nothing), or name the error the ledger must refuse it with."""
        deltas: dict[Key, Decimal] = defaultdict(Decimal)
        taken: dict[Res, Decimal] = defaultdict(Decimal)
        for m in moves:
            deltas[m.src] -= m.qty
            deltas[m.dst] += m.qty
            if m.res is not None:
                taken[m.res] += m.qty
        hold: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for r in self.res:
            left = max(Decimal(0), r.quantity - taken[r]) if r in taken else r.quantity
            hold[(r.item, r.location)] += left
        after = {k: self.bal[k] + d for k, d in deltas.items()}
        guarded = set()
        for k, d in deltas.items():
            if k[1] in INTERNAL and d < 0 and k[1] not in NEGATIVE_OK:
                if after[k] < 0:
                    return InsufficientStock
                if k[4] == SERVICEABLE:
                    guarded.add(k[:2])
        merged = {**self.bal, **after}
        for item, location in guarded:
            stock = sum(
                (q for k, q in merged.items() if k[:2] == (item, location) and k[4] == SERVICEABLE),
                Decimal(0),
            )
            if hold[(item, location)] and stock < hold[(item, location)]:
                return InsufficientStock
        for k, d in deltas.items():
            if d > 0 and k[1] in INTERNAL and k[0] in SERIALISED and k[3]:
                units = sum(
                    (
                        q
                        for j, q in merged.items()
                        if j[0] == k[0] and j[3] == k[3] and j[1] in INTERNAL
                    ),
                    Decimal(0),
                )
                if units > 1:
                    return Conflict
        for k, d in deltas.items():
            self.bal[k] += d
        for r, q in taken.items():
            r.quantity = max(Decimal(0), r.quantity - q)
        return None

    def reserve(
        self,
        item: str,
        location: str,
        amount: Decimal,
        *,
        partial: bool,
        owner: tuple[str, int] | None = None,
    ) -> tuple[Outcome, Res | None]:
        free = self.on_hand(item, location) - self.held(item, location)
        if free < amount and not partial:
            return InsufficientStock, None
        take = min(amount, free)
        if take <= 0:
            return None, None
        made = Res(item, location, take, owner)
        self.res.append(made)
        return None, made


# --- the machine ----------------------------------------------------------------------------


def _seed(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        master.add_site(s, "A")
        master.add_site(s, "B")
        master.add_site(s, "N", allow_negative_stock=True)
        master.add_location(s, "A/BIN-2", "A")
        master.add_item(s, "P1", unit_cost=10)
        master.add_item(s, "P2", unit_cost="2.5")
        master.add_item(s, "R1", unit_cost=900, repairable=True, serialised=True)
        master.add_partner(s, "ACME", ["supplier"])
        master.add_partner(s, "AIRLINE", ["customer"])
        master.add_asset(s, "PUMP-A", "A", "P-100")


def _finish(engines: Iterator[Engine]) -> None:
    """Run ``fresh_engine``'s clean-up (dispose the engine, drop the schema)."""
    for _ in engines:  # pragma: no cover - it yields once
        pass


class LedgerMachine(RuleBasedStateMachine):
    backend: ClassVar[str] = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self._tmp = Path(tempfile.mkdtemp(prefix="spareflow-stateful-"))
        self._engines = fresh_engine(self.backend, self._tmp)
        try:
            self.factory = session_factory(next(self._engines))
            _seed(self.factory)
        except BaseException:
            _finish(self._engines)
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        self.m = Model()
        self.moves: dict[int, Mv] = {}
        self.reversed: set[int] = set()
        self.last_move_id = 0
        self.last_res_id = 0
        self.checked_upto = 0  # moves up to this id are covered by checked_digest
        self.checked_digest = _digest([])
        self._post(OPENING)
        self._reserve("P1", "A/STOCK", Decimal(3), partial=False)  # held for nothing in particular
        # and documents to act on: a customer order A can fill, one B cannot, a PO, a job
        self._new_order("customer", "A", [("P1", Decimal(2)), ("P2", Decimal(1))])
        self._new_order("customer", "B", [("P1", Decimal(6))])
        self._new_order("purchase", "A", [("P2", Decimal(5))])
        self._new_work_order("failure", [("P1", Decimal(2))])

    def teardown(self) -> None:
        _finish(self._engines)
        shutil.rmtree(self._tmp, ignore_errors=True)

    # --- calling the services ---------------------------------------------------------------

    def _call(self, expect: Outcome, work: Callable[[Session], Any]) -> bool:
        """Run ``work`` in one unit of work; True when it succeeded as predicted.

        A refusal is caught inside the unit of work, which then commits: whatever the
        refused call left behind would land, so the store must still equal the model."""
        refused: Exception | None = None
        with unit_of_work(self.factory) as s:
            try:
                work(s)
            except REFUSALS as exc:
                refused = exc
        if refused is not None:
            assert expect is not None, f"refused, but the model expected success: {refused!r}"
            assert type(refused) is expect, f"expected {expect.__name__}, got {refused!r}"
            self._assert_store_equals_model()
            return False
        assert expect is None, f"the model expected {expect.__name__}, but the call succeeded"
        return True

    def _commit(self, model: Model, moves: list[Mv]) -> None:
        """Adopt ``model`` after a successful call that posted ``moves`` (in any order) and
        created the reservations ``model`` has not named yet (in order)."""
        with unit_of_work(self.factory) as s:
            rows = list(
                s.scalars(
                    select(Move).where(Move.move_id > self.last_move_id).order_by(Move.move_id)
                )
            )
            made = list(
                s.scalars(
                    select(Reservation)
                    .where(Reservation.reservation_id > self.last_res_id)
                    .order_by(Reservation.reservation_id)
                )
            )
        posted = {
            row.move_id: Mv(
                row.item_id,
                row.quantity,
                row.from_location_id,
                row.to_location_id,
                row.reason,
                row.lot,
                row.serial,
                row.from_status,
                row.to_status,
            )
            for row in rows
        }
        assert sorted(m.sig() for m in posted.values()) == sorted(m.sig() for m in moves)
        pending = [r for r in model.res if r.rid is None]
        assert [(r.item, r.location, r.quantity, r.owner) for r in pending] == [
            (r.item_id, r.location_id, r.quantity, _owner(r)) for r in made
        ]
        for r, stored in zip(pending, made, strict=True):
            r.rid = stored.reservation_id
            self.last_res_id = stored.reservation_id
        self.moves.update(posted)
        for move in rows:
            if move.reverses_move_id is not None:
                self.reversed.add(move.reverses_move_id)
            self.last_move_id = move.move_id
        self.m = model

    def _post(self, moves: list[Mv]) -> None:
        model = copy.deepcopy(self.m)
        expect = model.post(moves)
        if self._call(expect, lambda s: ledger.post(s, [m.request() for m in moves], USER)):
            self._commit(model, moves)

    # --- drawing moves from the current state ----------------------------------------------

    def _source(self, data: st.DataObject, item: str | None = None) -> Key:
        """A balance to take stock from, mostly one holding some (of ``item``, if given);
        sometimes any place at all, which the ledger may have to refuse."""
        stocked = sorted(
            k for k, q in self.m.bal.items() if k[1] in INTERNAL and q > 0 and item in (None, k[0])
        )
        if stocked and data.draw(st.integers(0, 4), label="stocked") < 4:
            return data.draw(st.sampled_from(stocked), label="from")
        item = item or data.draw(st.sampled_from(ITEMS), label="item")
        if item in SERIALISED:
            location = data.draw(st.sampled_from(SERIAL_PLACES), label="location")
            serial = data.draw(st.sampled_from(SERIALS), label="serial")
            status = data.draw(st.sampled_from(STATUSES), label="status")
            return item, location, "", serial, status
        location = data.draw(st.sampled_from(INTERNAL), label="location")
        lot = data.draw(st.sampled_from(LOTS), label="lot") if item == "P2" else ""
        return item, location, lot, "", SERVICEABLE

    def _amount(self, data: st.DataObject, item: str, have: Decimal) -> Decimal:
        """All of ``have``, some of it, or any quantity (perhaps more than there is)."""
        if item in SERIALISED:
            return Decimal(1)
        mode = data.draw(st.integers(0, 3), label="how much")
        q = data.draw(QTY, label="quantity")
        if have <= 0 or mode == 3:
            return q
        return have if mode == 0 else min(q, have)

    def _draw_move(self, data: st.DataObject, kind: str) -> Mv:
        if kind in ("receipt", "gain"):
            item = data.draw(st.sampled_from(ITEMS), label="item")
            frm = SUP if kind == "receipt" else ADJ
            reason = "receipt" if kind == "receipt" else "adjustment"
            if item in SERIALISED:
                serial = data.draw(st.sampled_from(SERIALS), label="serial")
                to = data.draw(st.sampled_from(SERIAL_PLACES), label="to")
                status = data.draw(st.sampled_from(STATUSES), label="status")
                return Mv(item, Decimal(1), frm, to, reason, "", serial, status, status)
            to = data.draw(st.sampled_from(INTERNAL), label="to")
            lot = data.draw(st.sampled_from(LOTS), label="lot") if item == "P2" else ""
            return Mv(item, data.draw(RECEIPT_QTY, label="quantity"), frm, to, reason, lot)
        key = self._source(data)
        item, location, lot, serial, status = key
        q = self._amount(data, item, self.m.bal[key])
        if kind == "transfer":
            places = SERIAL_PLACES if item in SERIALISED else INTERNAL
            to = data.draw(
                st.sampled_from([p for p in places if p != location]), label="transfer to"
            )
            return Mv(item, q, location, to, "transfer", lot, serial, status, status)
        to, reason = {
            "issue": (CUS, "issue"),
            "loss": (ADJ, "adjustment"),
            "scrap": (SCRAP, "scrap"),
        }[kind]
        return Mv(item, q, location, to, reason, lot, serial, status, status)

    # --- ledger rules -----------------------------------------------------------------------

    @rule(data=st.data())
    def receive(self, data: st.DataObject) -> None:
        self._post([self._draw_move(data, "receipt")])

    @rule(data=st.data())
    def issue(self, data: st.DataObject) -> None:
        self._post([self._draw_move(data, "issue")])

    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        self._post([self._draw_move(data, "transfer")])

    @rule(data=st.data(), how=st.sampled_from(["gain", "loss", "scrap"]))
    def adjust(self, data: st.DataObject, how: str) -> None:
        """A stock count difference either way, or stock scrapped."""
        self._post([self._draw_move(data, how)])

    @rule(
        data=st.data(),
        kinds=st.lists(st.sampled_from(["receipt", "issue", "transfer"]), min_size=2, max_size=3),
    )
    def post_several(self, data: st.DataObject, kinds: list[str]) -> None:
        """Several moves in one posting: all of them land, or none."""
        self._post([self._draw_move(data, kind) for kind in kinds])

    @rule(data=st.data(), flaw=st.sampled_from(sorted(MALFORMED)))
    def post_malformed(self, data: st.DataObject, flaw: str) -> None:
        """A good move posted with a malformed one: refused, and the good one does not land."""
        good = self._draw_move(data, data.draw(st.sampled_from(["receipt", "issue"])))
        expect, bad = MALFORMED[flaw]
        self._call(expect, lambda s: ledger.post(s, [good.request(), bad], USER))

    @precondition(lambda self: bool(self.moves))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        move_id = data.draw(st.sampled_from(sorted(self.moves)), label="move_id")
        m = self.moves[move_id]
        back = Mv(m.item, m.qty, m.to, m.frm, "reversal", m.lot, m.serial, m.ts, m.fs)
        model = copy.deepcopy(self.m)
        expect = Conflict if move_id in self.reversed else model.post([back])
        if self._call(expect, lambda s: ledger.reverse(s, move_id, USER)):
            self._commit(model, [back])
            assert move_id in self.reversed

    @rule(data=st.data(), item=st.sampled_from(ITEMS), amount=QTY, partial=st.booleans())
    def reserve(self, data: st.DataObject, item: str, amount: Decimal, partial: bool) -> None:
        places = SERIAL_PLACES if item in SERIALISED else INTERNAL
        location = data.draw(st.sampled_from(places), label="location")
        self._reserve(item, location, amount, partial=partial)

    def _reserve(self, item: str, location: str, amount: Decimal, *, partial: bool) -> None:
        model = copy.deepcopy(self.m)
        expect, _made = model.reserve(item, location, amount, partial=partial)

        def work(s: Session) -> object:
            return ledger.reserve(s, item, location, amount, USER, partial=partial)

        if self._call(expect, work):
            self._commit(model, [])

    def _free_reservations(self) -> list[Res]:
        """Reservations made by ``reserve`` (orders and work orders manage their own)."""
        return [r for r in self.m.res if r.owner is None]

    @precondition(lambda self: bool(self._free_reservations()))
    @rule(data=st.data(), how=st.sampled_from(["release", "issue", "issue", "issue elsewhere"]))
    def use_reservation(self, data: st.DataObject, how: str) -> None:
        """Release all or part of a reservation, or issue against it (more or less than it
        holds: the reservation is used up first, any rest must be free stock); a move from
        another location may not name it."""
        index = data.draw(st.integers(0, len(self._free_reservations()) - 1), label="which")
        model = copy.deepcopy(self.m)
        held = [r for r in model.res if r.owner is None][index]
        rid = held.rid
        assert rid is not None
        if how == "release":
            amount = data.draw(st.none() | QTY, label="amount")
            held.quantity -= held.quantity if amount is None else min(amount, held.quantity)
            if self._call(None, lambda s: ledger.release(s, rid, amount)):
                self._commit(model, [])
            return
        location = held.location
        if how == "issue elsewhere":
            places = SERIAL_PLACES if held.item in SERIALISED else INTERNAL
            location = data.draw(st.sampled_from([p for p in places if p != held.location]))
        serial, lot = "", ""
        if held.item in SERIALISED:
            here = [sn for sn in SERIALS if (location, SERVICEABLE) in model.places(sn)]
            serial = data.draw(st.sampled_from(here or list(SERIALS)), label="serial")
            q = Decimal(1)
        else:
            lot = data.draw(st.sampled_from(LOTS), label="lot") if held.item == "P2" else ""
            q = held.quantity if held.quantity > 0 and data.draw(st.booleans()) else data.draw(QTY)
        move = Mv(held.item, q, location, CUS, "issue", lot, serial, res=held)
        expect = ParameterError if location != held.location else model.post([move])
        if self._call(expect, lambda s: ledger.post(s, [move.request()], USER)):
            self._commit(model, [move])

    @rule(data=st.data())
    def change_status(self, data: st.DataObject) -> None:
        """A serialised repairable unit declared unserviceable, or serviceable again, in place."""
        _item, location, _lot, serial, status = self._source(data, "R1")
        to_status = "unserviceable" if status == SERVICEABLE else SERVICEABLE
        self._post(
            [
                Mv(
                    "R1",
                    Decimal(1),
                    location,
                    location,
                    "status_change",
                    "",
                    serial,
                    status,
                    to_status,
                )
            ]
        )

    # --- purchase orders --------------------------------------------------------------------

    def _orders(self, kind: str) -> list[int]:
        return sorted(n for n, o in self.m.orders.items() if o.kind == kind)

    def _pick_order(self, data: st.DataObject, kind: str) -> int:
        """Mostly an order still going (acting on a finished one is refused)."""
        going = [
            n
            for n in self._orders(kind)
            if not lifecycle.is_final(lifecycle.ORDER_LIFECYCLES[kind], self.m.orders[n].status)
        ]
        if going and data.draw(st.integers(0, 4), label="going") < 4:
            return data.draw(st.sampled_from(going), label="order")
        return data.draw(st.sampled_from(self._orders(kind)), label="order")

    def _new_order(self, kind: str, site: str, lines: list[tuple[str, Decimal]]) -> None:
        partner = "ACME" if kind == "purchase" else "AIRLINE"
        with unit_of_work(self.factory) as s:
            view = orders.create(
                s, kind, site, [LineIn(i, q) for i, q in lines], USER, partner_id=partner
            )
        self.m.orders[view.order.order_id] = OrderM(
            kind,
            site,
            view.order.status,
            [LineM(x.line_id, x.line_no, x.item_id, x.quantity) for x in view.lines],
        )

    @rule(
        site=st.sampled_from(["A", "B", "N"]),
        lines=st.lists(st.tuples(st.sampled_from(PLAIN), QTY), min_size=1, max_size=2),
    )
    def purchase_order(self, site: str, lines: list[tuple[str, Decimal]]) -> None:
        self._new_order("purchase", site, lines)

    @precondition(lambda self: bool(self._orders("purchase")))
    @rule(data=st.data(), steps=st.integers(1, 4))
    def act_on_purchase(self, data: st.DataObject, steps: int) -> None:
        """One to four actions on a purchase order, each a call of its own."""
        order_id = self._pick_order(data, "purchase")
        for _ in range(steps):
            how_much = data.draw(
                st.none() | st.lists(QTY | st.just(Decimal(-1)), min_size=1, max_size=2),
                label="receive how much",
            )
            self._act_on_purchase(data, order_id, how_much)

    def _act_on_purchase(
        self, data: st.DataObject, order_id: int, how_much: list[Decimal] | None
    ) -> None:
        """``how_much``: None receives all that is open; else a quantity per line (-1: the
        line's open quantity), possibly more than is open (refused)."""
        model = copy.deepcopy(self.m)
        order = model.orders[order_id]
        action = _action(data, lifecycle.PURCHASE[order.status], PURCHASE_ACTIONS)
        payload: dict[str, Any] = {}
        moves: list[Mv] = []
        expect = _legal(order, action)
        if expect is None and action == "receive":
            open_ = {x.line_no: x.quantity - x.received for x in order.lines}
            if how_much is None:
                wanted = {n: q for n, q in open_.items() if q > 0}
            else:
                wanted = {}
                for x, q in zip(order.lines, how_much, strict=False):
                    wanted[x.line_no] = open_[x.line_no] if q < 0 else q
                wanted = {n: q for n, q in wanted.items() if q > 0} or {1: Decimal(1)}
                payload["quantities"] = {str(n): str(q) for n, q in wanted.items()}
            if any(q > open_[n] for n, q in wanted.items()):
                expect = Conflict
            else:
                for x in order.lines:
                    q = wanted.get(x.line_no, Decimal(0))
                    if q > 0:
                        x.received += q
                        moves.append(Mv(x.item, q, SUP, f"{order.site}/STOCK", "receipt"))
                assert model.post(moves) is None
                done = all(x.received >= x.quantity for x in order.lines)
                order.status = "received" if done else "partly_received"
        elif expect is None:
            order.status = {"confirm": "confirmed", "close": "closed", "cancel": "cancelled"}[
                action
            ]
        order.events += 1
        if self._call(expect, lambda s: orders.act(s, order_id, action, USER, payload)):
            self._commit(model, moves)

    # --- customer orders --------------------------------------------------------------------

    @rule(
        site=st.sampled_from(["A", "B"]),
        lines=st.lists(st.sampled_from(PLAIN), min_size=1, max_size=2, unique=True),
        amounts=st.lists(QTY, min_size=2, max_size=2),
    )
    def customer_order(self, site: str, lines: list[str], amounts: list[Decimal]) -> None:
        self._new_order("customer", site, list(zip(lines, amounts, strict=False)))

    @precondition(lambda self: bool(self._orders("customer")))
    @rule(data=st.data(), steps=st.integers(1, 4))
    def act_on_customer_order(self, data: st.DataObject, steps: int) -> None:
        """One to four actions on a customer order, each a call of its own."""
        order_id = self._pick_order(data, "customer")
        for _ in range(steps):
            self._act_on_customer_order(data, order_id)

    def _act_on_customer_order(self, data: st.DataObject, order_id: int) -> None:
        model = copy.deepcopy(self.m)
        order = model.orders[order_id]
        action = _action(data, lifecycle.CUSTOMER[order.status], CUSTOMER_ACTIONS)
        location = f"{order.site}/STOCK"
        moves: list[Mv] = []
        expect = _legal(order, action)
        if expect is not None:
            pass
        elif action == "allocate":
            for x in order.lines:
                need = x.quantity - x.allocated
                if need > 0:
                    _, got = model.reserve(
                        x.item, location, need, partial=True, owner=("line", x.line_id)
                    )
                    x.allocated += got.quantity if got is not None else 0
            done = all(x.allocated >= x.quantity for x in order.lines)
            order.status = "allocated" if done else "backordered"
        elif action == "pick":
            if all(x.allocated <= x.shipped for x in order.lines):
                expect = Conflict
            order.status = "picked"
        elif action == "ship":
            for x in order.lines:
                for r in model.owned("line", x.line_id):
                    moves.append(Mv(x.item, r.quantity, location, CUS, "issue", res=r))
                x.shipped = x.allocated
            expect = model.post(moves)
            done = all(x.shipped >= x.quantity for x in order.lines)
            order.status = "shipped" if done else "backordered"
        elif action == "deliver":
            order.status = "delivered"
        else:  # cancel
            for x in order.lines:
                for r in model.owned("line", x.line_id):
                    r.quantity = Decimal(0)
                x.allocated = x.shipped
            order.status = "cancelled"
        order.events += 1
        if self._call(expect, lambda s: orders.act(s, order_id, action, USER)):
            self._commit(model, moves)

    # --- work orders ------------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(["failure", "planned"]),
        items=st.lists(st.sampled_from(PLAIN), min_size=1, max_size=2, unique=True),
        amounts=st.lists(QTY, min_size=2, max_size=2),
    )
    def work_order(self, kind: str, items: list[str], amounts: list[Decimal]) -> None:
        self._new_work_order(kind, list(zip(items, amounts, strict=False)))

    def _new_work_order(self, kind: str, parts: list[tuple[str, Decimal]]) -> None:
        with unit_of_work(self.factory) as s:
            view = work_orders.create(s, "PUMP-A", kind, USER, parts=parts)
        self.m.works[view.work_order.work_order_id] = WorkM(
            view.work_order.status,
            [PartM(p.part_id, p.item_id, p.quantity_required) for p in view.parts],
        )

    @precondition(lambda self: bool(self.m.works))
    @rule(data=st.data(), steps=st.integers(1, 4))
    def act_on_work_order(self, data: st.DataObject, steps: int) -> None:
        """One to four actions on a work order, each a call of its own."""
        going = [
            n for n, w in sorted(self.m.works.items()) if w.status not in ("done", "cancelled")
        ]
        if going and data.draw(st.integers(0, 4), label="going") < 4:
            wo_id = data.draw(st.sampled_from(going), label="work order")
        else:
            wo_id = data.draw(st.sampled_from(sorted(self.m.works)), label="work order")
        for _ in range(steps):
            partial = data.draw(st.booleans(), label="partial")
            removed = data.draw(
                st.none() | st.sampled_from(SERIALS) | st.just("P1"), label="removed"
            )
            self._act_on_work_order(data, wo_id, partial, removed)

    def _act_on_work_order(
        self, data: st.DataObject, wo_id: int, partial: bool, removed: str | None
    ) -> None:
        """``removed``: a unit taken off the asset and returned to stock by issue_parts or
        complete (an R1 serial comes back unserviceable; P1 serviceable)."""
        model = copy.deepcopy(self.m)
        wo = model.works[wo_id]
        action = _action(data, lifecycle.WORK_ORDER[wo.status], WORK_ORDER_ACTIONS)
        payload: dict[str, Any] = {}
        moves: list[Mv] = []
        allowed = lifecycle.WORK_ORDER[wo.status]
        expect: Outcome = None if action in allowed else IllegalTransition
        if expect is not None:
            pass
        elif action == "start":
            wo.status = "in_progress" if _reserve_parts(model, wo) else "waiting_for_parts"
        elif action == "wait_for_parts":
            wo.status = "waiting_for_parts"
        elif action in ("issue_parts", "complete"):
            if action == "complete":
                _reserve_parts(model, wo)
            for p in wo.parts:
                for r in model.owned("part", p.part_id):
                    moves.append(Mv(p.item, r.quantity, "A/STOCK", CONSUMED, "consumption", res=r))
                    p.issued += r.quantity
            if removed is not None:
                serial = "" if removed == "P1" else removed
                item, status = ("P1", SERVICEABLE) if removed == "P1" else ("R1", "unserviceable")
                payload["removed"] = [{"item_id": item, "quantity": 1, "serial": serial}]
                moves.append(
                    Mv(item, Decimal(1), CONSUMED, "A/STOCK", "removal", "", serial, status, status)
                )
            expect = model.post(moves)
            short = any(p.issued < p.required for p in wo.parts)
            if action == "complete":
                if expect is None and short and not partial:
                    expect = ParameterError
                payload["partial"] = partial
                wo.status = "done"
            else:
                wo.status = "in_progress"
        else:  # cancel
            for p in wo.parts:
                for r in model.owned("part", p.part_id):
                    r.quantity = Decimal(0)
            wo.status = "cancelled"
        wo.events += 1
        if self._call(expect, lambda s: work_orders.act(s, wo_id, action, USER, payload)):
            self._commit(model, moves)

    # --- invariants, read from the database -------------------------------------------------

    def _assert_store_equals_model(self) -> None:
        self.balances_equal_the_model()
        self.reservations_equal_the_model()
        self.moves_are_only_appended()
        self.documents_equal_the_model()

    @invariant()
    def ledger_reconciles(self) -> None:
        with unit_of_work(self.factory) as s:
            assert ledger.reconcile(s) == []

    @invariant()
    def balances_equal_the_model(self) -> None:
        with unit_of_work(self.factory) as s:
            rows = s.execute(
                select(
                    Balance.item_id,
                    Balance.location_id,
                    Balance.lot,
                    Balance.serial,
                    Balance.status,
                    Balance.quantity,
                ).where(Balance.quantity != 0)
            ).all()
        stored = {(r[0], r[1], r[2], r[3], r[4]): r[5] for r in rows}
        assert stored == {k: q for k, q in self.m.bal.items() if q != 0}

    @invariant()
    def no_site_without_negative_stock_is_below_zero_or_its_reservations(self) -> None:
        strict = (
            select(Location.location_id)
            .join(Site, Site.site_id == Location.site_id)
            .where(Location.kind == "internal", Site.allow_negative_stock.is_(False))
        )
        with unit_of_work(self.factory) as s:
            below = s.execute(
                select(Balance.item_id, Balance.location_id, Balance.quantity).where(
                    Balance.location_id.in_(strict), Balance.quantity < 0
                )
            ).all()
            assert below == []
            held = s.execute(
                select(Reservation.item_id, Reservation.location_id, func.sum(Reservation.quantity))
                .where(Reservation.location_id.in_(strict))
                .group_by(Reservation.item_id, Reservation.location_id)
            ).all()
            for item, location, hold in held:
                assert ledger.on_hand(s, item, location) >= hold, (item, location, hold)

    @invariant()
    def reservations_equal_the_model(self) -> None:
        with unit_of_work(self.factory) as s:
            rows = list(s.scalars(select(Reservation).order_by(Reservation.reservation_id)))
        assert all(r.quantity >= 0 for r in rows)
        assert [
            (r.reservation_id, r.item_id, r.location_id, r.quantity, _owner(r)) for r in rows
        ] == [(r.rid, r.item, r.location, r.quantity, r.owner) for r in self.m.res]

    @invariant()
    def available_is_on_hand_minus_reserved(self) -> None:
        held = {(r.item, r.location) for r in self.m.res}
        pairs = held | {k[:2] for k, q in self.m.bal.items() if q != 0 and k[1] in INTERNAL}
        with unit_of_work(self.factory) as s:
            for item, location in sorted(held):  # elsewhere available is on hand: see below
                free = self.m.on_hand(item, location) - self.m.held(item, location)
                assert ledger.available(s, item, location) == free, (item, location)
            levels = ledger.stock_levels(s)
        expected = {}
        for item, location in pairs:
            for status in STATUSES:
                on_hand = self.m.on_hand(item, location, status)
                hold = self.m.held(item, location) if status == SERVICEABLE else Decimal(0)
                if on_hand or hold:
                    expected[(item, location, status)] = (on_hand, hold, on_hand - hold)
        assert {
            (v.item_id, v.location_id, v.status): (v.on_hand, v.reserved, v.available)
            for v in levels
        } == expected

    @invariant()
    def moves_are_only_appended(self) -> None:
        with unit_of_work(self.factory) as s:
            rows = s.execute(text("select * from moves order by move_id")).all()
        assert len(rows) == len(self.moves)
        assert [r[0] for r in rows] == sorted(self.moves)
        earlier = [r for r in rows if r[0] <= self.checked_upto]
        assert _digest(earlier) == self.checked_digest, "an earlier move row changed"
        self.checked_upto = rows[-1][0] if rows else 0
        self.checked_digest = _digest(rows)

    @invariant()
    def documents_equal_the_model(self) -> None:
        with unit_of_work(self.factory) as s:
            got_orders = {
                o.order_id: (o.status, o.kind, o.site_id) for o in s.scalars(select(Order))
            }
            got_lines = {
                x.line_id: (x.quantity_allocated, x.quantity_shipped, x.quantity_received)
                for x in s.scalars(select(OrderLine))
            }
            order_events = dict(
                s.execute(
                    select(OrderEvent.order_id, func.count()).group_by(OrderEvent.order_id)
                ).all()
            )
            got_works = {w.work_order_id: w.status for w in s.scalars(select(WorkOrder))}
            got_parts = {p.part_id: p.quantity_issued for p in s.scalars(select(WorkOrderPart))}
            work_events = dict(
                s.execute(
                    select(WorkOrderEvent.work_order_id, func.count()).group_by(
                        WorkOrderEvent.work_order_id
                    )
                ).all()
            )
        m = self.m
        assert got_orders == {n: (o.status, o.kind, o.site) for n, o in m.orders.items()}
        assert got_lines == {
            x.line_id: (x.allocated, x.shipped, x.received)
            for o in m.orders.values()
            for x in o.lines
        }
        assert order_events == {n: o.events for n, o in m.orders.items()}
        assert got_works == {n: w.status for n, w in m.works.items()}
        assert got_parts == {p.part_id: p.issued for w in m.works.values() for p in w.parts}
        assert work_events == {n: w.events for n, w in m.works.items()}


# --- helpers ----------------------------------------------------------------------------------


def _owner(r: Reservation) -> tuple[str, int] | None:
    if r.order_line_id is not None:
        return ("line", r.order_line_id)
    if r.work_order_part_id is not None:
        return ("part", r.work_order_part_id)
    return None


def _action(data: st.DataObject, allowed: Iterable[str], every: tuple[str, ...]) -> str:
    """Mostly an action that moves the document on; sometimes any the lifecycle allows
    (cancel, close), sometimes any at all (to be refused)."""
    legal = sorted(set(allowed) & set(every))
    onward = [a for a in legal if a not in ("cancel", "close")]
    roll = data.draw(st.integers(0, 9), label="kind of action")
    if onward and roll < 6:
        return data.draw(st.sampled_from(onward), label="action")
    if legal and roll < 9:
        return data.draw(st.sampled_from(legal), label="action")
    return data.draw(st.sampled_from(every), label="action")


def _legal(order: OrderM, action: str) -> Outcome:
    allowed = lifecycle.ORDER_LIFECYCLES[order.kind][order.status]
    return None if action in allowed else IllegalTransition


def _reserve_parts(model: Model, wo: WorkM) -> bool:
    """What a work order's start (and complete) reserves: each part's missing quantity, as
    much as is available at the asset's site; True when every part is covered."""
    covered = True
    for p in wo.parts:
        held = sum((r.quantity for r in model.owned("part", p.part_id)), Decimal(0))
        need = p.required - p.issued - held
        if need <= 0:
            continue
        _, got = model.reserve(p.item, "A/STOCK", need, partial=True, owner=("part", p.part_id))
        if got is None or got.quantity < need:
            covered = False
    return covered


def _digest(rows: Sequence[Any]) -> str:
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


# --- the tests: one per backend -----------------------------------------------------------------

# SQLite examples are cheap; PostgreSQL ones pay for a migrated schema each (~0.2 s)
SETTINGS = settings(
    max_examples=50,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class OnSQLite(LedgerMachine):
    backend = "sqlite"


class OnPostgreSQL(LedgerMachine):
    backend = "postgresql"


class TestLedgerStatefulSQLite(OnSQLite.TestCase):  # type: ignore[misc, valid-type]
    settings = SETTINGS


class TestLedgerStatefulPostgreSQL(OnPostgreSQL.TestCase):  # type: ignore[misc, valid-type]
    settings = settings(SETTINGS, max_examples=30)

    def setUp(self) -> None:
        reason = postgres_reachable()
        if reason is not None:
            skip_or_fail(reason)
