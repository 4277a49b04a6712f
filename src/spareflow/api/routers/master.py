"""Master data: items, sites, locations, partners, assets.

Items and partners are shared by every site; sites, locations and assets are scoped: a
user sees only their sites' (admins see all), and an object outside the scope answers 404
as if it did not exist (OWASP API1, broken object-level authorisation).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, Paging, User
from spareflow.api.routers._common import IdemKey, page_body, paged
from spareflow.api.schemas import (
    AssetIn,
    AssetOut,
    ItemIn,
    ItemOut,
    LocationIn,
    LocationOut,
    PageOut,
    PartnerIn,
    PartnerOut,
    SiteIn,
    SiteOut,
)
from spareflow.errors import NotFound
from spareflow.services import master
from spareflow.services.users import Principal
from spareflow.store.models import Asset, AssetPosition, Item, Location, Partner, Site
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["master data"])
Search = Annotated[str | None, Query(max_length=64, description="id starts with")]


def _hidden(who: Principal, site_id: str | None, what: str) -> None:
    if not who.sees(site_id):
        raise NotFound(f"{what} does not exist")


# --- items ---


@router.post("/items", status_code=201, response_model=ItemOut)
def add_item(body: ItemIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None) -> object:
    who.require("master.write")

    def work(session: Session) -> ItemOut:
        fields = body.model_dump(exclude={"item_id"})
        return ItemOut.model_validate(master.add_item(session, body.item_id, **fields))

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/items", response_model=PageOut[ItemOut])
def list_items(
    ctx: Ctx,
    who: User,
    page: Paging,
    q: Search = None,
    repairable: bool | None = None,
    criticality: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, object]:
    query = select(Item).order_by(Item.item_id)
    if q:
        query = query.where(Item.item_id.startswith(q, autoescape=True))
    if repairable is not None:
        query = query.where(Item.repairable == repairable)
    if criticality is not None:
        query = query.where(Item.criticality == criticality)
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([ItemOut.model_validate(r) for r in rows], total, page)


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(item_id: str, ctx: Ctx, who: User) -> ItemOut:
    with unit_of_work(ctx.factory) as session:
        return ItemOut.model_validate(master.get_item(session, item_id))


@router.get("/items/{item_id}/substitutes", response_model=list[str])
def item_substitutes(item_id: str, ctx: Ctx, who: User) -> list[str]:
    """Items usable for this one: its superseding chain, then two-way interchangeable ones."""
    with unit_of_work(ctx.factory) as session:
        return master.substitutes(session, item_id)


# --- sites and locations ---


@router.post("/sites", status_code=201, response_model=SiteOut)
def add_site(body: SiteIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None) -> object:
    who.require("sites.write")

    def work(session: Session) -> SiteOut:
        fields = body.model_dump(exclude={"site_id"})
        return SiteOut.model_validate(master.add_site(session, body.site_id, **fields))

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/sites", response_model=PageOut[SiteOut])
def list_sites(ctx: Ctx, who: User, page: Paging, q: Search = None) -> dict[str, object]:
    query = select(Site).order_by(Site.site_id)
    if (scope := who.site_filter()) is not None:
        query = query.where(Site.site_id.in_(scope))
    if q:
        query = query.where(Site.site_id.startswith(q, autoescape=True))
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([SiteOut.model_validate(r) for r in rows], total, page)


@router.get("/sites/{site_id}", response_model=SiteOut)
def get_site(site_id: str, ctx: Ctx, who: User) -> SiteOut:
    _hidden(who, site_id, f"site {site_id!r}")
    with unit_of_work(ctx.factory) as session:
        return SiteOut.model_validate(master.get_site(session, site_id))


@router.post("/locations", status_code=201, response_model=LocationOut)
def add_location(
    body: LocationIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    who.require("sites.write")
    who.require_site(body.site_id)

    def work(session: Session) -> LocationOut:
        row = master.add_location(
            session, body.location_id, body.site_id, kind=body.kind, name=body.name
        )
        return LocationOut.model_validate(row)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/locations", response_model=PageOut[LocationOut])
def list_locations(
    ctx: Ctx, who: User, page: Paging, site_id: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, object]:
    query = select(Location).order_by(Location.location_id)
    if (scope := who.site_filter()) is not None:
        query = query.where(or_(Location.site_id.in_(scope), Location.site_id.is_(None)))
    if site_id is not None:
        query = query.where(Location.site_id == site_id)
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([LocationOut.model_validate(r) for r in rows], total, page)


# --- partners ---


@router.post("/partners", status_code=201, response_model=PartnerOut)
def add_partner(
    body: PartnerIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    who.require("master.write")

    def work(session: Session) -> PartnerOut:
        row = master.add_partner(
            session,
            body.partner_id,
            list(body.roles),
            name=body.name,
            lead_time_days=body.lead_time_days,
        )
        return PartnerOut.model_validate(row)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/partners", response_model=PageOut[PartnerOut])
def list_partners(ctx: Ctx, who: User, page: Paging, q: Search = None) -> dict[str, object]:
    query = select(Partner).order_by(Partner.partner_id)
    if q:
        query = query.where(Partner.partner_id.startswith(q, autoescape=True))
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([PartnerOut.model_validate(r) for r in rows], total, page)


@router.get("/partners/{partner_id}", response_model=PartnerOut)
def get_partner(partner_id: str, ctx: Ctx, who: User) -> PartnerOut:
    with unit_of_work(ctx.factory) as session:
        return PartnerOut.model_validate(master.get_partner(session, partner_id))


# --- assets ---


@router.post("/assets", status_code=201, response_model=AssetOut)
def add_asset(body: AssetIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None) -> object:
    who.require("assets.write")
    who.require_site(body.site_id)

    def work(session: Session) -> AssetOut:
        row = master.add_asset(
            session,
            body.asset_id,
            body.site_id,
            body.model,
            serial_number=body.serial_number,
            install_date=body.install_date,
            operating_hours=body.operating_hours,
            utilisation_hours_per_day=body.utilisation_hours_per_day,
            positions={p.position: (p.item_id, p.quantity) for p in body.positions},
        )
        return _asset_out(session, row)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/assets", response_model=PageOut[AssetOut])
def list_assets(
    ctx: Ctx,
    who: User,
    page: Paging,
    site_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(operating|down|retired)$")] = None,
) -> dict[str, object]:
    query = select(Asset).order_by(Asset.asset_id)
    if (scope := who.site_filter()) is not None:
        query = query.where(Asset.site_id.in_(scope))
    if site_id is not None:
        query = query.where(Asset.site_id == site_id)
    if status is not None:
        query = query.where(Asset.status == status)
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([AssetOut.model_validate(r) for r in rows], total, page)


@router.get("/assets/{asset_id}", response_model=AssetOut)
def get_asset(asset_id: str, ctx: Ctx, who: User) -> AssetOut:
    """The asset with its part positions."""
    with unit_of_work(ctx.factory) as session:
        row = master.get_asset(session, asset_id)
        _hidden(who, row.site_id, f"asset {asset_id!r}")
        return _asset_out(session, row)


def _asset_out(session: Session, row: Asset) -> AssetOut:
    positions = session.scalars(
        select(AssetPosition)
        .where(AssetPosition.asset_id == row.asset_id)
        .order_by(AssetPosition.position)
    )
    base = AssetOut.model_validate(row).model_dump(exclude={"positions"})
    return AssetOut.model_validate({**base, "positions": list(positions)})
