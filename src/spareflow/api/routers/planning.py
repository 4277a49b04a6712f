"""KPIs and plan runs: the figures the operation is judged by, and the plan that feeds it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, Paging, User
from spareflow.api.routers._common import DbId, IdemKey, page_body, paged
from spareflow.api.routers.orders import _out as order_out
from spareflow.api.schemas import In, OrderOut, Out, PageOut
from spareflow.plan.stock import PlanParams
from spareflow.services import kpis, logistics_kpis, plan_runs
from spareflow.services.users import Principal
from spareflow.store.models import PlanRun, PlanRunLine
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["planning and KPIs"])


@router.get("/kpis")
def get_kpis(
    ctx: Ctx,
    who: User,
    start: AwareDatetime,
    end: AwareDatetime,
    site_id: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """KPIs for [start, end) over the given sites (default: all the caller's sites);
    formulas in docs/kpis.md. A KPI with nothing to measure is null, never 0."""
    sites = _kpi_sites(who, site_id)
    with unit_of_work(ctx.factory) as session:
        return kpis.compute(session, start, end, sites).as_dict()


@router.get("/kpis/logistics")
def get_logistics_kpis(
    ctx: Ctx,
    who: User,
    start: AwareDatetime,
    end: AwareDatetime,
    site_id: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Logistics KPIs for [start, end) over shipments to or from the given sites (default:
    all the caller's sites): transit times per lane, on-time delivery, freight cost per
    shipment, kg and unit, consolidation; formulas in docs/kpis.md. Nothing to measure is
    null, never 0."""
    sites = _kpi_sites(who, site_id)
    with unit_of_work(ctx.factory) as session:
        return logistics_kpis.compute(session, start, end, sites).as_dict()


def _kpi_sites(who: Principal, site_id: list[str] | None) -> list[str] | None:
    """The sites a KPI report covers: those named (each within the caller's scope), else
    the caller's scope (None: every site)."""
    scope = who.site_filter()
    sites = list(site_id) if site_id else scope
    if scope is not None and sites is not None:
        for s in sites:
            who.require_site(s)
    return sites


class PlanRunIn(In):
    target: Annotated[float, Field(gt=0, lt=1)] = 0.95
    budget: Annotated[float | None, Field(ge=0)] = None
    period: Annotated[str, Field(pattern="^(day|week|month)$")] = "month"
    horizon: Annotated[int, Field(ge=1, le=120)] = 12
    as_of: date | None = None


class PlanRunOut(Out):
    run_id: int
    created_at: datetime
    created_by: str
    options: dict[str, Any]
    summary: dict[str, Any]
    item_sites: int
    drafted_at: datetime | None
    drafted_by: str | None
    drafted_sites: list[str]


def _run_out(session: Session, record: PlanRun, who: Principal) -> PlanRunOut:
    """A run as the caller may see it: figures of their sites only (OWASP API3)."""
    out = PlanRunOut.model_validate(record)
    scope = who.site_filter()
    if scope is None:
        return out
    visible = session.scalar(
        select(func.count())
        .select_from(PlanRunLine)
        .where(PlanRunLine.run_id == record.run_id, PlanRunLine.site_id.in_(scope))
    )
    return out.model_copy(
        update={
            "summary": {
                **plan_runs.scoped_summary(record.summary, scope),
                "item_sites": int(visible or 0),
            },
            "item_sites": int(visible or 0),
            "drafted_sites": [s for s in record.drafted_sites or [] if s in scope],
        }
    )


class PlanRunLineOut(Out):
    item_id: str
    site_id: str
    policy: str
    review_period_days: float
    lead_time_days: float
    reorder_point: float
    order_up_to: float
    order_quantity: float
    expected_fill_rate: float
    unit_cost: float
    on_hand: float
    order_now: float


class DraftIn(In):
    default_supplier: Annotated[str | None, Field(max_length=64)] = None


@router.post("/plan-runs", status_code=201, response_model=PlanRunOut)
def create_plan_run(
    body: PlanRunIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    """Plan the store now (synchronously: seconds for thousands of item-sites)."""
    who.require("plan.run")
    from datetime import UTC

    params = PlanParams(
        target=body.target,
        budget=body.budget,
        period=body.period,  # type: ignore[arg-type]
        horizon=body.horizon,
        simulate_days=0,
    )
    as_of = (
        datetime(body.as_of.year, body.as_of.month, body.as_of.day, tzinfo=UTC)
        if body.as_of
        else None
    )

    def work(session: Session) -> PlanRunOut:
        record = plan_runs.run(ctx.factory, session, who.username, params, as_of=as_of)
        return _run_out(session, record, who)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/plan-runs", response_model=PageOut[PlanRunOut])
def list_plan_runs(ctx: Ctx, who: User, page: Paging) -> dict[str, object]:
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, select(PlanRun).order_by(PlanRun.run_id.desc()), page)
        return page_body([_run_out(session, r, who) for r in rows], total, page)


@router.get("/plan-runs/{run_id}", response_model=PlanRunOut)
def get_plan_run(run_id: DbId, ctx: Ctx, who: User) -> PlanRunOut:
    with unit_of_work(ctx.factory) as session:
        return _run_out(session, plan_runs.get(session, run_id), who)


@router.get("/plan-runs/{run_id}/lines", response_model=PageOut[PlanRunLineOut])
def plan_run_lines(
    run_id: DbId, ctx: Ctx, who: User, page: Paging, orders_only: bool = False
) -> dict[str, object]:
    """The run's item-sites of the caller's sites; ``orders_only``: those ordering now."""
    with unit_of_work(ctx.factory) as session:
        plan_runs.get(session, run_id)
        query = plan_runs.lines_query(run_id, who.site_filter(), orders_only)
        rows, total = paged(session, query, page)
        return page_body([PlanRunLineOut.model_validate(r) for r in rows], total, page)


@router.post("/plan-runs/{run_id}/draft-orders", status_code=201, response_model=list[OrderOut])
def draft_plan_run(
    run_id: DbId,
    ctx: Ctx,
    who: User,
    request: Request,
    body: DraftIn | None = None,
    key: IdemKey = None,
) -> object:
    """The run's orders to place now (of the caller's sites) as draft purchase and transfer
    orders, in one call; a run is drafted once."""
    who.require("orders.plan")
    options = body or DraftIn()

    def work(session: Session) -> list[OrderOut]:
        made = plan_runs.draft(
            session,
            run_id,
            who.username,
            site_ids=who.site_filter(),
            default_supplier=options.default_supplier,
        )
        return [order_out(v) for v in made]

    return idempotency.create(ctx, request, who, key, options, work)
