"""Maintenance work orders over HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, Paging, User
from spareflow.api.routers._common import DbId, IdemKey, page_body, paged
from spareflow.api.schemas import PageOut, WorkOrderActionIn, WorkOrderIn, WorkOrderOut
from spareflow.services import access, work_orders
from spareflow.services.work_orders import WorkOrderView
from spareflow.store.models import WorkOrder
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["work orders"])
Action = Literal["start", "wait_for_parts", "issue_parts", "complete", "cancel"]


def _out(view: WorkOrderView) -> WorkOrderOut:
    return WorkOrderOut.model_validate(
        {
            **WorkOrderOut.model_validate(view.work_order).model_dump(exclude={"parts"}),
            "parts": view.parts,
        }
    )


@router.post("/work-orders", status_code=201, response_model=WorkOrderOut)
def create_work_order(
    body: WorkOrderIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    """Open a work order; a failure takes the asset down from ``failed_at`` (default now)."""

    def work(session: Session) -> WorkOrderOut:
        access.check_new_work_order(session, who, body.asset_id)
        view = work_orders.create(
            session,
            body.asset_id,
            body.kind,
            who.username,
            parts=[(p.item_id, p.quantity) for p in body.parts],
            priority=body.priority,
            description=body.description,
            failed_at=body.failed_at,
        )
        return _out(view)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/work-orders", response_model=PageOut[WorkOrderOut])
def list_work_orders(
    ctx: Ctx,
    who: User,
    page: Paging,
    status: Annotated[str | None, Query(max_length=20)] = None,
    site_id: Annotated[str | None, Query(max_length=64)] = None,
    asset_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, object]:
    query = select(WorkOrder).order_by(WorkOrder.work_order_id.desc())
    if (scope := who.site_filter()) is not None:
        query = query.where(WorkOrder.site_id.in_(scope))
    if status is not None:
        query = query.where(WorkOrder.status == status)
    if site_id is not None:
        query = query.where(WorkOrder.site_id == site_id)
    if asset_id is not None:
        query = query.where(WorkOrder.asset_id == asset_id)
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        views = [work_orders.get(session, r.work_order_id) for r in rows]
        return page_body([_out(v) for v in views], total, page)


@router.get("/work-orders/{work_order_id}", response_model=WorkOrderOut)
def get_work_order(work_order_id: DbId, ctx: Ctx, who: User) -> WorkOrderOut:
    with unit_of_work(ctx.factory) as session:
        return _out(access.work_order_for(session, who, work_order_id))


@router.post("/work-orders/{work_order_id}/actions/{action}", response_model=WorkOrderOut)
def act(
    work_order_id: DbId,
    action: Action,
    ctx: Ctx,
    who: User,
    request: Request,
    body: WorkOrderActionIn | None = None,
    key: IdemKey = None,
) -> object:
    """start (reserves parts; waits if any is short), wait_for_parts, issue_parts (with
    ``removed`` units back to stock), complete (``partial`` to close without missing parts),
    cancel."""
    options = (body or WorkOrderActionIn()).model_dump(exclude_none=True)

    def work(session: Session) -> WorkOrderOut:
        access.work_order_for(session, who, work_order_id, action)
        return _out(work_orders.act(session, work_order_id, action, who.username, options))

    return idempotency.create(ctx, request, who, key, options, work, status=200)
