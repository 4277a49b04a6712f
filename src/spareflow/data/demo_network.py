"""A generated repair network (the folder ``spareflow metric`` reads): one depot, a few
bases each supporting a fleet, LRUs and, for some of them, SRUs (two indentures).

Figures are plausible for an airline or a rail operator's rotables: removals 2 to 30 per
year per LRU and base, 20-60 % repaired at the base in 2-8 days, depot repair 15-40
days, order-and-ship 2-6 days, unit costs log-normal around 8,000.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def generate_network(
    items: int = 40, bases: int = 4, srus_per_family: int = 2, families: int = 3, seed: int = 7
) -> dict[str, pl.DataFrame]:
    """Tables items, sites and repair of a generated network (``families`` of the LRUs
    get ``srus_per_family`` SRUs each, on top of ``items`` LRUs)."""
    rng = np.random.default_rng(seed)
    lru_ids = [f"LRU-{k:04d}" for k in range(items)]
    sru_ids: list[str] = []
    parents: list[str] = []
    for f in range(min(families, items)):
        for k in range(srus_per_family):
            sru_ids.append(f"SRU-{f:03d}-{k}")
            parents.append(lru_ids[f])
    n_sru = len(sru_ids)
    item_table = pl.DataFrame(
        {
            "item_id": lru_ids + sru_ids,
            "unit_cost": np.round(
                np.concatenate(
                    (
                        rng.lognormal(np.log(8000.0), 0.9, items),
                        rng.lognormal(np.log(1500.0), 0.7, n_sru),
                    )
                ),
                2,
            ),
            "parent_item_id": [None] * items + parents,
            "quantity_per_unit": np.concatenate(
                (rng.integers(1, 3, items), np.ones(n_sru, dtype=np.int64))
            ),
        }
    )
    base_ids = [f"BASE-{j + 1}" for j in range(bases)]
    site_table = pl.DataFrame(
        {
            "site_id": ["DEPOT", *base_ids],
            "parent_site_id": [None] + ["DEPOT"] * bases,
            "fleet_size": [None, *rng.integers(8, 30, bases).tolist()],
        },
        schema_overrides={"fleet_size": pl.Int64},
    )
    rows: list[dict[str, object]] = []
    # LRUs first: their removals and repair shares at each base
    lru_demand = rng.uniform(2.0, 30.0, (items, bases))
    lru_share = rng.uniform(0.2, 0.6, (items, bases))
    for i, item in enumerate(lru_ids):
        rows.append(_row(item, "DEPOT", float(rng.uniform(15.0, 40.0))))
        for j, base in enumerate(base_ids):
            rows.append(
                _row(item, base, float(rng.uniform(2.0, 8.0)), float(lru_demand[i, j]),
                     float(lru_share[i, j]), float(rng.uniform(2.0, 6.0)))
            )  # fmt: skip
    # an SRU is removed in a share of its LRU's repairs, at the bases and the depot
    for sru, parent in zip(sru_ids, parents, strict=True):
        i = lru_ids.index(parent)
        need = float(rng.uniform(0.2, 0.6))
        at_depot = need * float(((1.0 - lru_share[i]) * lru_demand[i]).sum())
        rows.append(_row(sru, "DEPOT", float(rng.uniform(15.0, 40.0)), at_depot))
        for j, base in enumerate(base_ids):
            removals = need * float(lru_share[i, j] * lru_demand[i, j])
            rows.append(
                _row(sru, base, float(rng.uniform(2.0, 8.0)), removals,
                     float(rng.uniform(0.2, 0.6)), float(rng.uniform(2.0, 6.0)))
            )  # fmt: skip
    repair = pl.DataFrame(rows).with_columns(
        pl.col("repair_days", "repair_share", "order_ship_days").round(3),
        pl.col("demand_per_year").round(6),
    )
    return {"items": item_table, "sites": site_table, "repair": repair}


def _row(
    item: str,
    site: str,
    repair_days: float,
    demand_per_year: float | None = None,
    repair_share: float | None = None,
    order_ship_days: float | None = None,
) -> dict[str, object]:
    return {
        "item_id": item,
        "site_id": site,
        "repair_days": repair_days,
        "demand_per_year": demand_per_year,
        "repair_share": repair_share,
        "order_ship_days": order_ship_days,
    }
