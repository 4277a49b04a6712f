"""Maintenance work orders: a job on an asset, the parts it needs, the downtime it causes.

A failure work order takes its asset down from the failure until the job is done; a
planned one from its start. ``start`` reserves the parts still needed at the asset's site:
with all of them the job is in progress, otherwise it waits for parts, and the time spent
waiting is summed (the waiting-for-parts share of mean time to repair). ``issue_parts``
consumes reserved parts into the job (and may return removed units to stock as
unserviceable, to feed the repair loop); ``complete`` issues what is left, ends the
downtime and puts the asset back in service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spareflow.errors import NotFound, ParameterError
from spareflow.services import ledger, lifecycle
from spareflow.services.ledger import MoveRequest, fmt, quantity
from spareflow.services.master import default_location_id, get_asset, get_item
from spareflow.services.orders import MAX_CLOCK_SKEW
from spareflow.store.dialect import next_number
from spareflow.store.models import Reservation, WorkOrder, WorkOrderEvent, WorkOrderPart
from spareflow.store.types import utcnow

CONSUMED = "VIRTUAL/CONSUMED"


@dataclass(slots=True)
class WorkOrderView:
    work_order: WorkOrder
    parts: list[WorkOrderPart] = field(default_factory=list)


def create(
    session: Session,
    asset_id: str,
    kind: str,
    username: str,
    *,
    parts: Sequence[tuple[str, Decimal | int | str]] = (),
    priority: int | None = None,
    description: str = "",
    failed_at: datetime | None = None,
    opened_at: datetime | None = None,
) -> WorkOrderView:
    """Open a work order; a failure takes the asset down from ``failed_at`` (default now).

    ``opened_at`` back-dates a planned job recorded late (failures use ``failed_at``).
    """
    if kind not in ("failure", "planned"):
        raise ParameterError("kind", f"failure or planned, got {kind!r}")
    asset = get_asset(session, asset_id)
    if asset.status == "retired":
        raise ParameterError("asset_id", f"asset {asset_id} is retired")
    now = utcnow()
    if failed_at is not None and kind != "failure":
        raise ParameterError("failed_at", "only failure work orders have a failure time")
    if failed_at is not None and failed_at > now:
        raise ParameterError("failed_at", f"in the future: {failed_at.isoformat()}")
    if opened_at is not None:
        if kind == "failure":
            raise ParameterError("opened_at", "a failure opens at failed_at")
        if opened_at.tzinfo is None or opened_at > now:
            raise ParameterError("opened_at", f"a past time with an offset, got {opened_at}")
    prio = priority if priority is not None else (1 if kind == "failure" else 5)
    if not 1 <= prio <= 9:
        raise ParameterError("priority", f"1 (equipment down) to 9, got {prio}")
    checked = []
    for n, (item_id, amount) in enumerate(parts, start=1):
        get_item(session, item_id)
        q = quantity(amount, f"parts[{n}].quantity")
        if q <= 0:
            raise ParameterError(f"parts[{n}].quantity", f"must be > 0, got {fmt(q)}")
        checked.append((item_id, q))
    opened = failed_at or opened_at or now
    wo = WorkOrder(
        number=next_number(session, "WO"),
        asset_id=asset_id,
        site_id=asset.site_id,
        kind=kind,
        status="open",
        priority=prio,
        description=description,
        opened_at=opened,
        downtime_start=opened if kind == "failure" else None,
        created_by=username,
    )
    session.add(wo)
    session.flush()
    rows = [
        WorkOrderPart(work_order_id=wo.work_order_id, item_id=i, quantity_required=q)
        for i, q in checked
    ]
    session.add_all(rows)
    if kind == "failure":
        asset.status = "down"
    _event(session, wo, "create", None, "open", username, opened)
    session.flush()
    return WorkOrderView(wo, rows)


def get(session: Session, work_order_id: int, *, lock: bool = False) -> WorkOrderView:
    wo = session.get(WorkOrder, work_order_id, with_for_update=lock)
    if wo is None:
        raise NotFound(f"work order {work_order_id} does not exist")
    parts = list(
        session.scalars(
            select(WorkOrderPart)
            .where(WorkOrderPart.work_order_id == work_order_id)
            .order_by(WorkOrderPart.part_id)
        )
    )
    return WorkOrderView(wo, parts)


def act(
    session: Session,
    work_order_id: int,
    action: str,
    username: str,
    payload: Mapping[str, Any] | None = None,
) -> WorkOrderView:
    """Take ``action`` (start, wait_for_parts, issue_parts, complete, cancel)."""
    view = get(session, work_order_id, lock=True)
    wo = view.work_order
    what = f"work order {wo.number}"
    outcomes = lifecycle.check(lifecycle.WORK_ORDER, what, wo.status, action)
    options = dict(payload or {})
    at: datetime = options.get("at") or utcnow()
    last = session.scalar(
        select(func.max(WorkOrderEvent.at)).where(WorkOrderEvent.work_order_id == work_order_id)
    )
    floor = max(
        wo.opened_at,
        last.replace(tzinfo=UTC) if last and last.tzinfo is None else last or wo.opened_at,
    )
    if at.tzinfo is None:
        raise ParameterError("at", f"{at.isoformat()} has no time zone; give an offset")
    if at > utcnow() + MAX_CLOCK_SKEW:
        raise ParameterError("at", f"{at.isoformat()} is in the future")
    if at < floor:
        raise ParameterError(
            "at", f"{at.isoformat()} is before the job's last step ({floor.isoformat()})"
        )
    with session.begin_nested():
        if action == "start":
            new = "in_progress" if _reserve_parts(session, view, username) else "waiting_for_parts"
            wo.started_at = wo.started_at or at
            if wo.kind == "planned" and wo.downtime_start is None:
                wo.downtime_start = at
                get_asset(session, wo.asset_id).status = "down"
        elif action == "wait_for_parts":
            new = "waiting_for_parts"
        elif action == "issue_parts":
            _issue(session, view, username, at, options.get("removed") or [])
            new = "in_progress"
        elif action == "complete":
            _reserve_parts(session, view, username)
            _issue(session, view, username, at, options.get("removed") or [])
            short = [p.item_id for p in view.parts if p.quantity_issued < p.quantity_required]
            if short and not options.get("partial", False):
                raise ParameterError(
                    "partial",
                    f"{what}: parts not issued ({', '.join(short)}); complete with partial=true "
                    "to close it without them",
                )
            wo.completed_at = at
            if wo.downtime_start is not None:
                wo.downtime_end = at
            get_asset(session, wo.asset_id).status = "operating"
            new = "done"
        else:  # cancel
            for part in view.parts:
                for reservation in _reservations(session, part):
                    ledger.release(session, reservation.reservation_id)
            if wo.downtime_start is not None:
                wo.downtime_end = at
            get_asset(session, wo.asset_id).status = "operating"
            new = "cancelled"
        if new not in outcomes:  # pragma: no cover - a bug, not a user error
            raise RuntimeError(f"{action} led {what} to {new}")
        old = wo.status
        if old == "waiting_for_parts" and new != "waiting_for_parts" and wo.waiting_since:
            wo.waiting_hours += max(0.0, (at - wo.waiting_since).total_seconds() / 3600.0)
            wo.waiting_since = None
        if new == "waiting_for_parts" and old != "waiting_for_parts":
            wo.waiting_since = at
        wo.status = new
        _event(session, wo, action, old, new, username, at)
        session.flush()
    return view


def _reservations(session: Session, part: WorkOrderPart) -> list[Reservation]:
    return list(
        session.scalars(
            select(Reservation)
            .where(Reservation.work_order_part_id == part.part_id, Reservation.quantity > 0)
            .order_by(Reservation.reservation_id)
        )
    )


def _reserve_parts(session: Session, view: WorkOrderView, username: str) -> bool:
    """Reserve what each part still lacks; True when every part is covered."""
    location = default_location_id(view.work_order.site_id)
    covered = True
    for part in view.parts:
        held = sum((r.quantity for r in _reservations(session, part)), Decimal(0))
        need = part.quantity_required - part.quantity_issued - held
        if need <= 0:
            continue
        got = ledger.reserve(
            session,
            part.item_id,
            location,
            need,
            username,
            work_order_part_id=part.part_id,
            partial=True,
        )
        if got is None or got.quantity < need:
            covered = False
    return covered


def _issue(
    session: Session,
    view: WorkOrderView,
    username: str,
    at: datetime,
    removed: Sequence[Mapping[str, Any]],
) -> None:
    wo = view.work_order
    location = default_location_id(wo.site_id)
    moves: list[MoveRequest] = []
    for part in view.parts:
        for reservation in _reservations(session, part):
            moves.append(
                MoveRequest(
                    part.item_id,
                    reservation.quantity,
                    location,
                    CONSUMED,
                    "consumption",
                    reference=wo.number,
                    moved_at=at,
                    work_order_id=wo.work_order_id,
                    reservation_id=reservation.reservation_id,
                )
            )
            part.quantity_issued = part.quantity_issued + reservation.quantity
    for n, unit in enumerate(removed, start=1):
        item = get_item(session, str(unit.get("item_id", "")))
        moves.append(
            MoveRequest(
                item.item_id,
                quantity(unit.get("quantity", 1), f"removed[{n}].quantity"),
                CONSUMED,
                location,
                "removal",
                reference=wo.number,
                serial=str(unit.get("serial", "")),
                moved_at=at,
                from_status="unserviceable" if item.repairable else "serviceable",
                to_status="unserviceable" if item.repairable else "serviceable",
                work_order_id=wo.work_order_id,
            )
        )
    ledger.post(session, moves, username)


def _event(
    session: Session,
    wo: WorkOrder,
    action: str,
    old: str | None,
    new: str,
    username: str,
    at: datetime,
) -> None:
    session.add(
        WorkOrderEvent(
            work_order_id=wo.work_order_id,
            action=action,
            from_status=old,
            to_status=new,
            at=at,
            username=username,
        )
    )
