"""Distribution requirements planning on the store: read, plan, peg, keep, release.

:func:`compute` reads the store (:mod:`drp_inputs`) and the network
(:mod:`spareflow.services.network`), plans every echelon with
:func:`spareflow.network.drp.plan` and pegs every supply to the demand it covers
(:func:`spareflow.network.pegging.peg`). Per item-site and bucket:

* forecast: the daily demand rate of the last ``history_days`` times the bucket's days;
  customer orders and work orders consume it (gross = the larger of the two per bucket,
  the textbook forecast consumption); transfers out add to it;
* safety stock: the latest plan run's reorder point less its lead-time demand at the
  forecast rate (0 without a plan run, or with ``safety_stock=False``);
* lead time: the lane's transit days in whole buckets, rounded up;
* lot sizing: ``periods_of_supply`` buckets of net requirements per planned order,
  rounded up to whole units for items counted in pieces (unit of measure EA, PCE, SET,
  KIT ...).

The item-sites planned are those with stock, receipts, orders, demand history or an
item rule of their own, plus every item-site that resupplies them, up the network.
:func:`store_run` keeps a run's planned orders and pegs; :func:`release` turns planned
orders into draft purchase and transfer orders, once each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from spareflow.errors import Conflict, Forbidden, NotFound, ParameterError
from spareflow.network.drp import DrpInput, DrpPlan, SourceSplit, plan
from spareflow.network.model import KEYS, resolve_sourcing
from spareflow.network.pegging import peg
from spareflow.plan.stock import DEFAULT_LEAD_TIME_DAYS
from spareflow.services import drp_inputs, orders
from spareflow.services.network import rules_frame
from spareflow.services.orders import LineIn, OrderView
from spareflow.services.plan_export import frame_of, sites_of, sourcing_of
from spareflow.store.models import DrpPeg, DrpPlannedOrder, DrpRun, Item
from spareflow.store.types import QUANTITY_PLACES, utcnow

BUCKET_DAYS = {"day": 1, "week": 7}
#: Units of measure counted in whole units: planned orders are rounded up to them.
COUNTED_UNITS = ("EA", "PCE", "PC", "SET", "KIT", "PR", "UNIT")
#: Demand kinds in the order they are served within a bucket (then by priority).
DEMAND_RANK = {"work_order": 0, "customer_order": 1, "transfer_out": 2, "dependent": 2,
               "forecast": 3, "safety_stock": 4}  # fmt: skip


@dataclass(frozen=True)
class DrpOptions:
    bucket: str = "week"
    horizon: int = 26
    start: date | None = None  # default: today (UTC), on a Monday for weekly buckets
    history_days: int = 365
    periods_of_supply: int = 1
    safety_stock: bool = True

    def checked(self) -> DrpOptions:
        if self.bucket not in BUCKET_DAYS:
            raise ParameterError("bucket", f"day or week, got {self.bucket!r}")
        if not 1 <= self.horizon <= 520:
            raise ParameterError("horizon", f"1 to 520 buckets, got {self.horizon}")
        if not 1 <= self.history_days <= 3660:
            raise ParameterError("history_days", f"1 to 3660, got {self.history_days}")
        if not 1 <= self.periods_of_supply <= self.horizon:
            raise ParameterError(
                "periods_of_supply",
                f"1 to the horizon ({self.horizon}), got {self.periods_of_supply}",
            )
        return self

    def first_day(self) -> date:
        day = self.start or utcnow().date()
        return day - timedelta(days=day.weekday()) if self.bucket == "week" else day


@dataclass
class DrpResult:
    """A DRP of the store: the record per item-site and bucket, the planned orders, the
    pegs and a summary (what ``spareflow drp`` writes and a run keeps)."""

    options: DrpOptions
    start: date
    records: pl.DataFrame
    planned_orders: pl.DataFrame
    pegs: pl.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def compute(session: Session, options: DrpOptions) -> DrpResult:
    """Plan the store's network (see the module docstring)."""
    options = options.checked()
    start = options.first_day()
    days = BUCKET_DAYS[options.bucket]
    t_max = options.horizon
    data = drp_inputs.read(session, start, days, t_max, options.history_days)
    rules = rules_frame(session)
    keys = pl.concat(
        [f.select(KEYS) for f in (data.on_hand, data.receipts, data.orders, data.rate)]
        + [rules.filter(pl.col("item_id").is_not_null()).select(KEYS)]
    ).unique()
    edges, keys = _network(session, rules, keys)
    keys = keys.sort(KEYS).with_row_index("k")
    n = keys.height
    if n == 0:
        return _result(options, start, keys, None, pl.DataFrame(), pl.DataFrame())
    index = keys.select(*KEYS, pl.col("k").cast(pl.Int64))
    edges = (
        edges.join(index, on=KEYS)
        .join(
            index.rename({"site_id": "source_site_id", "k": "parent"}),
            on=["item_id", "source_site_id"],
            how="left",
        )
        .sort("k", "rank", "rule_id", nulls_last=True)
    )
    edges = edges.with_row_index("e").with_columns(
        pl.col("parent").fill_null(-1),
        drp_inputs.whole_buckets(pl.col("transit_days"), days).alias("lead"),
    )

    def matrix(frame: pl.DataFrame) -> np.ndarray:
        return drp_inputs.by_bucket(index, frame, t_max)

    rate = drp_inputs.by_item_site(index, data.rate, "rate_per_day")
    forecast = np.repeat(rate[:, None] * days, t_max, axis=1)
    independent = data.orders.filter(pl.col("kind") != "transfer_out")
    ordered = matrix(independent)
    transfers = matrix(data.orders.filter(pl.col("kind") == "transfer_out"))
    gross = np.maximum(forecast, ordered) + transfers
    unconsumed = gross - ordered - transfers
    on_hand = drp_inputs.by_item_site(index, data.on_hand, "on_hand")
    safety = np.zeros(n)
    if options.safety_stock and data.safety.height:
        ss = data.safety.join(index, on=KEYS)
        k = ss["k"].to_numpy()
        safety[k] = np.maximum(
            ss["reorder_point"].to_numpy() - rate[k] * ss["lead_time_days"].to_numpy(), 0.0
        )
    ones = np.ones(n, dtype=np.int64)
    inputs = DrpInput(
        gross=gross,
        on_hand=on_hand,
        scheduled_receipts=matrix(data.receipts),
        safety_stock=safety,
        lead_time=np.zeros(n, dtype=np.int64),
        source=-ones,
        periods_of_supply=ones * options.periods_of_supply,
        min_lot=np.zeros(n),
        lot_multiple=_whole_units(session, keys),
        split=SourceSplit(
            edges["k"].to_numpy().astype(np.int64),
            edges["parent"].to_numpy().astype(np.int64),
            edges["share"].to_numpy(),
            edges["lead"].to_numpy(),
        ),
    )
    result = plan(inputs)
    planned = _planned_orders(result, edges, start, days)
    pegs = _pegs(inputs, data, index, planned, unconsumed, start, days)
    return _result(options, start, keys, (inputs, result), planned, pegs)


def _whole_units(session: Session, keys: pl.DataFrame) -> np.ndarray:
    """1 (whole units) for items counted in pieces (each, piece, set, kit), else 0."""
    counted = frame_of(session, select(Item.item_id, Item.unit_of_measure), "item_id uom")
    uom = keys.sort("k").join(counted, on="item_id", how="left")["uom"].fill_null("EA")
    return np.where(uom.str.to_uppercase().is_in(list(COUNTED_UNITS)).to_numpy(), 1.0, 0.0)


def _network(
    session: Session, rules: pl.DataFrame, keys: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rank-1 sourcing edges (under ``rules``) of ``keys`` and of every item-site upstream
    of them, and the item-sites planned."""
    sites = sites_of(session)
    known = keys
    todo = keys
    parts: list[pl.DataFrame] = []
    while todo.height:
        known_sources = sourcing_of(session, todo, sites)
        # no parent and no supplier on record: bought outside, at the default lead time
        unsourced = todo.join(known_sources.select(KEYS), on=KEYS, how="anti").select(
            *KEYS, lead_time_days=pl.lit(float(DEFAULT_LEAD_TIME_DAYS))
        )
        fallback = pl.concat([known_sources, unsourced], how="diagonal_relaxed")
        edges = resolve_sourcing(todo, rules, fallback).filter(pl.col("rank") == 1)
        parts.append(edges)
        upstream = (
            edges.filter(pl.col("source_site_id").is_not_null())
            .select("item_id", pl.col("source_site_id").alias("site_id"))
            .unique()
        )
        todo = upstream.join(known, on=KEYS, how="anti")
        known = pl.concat([known, todo])
    return pl.concat(parts), known


def _planned_orders(result: DrpPlan, edges: pl.DataFrame, start: date, days: int) -> pl.DataFrame:
    """One planned order per edge and receipt bucket."""
    e, t = np.nonzero(result.edge_receipts > 1e-9)
    if e.size == 0:
        return pl.DataFrame(schema={"planned_order_id": pl.Int64})
    lead = edges["lead"].to_numpy()[e]
    release = t - lead
    frame = pl.DataFrame(
        {
            "e": e.astype(np.int64),
            "receipt_bucket": t.astype(np.int64),
            "release_bucket": np.maximum(release, 0).astype(np.int64),
            "past_due": release < 0,
            "quantity": np.round(result.edge_receipts[e, t], QUANTITY_PLACES),
        }
    ).join(edges.select(pl.col("e").cast(pl.Int64), "item_id", "site_id", "source_site_id",
                        "supplier_id", "lane_id", "k", "parent"), on="e")  # fmt: skip
    first = pl.lit(start)
    return (
        frame.sort("release_bucket", "item_id", "site_id", "receipt_bucket", "e")
        .with_row_index("planned_order_id", offset=1)
        .with_columns(
            pl.col("planned_order_id").cast(pl.Int64),
            pl.when(pl.col("source_site_id").is_null())
            .then(pl.lit("purchase"))
            .otherwise(pl.lit("transfer"))
            .alias("kind"),
            (first + pl.duration(days=pl.col("release_bucket") * days)).alias("release_date"),
            (first + pl.duration(days=pl.col("receipt_bucket") * days)).alias("receipt_date"),
        )
    )


def _pegs(
    inputs: DrpInput,
    data: drp_inputs.StoreDemand,
    index: pl.DataFrame,
    planned: pl.DataFrame,
    unconsumed: np.ndarray,
    start: date,
    days: int,
) -> pl.DataFrame:
    """Every item-site's supplies pegged to its demands, first come first served."""
    _n, t_max = inputs.gross.shape
    held = np.flatnonzero(inputs.on_hand > 0)
    receipts = data.receipts.join(index, on=KEYS)
    supply_parts = [
        pl.DataFrame(
            {
                "k": held,
                "bucket": -1,
                "quantity": inputs.on_hand[held],
                "kind": "on_hand",
                "ref": "",
            }
        ),
        receipts.select(
            "k", "bucket", "quantity", pl.lit("scheduled_receipt").alias("kind"), "ref"
        ),
    ]
    if planned.height:
        supply_parts.append(
            planned.select(
                "k",
                pl.col("receipt_bucket").alias("bucket"),
                "quantity",
                pl.lit("planned_order").alias("kind"),
                pl.col("planned_order_id").cast(pl.String).alias("ref"),
            )
        )
    supplies = pl.concat(
        [p.with_columns(pl.col("k", "bucket").cast(pl.Int64)) for p in supply_parts],
        how="vertical_relaxed",
    )
    f_k, f_t = np.nonzero(unconsumed > 1e-9)
    ss = np.flatnonzero(inputs.safety_stock > 0)
    orders_ = data.orders.join(index, on=KEYS)
    demand_parts = [
        orders_.select("k", "bucket", "quantity", "kind", "ref", "priority"),
        pl.DataFrame(
            {
                "k": f_k,
                "bucket": f_t,
                "quantity": unconsumed[f_k, f_t],
                "kind": "forecast",
                "ref": "",
                "priority": 9,
            }
        ),
        pl.DataFrame(
            {
                "k": ss,
                "bucket": t_max,
                "quantity": inputs.safety_stock[ss],
                "kind": "safety_stock",
                "ref": "",
                "priority": 9,
            }
        ),
    ]
    if planned.height:
        inner = planned.filter(pl.col("parent") >= 0)
        demand_parts.append(
            inner.select(
                pl.col("parent").alias("k"),
                pl.col("release_bucket").alias("bucket"),
                "quantity",
                pl.lit("dependent").alias("kind"),
                pl.col("planned_order_id").cast(pl.String).alias("ref"),
                pl.lit(5).alias("priority"),
            )
        )
    demands = pl.concat(
        [
            d.with_columns(
                pl.col("k").cast(pl.Int64),
                pl.col("bucket").cast(pl.Int64),
                pl.col("priority").cast(pl.Int64),
            )
            for d in demand_parts
        ],
        how="vertical_relaxed",
    )
    rank = demands["kind"].replace_strict(DEMAND_RANK, return_dtype=pl.Int64).to_numpy()
    order = demands["bucket"].to_numpy() * 100.0 + rank * 10 + demands["priority"].to_numpy()
    pegs = peg(
        demands["k"].to_numpy(), order, demands["quantity"].to_numpy(),
        supplies["k"].to_numpy(), supplies["bucket"].to_numpy().astype(float),
        supplies["quantity"].to_numpy(),
    )  # fmt: skip
    d, s = pegs.demand, pegs.supply

    def pick(frame: pl.DataFrame, at: np.ndarray, column: str, none: Any) -> list[Any]:
        values = frame[column].to_list()
        return [values[i] if i >= 0 else none for i in at.tolist()]

    def when(frame: pl.DataFrame, at: np.ndarray) -> list[date | None]:
        buckets = frame["bucket"].to_numpy()
        return [
            start + timedelta(days=int(buckets[i]) * days)
            if i >= 0 and 0 <= buckets[i] < t_max
            else None
            for i in at.tolist()
        ]

    keys = index.sort("k")
    return pl.DataFrame(
        {
            "item_id": keys["item_id"].gather(pegs.key).to_list(),
            "site_id": keys["site_id"].gather(pegs.key).to_list(),
            "supply_kind": pick(supplies, s, "kind", "none"),
            "supply_ref": pick(supplies, s, "ref", ""),
            "supply_date": when(supplies, s),
            "demand_kind": pick(demands, d, "kind", "none"),
            "demand_ref": pick(demands, d, "ref", ""),
            "demand_date": when(demands, d),
            "quantity": np.round(pegs.quantity, QUANTITY_PLACES),
        },
        schema_overrides={"supply_date": pl.Date, "demand_date": pl.Date},
    ).with_row_index("peg_id", offset=1)


def _result(
    options: DrpOptions,
    start: date,
    keys: pl.DataFrame,
    planned_run: tuple[DrpInput, DrpPlan] | None,
    planned: pl.DataFrame,
    pegs: pl.DataFrame,
) -> DrpResult:
    days = BUCKET_DAYS[options.bucket]
    if planned_run is None:
        records = pl.DataFrame(
            schema={"item_id": pl.String, "site_id": pl.String, "bucket": pl.Int64}
        )
    else:
        inputs, result = planned_run
        n, t_max = inputs.gross.shape
        sorted_keys = keys.sort("k")
        records = pl.DataFrame(
            {
                "item_id": np.repeat(sorted_keys["item_id"].to_numpy(), t_max),
                "site_id": np.repeat(sorted_keys["site_id"].to_numpy(), t_max),
                "bucket": np.tile(np.arange(t_max), n),
                "gross_requirements": inputs.gross.ravel(),
                "dependent_demand": result.dependent_demand.ravel(),
                "scheduled_receipts": inputs.scheduled_receipts.ravel(),
                "planned_receipts": result.planned_receipts.ravel(),
                "planned_releases": result.planned_releases.ravel(),
                "projected_on_hand": result.projected_on_hand.ravel(),
                "safety_stock": np.repeat(inputs.safety_stock, t_max),
                "echelon": np.repeat(result.echelon, t_max),
            }
        ).with_columns((pl.lit(start) + pl.duration(days=pl.col("bucket") * days)).alias("date"))
    columns = ["planned_order_id", "kind", "item_id", "site_id", "source_site_id", "supplier_id",
               "lane_id", "release_date", "receipt_date", "quantity", "past_due"]  # fmt: skip
    planned_out = (
        planned.select(columns)
        if planned.height
        else pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    )
    summary = {
        "start": start.isoformat(),
        "bucket": options.bucket,
        "horizon": options.horizon,
        "item_sites": keys.height,
        "echelons": int(records["echelon"].to_numpy().max()) + 1 if records.height else 0,
        "planned_orders": planned.height,
        "planned_quantity": float(planned["quantity"].sum()) if planned.height else 0.0,
        "past_due_orders": int(planned["past_due"].sum()) if planned.height else 0,
        "purchase_orders": int((planned["kind"] == "purchase").sum()) if planned.height else 0,
        "transfer_orders": int((planned["kind"] == "transfer").sum()) if planned.height else 0,
        "short_quantity": float(pegs.filter(pl.col("supply_kind") == "none")["quantity"].sum())
        if pegs.height
        else 0.0,
        "by_site": _by_site(keys, planned, pegs),
    }
    return DrpResult(options, start, records, planned_out, pegs, summary)


def _by_site(keys: pl.DataFrame, planned: pl.DataFrame, pegs: pl.DataFrame) -> list[dict[str, Any]]:
    """The summary's figures per receiving site (what a user scoped to sites may see)."""
    sites = keys.group_by("site_id").agg(pl.len().alias("item_sites"))
    if planned.height:
        orders_of = planned.group_by("site_id").agg(
            pl.len().alias("planned_orders"),
            pl.col("quantity").sum().cast(pl.Float64).alias("planned_quantity"),
            pl.col("past_due").cast(pl.Int64).sum().alias("past_due_orders"),
            (pl.col("kind") == "purchase").cast(pl.Int64).sum().alias("purchase_orders"),
            (pl.col("kind") == "transfer").cast(pl.Int64).sum().alias("transfer_orders"),
        )
        sites = sites.join(orders_of, on="site_id", how="left")
    if pegs.height:
        short = (
            pegs.filter(pl.col("supply_kind") == "none")
            .group_by("site_id")
            .agg(pl.col("quantity").sum().alias("short_quantity"))
        )
        sites = sites.join(short, on="site_id", how="left")
    rows = sites.sort("site_id").to_dicts()
    figures = ("planned_orders", "planned_quantity", "past_due_orders", "purchase_orders",
               "transfer_orders", "short_quantity")  # fmt: skip
    return [
        {**row, **{f: row.get(f) or (0.0 if "quantity" in f else 0) for f in figures}}
        for row in rows
    ]


def scoped_summary(summary: dict[str, Any], site_ids: list[str] | None) -> dict[str, Any]:
    """A run's summary as a user of ``site_ids`` may see it (None: everything): the run's
    options and the figures of their sites, without totals over other sites."""
    if site_ids is None:
        return summary
    keep = set(site_ids)
    shared = ("start", "bucket", "horizon", "echelons")
    by_site = [row for row in summary.get("by_site", []) if row.get("site_id") in keep]
    return {**{k: summary[k] for k in shared if k in summary}, "by_site": by_site}


# --- runs kept in the store ---------------------------------------------------------------------


def store_run(session: Session, result: DrpResult, username: str) -> DrpRun:
    """Keep a DRP result (planned orders, pegs, summary) as a run."""
    o = result.options
    run = DrpRun(
        created_by=username,
        options={
            "bucket": o.bucket,
            "horizon": o.horizon,
            "start": result.start.isoformat(),
            "history_days": o.history_days,
            "periods_of_supply": o.periods_of_supply,
            "safety_stock": o.safety_stock,
        },
        summary=result.summary,
        item_sites=int(result.summary["item_sites"]),
    )
    session.add(run)
    session.flush()
    if result.planned_orders.height:
        rows = result.planned_orders.with_columns(pl.lit(run.run_id).alias("run_id")).to_dicts()
        for row in rows:
            row["quantity"] = Decimal(str(row["quantity"]))
        session.execute(insert(DrpPlannedOrder), rows)
    if result.pegs.height:
        session.execute(
            insert(DrpPeg), result.pegs.with_columns(pl.lit(run.run_id).alias("run_id")).to_dicts()
        )
    return run


def get_run(session: Session, run_id: int) -> DrpRun:
    run = session.get(DrpRun, run_id)
    if run is None:
        raise NotFound(f"DRP run {run_id} does not exist")
    return run


def release(
    session: Session,
    run_id: int,
    username: str,
    *,
    planned_order_ids: list[int] | None = None,
    through: date | None = None,
    default_supplier: str | None = None,
    site_ids: list[str] | None = None,
) -> list[OrderView]:
    """Draft purchase and transfer orders from a run's planned orders: those named, else
    every one released on or before ``through`` (default: the run's first bucket, so the
    ones due now and past due). One order per kind, receiving site, source and release
    date (the past due ones count as due in the first bucket); lines due on the receipt
    date. Releasing a few days ahead (``through``) so gives one transfer a day per lane,
    which ``spareflow shipments build`` can consolidate. A planned order released before
    is refused (Conflict), all or nothing.

    ``site_ids`` (None: every site) limits a release to planned orders whose receiving
    site and source site are all among them, as for an order made by hand: a named one
    with neither end among them is not found, one with only one end is Forbidden."""
    run = get_run(session, run_id)
    query = select(DrpPlannedOrder).where(DrpPlannedOrder.run_id == run_id)
    if site_ids is not None:
        origin = DrpPlannedOrder.source_site_id
        query = query.where(
            DrpPlannedOrder.site_id.in_(site_ids) | origin.in_(site_ids)
            if planned_order_ids is not None
            else DrpPlannedOrder.site_id.in_(site_ids) & (origin.is_(None) | origin.in_(site_ids))
        )
    if planned_order_ids is not None:
        if not planned_order_ids:
            raise ParameterError("planned_order_ids", "name at least one planned order")
        query = query.where(DrpPlannedOrder.planned_order_id.in_(planned_order_ids))
    else:
        last = through or date.fromisoformat(str(run.options.get("start")))
        query = query.where(DrpPlannedOrder.release_date <= last)
    rows = list(session.scalars(query.order_by(DrpPlannedOrder.planned_order_id).with_for_update()))
    if planned_order_ids is not None:
        unknown = sorted(set(planned_order_ids) - {r.planned_order_id for r in rows})
        if unknown:
            raise NotFound(f"DRP run {run_id} has no planned order {unknown[0]}")
    if site_ids is not None:
        for r in rows:
            for end in (r.site_id, r.source_site_id):
                if end is not None and end not in site_ids:
                    raise Forbidden(
                        f"planned order {r.planned_order_id} moves goods at site {end}: "
                        f"you have no access to site {end}"
                    )
    done = [r for r in rows if r.order_id is not None]
    if done and planned_order_ids is not None:
        raise Conflict(
            f"planned order {done[0].planned_order_id} of DRP run {run_id} was released "
            f"already (order id {done[0].order_id})",
            "planned_order_ids",
        )
    rows = [r for r in rows if r.order_id is None]
    first = date.fromisoformat(str(run.options.get("start")))
    groups: dict[tuple[str, str, str | None, str | None, date], list[DrpPlannedOrder]] = {}
    for r in rows:
        supplier = r.supplier_id or (default_supplier if r.kind == "purchase" else None)
        if r.kind == "purchase" and supplier is None:
            raise ParameterError(
                "default_supplier",
                f"planned order {r.planned_order_id} buys {r.item_id} for {r.site_id} from no "
                "known supplier: add a sourcing rule or give a default supplier",
            )
        day = max(r.release_date, first)  # past due ones go with the first bucket's
        groups.setdefault((r.kind, r.site_id, r.source_site_id, supplier, day), []).append(r)
    made: list[OrderView] = []
    for (kind, site, source, supplier, _day), members in groups.items():
        view = orders.create(
            session, kind, site,
            [LineIn(m.item_id, m.quantity, due_date=m.receipt_date) for m in members],
            username, partner_id=supplier, source_site_id=source,
            note=f"DRP run {run_id}: planned orders "
            + ", ".join(str(m.planned_order_id) for m in members),
        )  # fmt: skip
        for m in members:
            m.order_id = view.order.order_id
        made.append(view)
    session.flush()
    return made
