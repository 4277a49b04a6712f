"""The repair-network folder of ``spareflow metric``: items, sites, repair and optional
stock tables (.csv, .parquet or .xlsx), validated and turned into a
:class:`~spareflow.multiechelon.network.RepairNetwork`.

Tables (our extension of design.md's planning tables, same rules):

* items: item_id, unit_cost (> 0); optional parent_item_id (the LRU an SRU belongs
  to; empty for an LRU) and quantity_per_unit (installed per unit of equipment; 1).
* sites: site_id, parent_site_id (empty for the depot, the depot for every base);
  optional fleet_size (units of equipment the base supports; 1).
* repair: item_id, site_id, repair_days; at a base also demand_per_year (removals),
  repair_share (repaired at the base, 0..1) and order_ship_days (from the depot); at the
  depot an SRU's demand_per_year is its removals in the depot's repairs of its LRU.
  Every item needs a row at the depot (its depot repair days); an item without a row
  at a base has no removals there.
* stock (optional): item_id, site_id, on_hand: the levels to evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from spareflow.data.load import find_table, read_table
from spareflow.data.schema import Column, Kind, Table
from spareflow.data.validate import FaultLog, Parsed, check_reference
from spareflow.errors import Fault, InputError, NotFound
from spareflow.multiechelon.network import RepairNetwork

NETWORK_ITEMS = Table(
    "items",
    (
        Column("item_id", Kind.ID),
        Column("unit_cost", Kind.NONNEG),
        Column("parent_item_id", Kind.ID, False),
        Column("quantity_per_unit", Kind.NONNEG, False),
        Column("description", Kind.TEXT, False),
    ),
    key=("item_id",),
    references={"parent_item_id": "items"},
)

NETWORK_SITES = Table(
    "sites",
    (
        Column("site_id", Kind.ID),
        Column("parent_site_id", Kind.ID, False),
        Column("fleet_size", Kind.NONNEG, False),
        Column("name", Kind.TEXT, False),
    ),
    key=("site_id",),
    references={"parent_site_id": "sites"},
)

REPAIR = Table(
    "repair",
    (
        Column("item_id", Kind.ID),
        Column("site_id", Kind.ID),
        Column("repair_days", Kind.NONNEG),
        Column("demand_per_year", Kind.NONNEG, False),
        Column("repair_share", Kind.SHARE, False),
        Column("order_ship_days", Kind.NONNEG, False),
    ),
    key=("item_id", "site_id"),
    references={"item_id": "items", "site_id": "sites"},
)

NETWORK_STOCK = Table(
    "stock",
    (
        Column("item_id", Kind.ID),
        Column("site_id", Kind.ID),
        Column("on_hand", Kind.NONNEG),
    ),
    key=("item_id", "site_id"),
    references={"item_id": "items", "site_id": "sites"},
)

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True, slots=True)
class NetworkData:
    """A validated repair network with its ids; ``depot_stock``/``base_stock`` are the
    stock table's levels (None without one)."""

    network: RepairNetwork
    item_ids: list[str]
    depot_id: str
    base_ids: list[str]
    depot_stock: np.ndarray | None
    base_stock: np.ndarray | None


def load_network(folder: str | Path, max_faults: int = 50) -> NetworkData:
    """Read and validate a repair-network folder; every fault names file, row, column."""
    root = Path(folder)
    if not root.is_dir():
        raise NotFound(f"{root}: not a folder (expected items, sites and repair tables)")
    log = FaultLog(cap=max_faults)
    paths = {name: find_table(root, name) for name in ("items", "sites", "repair", "stock")}
    for name in ("items", "sites", "repair"):
        if paths[name] is None:
            log.add(Fault(str(root / name), "table not found (.csv, .parquet or .xlsx)"))
    if log.total:
        raise InputError(log.faults, log.truncated)
    items = _read(paths["items"], NETWORK_ITEMS, log, {})
    sites = _read(paths["sites"], NETWORK_SITES, log, {})
    ids = {}
    if items is not None:
        ids["items"] = items.frame["item_id"]
    if sites is not None:
        ids["sites"] = sites.frame["site_id"]
    repair = _read(paths["repair"], REPAIR, log, ids)
    stock = _read(paths["stock"], NETWORK_STOCK, log, ids) if paths["stock"] else None
    if log.total or items is None or sites is None or repair is None:
        raise InputError(log.faults, log.truncated)
    data = _assemble(
        items.frame, sites.frame, repair.frame, None if stock is None else stock.frame, paths, log
    )
    if log.total or data is None:
        raise InputError(log.faults, log.truncated)
    return data


def _read(
    path: Path | None, table: Table, log: FaultLog, ids: dict[str, pl.Series]
) -> Parsed | None:
    """Read, parse and check references (self-references against the table's own ids)."""
    if path is None:
        return None
    before = log.total
    parsed = read_table(path, table, log, ids)
    if parsed is None or not parsed.complete or log.total > before:
        return None
    own = {table.name: parsed.frame[table.key[0]]} if len(table.key) == 1 else {}
    for column, target in table.references.items():
        known = {**ids, **own}
        if column not in parsed.known and target in known:
            check_reference(parsed.frame, column, known[target], target, path.name, log)
    return parsed if log.total == before else None


def _assemble(
    items: pl.DataFrame,
    sites: pl.DataFrame,
    repair: pl.DataFrame,
    stock: pl.DataFrame | None,
    paths: dict[str, Path | None],
    log: FaultLog,
) -> NetworkData | None:
    def name(table: str) -> str:
        p = paths[table]
        return p.name if p is not None else table

    sites = sites.with_row_index("_row", offset=2)
    parent = sites["parent_site_id"] if "parent_site_id" in sites.columns else None
    roots = sites.filter(pl.col("parent_site_id").is_null()) if parent is not None else sites
    if roots.height != 1:
        log.add(
            Fault(
                name("sites"),
                f"exactly one depot (a site without parent_site_id) is needed, found "
                f"{roots.height}",
                column="parent_site_id",
            )
        )
        return None
    depot = str(roots["site_id"][0])
    bases = sites.filter(pl.col("site_id") != depot)
    deep = bases.filter(pl.col("parent_site_id") != depot)
    for row, site in zip(deep["_row"], deep["site_id"], strict=True):
        log.add(
            Fault(
                name("sites"),
                f"site {site} is resupplied by another base: two echelons only (depot and "
                f"bases), its parent must be {depot}",
                row=int(row),
                column="parent_site_id",
            )
        )
    if bases.height == 0:
        log.add(Fault(name("sites"), "no base: add sites whose parent_site_id is the depot"))
    item_ids = [str(x) for x in items["item_id"]]
    base_ids = [str(x) for x in bases["site_id"]]
    item_index = {k: i for i, k in enumerate(item_ids)}
    base_index = {k: j for j, k in enumerate(base_ids)}
    n, j = len(item_ids), len(base_ids)
    repair = repair.with_row_index("_row", offset=2)
    at_depot = repair.filter(pl.col("site_id") == depot)
    missing = sorted(set(item_ids) - {str(x) for x in at_depot["item_id"]})
    for item in missing[:10]:
        log.add(
            Fault(
                name("repair"),
                f"item {item} has no row at the depot {depot} (its depot repair_days)",
                column="site_id",
            )
        )
    at_bases = repair.filter(pl.col("site_id") != depot)
    for column in ("demand_per_year", "repair_share", "order_ship_days"):
        if column not in at_bases.columns:
            if at_bases.height:
                log.add(Fault(name("repair"), "column missing (needed at bases)", column=column))
            continue
        empty = at_bases.filter(pl.col(column).is_null())
        for row in empty["_row"].head(10):
            log.add(Fault(name("repair"), "empty at a base", row=int(row), column=column))
    unit_cost = items["unit_cost"].cast(pl.Float64).to_numpy()
    for row in np.flatnonzero(~(unit_cost > 0))[:10]:
        log.add(Fault(name("items"), "must be > 0", row=int(row) + 2, column="unit_cost"))
    if log.total:
        return None
    parent_item = np.full(n, -1, dtype=np.int64)
    if "parent_item_id" in items.columns:
        for i, p in enumerate(items["parent_item_id"]):
            if p is not None:
                parent_item[i] = item_index[str(p)]
    qty = np.ones(n)
    if "quantity_per_unit" in items.columns:
        qty = items["quantity_per_unit"].cast(pl.Float64).fill_null(1.0).to_numpy()
    fleet = np.ones(j)
    if "fleet_size" in bases.columns:
        fleet = bases["fleet_size"].cast(pl.Float64).fill_null(1.0).to_numpy()
    depot_days = np.zeros(n)
    rows = np.array([item_index[str(x)] for x in at_depot["item_id"]], dtype=np.int64)
    depot_days[rows] = at_depot["repair_days"].cast(pl.Float64).to_numpy()
    removed = np.zeros(n)  # an SRU's removals in the depot's repairs of its LRU
    if "demand_per_year" in at_depot.columns:
        per_year = at_depot["demand_per_year"].cast(pl.Float64).fill_null(0.0).to_numpy()
        removed[rows] = per_year / DAYS_PER_YEAR
    demand = np.zeros((n, j))
    share = np.zeros((n, j))
    base_days = np.zeros((n, j))
    ship = np.zeros((n, j))
    if at_bases.height:
        ii = np.array([item_index[str(x)] for x in at_bases["item_id"]], dtype=np.int64)
        jj = np.array([base_index[str(x)] for x in at_bases["site_id"]], dtype=np.int64)
        demand[ii, jj] = at_bases["demand_per_year"].cast(pl.Float64).to_numpy() / DAYS_PER_YEAR
        share[ii, jj] = at_bases["repair_share"].cast(pl.Float64).to_numpy()
        base_days[ii, jj] = at_bases["repair_days"].cast(pl.Float64).to_numpy()
        ship[ii, jj] = at_bases["order_ship_days"].cast(pl.Float64).to_numpy()
    network = RepairNetwork(
        unit_cost=unit_cost,
        parent=parent_item,
        quantity_per_unit=qty,
        demand=demand,
        repair_share=share,
        base_repair_days=base_days,
        order_ship_days=ship,
        depot_repair_days=depot_days,
        fleet_size=fleet,
        depot_removals=removed,
    )
    bad_parent = np.flatnonzero(parent_item >= 0)
    for i in map(int, bad_parent):
        if parent_item[parent_item[i]] >= 0:
            log.add(
                Fault(
                    name("items"),
                    f"item {item_ids[i]}'s parent {item_ids[parent_item[i]]} is itself an "
                    "SRU: two indentures at most",
                    row=int(i) + 2,
                    column="parent_item_id",
                )
            )
    for i in np.flatnonzero((parent_item < 0) & (removed > 0))[:10]:
        log.add(
            Fault(
                name("repair"),
                f"item {item_ids[i]} is an LRU: demand_per_year at the depot is only for an "
                "SRU (its removals in the depot's repairs of its LRU); give removals at bases",
                column="demand_per_year",
            )
        )
    for i in np.flatnonzero((parent_item < 0) & ~(qty > 0))[:10]:
        log.add(Fault(name("items"), "must be > 0 for an LRU", row=int(i) + 2,
                      column="quantity_per_unit"))  # fmt: skip
    for b in np.flatnonzero(~(fleet > 0))[:10]:
        row = int(bases["_row"][int(b)])
        log.add(Fault(name("sites"), "must be > 0", row=row, column="fleet_size"))
    if log.total:
        return None
    depot_stock = base_stock = None
    if stock is not None:
        depot_stock = np.zeros(n, dtype=np.int64)
        base_stock = np.zeros((n, j), dtype=np.int64)
        on_hand = stock["on_hand"].cast(pl.Float64).to_numpy()
        frac = np.flatnonzero(on_hand != np.round(on_hand))
        for r in frac[:10]:
            log.add(Fault(name("stock"), "must be a whole number of units", row=int(r) + 2,
                          column="on_hand", value=str(on_hand[r])))  # fmt: skip
        for k, (item, site) in enumerate(zip(stock["item_id"], stock["site_id"], strict=True)):
            i = item_index[str(item)]
            if str(site) == depot:
                depot_stock[i] = int(on_hand[k])
            else:
                base_stock[i, base_index[str(site)]] = int(on_hand[k])
        if log.total:
            return None
    return NetworkData(network, item_ids, depot, base_ids, depot_stock, base_stock)
