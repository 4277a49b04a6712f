"""Shipments: plan them with their legs, follow them through their events.

Tracking (MQTT telemetry of the device that travels with a shipment) moves a shipment
from planned to in transit to arrived and keeps its ETA; late and temperature alerts are
events. A user scoped to sites sees shipments with either end at one of theirs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, Paging, User
from spareflow.api.routers._common import IdemKey, page_body, paged
from spareflow.api.schemas import Dec, Id, In, Money, Out, PageOut
from spareflow.errors import NotFound
from spareflow.services import access, shipments
from spareflow.store.models import Shipment
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["shipments"])
Filter = Annotated[str | None, Query(max_length=64)]
Mode = Annotated[str, Field(pattern="^(parcel|ltl|ftl|air|ocean)$")]


class LegIn(In):
    origin_site_id: Id
    destination_site_id: Id
    mode: Mode
    planned_departure: AwareDatetime
    planned_arrival: AwareDatetime
    carrier_id: Id | None = None


class ShipmentIn(In):
    shipment_id: Id
    origin_site_id: Id
    destination_site_id: Id
    mode: Mode
    planned_departure: AwareDatetime
    planned_arrival: AwareDatetime
    device_id: Id | None = None
    carrier_id: Id | None = None
    temperature_min: Annotated[float | None, Field(ge=-273.15, le=1000)] = None
    temperature_max: Annotated[float | None, Field(ge=-273.15, le=1000)] = None
    geofence_m: Annotated[float, Field(gt=0, le=1e6)] = 1_000.0
    speed_kmh: Annotated[float, Field(gt=0, le=2000)] = 60.0
    weight_kg: Annotated[float | None, Field(ge=0, le=1e7)] = None
    freight_cost: Money | None = None
    reference: Annotated[str, Field(max_length=100)] = ""
    legs: Annotated[list[LegIn], Field(default_factory=list, max_length=20)]
    lane_id: Id | None = None


class LegOut(Out):
    leg_no: int
    origin_site_id: str
    destination_site_id: str
    mode: str
    carrier_id: str | None
    planned_departure: datetime
    planned_arrival: datetime


class ShipmentOut(Out):
    shipment_id: str
    origin_site_id: str
    destination_site_id: str
    mode: str
    carrier_id: str | None
    lane_id: str | None
    status: str
    planned_departure: datetime
    planned_arrival: datetime
    eta: datetime | None
    departed_at: datetime | None
    arrived_at: datetime | None
    device_id: str | None
    temperature_min: float | None
    temperature_max: float | None
    weight_kg: float | None
    freight_cost: Dec | None
    reference: str
    latitude: float | None
    longitude: float | None
    position_time: datetime | None
    legs: list[LegOut]


class ShipmentEventOut(Out):
    event_id: int
    time: datetime
    kind: str
    detail: dict[str, Any]
    message_id: str | None


def _out(session: Session, shipment: Shipment) -> ShipmentOut:
    legs = shipments.shipment_legs(session, shipment.shipment_id)
    fields = {f: getattr(shipment, f) for f in ShipmentOut.model_fields if f != "legs"}
    return ShipmentOut.model_validate({**fields, "legs": [LegOut.model_validate(x) for x in legs]})


@router.post("/shipments", status_code=201, response_model=ShipmentOut)
def create_shipment(
    body: ShipmentIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    """A planned shipment, one leg from origin to destination unless legs are given (they
    must chain from the origin to the destination, each after the one before)."""
    access.check_sites(
        who,
        "shipments.write",
        body.origin_site_id,
        body.destination_site_id,
        *(leg.destination_site_id for leg in body.legs),
    )

    def work(session: Session) -> ShipmentOut:
        fields = body.model_dump(exclude={"legs"})
        legs = [shipments.LegIn(**leg.model_dump()) for leg in body.legs]
        made = shipments.create_shipment(session, shipments.ShipmentIn(**fields, legs=legs))
        return _out(session, made)

    return idempotency.create(ctx, request, who, key, body, work)


class BuildIn(In):
    ship_date: date | None = None  # day 0 of the window; default today (UTC)
    window_days: Annotated[int, Field(ge=0, le=60)] = 2
    site_ids: Annotated[list[Id] | None, Field(max_length=100)] = None
    dry_run: bool = False


class BuildOut(Out):
    summary: dict[str, Any]
    shipments: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    skipped: list[dict[str, str]]


@router.post("/shipments/build", response_model=BuildOut)
def build_shipments(body: BuildIn, ctx: Ctx, who: User) -> BuildOut:
    """Build shipments from released transfer orders (packed, classed, consolidated per
    lane and ship window, rated with the server's LTL tariff: ``SPAREFLOW_TARIFF``, else
    the SAMPLE one) and record them unless ``dry_run``. A scoped caller builds only
    orders between their own sites; ``site_ids`` narrows further."""
    from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
    from spareflow.services.shipment_builder import build

    if not body.dry_run:
        who.require("shipments.write")
    scope = who.site_filter()
    for site_id in body.site_ids or []:
        if scope is not None and site_id not in scope:  # as if it did not exist
            raise NotFound(f"site {site_id!r} does not exist")
    sites = body.site_ids if body.site_ids is not None else scope
    tariff = load_tariff(ctx.settings.tariff_path or SAMPLE_TARIFF)
    today = body.ship_date or datetime.now(UTC).date()
    with unit_of_work(ctx.factory) as session:
        result = build(
            session, tariff, today, window_days=body.window_days, site_ids=sites,
            dry_run=body.dry_run,
        )  # fmt: skip
    return BuildOut(
        summary=result.summary,
        shipments=result.shipments.to_dicts(),
        orders=result.orders.to_dicts(),
        skipped=result.skipped,
    )


@router.get("/shipments", response_model=PageOut[ShipmentOut])
def list_shipments(
    ctx: Ctx,
    who: User,
    page: Paging,
    site_id: Filter = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    device_id: Filter = None,
) -> dict[str, object]:
    """Shipments from or to the caller's sites, latest planned departure first."""
    S = Shipment
    query = select(S).order_by(S.planned_departure.desc(), S.shipment_id)
    if (scope := who.site_filter()) is not None:
        query = query.where(S.origin_site_id.in_(scope) | S.destination_site_id.in_(scope))
    if site_id is not None:
        query = query.where((S.origin_site_id == site_id) | (S.destination_site_id == site_id))
    if status is not None:
        query = query.where(S.status == status)
    if device_id is not None:
        query = query.where(S.device_id == device_id)
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([_out(session, r) for r in rows], total, page)


@router.get("/shipments/{shipment_id}", response_model=ShipmentOut)
def get_shipment(shipment_id: str, ctx: Ctx, who: User) -> ShipmentOut:
    with unit_of_work(ctx.factory) as session:
        return _out(session, access.shipment_for(session, who, shipment_id))


@router.get("/shipments/{shipment_id}/events", response_model=list[ShipmentEventOut])
def shipment_events(shipment_id: str, ctx: Ctx, who: User) -> list[ShipmentEventOut]:
    """Status changes and alerts in event-time order."""
    with unit_of_work(ctx.factory) as session:
        access.shipment_for(session, who, shipment_id)
        return [
            ShipmentEventOut.model_validate(e)
            for e in shipments.shipment_events(session, shipment_id)
        ]
