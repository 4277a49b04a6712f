"""Operations KPIs for a period and a set of sites, from the ledger, orders and work orders.

``compute(session, start, end, site_ids)`` measures the half-open period [start, end):
lead times, order accuracy, fill rate, on-time in-full, perfect orders, mean time to
repair, equipment availability, inventory value and turns, and stockouts. docs/kpis.md
gives every formula and the events each one counts; the docstrings below repeat them in
short. A KPI with nothing to measure in the period is None, never a made-up 0.

The work is done by a fixed number of SQL aggregates, whatever the size of the ledger:
stock at a time is the sum of the moves before it (grouped per item, location and status
in the database), never the balances, so a report for last quarter is still right after
this quarter's moves. Python only touches one row per order, order line, work order or
stocked (item, location, status), never one per move.

Times are UTC; "on or before a date" compares the UTC calendar day of the event with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.errors import NotFound, ParameterError
from spareflow.services._kpi_queries import DAY, DEMAND_REASONS, ZERO, Query, Stock
from spareflow.services.ledger import fmt
from spareflow.store.models import Site

# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Durations:
    """Durations of ``count`` events: mean and 90th percentile (numpy, linear), one unit."""

    count: int
    mean: float
    p90: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Durations | None:
        """The summary of ``values``; None when there are none."""
        if not values:
            return None
        array = np.asarray(values, dtype=np.float64)
        return cls(len(values), float(array.mean()), float(np.percentile(array, 90)))

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "p90": self.p90}


@dataclass(frozen=True, slots=True)
class Ratio:
    """A share: ``numerator / denominator`` (events or units), with both parts kept."""

    numerator: Decimal
    denominator: Decimal

    @classmethod
    def of(cls, numerator: Decimal | int, denominator: Decimal | int) -> Ratio | None:
        """The ratio; None when the denominator is 0 (nothing to measure)."""
        if denominator == 0:
            return None
        return cls(Decimal(numerator), Decimal(denominator))

    @property
    def value(self) -> float:
        return float(self.numerator / self.denominator)

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "numerator": fmt(self.numerator),
            "denominator": fmt(self.denominator),
        }


@dataclass(frozen=True, slots=True)
class Repair:
    """Mean time to repair of failure work orders, hours, and its waiting-for-parts share."""

    hours: Durations
    waiting_hours: float
    waiting_share: float | None  # sum(waiting_hours) / sum(repair hours); None if that is 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "hours": self.hours.as_dict(),
            "waiting_hours": self.waiting_hours,
            "waiting_share": self.waiting_share,
        }


@dataclass(frozen=True, slots=True)
class Availability:
    """1 - downtime_hours / (assets x period_hours)."""

    assets: int
    period_hours: float
    downtime_hours: float

    @property
    def value(self) -> float:
        return 1.0 - self.downtime_hours / (self.assets * self.period_hours)

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "assets": self.assets,
            "period_hours": self.period_hours,
            "downtime_hours": self.downtime_hours,
        }


@dataclass(frozen=True, slots=True)
class Inventory:
    """Inventory value (currency, at each item's current unit_cost) and turns.

    turns = cost_of_goods_issued / ((value_start + value_end) / 2);
    turns_per_year = turns x 365 / period_days.
    """

    value_start: Decimal
    value_end_serviceable: Decimal
    value_end_unserviceable: Decimal
    cost_of_goods_issued: Decimal
    period_days: float

    @property
    def value_end(self) -> Decimal:
        return self.value_end_serviceable + self.value_end_unserviceable

    @property
    def average_value(self) -> Decimal:
        return (self.value_start + self.value_end) / 2

    @property
    def turns(self) -> float | None:
        if self.average_value == 0:
            return None
        return float(self.cost_of_goods_issued / self.average_value)

    @property
    def turns_per_year(self) -> float | None:
        turns = self.turns
        return None if turns is None else turns * 365.0 / self.period_days

    def as_dict(self) -> dict[str, Any]:
        return {
            "value_start": fmt(self.value_start),
            "value_end": fmt(self.value_end),
            "value_end_serviceable": fmt(self.value_end_serviceable),
            "value_end_unserviceable": fmt(self.value_end_unserviceable),
            "average_value": fmt(self.average_value),
            "cost_of_goods_issued": fmt(self.cost_of_goods_issued),
            "turns": self.turns,
            "turns_per_year": self.turns_per_year,
        }


@dataclass(frozen=True, slots=True)
class Stockouts:
    """Demand not served in full from stock at once, and item-locations empty at the end."""

    demand_events: int  # customer orders first allocated + work orders with parts first started
    short_customer_orders: int  # first allocation less than ordered
    short_work_orders: int  # first start went to waiting_for_parts
    item_locations_with_demand: int
    item_locations_out_of_stock: int  # of those, serviceable on hand <= 0 at the end

    @property
    def short_events(self) -> int:
        return self.short_customer_orders + self.short_work_orders

    def as_dict(self) -> dict[str, Any]:
        return {
            "demand_events": self.demand_events,
            "short_events": self.short_events,
            "short_customer_orders": self.short_customer_orders,
            "short_work_orders": self.short_work_orders,
            "item_locations_with_demand": self.item_locations_with_demand,
            "item_locations_out_of_stock": self.item_locations_out_of_stock,
        }


@dataclass(frozen=True)
class KpiReport:
    """Every KPI for [start, end) at ``site_ids`` (None: all sites); see docs/kpis.md.

    - order_lead_time_days: customer orders delivered in the period (deliver event's
      delivered_at), delivered_at - created_at, days.
    - supplier_lead_time_days (and by partner_id): purchase lines first received in the
      period, first_receipt_at - the order's confirm event, days.
    - order_accuracy: lines of those delivered orders right first time / lines.
    - fill_rate_customer_orders: units allocated at each order's first allocate event
      (in the period) / units ordered; fill_rate_work_orders: units of work orders whose
      first start (in the period) went to in_progress / units of all of them; fill_rate:
      both numerators / both denominators.
    - otif_customer_orders: delivered orders on time (UTC day <= promised_date, else the
      latest due_date, else on time) and in full (every line shipped >= ordered) / all;
      otif_purchase_orders: the same for purchase orders whose receiving ended (received
      or closed, last receipt in the period), in full meaning received >= ordered.
    - perfect_order_rate: delivered orders OTIF with every line right first time / all.
    - mttr: failure work orders done in the period, downtime_end - downtime_start, hours;
      waiting share = sum(waiting_hours) / sum(repair hours).
    - availability: 1 - merged downtime hours in the period / (live assets x period hours).
    - inventory: values rebuilt from the moves (moved_at < t) x current unit_cost; turns =
      cost of goods issued (issue and consumption moves out of internal locations, net of
      their reversals) / mean of the values at start and end.
    - stockouts: short demand events (first allocation short, first start waiting) and
      demanded (item, internal location) pairs with serviceable on hand <= 0 at ``end``.
    """

    start: datetime
    end: datetime
    site_ids: tuple[str, ...] | None
    order_lead_time_days: Durations | None
    supplier_lead_time_days: Durations | None
    supplier_lead_time_days_by_partner: dict[str, Durations]
    order_accuracy: Ratio | None
    fill_rate: Ratio | None
    fill_rate_customer_orders: Ratio | None
    fill_rate_work_orders: Ratio | None
    otif_customer_orders: Ratio | None
    otif_purchase_orders: Ratio | None
    perfect_order_rate: Ratio | None
    mttr: Repair | None
    availability: Availability | None
    inventory: Inventory
    stockouts: Stockouts | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times ISO 8601, exact amounts as decimal strings, shares as floats."""
        return report_dict(self)


def report_dict(report: Any) -> dict[str, Any]:
    """A report dataclass as JSON-ready values: times ISO 8601, tuples as lists, dicts of
    parts sorted by key, each part (and each dict value) by its own ``as_dict``."""
    out: dict[str, Any] = {}
    for f in fields(report):
        value = getattr(report, f.name)
        if isinstance(value, datetime):
            out[f.name] = value.isoformat()
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        elif isinstance(value, dict):
            out[f.name] = {k: v.as_dict() for k, v in sorted(value.items())}
        elif value is None:
            out[f.name] = None
        else:
            out[f.name] = value.as_dict()
    return out


# --- the computation -----------------------------------------------------------------------


def compute(
    session: Session, start: datetime, end: datetime, site_ids: list[str] | None = None
) -> KpiReport:
    """The KPIs of the half-open period [start, end) at ``site_ids`` (None: every site).

    Raises ParameterError for a time without a UTC offset or an empty period, NotFound
    for an unknown site.
    """
    for name, moment in (("start", start), ("end", end)):
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ParameterError(name, f"a datetime with a time zone offset, got {moment!r}")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise ParameterError("end", f"{end.isoformat()} is not after start {start.isoformat()}")
    sites = None if site_ids is None else tuple(dict.fromkeys(site_ids))
    if sites:
        known = set(session.scalars(select(Site.site_id).where(Site.site_id.in_(sites))))
        missing = [s for s in sites if s not in known]
        if missing:
            raise NotFound(f"site_ids: no site {', '.join(map(repr, missing))}")
    db = Query(session, start, end, sites)
    delivered = db.delivered_customer_orders()
    supplier = db.supplier_lead_times()
    by_partner: dict[str, list[float]] = defaultdict(list)
    for partner, days in supplier:
        by_partner[partner].append(days)
    customers, jobs = db.customer_first_allocations(), db.work_order_first_starts()
    repairs = db.repairs()
    repair_hours, waiting_hours = sum(h for h, _w in repairs), sum(w for _h, w in repairs)
    hours = Durations.of([h for h, _w in repairs])
    mttr = (
        None
        if hours is None
        else Repair(
            hours, waiting_hours, waiting_hours / repair_hours if repair_hours > 0 else None
        )
    )
    assets, downtime_hours = db.availability()
    period_hours = (end - start).total_seconds() / 3600.0
    availability = Availability(assets, period_hours, downtime_hours) if assets else None
    stock_start, stock_end = db.stock_at(start, end)
    issued = db.issued()
    pairs = customers.pairs | jobs.pairs | set(issued)
    out_of_stock = sum(
        stock_end.get((item, location, "serviceable"), (ZERO, ZERO))[0] <= 0
        for item, location in pairs
    )
    demand_events = customers.events + jobs.events
    otif_purchase = db.purchase_otif()
    return KpiReport(
        start=start,
        end=end,
        site_ids=sites,
        order_lead_time_days=Durations.of([d.lead_days for d in delivered]),
        supplier_lead_time_days=Durations.of([days for _p, days in supplier]),
        supplier_lead_time_days_by_partner={
            p: d for p, days in by_partner.items() if (d := Durations.of(days)) is not None
        },
        order_accuracy=Ratio.of(
            sum(d.lines_right for d in delivered), sum(d.lines for d in delivered)
        ),
        fill_rate=Ratio.of(customers.filled + jobs.filled, customers.units + jobs.units),
        fill_rate_customer_orders=Ratio.of(customers.filled, customers.units),
        fill_rate_work_orders=Ratio.of(jobs.filled, jobs.units),
        otif_customer_orders=Ratio.of(sum(d.otif for d in delivered), len(delivered)),
        otif_purchase_orders=Ratio.of(*otif_purchase),
        perfect_order_rate=Ratio.of(
            sum(d.otif and d.lines_right == d.lines for d in delivered), len(delivered)
        ),
        mttr=mttr,
        availability=availability,
        inventory=Inventory(
            value_start=_value(stock_start),
            value_end_serviceable=_value(stock_end, "serviceable"),
            value_end_unserviceable=_value(stock_end, "unserviceable"),
            cost_of_goods_issued=sum((n * c for n, c in issued.values()), ZERO)
            - db.reversed_issues(),
            period_days=(end - start).total_seconds() / DAY,
        ),
        stockouts=None
        if demand_events == 0 and not pairs
        else Stockouts(
            demand_events, customers.short_events, jobs.short_events, len(pairs), out_of_stock
        ),
    )


def _value(stock: Stock, status: str | None = None) -> Decimal:
    """Sum of on hand x unit_cost over the stock, of one status or of both."""
    return sum((q * cost for (_i, _l, s), (q, cost) in stock.items() if status in (None, s)), ZERO)


__all__ = [
    "DEMAND_REASONS",
    "Availability",
    "Durations",
    "Inventory",
    "KpiReport",
    "Ratio",
    "Repair",
    "Stockouts",
    "compute",
    "report_dict",
]
