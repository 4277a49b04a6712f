"""Shipments: create them with their legs, and read them back with their events.

A shipment is tracked by the device that travels with it (``device_id``); MQTT telemetry
from that device moves it from planned to in transit (geofence departure) to arrived
(geofence arrival), keeps its ETA, and raises late and temperature alerts
(``services.telemetry``). Delivery and cancellation are decided by people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.errors import Conflict, NotFound, ParameterError
from spareflow.services.master import get_partner, get_site
from spareflow.store.models import SHIPMENT_MODES, Lane, Shipment, ShipmentEvent, ShipmentLeg


@dataclass(frozen=True, slots=True)
class LegIn:
    origin_site_id: str
    destination_site_id: str
    mode: str
    planned_departure: datetime
    planned_arrival: datetime
    carrier_id: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentIn:
    shipment_id: str
    origin_site_id: str
    destination_site_id: str
    mode: str
    planned_departure: datetime
    planned_arrival: datetime
    device_id: str | None = None
    carrier_id: str | None = None
    temperature_min: float | None = None
    temperature_max: float | None = None
    geofence_m: float = 1_000.0
    speed_kmh: float = 60.0
    weight_kg: float | None = None
    freight_cost: Decimal | None = None
    reference: str = ""
    legs: list[LegIn] = field(default_factory=list)
    lane_id: str | None = None


def create_shipment(session: Session, request: ShipmentIn) -> Shipment:
    """Record a planned shipment (one leg origin to destination unless legs are given)."""
    r = request
    if not r.shipment_id or len(r.shipment_id) > 64:
        raise ParameterError("shipment_id", f"1 to 64 characters, got {r.shipment_id!r}")
    if session.get(Shipment, r.shipment_id) is not None:
        raise Conflict(f"shipment {r.shipment_id!r} already exists", "shipment_id")
    _mode("mode", r.mode)
    for name in ("origin_site_id", "destination_site_id"):
        _site(session, name, getattr(r, name))
    if r.origin_site_id == r.destination_site_id:
        raise ParameterError("destination_site_id", "the same site as the origin")
    _times("planned_arrival", r.planned_departure, r.planned_arrival)
    if r.carrier_id is not None:
        get_partner(session, r.carrier_id, "carrier")
    if r.lane_id is not None:
        _lane(session, r)
    lo, hi = r.temperature_min, r.temperature_max
    if lo is not None and hi is not None and lo > hi:
        raise ParameterError("temperature_min", f"{lo} is above temperature_max {hi}")
    for name in ("geofence_m", "speed_kmh"):
        if not getattr(r, name) > 0:
            raise ParameterError(name, f"must be positive, got {getattr(r, name)}")
    legs = r.legs or [
        LegIn(r.origin_site_id, r.destination_site_id, r.mode, r.planned_departure,
              r.planned_arrival, r.carrier_id)
    ]  # fmt: skip
    _check_legs(session, r, legs)
    shipment = Shipment(
        shipment_id=r.shipment_id, origin_site_id=r.origin_site_id,
        destination_site_id=r.destination_site_id, mode=r.mode, carrier_id=r.carrier_id,
        status="planned", planned_departure=r.planned_departure,
        planned_arrival=r.planned_arrival, device_id=r.device_id,
        temperature_min=lo, temperature_max=hi, geofence_m=r.geofence_m,
        speed_kmh=r.speed_kmh, weight_kg=r.weight_kg, freight_cost=r.freight_cost,
        reference=r.reference, excursion_open=False, late_alerted=False, lane_id=r.lane_id,
    )  # fmt: skip
    session.add(shipment)
    session.flush()
    for n, leg in enumerate(legs, start=1):
        session.add(ShipmentLeg(shipment_id=r.shipment_id, leg_no=n, **_leg_fields(leg)))
    session.add(
        ShipmentEvent(
            shipment_id=r.shipment_id, time=r.planned_departure, kind="planned",
            detail={"planned_arrival": r.planned_arrival.isoformat()},
        )
    )  # fmt: skip
    session.flush()
    return shipment


def _leg_fields(leg: LegIn) -> dict[str, Any]:
    return {
        "origin_site_id": leg.origin_site_id,
        "destination_site_id": leg.destination_site_id,
        "mode": leg.mode,
        "carrier_id": leg.carrier_id,
        "planned_departure": leg.planned_departure,
        "planned_arrival": leg.planned_arrival,
    }


def _check_legs(session: Session, r: ShipmentIn, legs: list[LegIn]) -> None:
    """Legs chain from the origin to the destination, each after the one before."""
    at, when = r.origin_site_id, r.planned_departure
    for n, leg in enumerate(legs, start=1):
        where = f"legs[{n}]"
        if leg.origin_site_id != at:
            raise ParameterError(
                f"{where}.origin_site_id", f"must be {at!r}, where the last leg ended"
            )
        _site(session, f"{where}.destination_site_id", leg.destination_site_id)
        _mode(f"{where}.mode", leg.mode)
        if leg.planned_departure < when:
            raise ParameterError(f"{where}.planned_departure", "before the previous leg arrives")
        _times(f"{where}.planned_arrival", leg.planned_departure, leg.planned_arrival)
        if leg.carrier_id is not None:
            get_partner(session, leg.carrier_id, "carrier")
        at, when = leg.destination_site_id, leg.planned_arrival
    if at != r.destination_site_id:
        raise ParameterError(
            f"legs[{len(legs)}].destination_site_id", f"must end at {r.destination_site_id!r}"
        )


def _lane(session: Session, r: ShipmentIn) -> None:
    """The shipment's lane exists and joins its origin and destination."""
    lane = session.get(Lane, r.lane_id)
    if lane is None:
        raise NotFound(f"lane_id: no lane {r.lane_id!r}")
    ends = (lane.origin_site_id, lane.destination_site_id)
    if ends != (r.origin_site_id, r.destination_site_id):
        raise ParameterError(
            "lane_id",
            f"lane {r.lane_id} runs {ends[0] or lane.origin_partner_id} to {ends[1]}, not "
            f"{r.origin_site_id} to {r.destination_site_id}",
        )


def _site(session: Session, name: str, site_id: str) -> None:
    try:
        get_site(session, site_id)
    except NotFound as exc:
        raise NotFound(f"{name}: {exc}") from None


def _mode(name: str, mode: str) -> None:
    if mode not in SHIPMENT_MODES:
        raise ParameterError(name, f"one of {', '.join(SHIPMENT_MODES)}, got {mode!r}")


def _times(name: str, departure: datetime, arrival: datetime) -> None:
    if departure.tzinfo is None or arrival.tzinfo is None:
        raise ParameterError(name, "times need a UTC offset")
    if arrival < departure:
        raise ParameterError(
            name, f"{arrival.isoformat()} is before the departure {departure.isoformat()}"
        )


def get_shipment(session: Session, shipment_id: str) -> Shipment:
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(f"shipment {shipment_id!r} does not exist")
    return shipment


def shipment_events(session: Session, shipment_id: str) -> list[ShipmentEvent]:
    """The shipment's events in event-time order."""
    get_shipment(session, shipment_id)
    return list(
        session.scalars(
            select(ShipmentEvent)
            .where(ShipmentEvent.shipment_id == shipment_id)
            .order_by(ShipmentEvent.time, ShipmentEvent.event_id)
        )
    )


def shipment_legs(session: Session, shipment_id: str) -> list[ShipmentLeg]:
    return list(
        session.scalars(
            select(ShipmentLeg)
            .where(ShipmentLeg.shipment_id == shipment_id)
            .order_by(ShipmentLeg.leg_no)
        )
    )
