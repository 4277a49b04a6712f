"""Purchase, transfer, customer and repair orders: create them and move them along.

Every step checks the order's lifecycle (``services.lifecycle``), posts the stock moves
it implies through the ledger, and records an order event, all in the caller's unit of
work: a refused step changes nothing. Orders are locked (SELECT ... FOR UPDATE) while a
step runs, so two people acting on one order at once queue.

Stock effects:
- purchase ``receive``: supplier -> the receiving location (default ``{site}/STOCK``)
- transfer ``release`` reserves at the source; ``ship`` source -> transit; ``receive``
  transit -> destination
- customer ``allocate`` reserves what is available (the rest is backordered); ``ship``
  consumes the reservations into the customer location; ``deliver`` records whether each
  line arrived right first time (order accuracy)
- repair ``send`` moves the unserviceable unit to the repair vendor; ``return`` brings it
  back serviceable; ``condemn`` scraps it
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spareflow.errors import Conflict, NotFound, ParameterError
from spareflow.services import ledger, lifecycle
from spareflow.services.ledger import MoveRequest, fmt, quantity
from spareflow.services.master import default_location_id, get_item, get_partner, get_site
from spareflow.store.dialect import next_number
from spareflow.store.models import Location, Order, OrderEvent, OrderLine, Reservation
from spareflow.store.types import utcnow

PREFIX = {"purchase": "PO", "transfer": "TO", "customer": "CO", "repair": "RO"}
PARTNER_ROLE = {
    "purchase": ("supplier", "manufacturer", "distributor"),
    "customer": ("customer",),
    "repair": ("repair_vendor",),
}
MAX_CLOCK_SKEW = timedelta(minutes=5)  # a step may be dated this far ahead of the server
SUPPLIER, CUSTOMER, TRANSIT, REPAIR, SCRAP = (
    "VIRTUAL/SUPPLIER",
    "VIRTUAL/CUSTOMER",
    "VIRTUAL/TRANSIT",
    "VIRTUAL/REPAIR",
    "VIRTUAL/SCRAP",
)


@dataclass(frozen=True, slots=True)
class LineIn:
    item_id: str
    quantity: Decimal
    unit_price: Decimal | None = None
    due_date: date | None = None
    serial: str = ""


@dataclass(slots=True)
class OrderView:
    """An order with its lines, as services hand it to edges."""

    order: Order
    lines: list[OrderLine] = field(default_factory=list)


def create(
    session: Session,
    kind: str,
    site_id: str,
    lines: Sequence[LineIn],
    username: str,
    *,
    partner_id: str | None = None,
    source_site_id: str | None = None,
    priority: int = 3,
    promised_date: date | None = None,
    note: str = "",
    created_at: datetime | None = None,
) -> OrderView:
    """A new order in its initial status (purchase/transfer/repair: draft; customer: open).

    ``created_at`` back-dates an order recorded late or imported (default: now).
    """
    if kind not in PREFIX:
        raise ParameterError("kind", f"one of {', '.join(PREFIX)}, got {kind!r}")
    get_site(session, site_id)
    if not lines:
        raise ParameterError("lines", "an order needs at least one line")
    if not 1 <= priority <= 9:
        raise ParameterError("priority", f"1 (equipment down) to 9, got {priority}")
    if kind in PARTNER_ROLE:
        if partner_id is None:
            raise ParameterError("partner_id", f"a {kind} order needs a partner")
        partner = get_partner(session, partner_id)
        if not set(partner.roles) & set(PARTNER_ROLE[kind]):
            raise ParameterError(
                "partner_id",
                f"partner {partner_id} is not a {' or '.join(PARTNER_ROLE[kind])} "
                f"(roles: {', '.join(partner.roles)})",
            )
    if kind == "transfer":
        if source_site_id is None:
            raise ParameterError("source_site_id", "a transfer order needs a source site")
        get_site(session, source_site_id)
        if source_site_id == site_id:
            raise ParameterError("source_site_id", "source and destination are the same site")
    elif source_site_id is not None:
        raise ParameterError("source_site_id", f"only transfer orders have one, not {kind}")
    checked: list[tuple[LineIn, Decimal]] = []
    for n, line in enumerate(lines, start=1):
        item = get_item(session, line.item_id)
        q = quantity(line.quantity, f"lines[{n}].quantity")
        if q <= 0:
            raise ParameterError(f"lines[{n}].quantity", f"must be > 0, got {fmt(q)}")
        if line.unit_price is not None and Decimal(line.unit_price) < 0:
            raise ParameterError(f"lines[{n}].unit_price", f"must be >= 0, got {line.unit_price}")
        if kind == "repair":
            if not item.repairable:
                raise ParameterError(f"lines[{n}].item_id", f"{item.item_id} is not repairable")
            if item.serialised and (not line.serial or q != 1):
                raise ParameterError(
                    f"lines[{n}].serial", f"{item.item_id} is serialised: one line per serial"
                )
        checked.append((line, q))
    now = utcnow()
    if created_at is not None:
        if created_at.tzinfo is None:
            raise ParameterError("created_at", "give a time zone offset")
        if created_at > now + MAX_CLOCK_SKEW:
            raise ParameterError("created_at", f"{created_at.isoformat()} is in the future")
        now = created_at
    order = Order(
        number=next_number(session, PREFIX[kind]),
        kind=kind,
        status=lifecycle.INITIAL[kind],
        site_id=site_id,
        source_site_id=source_site_id,
        partner_id=partner_id,
        priority=priority,
        promised_date=promised_date,
        created_at=now,
        updated_at=now,
        created_by=username,
        note=note,
    )
    session.add(order)
    session.flush()
    rows = [
        OrderLine(
            order_id=order.order_id,
            line_no=n,
            item_id=line.item_id,
            quantity=q,
            unit_price=line.unit_price,
            due_date=line.due_date,
            serial=line.serial,
        )
        for n, (line, q) in enumerate(checked, start=1)
    ]
    session.add_all(rows)
    _event(session, order, "create", None, order.status, username, None, order.created_at)
    session.flush()
    return OrderView(order, rows)


def get(session: Session, order_id: int, *, lock: bool = False) -> OrderView:
    order = session.get(Order, order_id, with_for_update=lock)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    lines = list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
        )
    )
    return OrderView(order, lines)


def events(session: Session, order_id: int) -> list[OrderEvent]:
    return list(
        session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.event_id)
        )
    )


def act(
    session: Session,
    order_id: int,
    action: str,
    username: str,
    payload: Mapping[str, Any] | None = None,
) -> OrderView:
    """Take ``action`` on an order; ``payload`` carries the action's options (see each step)."""
    view = get(session, order_id, lock=True)
    order = view.order
    what = f"{order.kind} order {order.number}"
    outcomes = lifecycle.check(lifecycle.ORDER_LIFECYCLES[order.kind], what, order.status, action)
    step = _STEPS.get((order.kind, action))
    options = dict(payload or {})
    options["at"] = at = _when(session, order, options.get("at"))
    with session.begin_nested():
        if step is None:  # a pure status change: confirm, close, depart, pick ...
            new_status = outcomes[0]
            detail: dict[str, Any] = {}
        else:
            new_status, detail = step(session, view, username, options)
        if new_status not in outcomes:  # pragma: no cover - a step bug, not a user error
            raise RuntimeError(f"{action} led {what} to {new_status}, not one of {outcomes}")
        old = order.status
        order.status = new_status
        order.updated_at = utcnow()
        _event(session, order, action, old, new_status, username, detail, at)
        session.flush()
    return view


def _when(session: Session, order: Order, at: datetime | None) -> datetime:
    """The time of a step: now, or a given past time not before the order's last event."""
    now = utcnow()
    if at is None:
        return now
    if at.tzinfo is None:
        raise ParameterError("at", f"{at.isoformat()} has no time zone; give an offset")
    if at > now + MAX_CLOCK_SKEW:
        raise ParameterError("at", f"{at.isoformat()} is in the future")
    last = session.scalar(
        select(func.max(OrderEvent.at)).where(OrderEvent.order_id == order.order_id)
    )
    floor = last if last is not None else order.created_at
    if floor.tzinfo is None:  # SQLite aggregates come back naive (UTC)
        floor = floor.replace(tzinfo=UTC)
    if at < floor:
        raise ParameterError(
            "at", f"{at.isoformat()} is before the order's last step ({floor.isoformat()})"
        )
    return at


# --- steps -------------------------------------------------------------------------------------

Step = Any


def _receive(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Receive ``quantities`` ({line_no: qty}; default: all still open) at ``location_id``."""
    order = view.order
    location_id = _site_location(session, order, options.get("location_id"))
    at: datetime = options.get("at") or utcnow()
    source = SUPPLIER if order.kind == "purchase" else TRANSIT
    # a transfer receives what was shipped; a purchase what was ordered
    ceiling = {
        line.line_no: (line.quantity_shipped if order.kind == "transfer" else line.quantity)
        - line.quantity_received
        for line in view.lines
    }
    wanted = _quantities(options.get("quantities"), view, ceiling, "receive")
    moves = []
    for line in view.lines:
        q = wanted.get(line.line_no, Decimal(0))
        if q <= 0:
            continue
        moves.append(
            MoveRequest(
                line.item_id,
                q,
                source,
                location_id,
                "receipt" if order.kind == "purchase" else "transfer",
                reference=f"{order.number}/{line.line_no}",
                serial=line.serial,
                moved_at=at,
                order_line_id=line.line_id,
            )
        )
        line.quantity_received = line.quantity_received + q
        line.first_receipt_at = line.first_receipt_at or at
        line.last_receipt_at = at
    ledger.post(session, moves, username)
    done = all(line.quantity_received >= line.quantity for line in view.lines)
    return ("received" if done else "partly_received"), {"received": _show(wanted)}


def _release(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Reserve every line's quantity at the source site (all of it, or refuse)."""
    source = default_location_id(view.order.source_site_id or "")
    for line in view.lines:
        ledger.reserve(
            session, line.item_id, source, line.quantity, username, order_line_id=line.line_id
        )
        line.quantity_allocated = line.quantity
    return "released", {}


def _ship_transfer(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    order = view.order
    source = default_location_id(order.source_site_id or "")
    at: datetime = options.get("at") or utcnow()
    moves = []
    for line in view.lines:
        for reservation_id, q in _reservations(session, line):
            moves.append(
                MoveRequest(
                    line.item_id,
                    q,
                    source,
                    TRANSIT,
                    "transfer",
                    reference=f"{order.number}/{line.line_no}",
                    serial=line.serial,
                    moved_at=at,
                    order_line_id=line.line_id,
                    reservation_id=reservation_id,
                )
            )
        line.quantity_shipped = line.quantity
    ledger.post(session, moves, username)
    return "shipped", {}


def _allocate(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Reserve what is available for each line's open quantity; the rest stays backordered."""
    location = default_location_id(view.order.site_id)
    taken: dict[int, Decimal] = {}
    for line in view.lines:
        need = line.quantity - line.quantity_allocated
        if need <= 0:
            continue
        got = ledger.reserve(
            session,
            line.item_id,
            location,
            need,
            username,
            order_line_id=line.line_id,
            partial=True,
        )
        if got is not None:
            line.quantity_allocated = line.quantity_allocated + got.quantity
            taken[line.line_no] = got.quantity
    complete = all(line.quantity_allocated >= line.quantity for line in view.lines)
    backorder = {
        line.line_no: line.quantity - line.quantity_allocated
        for line in view.lines
        if line.quantity_allocated < line.quantity
    }
    return ("allocated" if complete else "backordered"), {
        "allocated": _show(taken),
        "backordered": _show(backorder),
    }


def _pick(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    if all(line.quantity_allocated <= line.quantity_shipped for line in view.lines):
        raise Conflict(
            f"customer order {view.order.number} has nothing allocated to pick", "status"
        )
    return "picked", {}


def _ship_customer(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    order = view.order
    location = default_location_id(order.site_id)
    at: datetime = options.get("at") or utcnow()
    moves = []
    shipped: dict[int, Decimal] = {}
    for line in view.lines:
        for reservation_id, q in _reservations(session, line):
            moves.append(
                MoveRequest(
                    line.item_id,
                    q,
                    location,
                    CUSTOMER,
                    "issue",
                    reference=f"{order.number}/{line.line_no}",
                    serial=line.serial,
                    moved_at=at,
                    order_line_id=line.line_id,
                    reservation_id=reservation_id,
                )
            )
            shipped[line.line_no] = shipped.get(line.line_no, Decimal(0)) + q
        line.quantity_shipped = line.quantity_allocated
    ledger.post(session, moves, username)
    complete = all(line.quantity_shipped >= line.quantity for line in view.lines)
    return ("shipped" if complete else "backordered"), {"shipped": _show(shipped)}


def _deliver(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Record delivery; ``received`` ({line_no: {item_id, quantity}}) reports discrepancies."""
    reported = options.get("received") or {}
    wrong: list[int] = []
    for line in view.lines:
        got = reported.get(line.line_no) or reported.get(str(line.line_no))
        right = True
        if got is not None:
            right = (
                got.get("item_id", line.item_id) == line.item_id
                and quantity(
                    got.get("quantity", line.quantity), f"received[{line.line_no}].quantity"
                )
                == line.quantity
            )
        if line.delivered_right_first_time is None:
            line.delivered_right_first_time = right
        if not right:
            wrong.append(line.line_no)
    at: datetime = options.get("at") or utcnow()
    for line in view.lines:
        line.last_receipt_at = at
    return "delivered", {"lines_wrong": wrong, "delivered_at": at.astimezone(UTC).isoformat()}


def _cancel(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    for line in view.lines:
        for reservation_id, _q in _reservations(session, line):
            ledger.release(session, reservation_id)
        line.quantity_allocated = line.quantity_shipped
    return "cancelled", {"reason": str(options.get("reason", ""))}


def _unit_moves(
    view: OrderView, frm: str, to: str, reason: str, to_status: str, at: datetime | None
) -> list[MoveRequest]:
    """Every line's unit(s) of a repair order, unserviceable, from ``frm`` to ``to``."""
    return [
        MoveRequest(
            line.item_id,
            line.quantity,
            frm,
            to,
            reason,
            reference=f"{view.order.number}/{line.line_no}",
            serial=line.serial,
            from_status="unserviceable",
            to_status=to_status,
            order_line_id=line.line_id,
            moved_at=at,
        )
        for line in view.lines
    ]


def _send_to_repair(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    location = _site_location(session, view.order, options.get("location_id"))
    moves = _unit_moves(view, location, REPAIR, "repair_out", "unserviceable", options.get("at"))
    ledger.post(session, moves, username)
    for line in view.lines:
        line.quantity_shipped = line.quantity
    return "at_vendor", {}


def _return_from_repair(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    location = _site_location(session, view.order, options.get("location_id"))
    at: datetime = options.get("at") or utcnow()
    ledger.post(
        session, _unit_moves(view, REPAIR, location, "repair_in", "serviceable", at), username
    )
    for line in view.lines:
        line.quantity_received = line.quantity
        line.first_receipt_at = line.last_receipt_at = at
    return "returned", {}


def _condemn(
    session: Session, view: OrderView, username: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    moves = _unit_moves(view, REPAIR, SCRAP, "scrap", "unserviceable", options.get("at"))
    ledger.post(session, moves, username)
    return "condemned", {"reason": str(options.get("reason", ""))}


_STEPS: dict[tuple[str, str], Step] = {
    ("purchase", "receive"): _receive,
    ("transfer", "receive"): _receive,
    ("transfer", "release"): _release,
    ("transfer", "ship"): _ship_transfer,
    ("transfer", "cancel"): _cancel,
    ("customer", "allocate"): _allocate,
    ("customer", "pick"): _pick,
    ("customer", "ship"): _ship_customer,
    ("customer", "deliver"): _deliver,
    ("customer", "cancel"): _cancel,
    ("repair", "send"): _send_to_repair,
    ("repair", "return"): _return_from_repair,
    ("repair", "condemn"): _condemn,
}


# --- helpers -----------------------------------------------------------------------------------


def _quantities(
    given: Mapping[Any, Any] | None,
    view: OrderView,
    ceiling: dict[int, Decimal],
    action: str,
) -> dict[int, Decimal]:
    if not given:
        return {n: q for n, q in ceiling.items() if q > 0}
    by_no = {line.line_no for line in view.lines}
    out: dict[int, Decimal] = {}
    for raw_no, raw_q in given.items():
        try:
            line_no = int(raw_no)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                "quantities", f"line numbers are integers, got {raw_no!r}"
            ) from exc
        if line_no not in by_no:
            raise ParameterError(
                f"quantities[{line_no}]", f"order {view.order.number} has no line {line_no}"
            )
        q = quantity(raw_q, f"quantities[{line_no}]")
        if q <= 0:
            raise ParameterError(f"quantities[{line_no}]", f"must be > 0, got {fmt(q)}")
        if q > ceiling[line_no]:
            raise Conflict(
                f"line {line_no} of {view.order.number}: cannot {action} {fmt(q)}, "
                f"only {fmt(ceiling[line_no])} open",
                f"quantities[{line_no}]",
            )
        out[line_no] = q
    return out


def _site_location(session: Session, order: Order, location_id: str | None) -> str:
    """The order site's stock location, or the given one if it is a location of that site:
    an order never moves stock at another site."""
    if location_id is None:
        return default_location_id(order.site_id)
    location = session.get(Location, location_id)
    if location is None or location.kind != "internal" or location.site_id != order.site_id:
        raise ParameterError(
            "location_id",
            f"{location_id!r} is not a stock location of site {order.site_id} "
            f"(order {order.number})",
        )
    return location_id


def _reservations(session: Session, line: OrderLine) -> list[tuple[int, Decimal]]:
    rows = session.scalars(
        select(Reservation)
        .where(Reservation.order_line_id == line.line_id, Reservation.quantity > 0)
        .order_by(Reservation.reservation_id)
    )
    return [(r.reservation_id, r.quantity) for r in rows]


def _show(quantities: Mapping[int, Decimal]) -> dict[str, str]:
    return {str(n): fmt(q) for n, q in quantities.items()}


def _event(
    session: Session,
    order: Order,
    action: str,
    old: str | None,
    new: str,
    username: str,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    session.add(
        OrderEvent(
            order_id=order.order_id,
            action=action,
            from_status=old,
            to_status=new,
            at=at or utcnow(),
            username=username,
            detail=detail or {},
        )
    )
