"""Allocation on the store: who gets a site's scarce stock, and where else to get it.

:func:`allocate` shares a site's serviceable stock between the open demands on it by
class (:mod:`spareflow.network.allocate`): equipment down first (work orders on an asset
that is down, and customer orders of priority 1, the customer's machine being down),
then service contracts (other customer orders and work orders), then replenishment
(transfers to other sites, fair shares between them); and suggests lateral
transshipments for what stays short from other sites' excess (on hand less their own
commitments and the latest plan's reorder point) over active lanes.

A caller scoped to sites passes ``site_ids``: other sites are then not suggested as
senders, so nothing of them is revealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.errors import NotFound
from spareflow.network import allocate as allocation
from spareflow.services import drp_inputs
from spareflow.services.master import get_site
from spareflow.services.promising import MAX_HORIZON_DAYS, site_lanes
from spareflow.store.models import Asset, Item, Order, WorkOrder
from spareflow.store.types import utcnow

CLASSES = ("equipment_down", "service_contract", "replenishment")


@dataclass
class AllocationResult:
    """The demands on a site's stock with what each gets (``demands``), the lateral moves
    suggested for what stays short (``transshipments``) and a ``summary``."""

    site_id: str
    demands: pl.DataFrame
    transshipments: pl.DataFrame
    summary: dict[str, Any]


def allocate(
    session: Session,
    site_id: str,
    *,
    item_ids: list[str] | None = None,
    integer: bool = True,
    site_ids: list[str] | None = None,
) -> AllocationResult:
    """Share ``site_id``'s serviceable stock between its open demands by class and
    suggest transshipments for the shortages (module docstring). Read-only: nothing is
    reserved or moved; act on the result with order actions and transfers."""
    get_site(session, site_id)
    if site_ids is not None and site_id not in site_ids:
        raise NotFound(f"site {site_id!r} does not exist")
    start = utcnow().date()
    store = drp_inputs.read(session, start, 1, MAX_HORIZON_DAYS, 1)
    demands = _demands(session, site_id, store.orders)
    if item_ids is not None:
        demands = demands.filter(pl.col("item_id").is_in(item_ids))
    stock = store.on_hand.filter(pl.col("site_id") == site_id)
    items = sorted(set(demands["item_id"].to_list()))
    item_index = {i: k for k, i in enumerate(items)}
    pool = (
        pl.DataFrame({"item_id": items}, schema={"item_id": pl.String})
        .join(stock, on="item_id", how="left", maintain_order="left")["on_hand"]
        .fill_null(0.0)
        .cast(pl.Float64)
        .to_numpy()
        .copy()
    )
    if integer:
        pool = np.floor(pool + 1e-9)
    destinations = sorted(set(demands["destination_site_id"].to_list()))
    site_index = {s: k for k, s in enumerate(destinations)}
    item = np.array([item_index[i] for i in demands["item_id"]], dtype=np.intp)
    where = np.array([site_index[s] for s in demands["destination_site_id"]], dtype=np.intp)
    quantity = demands["quantity"].cast(pl.Float64).to_numpy().copy()
    klass = demands["class"].to_numpy().astype(np.intp)
    whole = bool(integer and np.all(quantity == np.round(quantity)))
    shared = allocation.allocate(pool, item, where, quantity, klass, integer=whole)
    demands = demands.with_columns(
        pl.Series("allocated", shared.allocated), pl.Series("short", shared.short)
    )
    moves = _transshipments(session, store, demands, site_ids)
    summary = {
        "site_id": site_id,
        "demands": demands.height,
        "items": len(items),
        "asked": float(quantity.sum()),
        "allocated": float(shared.allocated.sum()),
        "short": float(shared.short.sum()),
        "short_by_class": {
            CLASSES[c]: float(shared.short[klass == c].sum()) for c in range(len(CLASSES))
        },
        "transshipments": moves.height,
        "transshipped": float(moves["quantity"].sum()) if moves.height else 0.0,
    }
    return AllocationResult(site_id, demands, moves, summary)


def _demands(session: Session, site_id: str, orders: pl.DataFrame) -> pl.DataFrame:
    """The open demands on ``site_id``'s stock with their class and the site they serve."""
    mine = orders.filter(pl.col("site_id") == site_id)
    refs = mine["ref"].to_list()
    down = set(
        session.scalars(
            select(WorkOrder.number).where(
                WorkOrder.number.in_(refs),
                WorkOrder.asset_id == Asset.asset_id,
                Asset.status == "down",
            )
        )
    )
    receiving = dict(
        session.execute(
            select(Order.number, Order.site_id).where(
                Order.number.in_(refs), Order.kind == "transfer"
            )
        ).all()
    )
    kind = pl.col("kind")
    down_now = ((kind == "work_order") & pl.col("ref").is_in(sorted(down))) | (
        (kind == "customer_order") & (pl.col("priority") == 1)
    )
    klass = pl.when(down_now).then(0).when(kind == "transfer_out").then(2).otherwise(1)
    return (
        mine.with_columns(
            klass.cast(pl.Int64).alias("class"),
            pl.col("ref")
            .replace_strict(receiving, default=site_id, return_dtype=pl.String)
            .alias("destination_site_id"),
        )
        .with_columns(
            pl.col("class").replace_strict(dict(enumerate(CLASSES))).alias("class_name"),
        )
        .sort("class", "bucket", "priority", "ref", "item_id")
        .select(
            "item_id",
            "ref",
            "kind",
            "class",
            "class_name",
            "priority",
            pl.col("bucket").alias("due_in_days"),
            "destination_site_id",
            "quantity",
        )
    )


def _transshipments(
    session: Session,
    store: drp_inputs.StoreDemand,
    demands: pl.DataFrame,
    site_ids: list[str] | None,
) -> pl.DataFrame:
    columns = {
        "item_id": pl.String, "ref": pl.String, "from_site_id": pl.String,
        "to_site_id": pl.String, "lane_id": pl.String, "quantity": pl.Float64,
        "transit_days": pl.Float64, "cost": pl.Float64,
    }  # fmt: skip
    short = demands.filter(pl.col("short") > 0)
    if short.height == 0:
        return pl.DataFrame(schema=columns)
    lanes = site_lanes(session, site_ids)
    keys = ["item_id", "site_id"]
    committed = store.orders.group_by(keys).agg(pl.col("quantity").sum().alias("committed"))
    keep = store.safety.select(*keys, pl.col("reorder_point").alias("keep"))
    excess = (
        store.on_hand.join(committed, on=keys, how="left")
        .join(keep, on=keys, how="left")
        .with_columns(
            (
                pl.col("on_hand")
                - pl.col("committed").fill_null(0.0)
                - pl.col("keep").fill_null(0.0).ceil()
            ).alias("excess")
        )
        .filter(pl.col("excess") >= 1, pl.col("item_id").is_in(short["item_id"].implode()))
    )
    if site_ids is not None:
        excess = excess.filter(pl.col("site_id").is_in(site_ids))
    excess = excess.with_columns(pl.col("excess").floor())
    if excess.height == 0 or lanes.height == 0:
        return pl.DataFrame(schema=columns)
    items = sorted(set(short["item_id"].to_list()))
    sites = sorted(
        set(short["destination_site_id"].to_list())
        | set(excess["site_id"].to_list())
        | set(lanes["origin_site_id"].to_list())
        | set(lanes["destination_site_id"].to_list())
    )
    ii = {x: k for k, x in enumerate(items)}
    si = {x: k for k, x in enumerate(sites)}
    weight = dict(session.execute(select(Item.item_id, Item.unit_weight_kg)).all())
    # ranked on cost per unit and per shipment; the cost per kg (the item's weight) is
    # added to the suggestion's cost afterwards
    got = allocation.transshipments(
        np.array([ii[x] for x in short["item_id"]], dtype=np.intp),
        np.array([si[x] for x in short["destination_site_id"]], dtype=np.intp),
        short["short"].to_numpy().copy(),
        short["class"].to_numpy().astype(np.intp),
        np.array([ii[x] for x in excess["item_id"]], dtype=np.intp),
        np.array([si[x] for x in excess["site_id"]], dtype=np.intp),
        excess["excess"].to_numpy().astype(np.float64),
        allocation.Lanes(
            from_site=np.array([si[x] for x in lanes["origin_site_id"]], dtype=np.intp),
            to_site=np.array([si[x] for x in lanes["destination_site_id"]], dtype=np.intp),
            transit_days=lanes["transit_days"].to_numpy().astype(np.float64),
            cost_per_unit=lanes["cost_per_unit"].to_numpy().astype(np.float64),
            fixed_cost=lanes["cost_per_shipment"].to_numpy().astype(np.float64),
        ),
    )
    lane_ids = lanes["lane_id"].to_list()
    per_kg = lanes["cost_per_kg"].to_numpy()
    refs = short["ref"].to_list()
    rows = []
    for k in range(got.shortage.size):
        item_id = items[int(got.item[k])]
        lane = int(got.lane[k])
        qty = float(got.quantity[k])
        rows.append(
            {
                "item_id": item_id,
                "ref": refs[int(got.shortage[k])],
                "from_site_id": sites[int(got.from_site[k])],
                "to_site_id": sites[int(got.to_site[k])],
                "lane_id": lane_ids[lane],
                "quantity": qty,
                "transit_days": float(got.transit_days[k]),
                "cost": round(
                    float(got.cost[k])
                    + qty * float(per_kg[lane]) * float(weight.get(item_id) or 0),
                    2,
                ),
            }
        )
    return pl.DataFrame(rows, schema=columns)
