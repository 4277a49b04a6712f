"""Repairable items in the stock plan: their stock per location set for equipment
availability by VARI-METRIC across the depot and its bases, instead of a fill rate per
item-site.

An item is planned this way when the items table marks it ``repairable`` and the repair
table has its row at a depot (a site that resupplies others: its repair days). Its
bases are the depot's child sites in the plan. Per base, from the plan and the dataset:

* removals per day: the plan's demand (forecast or installed base);
* repair share and base repair days: the repair table's row (no row: nothing repaired
  at the base);
* order-and-ship days: the item-site's sourcing lead time (from its parent);
* fleet: the base's assets (count) and the item's quantity per asset (the bill of
  positions, the largest over models); without assets, 100 units with one position
  each, which makes the objective the total expected backorders.

The stock of each depot's items is optimised together (``multiechelon.optimise``) for
``PlanParams.availability``; the plan rows become base-stock policies (order up to S,
reorder at S - 1, one at a time) with the model's fill rate, backorders and on hand, and
``expected_availability`` per base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from spareflow.data.load import Dataset
from spareflow.multiechelon.metric import Excess
from spareflow.multiechelon.network import RepairNetwork
from spareflow.multiechelon.optimise import optimise

F64 = NDArray[np.float64]

#: Fleet assumed at a base without assets (one position per unit of equipment).
DEFAULT_FLEET = 100.0


@dataclass(frozen=True, slots=True)
class RepairablePlan:
    """Plan columns to override, by row of the plan table, and per depot the bases'
    availability."""

    rows: NDArray[np.int64]
    stock: NDArray[np.int64]
    fill_rate: F64
    backorders: F64
    on_hand: F64
    pipeline: F64
    availability: F64
    by_depot: dict[str, dict[str, float]]


def repairable_items(dataset: Dataset) -> pl.DataFrame | None:
    """(item_id, site_id, repair_days) at depots for repairable items; None if none."""
    items, repair, sites = dataset["items"], dataset.get("repair"), dataset["sites"]
    if repair is None or "repairable" not in items.columns or "parent_site_id" not in sites.columns:
        return None
    depots = sites.filter(pl.col("site_id").is_in(sites["parent_site_id"].drop_nulls().implode()))
    flagged = items.filter(pl.col("repairable").fill_null(False))["item_id"]
    at_depot = repair.filter(
        pl.col("item_id").is_in(flagged.implode())
        & pl.col("site_id").is_in(depots["site_id"].implode())
    ).select("item_id", "site_id", "repair_days")
    return at_depot if at_depot.height else None


def plan_repairables(
    dataset: Dataset,
    table: pl.DataFrame,
    mean_per_day: F64,
    availability: float,
    per_base: bool = False,
) -> RepairablePlan | None:
    """The repairable items' stock (see the module doc); None when there are none.
    ``per_base``: every base meets ``availability``, not only the fleet."""
    depot_rows = repairable_items(dataset)
    if depot_rows is None:
        return None
    sites = dataset["sites"]
    plan = table.select("item_id", "site_id", "lead_time_days").with_row_index("_row")
    plan = plan.with_columns(_demand=pl.Series(np.asarray(mean_per_day, dtype=np.float64)))
    repair = dataset["repair"]
    out_rows: list[NDArray[np.int64]] = []
    out: dict[str, list[NDArray[np.generic]]] = {
        k: [] for k in ("stock", "fill", "ebo", "on_hand", "pipe", "avail")
    }
    by_depot: dict[str, dict[str, float]] = {}
    for depot in depot_rows["site_id"].unique(maintain_order=True):
        bases = sites.filter(pl.col("parent_site_id") == depot)["site_id"].to_list()
        items = depot_rows.filter(pl.col("site_id") == depot)
        item_ids = items["item_id"].to_list()
        if not bases or not item_ids:
            continue
        net, base_rows, depot_row = _network(dataset, plan, repair, items, depot, bases)
        alloc, _ = optimise(net, "vari-metric", availability=availability, per_base=per_base)
        res = alloc.result
        n, j = net.items, net.bases
        # the plan's rows of the bases, then of the depot (-1: not in the plan)
        avail = np.broadcast_to(res.availability[None, :], (n, j))
        _collect(out, out_rows, base_rows, alloc.base_stock, res.base,
                 res.base_pipeline_mean, avail)  # fmt: skip
        no_avail = np.full(n, np.nan)
        _collect(out, out_rows, depot_row, alloc.depot_stock, res.depot,
                 res.depot_pipeline_mean, no_avail)  # fmt: skip
        by_depot[str(depot)] = dict(zip(bases, map(float, res.availability), strict=True))
    if not out_rows:
        return None

    def cat(key: str) -> F64:
        return np.concatenate(out[key]).astype(np.float64)

    return RepairablePlan(
        rows=np.concatenate(out_rows).astype(np.int64),
        stock=np.concatenate(out["stock"]).astype(np.int64),
        fill_rate=cat("fill"),
        backorders=cat("ebo"),
        on_hand=cat("on_hand"),
        pipeline=cat("pipe"),
        availability=cat("avail"),
        by_depot=by_depot,
    )


def _collect(
    out: dict[str, list[NDArray[np.generic]]],
    out_rows: list[NDArray[np.int64]],
    rows: NDArray[np.int64],
    stock: NDArray[np.int64],
    excess: Excess,
    pipeline: F64,
    availability: F64,
) -> None:
    """Append one echelon's figures for the cells that are plan rows (``rows`` >= 0);
    expected on hand of base stock S is S - pipeline + backorders."""
    have = rows >= 0
    out_rows.append(rows[have])
    out["stock"].append(stock[have])
    out["fill"].append(excess.fill_rate[have])
    out["ebo"].append(excess.backorders[have])
    out["on_hand"].append((stock - pipeline + excess.backorders)[have])
    out["pipe"].append(pipeline[have])
    out["avail"].append(availability[have])


def _network(
    dataset: Dataset,
    plan: pl.DataFrame,
    repair: pl.DataFrame,
    items: pl.DataFrame,
    depot: str,
    bases: list[str],
) -> tuple[RepairNetwork, NDArray[np.int64], NDArray[np.int64]]:
    """The depot's network of ``items``, the plan rows of each (item, base) (-1: none)
    and of each (item, depot)."""
    ids = items["item_id"].to_list()
    grid = pl.DataFrame({"item_id": np.repeat(ids, len(bases)), "site_id": bases * len(ids)})
    cells = grid.join(plan, on=["item_id", "site_id"], how="left", maintain_order="left").join(
        repair.select("item_id", "site_id", "repair_days", "repair_share"),
        on=["item_id", "site_id"],
        how="left",
        maintain_order="left",
    )
    shape = (len(ids), len(bases))

    def arr(col: str, default: float) -> F64:
        return cells[col].cast(pl.Float64).fill_null(default).to_numpy().reshape(shape)

    at_depot = pl.DataFrame({"item_id": ids, "site_id": depot}).join(
        plan, on=["item_id", "site_id"], how="left", maintain_order="left"
    )
    unit_cost = dataset["items"].select("item_id", "unit_cost")
    cost = (
        pl.DataFrame({"item_id": ids})
        .join(unit_cost, on="item_id", how="left", maintain_order="left")["unit_cost"]
        .cast(pl.Float64)
        .fill_null(1.0)
        .to_numpy()
    )
    fleet, per_unit = _fleet(dataset, ids, bases)
    net = RepairNetwork(
        unit_cost=np.maximum(cost, 1e-6),
        parent=np.full(len(ids), -1, dtype=np.int64),
        quantity_per_unit=per_unit,
        demand=np.maximum(arr("_demand", 0.0), 0.0),
        repair_share=arr("repair_share", 0.0),
        base_repair_days=arr("repair_days", 0.0),
        order_ship_days=arr("lead_time_days", 0.0),
        depot_repair_days=items["repair_days"].cast(pl.Float64).to_numpy(),
        fleet_size=fleet,
    )
    base_rows = cells["_row"].fill_null(-1).cast(pl.Int64).to_numpy().reshape(shape)
    depot_rows = at_depot["_row"].fill_null(-1).cast(pl.Int64).to_numpy()
    return net, base_rows, depot_rows


def _fleet(dataset: Dataset, ids: list[str], bases: list[str]) -> tuple[F64, F64]:
    """Units of equipment per base and positions of each item per unit."""
    assets, bop = dataset.get("assets"), dataset.get("bill_of_positions")
    if assets is None or bop is None:
        return np.full(len(bases), DEFAULT_FLEET), np.ones(len(ids))
    counts = dict(assets.group_by("site_id").len().iter_rows())
    fleet = np.array([float(counts.get(b, 0)) for b in bases])
    per = dict(bop.group_by("item_id").agg(pl.col("quantity_per_asset").max()).iter_rows())
    per_unit = np.array([float(per.get(i) or 1.0) for i in ids])
    fleet = np.where(fleet > 0, fleet, DEFAULT_FLEET)
    return fleet, np.maximum(per_unit, 1.0)
