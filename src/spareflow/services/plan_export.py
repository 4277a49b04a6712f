"""The store as a planning dataset: what ``spareflow plan --from-store`` plans.

:func:`export_dataset` writes the store as a planning dataset folder (Parquet), each figure
one SQL GROUP BY (no Python loop over moves or lines):

* items, sites: the master data as it stands.
* demand: moves with reason ``issue`` or ``consumption`` out of an internal location before
  ``as_of``, summed per item, that location's site and UTC day. A reversed move does not
  count at all (no negative day where the reversal falls); a reversal itself reversed
  restores it. Where the last demand is before the day before ``as_of``, a zero row dated
  that day makes the history run to ``as_of`` (the quiet periods since are zeros).
* stock per item-site, as the store stands now: ``on_hand`` serviceable on hand over the
  site's internal locations; ``on_order`` open quantity (ordered - received) of purchase
  and inbound transfer lines of orders not cancelled or closed (drafts count, so a drafted
  order is not drafted twice); ``backorders`` what the site owes: customer-order quantity
  not shipped (orders not cancelled or delivered), transfer quantity not yet shipped to
  another site (orders not cancelled or closed) and work-order parts required and not yet
  issued (open, waiting for parts, in progress). A negative on hand (sites allowing it) is
  written as 0 on hand and that much more backordered: the inventory position is kept.
* sourcing per item-site of the demand and stock tables. A site with a parent is resupplied
  by it (``source_site_id``); lead time the lane's mean days from ``release`` to first
  receipt of transfer lines, else ``DEFAULT_TRANSFER_LEAD_TIME_DAYS``. Any other site buys
  from the partner of the item's most recent purchase line there (orders not cancelled;
  ``supplier_id``); lead time the mean days from ``confirm`` to first receipt of that
  supplier's lines of the item to the site, else of all its lines to the site, else the
  partner's ``lead_time_days``, else ``plan.stock.DEFAULT_LEAD_TIME_DAYS`` (30).
  ``lead_time_sd_days``: the measured spread where two receipts or more exist;
  ``lead_time_source``: measured_item, measured_lane, partner or default. No supplier
  known: no row (the plan then assumes its default lead time and flags it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Float, String, cast, exists, extract, func, select, type_coerce
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import Executable

from spareflow.data.schema import SUFFIXES
from spareflow.data.write import write_table
from spareflow.errors import NotFound, ParameterError
from spareflow.plan.stock import DEFAULT_LEAD_TIME_DAYS
from spareflow.store.models import (
    Balance,
    Item,
    Location,
    Move,
    Order,
    OrderEvent,
    OrderLine,
    Partner,
    Site,
    WorkOrder,
    WorkOrderPart,
)
from spareflow.store.types import MONEY_PLACES, QUANTITY_PLACES, utcnow

#: Days a transfer takes on a lane without a measured receipt (pick, pack, a week's road).
DEFAULT_TRANSFER_LEAD_TIME_DAYS = 7.0
DEMAND_REASONS = ("issue", "consumption")
KEYS = ["item_id", "site_id"]
TABLES = ("items", "sites", "demand", "stock", "sourcing")

QUANTITY_SCALE = 10.0**QUANTITY_PLACES
#: Statuses where an order's open quantity no longer counts: purchase and transfer orders
#: (CLOSED_ORDERS), customer orders (DONE_CUSTOMER_ORDERS); work orders still needing parts.
CLOSED_ORDERS = ("cancelled", "closed")
DONE_CUSTOMER_ORDERS = ("cancelled", "delivered")
OPEN_WORK_ORDERS = ("open", "waiting_for_parts", "in_progress")


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What :func:`export_dataset` wrote: the files, the history's cut-off and its size."""

    folder: Path
    paths: dict[str, Path]
    as_of: datetime
    rows: dict[str, int]  # per table
    demand_quantity: float  # units, the marker row's zero aside
    lead_time_sources: dict[str, int]  # sourcing rows per lead_time_source


# --- SQL helpers ----------------------------------------------------------------------------


def scaled(column: Any) -> ColumnElement[int]:
    """A Quantity or Money column as its stored scaled integer (no Decimal per row)."""
    return type_coerce(column, BigInteger)


def _total(expr: ColumnElement[int]) -> ColumnElement[int]:
    return cast(func.sum(expr), BigInteger)


def _utc_day(dialect: str, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day (YYYY-MM-DD text) of a UTCDateTime column (SQLite keeps
    naive UTC text)."""
    if dialect == "postgresql":
        return cast(func.date(func.timezone("UTC", column)), String)
    return func.date(column)


def _days(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """Days (fractional) from ``start`` to ``end``."""
    if dialect == "postgresql":
        return cast(extract("epoch", end - start), Float) / 86400.0
    return cast(func.julianday(end) - func.julianday(start), Float)


def frame_of(session: Session, query: Executable, spec: str) -> pl.DataFrame:
    """The rows of ``query`` as a frame; ``spec`` names its columns, ``name:int`` (or
    float, bool, date, time: a UTC timestamp) where not text."""
    types: dict[str, pl.DataType | type[pl.DataType]] = {
        "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "date": pl.Date,
        "time": pl.Datetime("us", "UTC"), "": pl.String,
    }  # fmt: skip
    schema = {n: types[t] for n, _, t in (w.partition(":") for w in spec.split())}
    return pl.DataFrame(session.execute(query).all(), schema=schema, orient="row")


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


# --- the tables -----------------------------------------------------------------------------


def _items(session: Session) -> pl.DataFrame:
    names = "item_id description criticality repairable replaced_by unit_weight_kg unit_volume_m3"
    columns = [getattr(Item, n) for n in names.split()]
    query = select(*columns, scaled(Item.unit_cost)).order_by(Item.item_id)
    spec = names.replace("repairable", "repairable:bool").replace("_kg", "_kg:float")
    frame = frame_of(session, query, spec.replace("_m3", "_m3:float") + " unit_cost:int")
    return frame.with_columns(pl.col("unit_cost") / 10.0**MONEY_PLACES)


def sites_of(session: Session) -> pl.DataFrame:
    s = Site
    query = select(s.site_id, s.name, s.kind, s.parent_site_id, s.latitude, s.longitude)
    spec = "site_id name kind parent_site_id latitude:float longitude:float"
    return frame_of(session, query.order_by(s.site_id), spec)


def demand_of(session: Session, as_of: datetime) -> pl.DataFrame:
    """Issues and consumption out of internal locations per item, site and UTC day."""
    source = aliased(Location)
    undo, redo = aliased(Move), aliased(Move)
    redone = exists().where(redo.reverses_move_id == undo.move_id)
    undone = exists().where(undo.reverses_move_id == Move.move_id, ~redone)
    day = _utc_day(dialect_of(session), Move.moved_at)
    query = (
        select(Move.item_id, source.site_id, day, _total(scaled(Move.quantity)))
        .join(source, source.location_id == Move.from_location_id)
        .where(source.kind == "internal", Move.reason.in_(DEMAND_REASONS))
        .where(Move.moved_at < as_of, ~undone)
        .group_by(Move.item_id, source.site_id, day)
    )
    frame = frame_of(session, query, "item_id site_id date quantity:int")
    return frame.with_columns(
        pl.col("date").str.to_date("%Y-%m-%d"), pl.col("quantity") / QUANTITY_SCALE
    )


def _sums(session: Session, item: Any, site: Any, amount: Any, *where: Any) -> pl.DataFrame:
    """Sum of ``amount`` (scaled quantities) per item and site, over the rows ``where``."""
    query = select(item, site, _total(amount)).where(*where).group_by(item, site)
    return frame_of(session, query, "item_id site_id value:int")


def stock_of(session: Session) -> pl.DataFrame:
    """on_hand, on_order and backorders per item-site (see the module docstring)."""
    line, order, part, job = OrderLine, Order, WorkOrderPart, WorkOrder
    of_order = line.order_id == order.order_id
    open_in = scaled(line.quantity) - scaled(line.quantity_received)
    unshipped = scaled(line.quantity) - scaled(line.quantity_shipped)
    needed = scaled(part.quantity_required) - scaled(part.quantity_issued)
    figures = {
        "on_hand": _sums(
            session, Balance.item_id, Location.site_id, scaled(Balance.quantity),
            Location.location_id == Balance.location_id, Location.kind == "internal",
            Balance.status == "serviceable",
        ),
        "on_order": _sums(
            session, line.item_id, order.site_id, open_in, of_order,
            order.kind.in_(("purchase", "transfer")), order.status.notin_(CLOSED_ORDERS),
        ),
        "customers": _sums(
            session, line.item_id, order.site_id, unshipped, of_order, order.kind == "customer",
            order.status.notin_(DONE_CUSTOMER_ORDERS),
        ),
        "outbound": _sums(
            session, line.item_id, order.source_site_id, unshipped, of_order,
            order.kind == "transfer", order.status.notin_(CLOSED_ORDERS),
        ),
        "jobs": _sums(
            session, part.item_id, job.site_id, needed, part.work_order_id == job.work_order_id,
            job.status.in_(OPEN_WORK_ORDERS),
        ),
    }  # fmt: skip
    long = pl.concat([f.with_columns(figure=pl.lit(k)) for k, f in figures.items()])
    owed = pl.col("figure").is_in(["customers", "outbound", "jobs"])
    wide = long.group_by(KEYS).agg(
        on_hand=pl.col("value").filter(pl.col("figure") == "on_hand").sum(),
        on_order=pl.col("value").filter(pl.col("figure") == "on_order").sum().clip(0),
        owed=pl.col("value").filter(owed).sum().clip(0),
    )
    return (
        wide.select(
            *KEYS,
            (pl.col("on_hand").clip(0) / QUANTITY_SCALE).alias("on_hand"),
            (pl.col("on_order") / QUANTITY_SCALE).alias("on_order"),
            ((pl.col("owed") + (-pl.col("on_hand")).clip(0)) / QUANTITY_SCALE).alias("backorders"),
        )
        .filter(pl.any_horizontal(pl.col("on_hand", "on_order", "backorders") != 0))
        .sort(KEYS)
    )


def last_suppliers(session: Session) -> pl.DataFrame:
    """Per item and receiving site, the partner of its most recent purchase line (orders
    not cancelled): item_id, site_id, supplier_id."""
    recent = func.row_number().over(
        partition_by=(OrderLine.item_id, Order.site_id),
        order_by=(Order.created_at.desc(), Order.order_id.desc(), OrderLine.line_no.desc()),
    )
    ranked = (
        select(OrderLine.item_id, Order.site_id, Order.partner_id, recent.label("n"))
        .join(Order, Order.order_id == OrderLine.order_id)
        .where(Order.kind == "purchase", Order.status != "cancelled", Order.partner_id.is_not(None))
        .subquery()
    )
    query = select(ranked.c.item_id, ranked.c.site_id, ranked.c.partner_id).where(ranked.c.n == 1)
    return frame_of(session, query, "item_id site_id supplier_id")


def _measured(session: Session, kind: str, start_action: str, by: list[Any]) -> pl.DataFrame:
    """Count, sum and sum of squares of days from the order's first ``start_action`` event
    to each received line's first receipt, per ``by`` (columns of Order or OrderLine)."""
    started = (
        select(OrderEvent.order_id, func.min(OrderEvent.at).label("at"))
        .where(OrderEvent.action == start_action)
        .group_by(OrderEvent.order_id)
        .subquery()
    )
    days = _days(dialect_of(session), started.c.at, OrderLine.first_receipt_at)
    query = (
        select(*by, func.count(), func.sum(days), func.sum(days * days))
        .select_from(OrderLine)
        .join(Order, Order.order_id == OrderLine.order_id)
        .join(started, started.c.order_id == Order.order_id)
        .where(Order.kind == kind, OrderLine.first_receipt_at.is_not(None))
        .group_by(*by)
    )
    return frame_of(session, query, " ".join(c.key for c in by) + " n:int s:float ss:float")


def _mean_sd(frame: pl.DataFrame, by: list[str], tag: str) -> pl.DataFrame:
    """Mean and sample standard deviation of lead times from count/sum/sum-of-squares rows."""
    g = frame.group_by(by).agg(pl.col("n").sum(), pl.col("s").sum(), pl.col("ss").sum())
    mean = pl.col("s") / pl.col("n")
    var = (pl.col("ss") - pl.col("n") * mean * mean) / (pl.col("n") - 1)
    return g.select(
        *by,
        mean.clip(lower_bound=0.0).alias(f"lead_{tag}"),
        pl.when(pl.col("n") >= 2).then(var.clip(lower_bound=0.0).sqrt()).alias(f"sd_{tag}"),
    )


def sourcing_of(session: Session, keys: pl.DataFrame, sites: pl.DataFrame) -> pl.DataFrame:
    """One sourcing row per item-site of ``keys`` whose source is known."""
    parents = sites.select("site_id", pl.col("parent_site_id").alias("source_site_id"))
    rows = keys.join(parents, on="site_id", how="left")
    lanes = _measured(session, "transfer", "release", [Order.source_site_id, Order.site_id])
    child = rows.filter(pl.col("source_site_id").is_not_null()).join(
        _mean_sd(lanes, ["source_site_id", "site_id"], "lane"),
        on=["source_site_id", "site_id"],
        how="left",
    )
    bought = rows.filter(pl.col("source_site_id").is_null()).join(
        last_suppliers(session), on=KEYS, how="inner"
    )
    by = [Order.partner_id, Order.site_id, OrderLine.item_id]
    lines = _measured(session, "purchase", "confirm", by).rename({"partner_id": "supplier_id"})
    stated = select(Partner.partner_id, Partner.lead_time_days)
    for on, tier in ((["supplier_id", *KEYS], "item"), (["supplier_id", "site_id"], "lane")):
        bought = bought.join(_mean_sd(lines, on, tier), on=on, how="left")
    bought = bought.join(
        frame_of(session, stated, "supplier_id lead_partner:float"), on="supplier_id", how="left"
    )
    child = child.select(
        *KEYS,
        pl.lit(None, pl.String).alias("supplier_id"),
        "source_site_id",
        *_pick(["lane"], DEFAULT_TRANSFER_LEAD_TIME_DAYS),
    )
    bought = bought.select(
        *KEYS,
        "supplier_id",
        pl.lit(None, pl.String).alias("source_site_id"),
        *_pick(["item", "lane", "partner"], float(DEFAULT_LEAD_TIME_DAYS)),
    )
    return pl.concat([child, bought]).sort(KEYS)


def _pick(tiers: list[str], default: float) -> list[pl.Expr]:
    """Lead time, its spread and where it came from: the first of ``tiers`` that has one."""
    lead, sd, source = pl.lit(default), pl.lit(None, pl.Float64), pl.lit("default")
    for tier in reversed(tiers):
        hit = pl.col(f"lead_{tier}").is_not_null()
        spread = pl.lit(None, pl.Float64) if tier == "partner" else pl.col(f"sd_{tier}")
        label = "partner" if tier == "partner" else f"measured_{tier}"
        lead = pl.when(hit).then(pl.col(f"lead_{tier}")).otherwise(lead)
        sd = pl.when(hit).then(spread).otherwise(sd)
        source = pl.when(hit).then(pl.lit(label)).otherwise(source)
    return [
        lead.alias("lead_time_days"),
        sd.alias("lead_time_sd_days"),
        source.alias("lead_time_source"),
    ]


def export_dataset(
    session: Session, folder: Path, *, as_of: datetime | None = None
) -> ExportSummary:
    """Write the store as a planning dataset into ``folder`` (see the module docstring).

    ``as_of``: the end of the demand history (exclusive; timezone-aware; default now).
    Stock, orders and sourcing are the store's current state. Other tables in ``folder``
    (targets, assets ...) are left alone; files of the tables written here in another
    format, or of a table that has no rows now, are removed so the loader reads the new
    ones. Raises NotFound when the store has no items, sites or demand before ``as_of``.
    """
    cut = as_of or utcnow()
    if cut.tzinfo is None:
        raise ParameterError("as_of", f"{cut.isoformat()} has no time zone; give an offset")
    items, sites = _items(session), sites_of(session)
    if items.height == 0 or sites.height == 0:
        raise NotFound("the store has no items or no sites: nothing to plan")
    demand = demand_of(session, cut)
    if demand.height == 0:
        raise NotFound(
            f"the store has no issue or consumption moves before {cut.isoformat()}: "
            "no demand history to plan from"
        )
    last_day = (cut - timedelta(microseconds=1)).astimezone(UTC).date()
    if demand.filter(pl.col("date") >= last_day).height == 0:
        marker = demand.head(1).with_columns(
            pl.lit(last_day).alias("date"), pl.lit(0.0).alias("quantity")
        )
        demand = pl.concat([demand, marker])
    stock = stock_of(session)
    keys = pl.concat([demand.select(KEYS), stock.select(KEYS)]).unique().sort(KEYS)
    sourcing = sourcing_of(session, keys, sites)
    tables = dict(zip(TABLES, (items, sites, demand, stock, sourcing), strict=True))
    root = Path(folder)
    paths: dict[str, Path] = {}
    for name, table in tables.items():
        for suffix in SUFFIXES:  # the loader must find this table's new file, or none
            if suffix != ".parquet" or not table.height:
                (root / f"{name}{suffix}").unlink(missing_ok=True)
        if table.height:
            paths[name] = write_table(table, root / f"{name}.parquet")
    sources = dict(sorted(sourcing.group_by("lead_time_source").len().iter_rows()))
    return ExportSummary(
        folder=root,
        paths=paths,
        as_of=cut,
        rows={name: table.height for name, table in tables.items()},
        demand_quantity=float(demand["quantity"].sum()),
        lead_time_sources={str(k): int(v) for k, v in sources.items()},
    )


__all__ = [
    "DEFAULT_TRANSFER_LEAD_TIME_DAYS",
    "ExportSummary",
    "dialect_of",
    "export_dataset",
    "frame_of",
    "last_suppliers",
]
