"""Logistics KPIs for a period and a set of sites, from shipments and the orders they carry.

``compute(session, start, end, site_ids)`` measures the half-open period [start, end):
transit times per lane, supplier lead times per partner, on-time delivery, freight cost
per shipment, kg and unit, and consolidation; OTIF and order accuracy come from
``services.kpis``. docs/kpis.md ("Logistics KPIs") gives every formula. A KPI with
nothing to measure in the period is None, never a made-up 0.

A shipment is in scope when its origin or its destination is one of the sites. Costs and
consolidation are SQL aggregates; transit times and on-time delivery are one row per
shipment arrived in the period, summarised per lane with polars. Times are UTC; "on or
before" compares UTC calendar days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from spareflow.services import kpis
from spareflow.services._kpi_queries import DAY, Query
from spareflow.services.kpis import Ratio
from spareflow.services.ledger import fmt
from spareflow.store.models import OrderLine, Shipment, ShipmentOrder

COST_PLACES = Decimal("0.0001")  # money is exact to 0.0001 (store.types.Money)
KG_PLACES = Decimal("0.001")

# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spread:
    """Durations of ``count`` events, days: mean, sample standard deviation (ddof=1; None
    below 2 events), 90th percentile (numpy linear) and the mean planned duration (None
    where nothing was planned, as for supplier lead times)."""

    count: int
    mean: float
    sd: float | None
    p90: float
    planned_mean: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean": self.mean,
            "sd": self.sd,
            "p90": self.p90,
            "planned_mean": self.planned_mean,
        }


@dataclass(frozen=True, slots=True)
class CostPer:
    """Freight cost per shipment, kg or unit: ``cost / quantity`` over ``shipments``."""

    cost: Decimal
    quantity: Decimal  # shipments, kg or units
    shipments: int

    @classmethod
    def of(cls, cost: Decimal | None, quantity: Decimal | None, shipments: int) -> CostPer | None:
        """The rate; None when there is no quantity to spread the cost over."""
        if not shipments or cost is None or not quantity:
            return None
        return cls(cost, quantity, shipments)

    @property
    def value(self) -> Decimal:
        """cost / quantity, rounded to the money's 0.0001."""
        return (self.cost / self.quantity).quantize(COST_PLACES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": fmt(self.value),
            "cost": fmt(self.cost),
            "quantity": fmt(self.quantity),
            "shipments": self.shipments,
        }


@dataclass(frozen=True, slots=True)
class Consolidation:
    """Shipments built from orders: how many orders travel together, and what it saved.

    The costs compare like with like: both are over the ``rated_shipments`` (the built
    shipments with a freight_cost), and None when there are none.
    """

    shipments: int
    orders: int
    consolidated_orders: int  # orders sharing their shipment with at least one other
    rated_shipments: int
    alone_cost: Decimal | None  # Σ ShipmentOrder.alone_cost of the rated shipments' orders
    consolidated_cost: Decimal | None  # Σ freight_cost of the rated shipments

    @property
    def orders_per_shipment(self) -> float:
        return self.orders / self.shipments

    @property
    def consolidation_rate(self) -> float:
        """Share of the orders that travel with at least one other order."""
        return self.consolidated_orders / self.orders

    @property
    def saving(self) -> Decimal | None:
        """alone_cost - consolidated_cost."""
        if self.alone_cost is None or self.consolidated_cost is None:
            return None
        return self.alone_cost - self.consolidated_cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "shipments": self.shipments,
            "orders": self.orders,
            "orders_per_shipment": self.orders_per_shipment,
            "consolidated_orders": self.consolidated_orders,
            "consolidation_rate": self.consolidation_rate,
            "rated_shipments": self.rated_shipments,
            "alone_cost": _money(self.alone_cost),
            "consolidated_cost": _money(self.consolidated_cost),
            "saving": _money(self.saving),
        }


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else fmt(amount)


@dataclass(frozen=True)
class LogisticsReport:
    """Logistics KPIs for [start, end) at ``site_ids`` (None: all sites); docs/kpis.md.

    - transit_days (and by lane): shipments arrived in the period that departed,
      arrived_at - departed_at, days; planned_mean: planned_arrival - planned_departure.
      Lane: the shipment's lane_id, else "ORIGIN>DESTINATION/mode".
    - supplier_lead_time_days_by_partner: as kpis' supplier lead time, with sd.
    - on_time_delivery (and by lane): shipments arrived in the period whose UTC day of
      arrived_at is on or before that of planned_arrival / all of them.
    - cost_per_shipment: Σ freight_cost / shipments, over shipments arrived in the period
      with a freight_cost; cost_per_kg: the same over those with a weight_kg > 0, / Σ kg;
      cost_per_unit: the same over those carrying orders (ShipmentOrder), / Σ the units
      of those orders' lines. Shipments without linked orders do not count per unit.
    - consolidation: shipments carrying orders, planned to depart in the period.
    - otif_customer_orders, otif_purchase_orders, order_accuracy: from kpis.compute.
    """

    start: datetime
    end: datetime
    site_ids: tuple[str, ...] | None
    transit_days: Spread | None
    transit_days_by_lane: dict[str, Spread]
    supplier_lead_time_days_by_partner: dict[str, Spread]
    on_time_delivery: Ratio | None
    on_time_delivery_by_lane: dict[str, Ratio]
    cost_per_shipment: CostPer | None
    cost_per_kg: CostPer | None
    cost_per_unit: CostPer | None
    consolidation: Consolidation | None
    otif_customer_orders: Ratio | None
    otif_purchase_orders: Ratio | None
    order_accuracy: Ratio | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times ISO 8601, exact amounts as decimal strings, shares as floats."""
        return kpis.report_dict(self)


# --- the computation -----------------------------------------------------------------------


def compute(
    session: Session, start: datetime, end: datetime, site_ids: list[str] | None = None
) -> LogisticsReport:
    """The logistics KPIs of the half-open period [start, end) at ``site_ids`` (None: all).

    Raises ParameterError for a time without a UTC offset or an empty period, NotFound
    for an unknown site (the checks of ``kpis.compute``, which runs first).
    """
    ops = kpis.compute(session, start, end, site_ids)
    db = Query(session, ops.start, ops.end, ops.site_ids)
    scope = or_(db.at_sites(Shipment.origin_site_id), db.at_sites(Shipment.destination_site_id))
    arrived = _arrivals(session, db, scope)
    transit = arrived.filter(pl.col("departed_at").is_not_null())
    suppliers = pl.DataFrame(
        db.supplier_lead_times(),
        schema={"partner": pl.String, "days": pl.Float64},
        orient="row",
    )
    per_shipment, per_kg, per_unit = _costs(session, db, scope)
    on_time = arrived.group_by("lane").agg(hits=pl.col("on_time").sum(), n=pl.len())
    return LogisticsReport(
        start=ops.start,
        end=ops.end,
        site_ids=ops.site_ids,
        transit_days=_spread(transit, "days", "planned_days"),
        transit_days_by_lane=_spreads(transit, "lane", "days", "planned_days"),
        supplier_lead_time_days_by_partner=_spreads(suppliers, "partner", "days"),
        on_time_delivery=Ratio.of(int(arrived["on_time"].sum()), arrived.height),
        on_time_delivery_by_lane={
            lane: r
            for lane, hits, n in on_time.iter_rows()
            if (r := Ratio.of(int(hits), int(n))) is not None
        },
        cost_per_shipment=per_shipment,
        cost_per_kg=per_kg,
        cost_per_unit=per_unit,
        consolidation=_consolidation(session, db, scope),
        otif_customer_orders=ops.otif_customer_orders,
        otif_purchase_orders=ops.otif_purchase_orders,
        order_accuracy=ops.order_accuracy,
    )


def _arrivals(session: Session, db: Query, scope: Any) -> pl.DataFrame:
    """One row per shipment in scope arrived in the period: lane, days in transit (null
    when it never departed), planned days, arrived on time."""
    lane = func.coalesce(
        Shipment.lane_id,
        Shipment.origin_site_id + ">" + Shipment.destination_site_id + "/" + Shipment.mode,
    )
    rows = session.execute(
        select(
            lane,
            Shipment.departed_at,
            Shipment.arrived_at,
            Shipment.planned_departure,
            Shipment.planned_arrival,
        ).where(scope, db.within(Shipment.arrived_at))
    ).all()
    moment = pl.Datetime("us", "UTC")
    frame = pl.DataFrame(
        rows,
        schema={
            "lane": pl.String,
            "departed_at": moment,
            "arrived_at": moment,
            "planned_departure": moment,
            "planned_arrival": moment,
        },
        orient="row",
    )
    return frame.select(
        "lane",
        "departed_at",
        days=_days("departed_at", "arrived_at"),
        planned_days=_days("planned_departure", "planned_arrival"),
        on_time=pl.col("arrived_at").dt.date() <= pl.col("planned_arrival").dt.date(),
    )


def _days(since: str, until: str) -> pl.Expr:
    """until - since, days (float)."""
    return (pl.col(until) - pl.col(since)).dt.total_microseconds() / (DAY * 1e6)


def _aggregates(value: str, planned: str | None) -> list[pl.Expr]:
    days = pl.col(value)
    return [
        pl.len().alias("n"),
        days.mean().alias("mean"),
        days.std(ddof=1).alias("sd"),
        days.quantile(0.9, interpolation="linear").alias("p90"),
        (pl.col(planned).mean() if planned else pl.lit(None, pl.Float64)).alias("planned"),
    ]


def _as_spread(n: int, mean: float, sd: float | None, p90: float, planned: float | None) -> Spread:
    """A Spread from one row of ``_aggregates``; no sd below two values."""
    return Spread(int(n), mean, sd if n >= 2 else None, p90, planned)


def _spread(frame: pl.DataFrame, value: str, planned: str | None = None) -> Spread | None:
    """The Spread of column ``value`` over ``frame`` (planned_mean: mean of ``planned``)."""
    if frame.is_empty():
        return None
    return _as_spread(*frame.select(_aggregates(value, planned)).row(0))


def _spreads(
    frame: pl.DataFrame, by: str, value: str, planned: str | None = None
) -> dict[str, Spread]:
    """A Spread of column ``value`` per value of column ``by``."""
    if frame.is_empty():
        return {}
    summary = frame.group_by(by).agg(_aggregates(value, planned))
    return {key: _as_spread(*rest) for key, *rest in summary.iter_rows()}


def _costs(
    session: Session, db: Query, scope: Any
) -> tuple[CostPer | None, CostPer | None, CostPer | None]:
    """Freight cost per shipment, per kg and per unit: one aggregate over the shipments
    in scope arrived in the period with a freight_cost."""
    units = (
        select(ShipmentOrder.shipment_id, func.sum(OrderLine.quantity).label("units"))
        .join(OrderLine, OrderLine.order_id == ShipmentOrder.order_id)
        .group_by(ShipmentOrder.shipment_id)
        .subquery()
    )
    cost = Shipment.freight_cost
    weighed = Shipment.weight_kg > 0
    carrying = units.c.units.is_not(None)
    row = session.execute(
        select(
            func.count(),
            func.sum(cost),
            func.count(case((weighed, 1))),
            func.sum(case((weighed, cost))),
            func.sum(case((weighed, Shipment.weight_kg))),
            func.count(units.c.units),
            func.sum(case((carrying, cost))),
            func.sum(units.c.units),
        )
        .select_from(Shipment)
        .outerjoin(units, units.c.shipment_id == Shipment.shipment_id)
        .where(scope, cost.is_not(None), db.within(Shipment.arrived_at))
    ).one()
    n, total, weighed_n, weighed_cost, kg, carrying_n, carrying_cost, units_carried = row
    weight = None if kg is None else Decimal(str(kg)).quantize(KG_PLACES)
    return (
        CostPer.of(total, Decimal(n), n),
        CostPer.of(weighed_cost, weight, weighed_n),
        CostPer.of(carrying_cost, units_carried, carrying_n),
    )


def _consolidation(session: Session, db: Query, scope: Any) -> Consolidation | None:
    """Shipments in scope carrying orders and planned to depart in the period, not
    cancelled: one aggregate over them and their orders."""
    per = (
        select(
            ShipmentOrder.shipment_id,
            func.count().label("orders"),
            func.sum(ShipmentOrder.alone_cost).label("alone"),
        )
        .group_by(ShipmentOrder.shipment_id)
        .subquery()
    )
    rated = Shipment.freight_cost.is_not(None)
    shipments, orders, together, n_rated, alone, consolidated = session.execute(
        select(
            func.count(),
            func.sum(per.c.orders),
            func.sum(case((per.c.orders > 1, per.c.orders), else_=0)),
            func.count(Shipment.freight_cost),
            func.sum(case((rated, per.c.alone))),
            func.sum(Shipment.freight_cost),
        )
        .select_from(Shipment)
        .join(per, per.c.shipment_id == Shipment.shipment_id)
        .where(
            scope,
            Shipment.status != "cancelled",
            db.within(Shipment.planned_departure),
        )
    ).one()
    if not shipments:
        return None
    return Consolidation(
        shipments=int(shipments),
        orders=int(orders),
        consolidated_orders=int(together),
        rated_shipments=int(n_rated),
        alone_cost=alone if n_rated else None,
        consolidated_cost=consolidated if n_rated else None,
    )


__all__ = ["Consolidation", "CostPer", "LogisticsReport", "Spread", "compute"]
