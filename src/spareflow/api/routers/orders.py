"""Orders and their lifecycles: create, list, read, act (POST /orders/{id}/actions/{action})."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, Paging, User
from spareflow.api.routers._common import DbId, IdemKey, page_body, paged
from spareflow.api.schemas import OrderActionIn, OrderEventOut, OrderIn, OrderOut, PageOut
from spareflow.services import access, orders
from spareflow.services.orders import LineIn, OrderView
from spareflow.store.models import Order, OrderLine
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["orders"])
Action = Literal[
    "confirm",
    "release",
    "receive",
    "close",
    "cancel",
    "ship",
    "depart",
    "allocate",
    "pick",
    "deliver",
    "send",
    "return",
    "condemn",
]


def _out(view: OrderView) -> OrderOut:
    return OrderOut.model_validate(
        {**OrderOut.model_validate(view.order).model_dump(exclude={"lines"}), "lines": view.lines}
    )


@router.post("/orders", status_code=201, response_model=OrderOut)
def create_order(
    body: OrderIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    """A purchase, transfer, customer or repair order in its first status."""
    access.check_new_order(who, body.kind, body.site_id, body.source_site_id)

    def work(session: Session) -> OrderOut:
        view = orders.create(
            session,
            body.kind,
            body.site_id,
            [LineIn(**line.model_dump()) for line in body.lines],
            who.username,
            partner_id=body.partner_id,
            source_site_id=body.source_site_id,
            priority=body.priority,
            promised_date=body.promised_date,
            note=body.note,
        )
        return _out(view)

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/orders", response_model=PageOut[OrderOut])
def list_orders(
    ctx: Ctx,
    who: User,
    page: Paging,
    kind: Literal["purchase", "transfer", "customer", "repair"] | None = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    site_id: Annotated[str | None, Query(max_length=64)] = None,
    partner_id: Annotated[str | None, Query(max_length=64)] = None,
    item_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, object]:
    """Orders, newest first, of the caller's sites (either end of a transfer)."""
    query = select(Order).order_by(Order.order_id.desc())
    if (scope := who.site_filter()) is not None:
        query = query.where(or_(Order.site_id.in_(scope), Order.source_site_id.in_(scope)))
    if kind is not None:
        query = query.where(Order.kind == kind)
    if status is not None:
        query = query.where(Order.status == status)
    if site_id is not None:
        query = query.where(or_(Order.site_id == site_id, Order.source_site_id == site_id))
    if partner_id is not None:
        query = query.where(Order.partner_id == partner_id)
    if item_id is not None:
        query = query.where(
            Order.order_id.in_(select(OrderLine.order_id).where(OrderLine.item_id == item_id))
        )
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, query, page)
        return page_body([_out(orders.get(session, r.order_id)) for r in rows], total, page)


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: DbId, ctx: Ctx, who: User) -> OrderOut:
    with unit_of_work(ctx.factory) as session:
        return _out(access.order_for(session, who, order_id))


@router.get("/orders/{order_id}/events", response_model=list[OrderEventOut])
def order_events(order_id: DbId, ctx: Ctx, who: User) -> list[OrderEventOut]:
    """The order's audit trail: every action, who took it and when."""
    with unit_of_work(ctx.factory) as session:
        access.order_for(session, who, order_id)
        return [OrderEventOut.model_validate(e) for e in orders.events(session, order_id)]


@router.post("/orders/{order_id}/actions/{action}", response_model=OrderOut)
def act(
    order_id: DbId,
    action: Action,
    ctx: Ctx,
    who: User,
    request: Request,
    body: OrderActionIn | None = None,
    key: IdemKey = None,
) -> object:
    """Move the order along its lifecycle. Options by action: ``receive`` takes
    ``quantities`` ({line_no: qty}, default all open) and ``location_id``; ``deliver`` takes
    ``received`` ({line_no: {item_id, quantity}}) to record discrepancies; ``cancel`` and
    ``condemn`` a ``reason``; any action an ``at`` time. Illegal steps answer 409. With an
    ``Idempotency-Key``, a retried step (a receipt whose answer was lost) is not taken twice."""
    options = (body or OrderActionIn()).model_dump(exclude_none=True)
    if "received" in options:
        options["received"] = {
            n: {k: v for k, v in line.items() if v is not None}
            for n, line in options["received"].items()
        }

    def work(session: Session) -> OrderOut:
        access.order_for(session, who, order_id, action)
        return _out(orders.act(session, order_id, action, who.username, options))

    return idempotency.create(ctx, request, who, key, options, work, status=200)
