"""The SQL behind ``services.kpis``: one method per KPI family, a few statements each.

Every statement is an aggregate or returns one row per order, order line, work order or
stocked (item, location, status); none returns one row per move. Results are plain data
(counts, exact Decimals, floats in days or hours); ``services.kpis`` turns them into KPIs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from spareflow.services.master import default_location_id
from spareflow.store.models import (
    Asset,
    Item,
    Location,
    Move,
    Order,
    OrderEvent,
    OrderLine,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPart,
)

DEMAND_REASONS = ("issue", "consumption")
"""Move reasons that take stock out of an internal location to meet demand."""

DAY, HOUR = 86400.0, 3600.0
ZERO = Decimal(0)

Stock = dict[tuple[str, str, str], tuple[Decimal, Decimal]]
"""On hand and unit cost per (item_id, location_id, status)."""
Pairs = set[tuple[str, str]]
"""(item_id, location_id) pairs."""


@dataclass(frozen=True, slots=True)
class Delivered:
    """A customer order delivered in the period."""

    lead_days: float  # created_at -> delivered_at
    lines: int
    lines_right: int  # lines delivered right first time
    otif: bool


@dataclass(frozen=True, slots=True)
class Fill:
    """Demand events and their units: demanded, and served from stock at once."""

    events: int
    short_events: int
    units: Decimal
    filled: Decimal
    pairs: Pairs  # (item, the site's stock location) of every demanded line or part


class Query:
    """The period [start, end) at ``sites`` (None: every site; empty: none)."""

    def __init__(
        self, session: Session, start: datetime, end: datetime, sites: tuple[str, ...] | None
    ) -> None:
        self.s, self.start, self.end, self.sites = session, start, end, sites

    def at_sites(self, column: Any) -> ColumnElement[bool]:
        if self.sites is None:
            return true()
        return column.in_(self.sites) if self.sites else false()

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)

    # --- orders ----------------------------------------------------------------------

    def delivered_customer_orders(self) -> list[Delivered]:
        """Customer orders whose deliver event's ``delivered_at`` falls in the period."""
        delivered_at = OrderEvent.detail["delivered_at"].as_string()
        # a coarse filter on the ISO day in SQL (an offset moves it by < 1 day); exact below
        lo = (self.start - timedelta(days=2)).date().isoformat()
        hi = (self.end + timedelta(days=2)).date().isoformat()
        event = (
            select(OrderEvent.order_id, OrderEvent.at, delivered_at.label("delivered_at"))
            .join(Order, Order.order_id == OrderEvent.order_id)
            .where(
                Order.kind == "customer",
                OrderEvent.action == "deliver",
                self.at_sites(Order.site_id),
                or_(
                    func.substr(delivered_at, 1, 10).between(lo, hi),
                    and_(delivered_at.is_(None), self.within(OrderEvent.at)),
                ),
            )
            .subquery()
        )
        line = OrderLine
        right = case((line.delivered_right_first_time.is_(True), 1), else_=0)
        short = case((line.quantity_shipped < line.quantity, 1), else_=0)
        lines = (
            select(
                line.order_id,
                func.count().label("n"),
                func.sum(right).label("right"),
                func.sum(short).label("short"),
                func.max(line.due_date).label("due"),
            )
            .where(line.order_id.in_(select(event.c.order_id)))
            .group_by(line.order_id)
            .subquery()
        )
        rows = self.s.execute(
            select(
                Order.created_at,
                Order.promised_date,
                event.c.at,
                event.c.delivered_at,
                lines.c.n,
                lines.c.right,
                lines.c.short,
                lines.c.due,
            )
            .join(event, event.c.order_id == Order.order_id)
            .join(lines, lines.c.order_id == Order.order_id)
        )
        out = []
        for created, promised, recorded, text, n, n_right, n_short, due in rows:
            when = parse_time(text) if text else recorded
            if self.start <= when < self.end:
                otif = on_time(when, promised or due) and int(n_short) == 0
                lead = (when - created).total_seconds() / DAY
                out.append(Delivered(lead, int(n), int(n_right), otif))
        return out

    def supplier_lead_times(self) -> list[tuple[str, float]]:
        """(partner, days from the order's confirm event to the line's first receipt)."""
        confirm = (
            select(OrderEvent.order_id, func.min(OrderEvent.at).label("at"))
            .where(OrderEvent.action == "confirm")
            .group_by(OrderEvent.order_id)
            .subquery()
        )
        rows = self.s.execute(
            select(Order.partner_id, confirm.c.at, OrderLine.first_receipt_at)
            .join(Order, Order.order_id == OrderLine.order_id)
            .join(confirm, confirm.c.order_id == Order.order_id)
            .where(
                Order.kind == "purchase",
                self.at_sites(Order.site_id),
                self.within(OrderLine.first_receipt_at),
            )
        )
        return [
            (partner or "", (received - confirmed).total_seconds() / DAY)
            for partner, confirmed, received in rows
        ]

    def purchase_otif(self) -> tuple[int, int]:
        """(OTIF, all) purchase orders whose receiving ended (received or closed) in the period.

        Receiving ends at the last receipt of any line; on time if that UTC day is on or
        before promised_date (else the latest line due_date; neither: on time); in full if
        every line received at least its quantity.
        """
        short = case((OrderLine.quantity_received < OrderLine.quantity, 1), else_=0)
        lines = (
            select(
                OrderLine.order_id,
                func.max(OrderLine.last_receipt_at).label("last"),
                func.max(OrderLine.due_date).label("due"),
                func.sum(short).label("short"),
            )
            .group_by(OrderLine.order_id)
            .subquery()
        )
        rows = self.s.execute(
            select(Order.promised_date, lines.c.last, lines.c.due, lines.c.short)
            .join(lines, lines.c.order_id == Order.order_id)
            .where(
                Order.kind == "purchase",
                Order.status.in_(("received", "closed")),
                self.at_sites(Order.site_id),
                self.within(lines.c.last),
            )
        ).all()
        hits = sum(
            on_time(last, promised or due) and int(n_short) == 0
            for promised, last, due, n_short in rows
        )
        return hits, len(rows)

    def customer_first_allocations(self) -> Fill:
        """Units allocated at each customer order's first allocate event, if in the period."""
        first = (
            select(OrderEvent.order_id, func.min(OrderEvent.event_id).label("event_id"))
            .join(Order, Order.order_id == OrderEvent.order_id)
            .where(
                Order.kind == "customer",
                OrderEvent.action == "allocate",
                self.at_sites(Order.site_id),
            )
            .group_by(OrderEvent.order_id)
            .subquery()
        )
        chosen = (
            select(OrderEvent.order_id, OrderEvent.detail, Order.site_id)
            .join(first, first.c.event_id == OrderEvent.event_id)
            .join(Order, Order.order_id == OrderEvent.order_id)
            .where(self.within(OrderEvent.at))
            .subquery()
        )
        ordered = (
            select(OrderLine.order_id, func.sum(OrderLine.quantity).label("units"))
            .where(OrderLine.order_id.in_(select(chosen.c.order_id)))
            .group_by(OrderLine.order_id)
            .subquery()
        )
        events, short, units, filled = 0, 0, ZERO, ZERO
        for detail, wanted in self.s.execute(
            select(chosen.c.detail, ordered.c.units).join(
                ordered, ordered.c.order_id == chosen.c.order_id
            )
        ):
            allocated = (detail or {}).get("allocated") or {}
            got = sum((Decimal(str(v)) for v in allocated.values()), ZERO)
            events, units, filled = events + 1, units + wanted, filled + got
            short += got < wanted
        pairs = {
            (item, default_location_id(site))
            for item, site in self.s.execute(
                select(OrderLine.item_id, chosen.c.site_id)
                .join(chosen, chosen.c.order_id == OrderLine.order_id)
                .distinct()
            )
        }
        return Fill(events, short, units, filled, pairs)

    # --- maintenance -----------------------------------------------------------------

    def work_order_first_starts(self) -> Fill:
        """Work orders with parts whose first start is in the period: straight to work or not."""
        first = (
            select(WorkOrderEvent.work_order_id, func.min(WorkOrderEvent.event_id).label("eid"))
            .where(WorkOrderEvent.action == "start")
            .group_by(WorkOrderEvent.work_order_id)
            .subquery()
        )
        started = (
            select(WorkOrder.work_order_id, WorkOrder.site_id, WorkOrderEvent.to_status)
            .join(first, first.c.work_order_id == WorkOrder.work_order_id)
            .join(WorkOrderEvent, WorkOrderEvent.event_id == first.c.eid)
            .where(self.at_sites(WorkOrder.site_id), self.within(WorkOrderEvent.at))
            .subquery()
        )
        part = WorkOrderPart
        events, short, units, filled = 0, 0, ZERO, ZERO
        for status, n, required in self.s.execute(
            select(
                started.c.to_status,
                func.count(distinct(started.c.work_order_id)),
                func.sum(part.quantity_required),
            )
            .join(part, part.work_order_id == started.c.work_order_id)
            .group_by(started.c.to_status)
        ):
            events, units = events + n, units + required
            if status == "in_progress":
                filled += required
            else:
                short += n
        pairs = {
            (item, default_location_id(site))
            for item, site in self.s.execute(
                select(part.item_id, started.c.site_id)
                .join(started, started.c.work_order_id == part.work_order_id)
                .distinct()
            )
        }
        return Fill(events, short, units, filled, pairs)

    def repairs(self) -> list[tuple[float, float]]:
        """(repair hours, waiting hours) of failure work orders done in the period."""
        rows = self.s.execute(
            select(WorkOrder.downtime_start, WorkOrder.downtime_end, WorkOrder.waiting_hours).where(
                WorkOrder.kind == "failure",
                WorkOrder.status == "done",
                self.at_sites(WorkOrder.site_id),
                self.within(WorkOrder.completed_at),
            )
        )
        return [
            ((up - down).total_seconds() / HOUR, float(waiting))
            for down, up, waiting in rows
            if down is not None and up is not None
        ]

    def availability(self) -> tuple[int, float]:
        """(assets not retired, their downtime in the period, hours).

        Each asset's downtime intervals (work orders' downtime_start to downtime_end, or
        to ``end`` while open) are clipped to the period and merged, so that two jobs on
        one asset at once count once.
        """
        live = and_(Asset.status != "retired", self.at_sites(Asset.site_id))
        assets = self.s.scalar(select(func.count()).select_from(Asset).where(live)) or 0
        rows = self.s.execute(
            select(WorkOrder.asset_id, WorkOrder.downtime_start, WorkOrder.downtime_end)
            .join(Asset, Asset.asset_id == WorkOrder.asset_id)
            .where(
                live,
                WorkOrder.downtime_start.is_not(None),
                WorkOrder.downtime_start < self.end,
                or_(WorkOrder.downtime_end.is_(None), WorkOrder.downtime_end > self.start),
            )
        )
        spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for asset, down, up in rows:
            if down is not None:
                spans[asset].append((max(down, self.start), min(up or self.end, self.end)))
        seconds = sum(union_seconds(intervals) for intervals in spans.values())
        return int(assets), seconds / HOUR

    # --- the ledger ------------------------------------------------------------------

    def stock_at(self, *moments: datetime) -> list[Stock]:
        """On hand per (item, internal location, status) at each moment: the sum of the
        moves before it. One pass over the moves for all the moments together."""
        out: list[Stock] = [{} for _ in moments]
        for location, status, sign in (
            (Move.to_location_id, Move.to_status, 1),
            (Move.from_location_id, Move.from_status, -1),
        ):
            sums = [func.sum(case((Move.moved_at < m, Move.quantity), else_=None)) for m in moments]
            rows = self.s.execute(
                select(Move.item_id, location, status, Item.unit_cost, *sums)
                .join(Location, Location.location_id == location)
                .join(Item, Item.item_id == Move.item_id)
                .where(
                    Location.kind == "internal",
                    self.at_sites(Location.site_id),
                    Move.moved_at < max(moments),
                )
                .group_by(Move.item_id, location, status, Item.unit_cost)
            )
            for item, loc, state, cost, *totals in rows:
                for stock, total in zip(out, totals, strict=True):
                    if total is not None:
                        held = stock.get((item, loc, state), (ZERO, cost))[0]
                        stock[(item, loc, state)] = (held + sign * total, cost)
        return out

    def issued(self) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """(units, unit cost) issued or consumed out of each (item, internal location)."""
        rows = self.s.execute(
            select(Move.item_id, Move.from_location_id, Item.unit_cost, func.sum(Move.quantity))
            .join(Location, Location.location_id == Move.from_location_id)
            .join(Item, Item.item_id == Move.item_id)
            .where(
                Location.kind == "internal",
                self.at_sites(Location.site_id),
                Move.reason.in_(DEMAND_REASONS),
                self.within(Move.moved_at),
            )
            .group_by(Move.item_id, Move.from_location_id, Item.unit_cost)
        )
        return {(item, loc): (total, cost) for item, loc, cost, total in rows}

    def reversed_issues(self) -> Decimal:
        """Value of reversals, posted in the period, of issues out of internal locations."""
        original = aliased(Move)
        rows = self.s.execute(
            select(Item.unit_cost, func.sum(Move.quantity))
            .join(original, original.move_id == Move.reverses_move_id)
            .join(Location, Location.location_id == original.from_location_id)
            .join(Item, Item.item_id == Move.item_id)
            .where(
                Location.kind == "internal",
                self.at_sites(Location.site_id),
                original.reason.in_(DEMAND_REASONS),
                self.within(Move.moved_at),
            )
            .group_by(Move.item_id, Item.unit_cost)
        )
        return sum((cost * total for cost, total in rows), ZERO)


def on_time(when: datetime, target: date | None) -> bool:
    """``when`` falls on or before the day ``target`` (UTC days); no target is on time."""
    return target is None or when.astimezone(UTC).date() <= target


def parse_time(text: str) -> datetime:
    """An ISO 8601 time from an event's detail, as aware UTC (naive taken as UTC)."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def union_seconds(intervals: Iterable[tuple[datetime, datetime]]) -> float:
    """Length of the union of [a, b) intervals, seconds (overlapping spans count once)."""
    total, reach = 0.0, None
    for a, b in sorted(intervals):
        lo = a if reach is None else max(a, reach)
        if b > lo:
            total += (b - lo).total_seconds()
            reach = b
    return total
