"""The network and its plan: lanes, sourcing rules, DRP runs (planned orders, pegging,
release).

Lanes and rules join two places; a user scoped to sites sees those with either end at
one of theirs and changes only those with every site end at theirs (a supplier is not a
site). A DRP run plans the whole network, as a plan run does; each user reads the
planned orders and pegs of their sites and releases those of their sites.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, Paging, User
from spareflow.api.routers._common import DbId, IdemKey, page_body, paged
from spareflow.api.routers.orders import _out as order_out
from spareflow.api.schemas import Dec, Id, In, OrderOut, Out, PageOut
from spareflow.services import access, allocation, drp, network, promising
from spareflow.services.users import Principal
from spareflow.store.models import DrpPeg, DrpPlannedOrder, DrpRun, Lane, SourcingRule
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["network and DRP"])
Filter = Annotated[str | None, Query(max_length=64)]
NonNegative = Annotated[float, Field(ge=0, le=1e12)]


# --- lanes --------------------------------------------------------------------------------


class LaneIn(In):
    lane_id: Id
    destination_site_id: Id
    mode: Literal["parcel", "ltl", "ftl", "air", "ocean"]
    transit_days: Annotated[float, Field(ge=0, le=3650)]
    origin_site_id: Id | None = None
    origin_partner_id: Id | None = None
    transit_days_sd: Annotated[float, Field(ge=0, le=3650)] = 0.0
    carrier_id: Id | None = None
    distance_km: Annotated[float | None, Field(ge=0, le=1e6)] = None
    cost_per_shipment: NonNegative = 0.0
    cost_per_kg: NonNegative = 0.0
    cost_per_unit: NonNegative = 0.0
    active: bool = True
    tariff_lane: Annotated[str | None, Field(min_length=1, max_length=64)] = None


class LaneOut(Out):
    lane_id: str
    origin_site_id: str | None
    origin_partner_id: str | None
    destination_site_id: str
    mode: str
    carrier_id: str | None
    transit_days: float
    transit_days_sd: float
    distance_km: float | None
    cost_per_shipment: float
    cost_per_kg: float
    cost_per_unit: float
    active: bool
    tariff_lane: str | None


@router.post("/lanes", status_code=201, response_model=LaneOut)
def add_lane(body: LaneIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None) -> object:
    """A lane into a site: from another site or a supplier, by one mode, with its transit
    time and cost model."""
    access.check_sites(who, "master.write", body.destination_site_id, body.origin_site_id)

    def work(session: Session) -> LaneOut:
        lane = network.add_lane(session, network.LaneIn(**body.model_dump()))
        return LaneOut.model_validate(lane)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/lanes", response_model=PageOut[LaneOut])
def list_lanes(
    ctx: Ctx,
    who: User,
    page: Paging,
    site_id: Filter = None,
    mode: Annotated[str | None, Query(max_length=8)] = None,
    active: bool | None = None,
) -> dict[str, object]:
    """Lanes with either end at the caller's sites; ``site_id``: into or out of it."""
    query = select(Lane).order_by(Lane.lane_id)
    if (scope := who.site_filter()) is not None:
        query = query.where(Lane.destination_site_id.in_(scope) | Lane.origin_site_id.in_(scope))
    if site_id is not None:
        query = query.where(
            (Lane.destination_site_id == site_id) | (Lane.origin_site_id == site_id)
        )
    if mode is not None:
        query = query.where(Lane.mode == mode)
    if active is not None:
        query = query.where(Lane.active.is_(active))
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([LaneOut.model_validate(r) for r in rows], total, page)


@router.get("/lanes/{lane_id}", response_model=LaneOut)
def get_lane(lane_id: str, ctx: Ctx, who: User) -> LaneOut:
    with unit_of_work(ctx.factory) as session:
        return LaneOut.model_validate(access.lane_for(session, who, lane_id))


# --- sourcing rules -----------------------------------------------------------------------


class RuleIn(In):
    site_id: Id
    source_site_id: Id | None = None
    supplier_id: Id | None = None
    item_id: Id | None = None
    rank: Annotated[int, Field(ge=1, le=99)] = 1
    share: Annotated[float, Field(gt=0, le=1)] = 1.0
    lane_id: Id | None = None


class RuleOut(Out):
    rule_id: int
    site_id: str
    item_id: str | None
    rank: int
    share: float
    source_site_id: str | None
    supplier_id: str | None
    lane_id: str


@router.post("/sourcing-rules", status_code=201, response_model=RuleOut)
def add_rule(body: RuleIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None) -> object:
    """Where a site gets an item (no item: every item without a rule of its own): rank 1
    the primary sources split by share, rank 2 and up the alternates. The lane is the one
    named, else the fastest active one from the source to the site."""
    access.check_sites(who, "master.write", body.site_id, body.source_site_id)

    def work(session: Session) -> RuleOut:
        rule = network.add_rule(session, network.RuleIn(**body.model_dump()))
        return RuleOut.model_validate(rule)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/sourcing-rules", response_model=PageOut[RuleOut])
def list_rules(
    ctx: Ctx, who: User, page: Paging, site_id: Filter = None, item_id: Filter = None
) -> dict[str, object]:
    """Rules of the caller's sites, or sourcing from them; ``site_id``: the receiving site."""
    query = select(SourcingRule).order_by(SourcingRule.rule_id)
    if (scope := who.site_filter()) is not None:
        query = query.where(
            SourcingRule.site_id.in_(scope) | SourcingRule.source_site_id.in_(scope)
        )
    if site_id is not None:
        query = query.where(SourcingRule.site_id == site_id)
    if item_id is not None:
        query = query.where(SourcingRule.item_id == item_id)
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([RuleOut.model_validate(r) for r in rows], total, page)


# --- DRP runs -----------------------------------------------------------------------------


class DrpRunIn(In):
    bucket: Literal["day", "week"] = "week"
    horizon: Annotated[int, Field(ge=1, le=520)] = 26
    start: date | None = None
    history_days: Annotated[int, Field(ge=1, le=3660)] = 365
    periods_of_supply: Annotated[int, Field(ge=1, le=520)] = 1
    safety_stock: bool = True


class DrpRunOut(Out):
    run_id: int
    created_at: datetime
    created_by: str
    options: dict[str, Any]
    summary: dict[str, Any]
    item_sites: int


def _run_out(record: DrpRun, who: Principal) -> DrpRunOut:
    """A run as the caller may see it: the figures of their sites only (OWASP API3)."""
    out = DrpRunOut.model_validate(record)
    scope = who.site_filter()
    if scope is None:
        return out
    summary = drp.scoped_summary(record.summary, scope)
    visible = sum(int(row.get("item_sites", 0)) for row in summary["by_site"])
    return out.model_copy(update={"summary": summary, "item_sites": visible})


class PlannedOrderOut(Out):
    planned_order_id: int
    kind: str
    item_id: str
    site_id: str
    source_site_id: str | None
    supplier_id: str | None
    lane_id: str | None
    release_date: date
    receipt_date: date
    quantity: Dec
    past_due: bool
    order_id: int | None


class PegOut(Out):
    peg_id: int
    item_id: str
    site_id: str
    supply_kind: str
    supply_ref: str
    supply_date: date | None
    demand_kind: str
    demand_ref: str
    demand_date: date | None
    quantity: float


class ReleaseIn(In):
    planned_order_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None,
        Field(min_length=1, max_length=10_000),
    ] = None
    through: date | None = None
    default_supplier: Id | None = None


@router.post("/drp-runs", status_code=201, response_model=DrpRunOut)
def create_drp_run(
    body: DrpRunIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    """Plan the store's network now: time-phased requirements through every echelon,
    planned orders offset by lane lead time, pegged to the demand that caused them."""
    who.require("plan.run")
    options = drp.DrpOptions(**body.model_dump())

    def work(session: Session) -> DrpRunOut:
        record = drp.store_run(session, drp.compute(session, options), who.username)
        return _run_out(record, who)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/drp-runs", response_model=PageOut[DrpRunOut])
def list_drp_runs(ctx: Ctx, who: User, page: Paging) -> dict[str, object]:
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, select(DrpRun).order_by(DrpRun.run_id.desc()), page)
        return page_body([_run_out(r, who) for r in rows], total, page)


@router.get("/drp-runs/{run_id}", response_model=DrpRunOut)
def get_drp_run(run_id: DbId, ctx: Ctx, who: User) -> DrpRunOut:
    with unit_of_work(ctx.factory) as session:
        return _run_out(drp.get_run(session, run_id), who)


@router.get("/drp-runs/{run_id}/planned-orders", response_model=PageOut[PlannedOrderOut])
def planned_orders(
    run_id: DbId,
    ctx: Ctx,
    who: User,
    page: Paging,
    site_id: Filter = None,
    item_id: Filter = None,
    kind: Literal["purchase", "transfer"] | None = None,
    released: bool | None = None,
    past_due: bool | None = None,
) -> dict[str, object]:
    """The run's planned orders into or out of the caller's sites, by release date."""
    P = DrpPlannedOrder
    query = select(P).where(P.run_id == run_id).order_by(P.release_date, P.planned_order_id)
    if (scope := who.site_filter()) is not None:
        query = query.where(P.site_id.in_(scope) | P.source_site_id.in_(scope))
    if site_id is not None:
        query = query.where((P.site_id == site_id) | (P.source_site_id == site_id))
    if item_id is not None:
        query = query.where(P.item_id == item_id)
    if kind is not None:
        query = query.where(P.kind == kind)
    if released is not None:
        query = query.where(P.order_id.is_not(None) if released else P.order_id.is_(None))
    if past_due is not None:
        query = query.where(P.past_due.is_(past_due))
    with unit_of_work(ctx.factory) as session:
        drp.get_run(session, run_id)
        rows, total = paged(session, query, page)
        return page_body([PlannedOrderOut.model_validate(r) for r in rows], total, page)


@router.get("/drp-runs/{run_id}/pegging", response_model=PageOut[PegOut])
def pegging(
    run_id: DbId,
    ctx: Ctx,
    who: User,
    page: Paging,
    site_id: Filter = None,
    item_id: Filter = None,
    short_only: bool = False,
) -> dict[str, object]:
    """Which supply covers which demand at the caller's sites; ``short_only``: the
    demands no supply reaches."""
    query = select(DrpPeg).where(DrpPeg.run_id == run_id).order_by(DrpPeg.peg_id)
    if (scope := who.site_filter()) is not None:
        query = query.where(DrpPeg.site_id.in_(scope))
    if site_id is not None:
        query = query.where(DrpPeg.site_id == site_id)
    if item_id is not None:
        query = query.where(DrpPeg.item_id == item_id)
    if short_only:
        query = query.where(DrpPeg.supply_kind == "none")
    with unit_of_work(ctx.factory) as session:
        drp.get_run(session, run_id)
        rows, total = paged(session, query, page)
        return page_body([PegOut.model_validate(r) for r in rows], total, page)


@router.post("/drp-runs/{run_id}/release", status_code=201, response_model=list[OrderOut])
def release(
    run_id: DbId,
    ctx: Ctx,
    who: User,
    request: Request,
    body: ReleaseIn | None = None,
    key: IdemKey = None,
) -> object:
    """Planned orders as draft purchase and transfer orders: those named, else those to
    release on or before ``through`` (default: the run's first bucket: due now and past
    due), of the caller's sites. Each planned order is released once."""
    who.require("orders.plan")
    options = body or ReleaseIn()

    def work(session: Session) -> list[OrderOut]:
        made = drp.release(
            session,
            run_id,
            who.username,
            planned_order_ids=options.planned_order_ids,
            through=options.through,
            default_supplier=options.default_supplier,
            site_ids=who.site_filter(),
        )
        return [order_out(v) for v in made]

    return idempotency.create(ctx, request, who, key, options, work)


# --- order promising and allocation ---------------------------------------------------------


class PromiseLineIn(In):
    item_id: Id
    site_id: Id
    quantity: Annotated[float, Field(gt=0, le=1e12)]
    wanted: date | None = None
    priority: Annotated[int, Field(ge=1, le=9)] = 5


class PromiseIn(In):
    lines: Annotated[list[PromiseLineIn], Field(min_length=1, max_length=1000)]
    horizon_days: Annotated[int, Field(ge=1, le=promising.MAX_HORIZON_DAYS)] = 90


@router.post("/promise", response_model=list[promising.Promise])
def promise(body: PromiseIn, ctx: Ctx, who: User) -> list[promising.Promise]:
    """Available-to-promise for order lines (nothing is reserved): per line the quantity
    and date that can be promised, from the site's stock and receipts, a superseding
    part at the site, or another of the caller's sites over a lane (with the lane, ship
    date and cost); what cannot be promised in the horizon is short."""
    requests = [promising.LineRequest(**line.model_dump()) for line in body.lines]
    with unit_of_work(ctx.factory) as session:
        return promising.promise(
            session, requests, horizon_days=body.horizon_days, site_ids=who.site_filter()
        )


class AllocatedDemandOut(Out):
    item_id: str
    ref: str
    kind: str
    class_name: str
    priority: int | None
    due_in_days: int
    destination_site_id: str
    quantity: float
    allocated: float
    short: float


class TransshipmentOut(Out):
    item_id: str
    ref: str
    from_site_id: str
    to_site_id: str
    lane_id: str
    quantity: float
    transit_days: float
    cost: float


class AllocationOut(Out):
    site_id: str
    summary: dict[str, Any]
    demands: list[AllocatedDemandOut]
    transshipments: list[TransshipmentOut]


@router.get("/allocation", response_model=AllocationOut)
def allocate(
    ctx: Ctx,
    who: User,
    site_id: Annotated[str, Query(min_length=1, max_length=64)],
    item_id: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> AllocationOut:
    """How ``site_id``'s stock would be shared between its open demands (equipment down,
    then service contracts, then replenishment by fair share between sites), and lateral
    transshipments for what stays short from the caller's other sites. Nothing is
    reserved or moved."""
    with unit_of_work(ctx.factory) as session:
        result = allocation.allocate(session, site_id, item_ids=item_id, site_ids=who.site_filter())
    return AllocationOut(
        site_id=result.site_id,
        summary=result.summary,
        demands=[AllocatedDemandOut.model_validate(r) for r in result.demands.to_dicts()],
        transshipments=[
            TransshipmentOut.model_validate(r) for r in result.transshipments.to_dicts()
        ],
    )
