"""What the DRP reads from the store, time-phased: one row per item-site, bucket and
reference (an order, a work order), each figure one SQL query (no loop over lines).

* ``on_hand``: serviceable stock at the site's internal locations (reserved included:
  the orders it is reserved for are counted as demand).
* scheduled receipts: the open quantity (ordered - received) of purchase and inbound
  transfer lines of orders not cancelled or closed, in the bucket of the line's due date
  (none, or past: the first bucket).
* customer orders: quantity not yet shipped of orders not cancelled or delivered, in the
  bucket of the due date; work orders: parts required and not yet issued of open,
  waiting or in-progress work orders, in the first bucket; transfers out: quantity not
  yet shipped of transfers the site is the source of, in the bucket of the due date.
* history: issues and consumption per item-site over the ``history_days`` before the
  start (:func:`spareflow.services.plan_export.demand_of`), whose daily mean is the
  forecast rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.services.plan_export import (
    CLOSED_ORDERS,
    DONE_CUSTOMER_ORDERS,
    KEYS,
    OPEN_WORK_ORDERS,
    QUANTITY_SCALE,
    demand_of,
    frame_of,
    scaled,
    stock_of,
)
from spareflow.store.models import (
    Order,
    OrderLine,
    PlanRun,
    PlanRunLine,
    WorkOrder,
    WorkOrderPart,
)


@dataclass(frozen=True)
class StoreDemand:
    """The store's figures for a DRP (frames; ``bucket`` counted from the start)."""

    on_hand: pl.DataFrame  # item_id, site_id, on_hand
    receipts: pl.DataFrame  # item_id, site_id, bucket, quantity, ref
    orders: pl.DataFrame  # item_id, site_id, bucket, quantity, ref, kind, priority
    rate: pl.DataFrame  # item_id, site_id, rate_per_day
    safety: pl.DataFrame  # item_id, site_id, reorder_point, lead_time_days (last plan run)


def read(
    session: Session, start: date, bucket_days: int, buckets: int, history_days: int
) -> StoreDemand:
    """The store's stock, receipts, orders and demand rates as of ``start``."""
    start_time = datetime(start.year, start.month, start.day, tzinfo=UTC)
    line, order = OrderLine, Order
    of_order = line.order_id == order.order_id
    inbound = frame_of(
        session,
        select(
            line.item_id,
            order.site_id,
            line.due_date,
            order.number,
            scaled(line.quantity) - scaled(line.quantity_received),
        ).where(
            of_order,
            order.kind.in_(("purchase", "transfer")),
            order.status.notin_(CLOSED_ORDERS),
            line.quantity > line.quantity_received,
        ),
        "item_id site_id due:date ref quantity:int",
    )

    def unshipped(site: Any, kind: str, done: tuple[str, ...]) -> pl.DataFrame:
        """Open quantity not yet shipped from (or for) ``site`` of ``kind`` orders."""
        return frame_of(
            session,
            select(
                line.item_id,
                site,
                line.due_date,
                order.number,
                order.priority,
                scaled(line.quantity) - scaled(line.quantity_shipped),
            ).where(
                of_order,
                order.kind == kind,
                order.status.notin_(done),
                line.quantity > line.quantity_shipped,
            ),
            "item_id site_id due:date ref priority:int quantity:int",
        )

    customer = unshipped(order.site_id, "customer", DONE_CUSTOMER_ORDERS)
    outbound = unshipped(order.source_site_id, "transfer", CLOSED_ORDERS)
    part, job = WorkOrderPart, WorkOrder
    jobs = frame_of(
        session,
        select(
            part.item_id,
            job.site_id,
            job.number,
            job.priority,
            scaled(part.quantity_required) - scaled(part.quantity_issued),
        ).where(
            part.work_order_id == job.work_order_id,
            job.status.in_(OPEN_WORK_ORDERS),
            part.quantity_required > part.quantity_issued,
        ),
        "item_id site_id ref priority:int quantity:int",
    )

    def bucket(frame: pl.DataFrame) -> pl.DataFrame:
        days = (pl.col("due") - pl.lit(start)).dt.total_days()
        return frame.with_columns(
            pl.when(pl.col("due").is_null())
            .then(0)
            .otherwise((days // bucket_days).clip(0))
            .cast(pl.Int64)
            .alias("bucket"),
            pl.col("quantity") / QUANTITY_SCALE,
        ).filter(pl.col("bucket") < buckets)

    orders = pl.concat(
        [
            bucket(customer).with_columns(kind=pl.lit("customer_order")),
            bucket(outbound).with_columns(kind=pl.lit("transfer_out")),
            jobs.with_columns(
                bucket=pl.lit(0, pl.Int64),
                quantity=pl.col("quantity") / QUANTITY_SCALE,
                kind=pl.lit("work_order"),
            ),
        ],
        how="diagonal",
    ).select(*KEYS, "bucket", "quantity", "ref", "kind", "priority")
    history = demand_of(session, start_time)
    since = pl.lit(start) - pl.duration(days=history_days)
    rate = (
        history.filter(pl.col("date") >= since)
        .group_by(KEYS)
        .agg((pl.col("quantity").sum() / history_days).alias("rate_per_day"))
        .filter(pl.col("rate_per_day") > 0)
    )
    return StoreDemand(
        on_hand=stock_of(session).select(*KEYS, "on_hand"),
        receipts=bucket(inbound).select(*KEYS, "bucket", "quantity", "ref"),
        orders=orders,
        rate=rate,
        safety=_last_plan(session),
    )


def _last_plan(session: Session) -> pl.DataFrame:
    """reorder_point and lead_time_days per item-site of the latest plan run."""
    latest: Any = select(PlanRun.run_id).order_by(PlanRun.run_id.desc()).limit(1).scalar_subquery()
    return frame_of(
        session,
        select(
            PlanRunLine.item_id,
            PlanRunLine.site_id,
            PlanRunLine.reorder_point,
            PlanRunLine.lead_time_days,
        ).where(PlanRunLine.run_id == latest),
        "item_id site_id reorder_point:float lead_time_days:float",
    )


def by_bucket(index: pl.DataFrame, frame: pl.DataFrame, buckets: int) -> np.ndarray:
    """``frame``'s ``quantity`` summed per item-site and bucket, shape (item-sites,
    buckets): row ``k`` of ``index`` (item_id, site_id, k numbered 0..n-1); item-sites not
    in ``index`` are left out."""
    out = np.zeros((index.height, buckets))
    rows = frame.join(index, on=KEYS)
    np.add.at(out, (rows["k"].to_numpy(), rows["bucket"].to_numpy()), rows["quantity"].to_numpy())
    return out


def by_item_site(index: pl.DataFrame, frame: pl.DataFrame, column: str) -> np.ndarray:
    """``frame``'s ``column`` (one row per item-site) at row ``k`` of ``index``; 0 where
    it has no row."""
    out = np.zeros(index.height)
    rows = frame.join(index, on=KEYS)
    out[rows["k"].to_numpy()] = rows[column].to_numpy()
    return out


def whole_buckets(days: pl.Expr, bucket_days: int) -> pl.Expr:
    """Transit days as whole buckets, rounded up (a float's noise above a whole number is
    not a bucket more)."""
    return (days / bucket_days - 1e-9).ceil().clip(0).cast(pl.Int64)
