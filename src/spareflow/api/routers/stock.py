"""The ledger over HTTP: post moves (all or none), reverse one, read moves and stock."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, Paging, User
from spareflow.api.routers._common import DbId, IdemKey, page_body, page_of, paged
from spareflow.api.schemas import (
    BulkMovesIn,
    BulkMovesOut,
    MoveIn,
    MoveOut,
    MovesIn,
    PageOut,
    ReversalIn,
    StockOut,
    UnitStockOut,
)
from spareflow.services import access, ledger
from spareflow.services.ledger import MoveRequest
from spareflow.services.users import Principal
from spareflow.store.models import Location, Move
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["inventory"])
IdFilter = Annotated[str | None, Query(max_length=64)]


def _sites(who: Principal, site_id: str | None) -> list[str] | None:
    """The sites a stock query covers: the caller's (None: all), narrowed to ``site_id``."""
    scope = who.site_filter()
    if site_id is None:
        return scope
    return [s for s in (scope or [site_id]) if s == site_id]


def _request(m: MoveIn) -> MoveRequest:
    """A posted move as the ledger takes it (field by field: a dump and re-pack of each
    model was a fifth of a 20,000-move bulk request)."""
    return MoveRequest(
        m.item_id,
        m.quantity,
        m.from_location_id,
        m.to_location_id,
        m.reason,
        reference=m.reference,
        lot=m.lot,
        serial=m.serial,
        from_status=m.from_status,
        to_status=m.to_status,
        moved_at=m.moved_at,
    )


@router.post("/moves", status_code=201, response_model=list[MoveOut])
def post_moves(body: MovesIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None) -> object:
    """Post moves together: every one or none (stock never goes below zero or reservations)."""
    requests = [_request(m) for m in body.moves]
    guard = access.move_guard(who)
    if key is None:  # one round trip where the store can (see ledger.post_alone)
        engine = ctx.factory.kw["bind"]
        alone = ledger.post_alone(engine, requests, who.username, who.site_filter())
        if alone is not None:
            body_out = idempotency.json_ready([MoveOut.model_validate(m) for m in alone])
            return JSONResponse(body_out, status_code=201)

    def work(session: Session) -> list[MoveOut]:
        posted = ledger.post(
            session, requests, who.username, atomic=False, guard=guard, on_server=key is not None
        )
        return [MoveOut.model_validate(m) for m in posted]

    return idempotency.create(ctx, request, who, key, body, work)


@router.post("/moves/bulk", status_code=201, response_model=BulkMovesOut)
def post_moves_bulk(
    body: BulkMovesIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    """Post up to 50,000 moves in one request, all or none, with every check of
    ``POST /moves`` (stock, reservations, serials, sites), written in one bulk statement;
    answers the count, not the moves (read them back with ``GET /moves?reference=``)."""
    requests = [_request(m) for m in body.moves]

    def work(session: Session) -> BulkMovesOut:
        guard = access.move_guard(who)
        return BulkMovesOut(posted=ledger.post_many(session, requests, who.username, guard=guard))

    digest = hashlib.sha256(repr(requests).encode()).hexdigest() if key else None
    return idempotency.create(ctx, request, who, key, None, work, digest=digest)


@router.post("/moves/{move_id}/reversal", status_code=201, response_model=MoveOut)
def reverse_move(
    move_id: DbId, body: ReversalIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    """Correct a move by posting its reverse; a move is reversed at most once."""

    def work(session: Session) -> MoveOut:
        access.move_for(session, who, move_id)
        undo = ledger.reverse(
            session, move_id, who.username, body.note, guard=access.move_guard(who)
        )
        return MoveOut.model_validate(undo)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/moves", response_model=PageOut[MoveOut])
def list_moves(
    ctx: Ctx,
    who: User,
    page: Paging,
    item_id: IdFilter = None,
    location_id: IdFilter = None,
    site_id: IdFilter = None,
    reason: IdFilter = None,
    reference: Annotated[str | None, Query(max_length=100)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, object]:
    """Moves, newest first; filtered to the caller's sites."""
    src, dst = aliased(Location), aliased(Location)
    query = (
        select(Move)
        .join(src, src.location_id == Move.from_location_id)
        .join(dst, dst.location_id == Move.to_location_id)
        .order_by(Move.move_id.desc())
    )
    if (scope := who.site_filter()) is not None:
        query = query.where(
            or_(src.site_id.in_(scope), src.site_id.is_(None)),
            or_(dst.site_id.in_(scope), dst.site_id.is_(None)),
        )
    if item_id is not None:
        query = query.where(Move.item_id == item_id)
    if location_id is not None:
        query = query.where(
            or_(Move.from_location_id == location_id, Move.to_location_id == location_id)
        )
    if site_id is not None:
        query = query.where(or_(src.site_id == site_id, dst.site_id == site_id))
    if reason is not None:
        query = query.where(Move.reason == reason)
    if reference is not None:
        query = query.where(Move.reference == reference)
    if since is not None:
        query = query.where(Move.moved_at >= since)
    if until is not None:
        query = query.where(Move.moved_at < until)
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([MoveOut.model_validate(r) for r in rows], total, page)


@router.get("/moves/{move_id}", response_model=MoveOut)
def get_move(move_id: DbId, ctx: Ctx, who: User) -> MoveOut:
    with unit_of_work(ctx.factory) as session:
        return MoveOut.model_validate(access.move_for(session, who, move_id))


@router.get("/stock", response_model=PageOut[StockOut])
def stock(
    ctx: Ctx,
    who: User,
    page: Paging,
    site_id: IdFilter = None,
    item_id: IdFilter = None,
    location_id: IdFilter = None,
) -> dict[str, object]:
    """On hand, reserved and available per item, location and status (your sites)."""
    sites = _sites(who, site_id)
    with unit_of_work(ctx.factory) as session:
        levels = ledger.stock_levels(
            session, site_ids=sites, item_id=item_id, location_id=location_id
        )
    return page_of(levels, page, StockOut)


@router.get("/stock/units", response_model=PageOut[UnitStockOut])
def stock_units(
    ctx: Ctx,
    who: User,
    page: Paging,
    site_id: IdFilter = None,
    item_id: IdFilter = None,
    serial: IdFilter = None,
) -> dict[str, object]:
    """Stock per lot and serial number with its status (your sites): where is unit SN123,
    which repairables are unserviceable."""
    sites = _sites(who, site_id)
    with unit_of_work(ctx.factory) as session:
        units = ledger.stock_units(session, site_ids=sites, item_id=item_id, serial=serial)
    return page_of(units, page, UnitStockOut)
