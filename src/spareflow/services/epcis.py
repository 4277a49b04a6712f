"""EPCIS 2.0 over the store: capture documents (every event or none), query them, map
them onto shipments, and export our moves and shipment events as EPCIS events.

Mapping in: an event whose ``bizTransactionList`` names one of our shipments
(``urn:spareflow:shipment:{id}``, or the bare shipment id under type ``desadv`` or
``bol``) is recorded on that shipment; bizStep ``departing``/``shipping`` marks it departed
and ``arriving``/``receiving`` arrived, at the event time, unless tracking already knew
an earlier time. Mapping out: each move is an ObjectEvent (action OBSERVE, the item as a
``quantityList`` class, source and destination locations, the order as a business
transaction), each shipment departure and arrival an ObjectEvent ``departing`` or
``arriving``; the exports validate against the standard's schema (tests check it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from spareflow.errors import Conflict, Fault, InputError, NotFound
from spareflow.ingest import epcis
from spareflow.store.models import (
    EpcisCapture,
    EpcisEvent,
    Item,
    Move,
    OrderLine,
    Shipment,
    ShipmentEvent,
)
from spareflow.store.types import utcnow

DEPARTING = ("departing", "shipping")
ARRIVING = ("arriving", "receiving")
REASON_STEP = {
    "receipt": "receiving",
    "transfer": "shipping",
    "issue": "installing",
    "return": "receiving",
    "scrap": "destroying",
    "repair": "repairing",
    "adjustment": "cycle_counting",
}


def capture(session: Session, document: dict[str, Any], username: str) -> EpcisCapture:
    """Store every event of a valid EPCISDocument (rollback behaviour: all or none).
    An event whose eventID is stored already is refused, naming it."""
    errors = epcis.validate(document)
    if errors:
        raise InputError([Fault("EPCISDocument", e.message, column=e.field) for e in errors])
    events = epcis.events_of(document)
    now = utcnow()
    job = EpcisCapture(
        capture_id=uuid.uuid4().hex, created_at=now, finished_at=now, success=True,
        event_count=len(events), username=username, errors=[],
    )  # fmt: skip
    session.add(job)
    session.flush()
    ids = [e.get("eventID") or epcis.new_event_id() for e in events]
    seen: set[str] = set()
    for k, event_id in enumerate(ids):
        if event_id in seen:
            raise Conflict(f"epcisBody.eventList[{k}]: eventID {event_id} appears twice", "eventID")
        seen.add(event_id)
    stored = set(session.scalars(select(EpcisEvent.event_id).where(EpcisEvent.event_id.in_(ids))))
    if stored:
        raise Conflict(f"eventID {sorted(stored)[0]} is captured already", "eventID")
    shipments = _shipments_named(session, events)
    for event, event_id in zip(events, ids, strict=True):
        kept = {**event, "eventID": event_id, "recordTime": epcis.iso(now)}
        if "@context" not in kept and "@context" in document:
            kept["@context"] = document["@context"]
        shipment = _shipment_of(event, shipments)
        row = EpcisEvent(
            event_id=event_id, capture_id=job.capture_id, event_type=event["type"],
            event_time=epcis.event_time(event["eventTime"]), record_time=now,
            action=event.get("action"), biz_step=event.get("bizStep"),
            disposition=event.get("disposition"),
            shipment_id=shipment.shipment_id if shipment else None, document=kept,
        )  # fmt: skip
        session.add(row)
        if shipment is not None:
            _apply_to_shipment(session, shipment, row)
    session.flush()
    return job


def _shipments_named(session: Session, events: list[dict[str, Any]]) -> dict[str, Shipment]:
    names = {n for e in events for n in _transactions(e)}
    if not names:
        return {}
    rows = session.scalars(select(Shipment).where(Shipment.shipment_id.in_(names)))
    return {s.shipment_id: s for s in rows}


def _transactions(event: dict[str, Any]) -> list[str]:
    out = []
    for t in event.get("bizTransactionList", []):
        value = t.get("bizTransaction", "")
        ours = epcis.key_of(value, "shipment")
        if ours is not None:
            out.append(ours)
        elif t.get("type") in ("desadv", "bol"):
            out.append(value)
    return out


def _shipment_of(event: dict[str, Any], shipments: dict[str, Shipment]) -> Shipment | None:
    for name in _transactions(event):
        if name in shipments:
            return shipments[name]
    return None


def _apply_to_shipment(session: Session, shipment: Shipment, row: EpcisEvent) -> None:
    step = (row.biz_step or "").rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    when = row.event_time
    if shipment.status in ("delivered", "cancelled"):
        pass
    elif step in DEPARTING:
        if shipment.departed_at is None or when < shipment.departed_at:
            shipment.departed_at = when
        if shipment.status == "planned":
            shipment.status = "in_transit"
    elif step in ARRIVING:
        if shipment.arrived_at is None or when < shipment.arrived_at:
            shipment.arrived_at = when
            shipment.eta = when
        shipment.departed_at = shipment.departed_at or when
        shipment.status = "arrived"
    session.add(
        ShipmentEvent(
            shipment_id=shipment.shipment_id, time=when, kind=f"epcis_{step or 'event'}",
            detail={"eventID": row.event_id, "type": row.event_type},
        )
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class EventQuery:
    """The SimpleEventQuery parameters the REST bindings offer that we answer."""

    event_type: list[str] | None = None
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    ge_record_time: datetime | None = None
    lt_record_time: datetime | None = None
    eq_action: list[str] | None = None
    eq_biz_step: list[str] | None = None
    eq_disposition: list[str] | None = None
    eq_event_id: list[str] | None = None


def query(session: Session, q: EventQuery, offset: int, limit: int) -> list[dict[str, Any]]:
    """Captured events matching ``q`` in event-time order, a page at a time."""
    e = EpcisEvent
    stmt: Select[Any] = select(e).order_by(e.event_time, e.event_id)
    filters: tuple[tuple[Any, list[str] | None], ...] = (
        (e.event_type, q.event_type), (e.action, q.eq_action), (e.biz_step, q.eq_biz_step),
        (e.disposition, q.eq_disposition), (e.event_id, q.eq_event_id),
    )  # fmt: skip
    for column, wanted in filters:
        if wanted:
            stmt = stmt.where(column.in_(wanted))
    ranges: tuple[tuple[Any, datetime | None, datetime | None], ...] = (
        (e.event_time, q.ge_event_time, q.lt_event_time),
        (e.record_time, q.ge_record_time, q.lt_record_time),
    )
    for column, low, high in ranges:
        if low is not None:
            stmt = stmt.where(column >= low)
        if high is not None:
            stmt = stmt.where(column < high)
    rows: list[EpcisEvent] = list(session.scalars(stmt.offset(offset).limit(limit)))
    return [row.document for row in rows]


def get_event(session: Session, event_id: str) -> dict[str, Any]:
    row = session.get(EpcisEvent, event_id)
    if row is None:
        raise NotFound(f"no EPCIS event {event_id!r}")
    return row.document


def get_capture(session: Session, capture_id: str) -> EpcisCapture:
    job = session.get(EpcisCapture, capture_id)
    if job is None:
        raise NotFound(f"no capture job {capture_id!r}")
    return job


# --- export --------------------------------------------------------------------------------


def export_events(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Our moves and shipment departures and arrivals in [start, end) as EPCIS events."""
    moves = session.execute(
        select(Move, Item.unit_of_measure, OrderLine.order_id)
        .join(Item, Item.item_id == Move.item_id)
        .outerjoin(OrderLine, OrderLine.line_id == Move.order_line_id)
        .where(Move.moved_at >= start, Move.moved_at < end)
        .order_by(Move.moved_at, Move.move_id)
    ).all()
    events = [_move_event(m, uom, order_id) for m, uom, order_id in moves]
    legs = session.execute(
        select(ShipmentEvent, Shipment)
        .join(Shipment, Shipment.shipment_id == ShipmentEvent.shipment_id)
        .where(
            ShipmentEvent.kind.in_(("departed", "arrived")),
            ShipmentEvent.time >= start,
            ShipmentEvent.time < end,
        )
        .order_by(ShipmentEvent.time, ShipmentEvent.event_id)
    ).all()
    events += [_shipment_event(ev, sh) for ev, sh in legs]
    events.sort(key=lambda e: e["eventTime"])
    return events


def _move_event(move: Move, uom: str, order_id: int | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {
        "epcClass": epcis.urn("item", move.item_id),
        "quantity": float(move.quantity),
    }
    if uom and uom.isalnum() and uom.isupper() and 2 <= len(uom) <= 3:
        quantity["uom"] = uom
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": epcis.stable_event_id("move", str(move.move_id)),
        "eventTime": epcis.iso(move.moved_at),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": REASON_STEP.get(move.reason, "other"),
        "disposition": "damaged" if move.to_status == "unserviceable" else "available",
        "readPoint": {"id": epcis.urn("location", move.to_location_id)},
        "quantityList": [quantity],
        "sourceList": [
            {"type": "location", "source": epcis.urn("location", move.from_location_id)}
        ],
        "destinationList": [
            {"type": "location", "destination": epcis.urn("location", move.to_location_id)}
        ],
    }
    if order_id is not None:
        event["bizTransactionList"] = [
            {"type": "po", "bizTransaction": epcis.urn("order", str(order_id))}
        ]
    return event


def _shipment_event(ev: ShipmentEvent, shipment: Shipment) -> dict[str, Any]:
    leaving = ev.kind == "departed"
    site = shipment.origin_site_id if leaving else shipment.destination_site_id
    return {
        "type": "ObjectEvent",
        "eventID": epcis.stable_event_id("shipment-event", str(ev.event_id)),
        "eventTime": epcis.iso(ev.time),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "departing" if leaving else "arriving",
        "disposition": "in_transit" if leaving else "available",
        "epcList": [],
        "readPoint": {"id": epcis.urn("site", site)},
        "bizTransactionList": [
            {"type": "desadv", "bizTransaction": epcis.urn("shipment", shipment.shipment_id)}
        ],
    }
