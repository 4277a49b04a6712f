"""The inventory ledger: every change of stock is an immutable move, posted all or nothing.

Balances (on hand per item, location, lot, serial and status) are updated in the same
transaction as the moves that change them, after locking the balance rows of every
(item, location) the posting touches, in one global order, so that concurrent postings
queue instead of deadlocking or overdrawing (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite
serialises writers with ``BEGIN IMMEDIATE``). Stock at a site's internal locations never
goes below zero, nor below what is reserved, unless the site allows negative stock.
A correction is a reversing move, never an edit: the database refuses UPDATE and DELETE
on moves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from spareflow.errors import Conflict, InsufficientStock, NotFound, ParameterError
from spareflow.services import ledger_server
from spareflow.store.dialect import bulk_insert, insert_missing
from spareflow.store.models import (
    STOCK_STATUSES,
    Balance,
    Item,
    Location,
    Move,
    Reservation,
    Site,
)
from spareflow.store.types import QUANTITY_PLACES, utcnow

REASONS = (
    "receipt",  # from a supplier (purchase order) or a repair vendor
    "issue",  # to a customer, a work order or a cost centre
    "transfer",  # between locations, within or across sites (via transit)
    "adjustment",  # stock count differences, opening balances
    "scrap",
    "repair_out",
    "repair_in",
    "consumption",  # parts fitted by a work order
    "removal",  # a unit taken off an asset, back into stock (often unserviceable)
    "status_change",  # serviceable <-> unserviceable in place
    "return",
    "import",  # bulk import of opening stock
    "reversal",
)


@dataclass(frozen=True, slots=True)
class MoveRequest:
    """A move to post. Quantities are in the item's unit of measure, > 0, at most 3 places."""

    item_id: str
    quantity: Decimal
    from_location_id: str
    to_location_id: str
    reason: str
    reference: str = ""
    lot: str = ""
    serial: str = ""
    from_status: str = "serviceable"
    to_status: str = "serviceable"
    moved_at: datetime | None = None
    order_line_id: int | None = None
    work_order_id: int | None = None
    reservation_id: int | None = None  # the reservation this move fulfils, if any
    reverses_move_id: int | None = None


@dataclass(frozen=True, slots=True)
class StockLevel:
    """Stock of an item at a location: on hand, held by reservations, and free to use."""

    item_id: str
    location_id: str
    site_id: str | None
    status: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


def fmt(amount: Decimal) -> str:
    """A quantity as people write it: 3, 2.5, -0.125 (no trailing zeros, no exponent)."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity(value: object, field: str = "quantity") -> Decimal:
    """``value`` as an exact quantity: a finite number with at most 3 decimal places."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ParameterError(field, f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ParameterError(field, f"not a finite number: {value!r}")
    if number != number.quantize(Decimal(1).scaleb(-QUANTITY_PLACES)):
        raise ParameterError(field, f"at most {QUANTITY_PLACES} decimal places, got {value}")
    return number


SiteGuard = Callable[[str | None], None]


def post(
    session: Session,
    requests: Sequence[MoveRequest],
    username: str,
    *,
    atomic: bool = True,
    guard: SiteGuard | None = None,
    on_server: bool = True,
) -> list[Move]:
    """Post ``requests`` as moves in the caller's transaction: all of them or none.

    Raises ParameterError for a malformed request, NotFound for an unknown item or
    location, InsufficientStock when an internal location would go below zero or below
    its reservations, Conflict for a serial number in two places. ``atomic`` wraps the
    posting in a savepoint, so a refused posting leaves the session usable; a caller whose
    transaction ends with the posting anyway (an API request) may skip it. ``guard`` is
    called with the site of every location the moves touch (None for virtual ones) and
    may raise to refuse them (the API's site scopes). ``on_server=False`` skips the
    one-round-trip path (a caller whose :func:`post_alone` was just refused: it would
    be refused again).
    """
    if not requests:
        return []
    if not atomic:
        return _post(session, requests, username, guard, on_server)
    with session.begin_nested():
        return _post(session, requests, username, guard, on_server)


def post_alone(
    engine: Engine,
    requests: Sequence[MoveRequest],
    username: str,
    sites: Sequence[str] | None,
) -> list[Move] | None:
    """Post plain ``requests`` as a transaction of their own, in one round trip, where the
    database can (PostgreSQL): the moves, or None when the caller must post them in a unit
    of work with :func:`post` (another backend, a move that is not plain, or any check that
    failed, which that path then names). ``sites``: the sites the moves may touch (None:
    any). The hot path of ``POST /moves``: no BEGIN and COMMIT round trips."""
    amounts = _plain_amounts(engine, requests)
    if amounts is None:
        return None
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        posted = ledger_server.post(connection, requests, amounts, username, utcnow(), sites)
    return None if posted is None else posted[0]


def post_many(
    session: Session,
    requests: Sequence[MoveRequest],
    username: str,
    *,
    guard: SiteGuard | None = None,
) -> int:
    """Post a large batch (thousands of moves) with the same checks and locks as
    :func:`post`, writing the moves in one bulk statement (COPY on PostgreSQL); returns
    how many were posted. Reservations cannot be consumed here: use :func:`post`."""
    if not requests:
        return 0
    for n, r in enumerate(requests, start=1):
        if r.reservation_id is not None:
            raise ParameterError("reservation_id", f"move {n}: bulk postings take no reservation")
    with session.begin_nested():
        amounts = _apply(session, requests, guard)
        now = utcnow()
        rows = [
            (
                r.item_id,
                q,
                r.from_location_id,
                r.to_location_id,
                r.from_status,
                r.to_status,
                r.lot,
                r.serial,
                r.reason,
                r.reference,
                r.order_line_id,
                r.work_order_id,
                r.reverses_move_id,
                r.moved_at or now,
                now,
                username,
            )
            for r, q in zip(requests, amounts, strict=True)
        ]
        bulk_insert(session.connection(), Move.__table__, _MOVE_COLUMNS, rows)  # type: ignore[arg-type]
    return len(rows)


_MOVE_COLUMNS = (
    "item_id",
    "quantity",
    "from_location_id",
    "to_location_id",
    "from_status",
    "to_status",
    "lot",
    "serial",
    "reason",
    "reference",
    "order_line_id",
    "work_order_id",
    "reverses_move_id",
    "moved_at",
    "recorded_at",
    "username",
)


def _post(
    session: Session,
    requests: Sequence[MoveRequest],
    username: str,
    guard: SiteGuard | None,
    on_server: bool,
) -> list[Move]:
    now = utcnow()
    posted = _post_on_server(session, requests, username, now, guard) if on_server else None
    if posted is not None:
        return posted
    amounts = _apply(session, requests, guard)
    rows = [
        {
            "item_id": r.item_id,
            "quantity": q,
            "from_location_id": r.from_location_id,
            "to_location_id": r.to_location_id,
            "from_status": r.from_status,
            "to_status": r.to_status,
            "lot": r.lot,
            "serial": r.serial,
            "reason": r.reason,
            "reference": r.reference,
            "order_line_id": r.order_line_id,
            "work_order_id": r.work_order_id,
            "reverses_move_id": r.reverses_move_id,
            "moved_at": r.moved_at or now,
            "recorded_at": now,
            "username": username,
        }
        for r, q in zip(requests, amounts, strict=True)
    ]
    written = session.connection().execute(
        insert(_moves_t).returning(*_moves_t.c, sort_by_parameter_order=True), rows
    )
    # detached Move objects carrying what was written (ids included), for the caller
    return [Move(**row._mapping) for row in written]


def _post_on_server(
    session: Session,
    requests: Sequence[MoveRequest],
    username: str,
    now: datetime,
    guard: SiteGuard | None,
) -> list[Move] | None:
    """Plain moves on PostgreSQL in one round trip (see ``ledger_server``): the moves
    posted, or None when the Python path must run, because the backend or a move does
    not qualify or a check failed (that path then names the failure). A refused site
    raises here, and the caller's transaction or savepoint takes the posting back."""
    amounts = _plain_amounts(session, requests)
    if amounts is None:
        return None
    session.flush()
    posted = ledger_server.post(session.connection(), requests, amounts, username, now)
    if posted is None:
        return None
    moves, sites = posted
    if guard is not None:
        for location_id in sorted(sites):
            guard(sites[location_id])
    return moves


def _plain_amounts(
    bind: Session | Connection | Engine, requests: Sequence[MoveRequest]
) -> list[Decimal] | None:
    """The quantities of ``requests`` when the one-round-trip path may take them: the
    database has ``sf_post_moves``, every move is plain and passes the checks that need
    no database (:func:`_checked_quantity`); else None, and the Python path runs."""
    if not requests or not ledger_server.available(bind):
        return None
    if not all(map(ledger_server.is_plain, requests)):
        return None
    try:
        return [_checked_quantity(r, "move") for r in requests]
    except ParameterError:
        return None


def _apply(
    session: Session, requests: Sequence[MoveRequest], guard: SiteGuard | None = None
) -> list[Decimal]:
    """Validate, lock, change the balances and check them: everything but the moves.
    Returns each request's quantity, parsed once.

    Core statements on the session's connection (no ORM objects per row): this is the hot
    path of every receipt, issue and transfer."""
    session.flush()
    items, locations, negative_ok, amounts = _validate(session, requests)
    if guard is not None:
        for location_id in sorted(locations):
            guard(locations[location_id].site_id)
    deltas: dict[Key5, Decimal] = defaultdict(Decimal)
    for r, q in zip(requests, amounts, strict=True):
        deltas[(r.item_id, r.from_location_id, r.lot, r.serial, r.from_status)] -= q
        deltas[(r.item_id, r.to_location_id, r.lot, r.serial, r.to_status)] += q
    balances = _lock(session, deltas)
    uses = _reservation_uses(requests)
    for reservation_id, taken in uses.items():
        _consume_reservation(session, reservation_id, taken, requests)
    if uses:
        session.flush()
    changed = []
    for k, d in deltas.items():
        if d != 0:
            balances[k] = balances[k] + d
            changed.append(
                {
                    "b_item": k[0],
                    "b_location": k[1],
                    "b_lot": k[2],
                    "b_serial": k[3],
                    "b_status": k[4],
                    "b_quantity": balances[k],
                }
            )
    _update_balances(session, changed)
    _check(session, deltas, balances, items, locations, negative_ok)
    return amounts


Key5 = tuple[str, str, str, str, str]

#: Above this many balance rows a PostgreSQL posting updates them in one statement.
_MANY_BALANCES = 50
_UPDATE_BALANCES_PG = text(
    "UPDATE balances AS b SET quantity = v.quantity FROM unnest("
    "CAST(:items AS text[]), CAST(:locations AS text[]), CAST(:lots AS text[]), "
    "CAST(:serials AS text[]), CAST(:statuses AS text[]), CAST(:quantities AS bigint[])"
    ") AS v(item_id, location_id, lot, serial, status, quantity) "
    "WHERE b.item_id = v.item_id AND b.location_id = v.location_id AND b.lot = v.lot "
    "AND b.serial = v.serial AND b.status = v.status"
)


def _update_balances(session: Session, changed: list[dict[str, Any]]) -> None:
    """Write the new on-hand of the balance rows a posting changed (rows locked already):
    one statement per row, or for a bulk posting on PostgreSQL one statement for all
    (thousands of single-row updates were half the time of a 20,000-move import)."""
    if not changed:
        return
    connection = session.connection()
    if len(changed) <= _MANY_BALANCES or connection.dialect.name != "postgresql":
        connection.execute(_UPDATE_BALANCE, changed)
        return
    connection.execute(
        _UPDATE_BALANCES_PG,
        {
            "items": [c["b_item"] for c in changed],
            "locations": [c["b_location"] for c in changed],
            "lots": [c["b_lot"] for c in changed],
            "serials": [c["b_serial"] for c in changed],
            "statuses": [c["b_status"] for c in changed],
            "quantities": [int(c["b_quantity"].scaleb(QUANTITY_PLACES)) for c in changed],
        },
    )


@dataclass(frozen=True, slots=True)
class _ItemFlags:
    serialised: bool
    repairable: bool


@dataclass(frozen=True, slots=True)
class _Place:
    kind: str
    site_id: str | None


_moves_t = cast(Table, Move.__table__)
_items_t = Item.__table__
_locations_t = Location.__table__
_sites_t = Site.__table__
_ITEM_FLAGS = select(_items_t.c.item_id, _items_t.c.serialised, _items_t.c.repairable).where(
    _items_t.c.item_id.in_(bindparam("ids", expanding=True))
)
_PLACES = (
    select(
        _locations_t.c.location_id,
        _locations_t.c.kind,
        _locations_t.c.site_id,
        _sites_t.c.allow_negative_stock,
    )
    .select_from(_locations_t.outerjoin(_sites_t, _sites_t.c.site_id == _locations_t.c.site_id))
    .where(_locations_t.c.location_id.in_(bindparam("ids", expanding=True)))
)
_balances = Balance.__table__
_UPDATE_BALANCE = (
    update(_balances)  # type: ignore[arg-type]
    .where(
        _balances.c.item_id == bindparam("b_item"),
        _balances.c.location_id == bindparam("b_location"),
        _balances.c.lot == bindparam("b_lot"),
        _balances.c.serial == bindparam("b_serial"),
        _balances.c.status == bindparam("b_status"),
    )
    .values(quantity=bindparam("b_quantity"))
)
_reservations_t = Reservation.__table__
_RESERVED = (
    select(
        _reservations_t.c.item_id,
        _reservations_t.c.location_id,
        func.sum(_reservations_t.c.quantity),
    )
    .where(
        tuple_(_reservations_t.c.item_id, _reservations_t.c.location_id).in_(
            bindparam("pairs", expanding=True)
        )
    )
    .group_by(_reservations_t.c.item_id, _reservations_t.c.location_id)
)
_LOCK_ROWS = (
    select(
        _balances.c.item_id,
        _balances.c.location_id,
        _balances.c.lot,
        _balances.c.serial,
        _balances.c.status,
        _balances.c.quantity,
    )
    .where(
        tuple_(_balances.c.item_id, _balances.c.location_id).in_(bindparam("pairs", expanding=True))
    )
    .order_by(
        _balances.c.item_id,
        _balances.c.location_id,
        _balances.c.lot,
        _balances.c.serial,
        _balances.c.status,
    )
    .with_for_update()
)


def reverse(
    session: Session,
    move_id: int,
    username: str,
    note: str = "",
    moved_at: datetime | None = None,
    guard: SiteGuard | None = None,
) -> Move:
    """Post the move that undoes ``move_id`` (at ``moved_at``, default now); once per move.
    ``guard`` as in :func:`post`."""
    move = session.get(Move, move_id)
    if move is None:
        raise NotFound(f"move {move_id} does not exist")
    already = session.scalar(select(Move.move_id).where(Move.reverses_move_id == move_id))
    if already is not None:
        raise Conflict(f"move {move_id} was already reversed by move {already}", "move_id")
    request = MoveRequest(
        item_id=move.item_id,
        quantity=move.quantity,
        from_location_id=move.to_location_id,
        to_location_id=move.from_location_id,
        from_status=move.to_status,
        to_status=move.from_status,
        lot=move.lot,
        serial=move.serial,
        reason="reversal",
        reference=note or f"reverses move {move_id}",
        order_line_id=move.order_line_id,
        work_order_id=move.work_order_id,
        reverses_move_id=move_id,
        moved_at=moved_at,
    )
    return post(session, [request], username, guard=guard)[0]


def reserve(
    session: Session,
    item_id: str,
    location_id: str,
    amount: Decimal,
    username: str,
    *,
    order_line_id: int | None = None,
    work_order_part_id: int | None = None,
    partial: bool = False,
) -> Reservation | None:
    """Hold serviceable stock of ``item_id`` at ``location_id``.

    With ``partial`` the reservation takes what is available (None when nothing is);
    otherwise too little available stock raises InsufficientStock.
    """
    amount = quantity(amount)
    if amount <= 0:
        raise ParameterError("quantity", f"must be > 0, got {fmt(amount)}")
    with session.begin_nested():
        return _reserve(
            session,
            item_id,
            location_id,
            amount,
            username,
            order_line_id,
            work_order_part_id,
            partial,
        )


def _reserve(
    session: Session,
    item_id: str,
    location_id: str,
    amount: Decimal,
    username: str,
    order_line_id: int | None,
    work_order_part_id: int | None,
    partial: bool,
) -> Reservation | None:
    _lock(session, {(item_id, location_id, "", "", "serviceable"): Decimal(0)})
    free = available(session, item_id, location_id)
    if free < amount and not partial:
        raise InsufficientStock(item_id, location_id, fmt(amount), fmt(max(free, Decimal(0))))
    take = min(amount, free)
    if take <= 0:
        return None
    reservation = Reservation(
        item_id=item_id,
        location_id=location_id,
        quantity=take,
        order_line_id=order_line_id,
        work_order_part_id=work_order_part_id,
        username=username,
    )
    session.add(reservation)
    session.flush()
    return reservation


def release(session: Session, reservation_id: int, amount: Decimal | None = None) -> None:
    """Give back all of a reservation, or ``amount`` of it."""
    reservation = session.get(Reservation, reservation_id, with_for_update=True)
    if reservation is None:
        raise NotFound(f"reservation {reservation_id} does not exist")
    if amount is not None and quantity(amount) <= 0:
        raise ParameterError(
            "quantity", f"release a positive quantity, got {fmt(quantity(amount))}"
        )
    give = reservation.quantity if amount is None else min(quantity(amount), reservation.quantity)
    reservation.quantity = reservation.quantity - give
    session.flush()


def reserved(session: Session, item_id: str, location_id: str) -> Decimal:
    total = session.scalar(
        select(func.sum(Reservation.quantity)).where(
            Reservation.item_id == item_id, Reservation.location_id == location_id
        )
    )
    return total or Decimal(0)


def on_hand(
    session: Session, item_id: str, location_id: str, status: str = "serviceable"
) -> Decimal:
    total = session.scalar(
        select(func.sum(Balance.quantity)).where(
            Balance.item_id == item_id,
            Balance.location_id == location_id,
            Balance.status == status,
        )
    )
    return total or Decimal(0)


def available(session: Session, item_id: str, location_id: str) -> Decimal:
    """Serviceable on hand minus reservations."""
    return on_hand(session, item_id, location_id) - reserved(session, item_id, location_id)


def stock_levels(
    session: Session,
    *,
    site_ids: Iterable[str] | None = None,
    item_id: str | None = None,
    location_id: str | None = None,
    include_virtual: bool = False,
) -> list[StockLevel]:
    """Stock per item, location and status (lots and serials summed), with reservations."""
    query = (
        select(
            Balance.item_id,
            Balance.location_id,
            Location.site_id,
            Balance.status,
            func.sum(Balance.quantity),
        )
        .join(Location, Location.location_id == Balance.location_id)
        .group_by(Balance.item_id, Balance.location_id, Location.site_id, Balance.status)
        .order_by(Balance.item_id, Balance.location_id, Balance.status)
    )
    if not include_virtual:
        query = query.where(Location.kind == "internal")
    if site_ids is not None:
        query = query.where(Location.site_id.in_(list(site_ids)))
    if item_id is not None:
        query = query.where(Balance.item_id == item_id)
    if location_id is not None:
        query = query.where(Balance.location_id == location_id)
    held = {
        (row[0], row[1]): row[2] or Decimal(0)
        for row in session.execute(
            select(
                Reservation.item_id, Reservation.location_id, func.sum(Reservation.quantity)
            ).group_by(Reservation.item_id, Reservation.location_id)
        )
    }
    out: list[StockLevel] = []
    for item, location, site, status, total in session.execute(query):
        total = total or Decimal(0)
        hold = held.get((item, location), Decimal(0)) if status == "serviceable" else Decimal(0)
        if total == 0 and hold == 0:
            continue
        out.append(StockLevel(item, location, site, status, total, hold, total - hold))
    return out


@dataclass(frozen=True, slots=True)
class UnitStock:
    """On hand of one lot or serial number of an item at a location, in one status."""

    item_id: str
    location_id: str
    site_id: str | None
    lot: str
    serial: str
    status: str
    on_hand: Decimal


def stock_units(
    session: Session,
    *,
    site_ids: Iterable[str] | None = None,
    item_id: str | None = None,
    serial: str | None = None,
) -> list[UnitStock]:
    """Non-zero stock per lot and serial at sites' locations: where each unit is, and
    whether it is serviceable (repairables)."""
    query = (
        select(
            Balance.item_id,
            Balance.location_id,
            Location.site_id,
            Balance.lot,
            Balance.serial,
            Balance.status,
            Balance.quantity,
        )
        .join(Location, Location.location_id == Balance.location_id)
        .where(Location.kind == "internal", Balance.quantity != 0)
        .order_by(Balance.item_id, Balance.location_id, Balance.lot, Balance.serial)
    )
    if site_ids is not None:
        query = query.where(Location.site_id.in_(list(site_ids)))
    if item_id is not None:
        query = query.where(Balance.item_id == item_id)
    if serial is not None:
        query = query.where(Balance.serial == serial)
    return [UnitStock(*row) for row in session.execute(query)]


@dataclass(frozen=True, slots=True)
class Mismatch:
    item_id: str
    location_id: str
    lot: str
    serial: str
    status: str
    balance: Decimal
    sum_of_moves: Decimal


def reconcile(session: Session) -> list[Mismatch]:
    """Every balance whose quantity differs from the sum of its moves (empty when sound)."""
    sums: dict[tuple[str, str, str, str, str], Decimal] = defaultdict(Decimal)
    inbound = select(
        Move.item_id,
        Move.to_location_id,
        Move.lot,
        Move.serial,
        Move.to_status,
        func.sum(Move.quantity),
    ).group_by(Move.item_id, Move.to_location_id, Move.lot, Move.serial, Move.to_status)
    outbound = select(
        Move.item_id,
        Move.from_location_id,
        Move.lot,
        Move.serial,
        Move.from_status,
        func.sum(Move.quantity),
    ).group_by(Move.item_id, Move.from_location_id, Move.lot, Move.serial, Move.from_status)
    for item, location, lot, serial, status, total in session.execute(inbound):
        sums[(item, location, lot, serial, status)] += total
    for item, location, lot, serial, status, total in session.execute(outbound):
        sums[(item, location, lot, serial, status)] -= total
    kept = {
        (item, location, lot, serial, status): amount
        for item, location, lot, serial, status, amount in session.execute(
            select(
                Balance.item_id,
                Balance.location_id,
                Balance.lot,
                Balance.serial,
                Balance.status,
                Balance.quantity,
            )
        )
    }
    out = []
    for key in sorted(set(sums) | set(kept)):
        a, b = kept.get(key, Decimal(0)), sums.get(key, Decimal(0))
        if a != b:
            item, location, lot, serial, status = key
            out.append(Mismatch(item, location, lot, serial, status, a, b))
    return out


# --- internals -----------------------------------------------------------------------------


def _validate(
    session: Session, requests: Sequence[MoveRequest]
) -> tuple[dict[str, _ItemFlags], dict[str, _Place], set[str], list[Decimal]]:
    """Items and locations of the requests (and the sites allowing negative stock);
    refuses the first malformed request naming its field."""
    item_ids = sorted({r.item_id for r in requests})
    location_ids = sorted(
        {r.from_location_id for r in requests} | {r.to_location_id for r in requests}
    )
    connection = session.connection()
    items = {
        row.item_id: _ItemFlags(row.serialised, row.repairable)
        for row in connection.execute(_ITEM_FLAGS, {"ids": item_ids})
    }
    locations: dict[str, _Place] = {}
    negative_ok: set[str] = set()
    for row in connection.execute(_PLACES, {"ids": location_ids}):
        locations[row.location_id] = _Place(row.kind, row.site_id)
        if row.allow_negative_stock and row.site_id is not None:
            negative_ok.add(row.site_id)
    amounts: list[Decimal] = []
    for n, r in enumerate(requests, start=1):
        where = f"move {n}" if len(requests) > 1 else "move"
        if r.item_id not in items:
            raise NotFound(f"{where}: item {r.item_id!r} does not exist")
        for field, location_id in (
            ("from_location_id", r.from_location_id),
            ("to_location_id", r.to_location_id),
        ):
            if location_id not in locations:
                raise NotFound(f"{where}: {field} {location_id!r} does not exist")
        q = _checked_quantity(r, where)
        amounts.append(q)
        item = items[r.item_id]
        if item.serialised:
            if not r.serial:
                raise ParameterError(
                    "serial", f"{where}: item {r.item_id} is serialised; give its serial"
                )
            if q != 1:
                raise ParameterError(
                    "quantity", f"{where}: a serialised unit moves one at a time, got {q}"
                )
        if not item.repairable and "unserviceable" in (r.from_status, r.to_status):
            raise ParameterError(
                "to_status",
                f"{where}: item {r.item_id} is not repairable; it has no unserviceable stock",
            )
    return items, locations, negative_ok, amounts


def _checked_quantity(r: MoveRequest, where: str) -> Decimal:
    """A request's quantity after the checks that need no database (quantity, reason,
    statuses, a move that moves something); raises ParameterError naming the field."""
    q = quantity(r.quantity)
    if q <= 0:
        raise ParameterError("quantity", f"{where}: must be > 0, got {fmt(q)}")
    if r.reason not in REASONS:
        raise ParameterError("reason", f"{where}: {r.reason!r} is not one of {', '.join(REASONS)}")
    for field, status in (("from_status", r.from_status), ("to_status", r.to_status)):
        if status not in STOCK_STATUSES:
            raise ParameterError(field, f"{where}: {status!r} is not one of {STOCK_STATUSES}")
    if r.from_location_id == r.to_location_id and r.from_status == r.to_status:
        raise ParameterError("to_location_id", f"{where}: moves nothing (same place, same status)")
    return q


def _lock(session: Session, deltas: dict[Key5, Decimal]) -> dict[Key5, Decimal]:
    """Lock every balance row of each (item, location) the posting touches, in one
    statement and one global order (item, location, lot, serial, status), creating the
    rows it needs first; concurrent postings queue on the rows instead of deadlocking.
    Returns the on-hand of every locked row."""
    pairs = sorted({(k[0], k[1]) for k in deltas})
    found = _locked_rows(session, pairs)
    missing = sorted(k for k in deltas if k not in found)
    if missing:  # first stock of these keys: create their rows, then lock them too
        insert_missing(
            session,
            Balance.__table__,  # type: ignore[arg-type]
            [
                {
                    "item_id": k[0],
                    "location_id": k[1],
                    "lot": k[2],
                    "serial": k[3],
                    "status": k[4],
                    "quantity": Decimal(0),
                }
                for k in missing
            ],
        )
        found = _locked_rows(session, pairs)
    return found


def _locked_rows(session: Session, pairs: list[tuple[str, str]]) -> dict[Key5, Decimal]:
    rows = session.connection().execute(_LOCK_ROWS, {"pairs": pairs})
    return {(r[0], r[1], r[2], r[3], r[4]): r[5] for r in rows}


def _reservation_uses(requests: Sequence[MoveRequest]) -> dict[int, Decimal]:
    uses: dict[int, Decimal] = defaultdict(Decimal)
    for r in requests:
        if r.reservation_id is not None:
            uses[r.reservation_id] += quantity(r.quantity)
    return uses


def _consume_reservation(
    session: Session, reservation_id: int, taken: Decimal, requests: Sequence[MoveRequest]
) -> None:
    reservation = session.get(Reservation, reservation_id, with_for_update=True)
    if reservation is None:
        raise NotFound(f"reservation {reservation_id} does not exist")
    for r in requests:
        if r.reservation_id == reservation_id and (
            r.item_id != reservation.item_id or r.from_location_id != reservation.location_id
        ):
            raise ParameterError(
                "reservation_id",
                f"reservation {reservation_id} holds {reservation.item_id} at "
                f"{reservation.location_id}, not {r.item_id} at {r.from_location_id}",
            )
    reservation.quantity = max(Decimal(0), reservation.quantity - taken)


def _check(
    session: Session,
    deltas: dict[Key5, Decimal],
    balances: dict[Key5, Decimal],
    items: dict[str, _ItemFlags],
    locations: dict[str, _Place],
    negative_ok: set[str],
) -> None:
    """No site location below zero or below its reservations; no serial in two places."""
    guarded: set[tuple[str, str]] = set()
    serials: set[tuple[str, str]] = set()
    for key, delta in sorted(deltas.items()):
        item_id, location_id, _lot, serial, status = key
        location = locations[location_id]
        if location.kind != "internal":
            continue
        if delta < 0 and location.site_id not in negative_ok:
            balance = balances[key]
            if balance < 0:
                raise InsufficientStock(item_id, location_id, fmt(-delta), fmt(balance - delta))
            if status == "serviceable":
                guarded.add((item_id, location_id))
        if delta > 0 and items[item_id].serialised and serial:
            serials.add((item_id, serial))
    if guarded:
        held = _reserved_by_pair(session, sorted(guarded))
        for item_id, location_id in sorted(guarded):
            hold = held.get((item_id, location_id), Decimal(0))
            if not hold:
                continue
            stock = sum(
                (
                    b
                    for k, b in balances.items()
                    if k[0] == item_id and k[1] == location_id and k[4] == "serviceable"
                ),
                Decimal(0),
            )
            if stock < hold:
                taken = -sum(
                    (
                        d
                        for k, d in deltas.items()
                        if k[0] == item_id and k[1] == location_id and k[4] == "serviceable"
                    ),
                    Decimal(0),
                )
                raise InsufficientStock(
                    item_id, location_id, fmt(taken), f"{fmt(stock + taken - hold)} unreserved"
                )
    if serials:
        _check_serials_unique(session, sorted(serials))


def _reserved_by_pair(
    session: Session, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], Decimal]:
    rows = session.connection().execute(_RESERVED, {"pairs": pairs})
    return {(item, loc): total or Decimal(0) for item, loc, total in rows}


def _check_serials_unique(session: Session, serials: list[tuple[str, str]]) -> None:
    places = session.execute(
        select(Balance.item_id, Balance.serial, Balance.location_id, Balance.quantity)
        .join(Location, Location.location_id == Balance.location_id)
        .where(
            tuple_(Balance.item_id, Balance.serial).in_(serials),
            Balance.quantity > 0,  # a unit owed at a negative-stock site is not one in hand
            Location.kind == "internal",
        )
    ).all()
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for item_id, serial, location_id, amount in places:
        where[(item_id, serial)].append(location_id)
        total[(item_id, serial)] += amount
    for (item_id, serial), amount in sorted(total.items()):
        if amount > 1:
            at = ", ".join(sorted(where[(item_id, serial)]))
            raise Conflict(
                f"item {item_id} serial {serial} would be in stock twice ({at})", "serial"
            )


__all__ = [
    "REASONS",
    "Mismatch",
    "MoveRequest",
    "StockLevel",
    "UnitStock",
    "available",
    "fmt",
    "on_hand",
    "post",
    "post_many",
    "quantity",
    "reconcile",
    "release",
    "reserve",
    "reserved",
    "reverse",
    "stock_levels",
    "stock_units",
]
