"""``spareflow final-buy``: lifetime-buy quantities for parts whose production ends, from
a table of their remaining demand, repairs and costs (one row per item).

PARAMS columns: item_id, failures_per_year (removals a year now, over the installed
base), years (remaining life of the installed base), unit_cost, shortage_cost (per unit
the buy cannot serve); optional repair_share (share of removals repaired and returned:
not a new unit; 0), repair_days (repair turnaround: units held in repair; 0),
salvage_value (per unit left at the end; 0), holding_rate (a year; 0.25),
decline_per_year (the fleet's failures fall by this share a year: retirements; 0),
successor_after_years (a superseding part serves demand from then on; none).
The horizon is split into months; condemnations per month are
``failures_per_year / 12 * (1 - repair_share) * (1 - decline_per_year) ** (months / 12)``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spareflow.data.schema import Column, Kind, Table
from spareflow.reliability.lifetime_buy import final_buy

FINAL_BUY_PARAMS = Table(
    "params",
    (
        Column("item_id", Kind.ID),
        Column("failures_per_year", Kind.NONNEG),
        Column("years", Kind.NONNEG),
        Column("unit_cost", Kind.NONNEG),
        Column("shortage_cost", Kind.NONNEG),
        Column("repair_share", Kind.SHARE, False),
        Column("repair_days", Kind.NONNEG, False),
        Column("salvage_value", Kind.NONNEG, False),
        Column("holding_rate", Kind.NONNEG, False),
        Column("decline_per_year", Kind.SHARE, False),
        Column("successor_after_years", Kind.NONNEG, False),
    ),
    key=("item_id",),
)

MONTH_DAYS = 365.25 / 12.0


def final_buy_table(
    params: pl.DataFrame, service_level: float = 0.95
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per item: the quantity for ``service_level``, the least-cost quantity and its
    expected costs; and the cost curve (item, quantity, service, costs) behind them."""

    def col(name: str, default: float) -> np.ndarray:
        if name not in params.columns:
            return np.full(params.height, default)
        return params[name].cast(pl.Float64).fill_null(default).to_numpy()

    rate = col("failures_per_year", 0.0)
    months = np.maximum(np.ceil(col("years", 0.0) * 12.0).astype(np.int64), 1)
    width = int(months.max(initial=1))
    t = np.arange(width)[None, :]
    decline = (1.0 - col("decline_per_year", 0.0))[:, None] ** (t / 12.0)
    repair = col("repair_share", 0.0)
    condemned = (rate * (1.0 - repair))[:, None] / 12.0 * decline
    condemned = np.where(t < months[:, None], condemned, 0.0)  # each item's own life
    pipeline = rate / 365.25 * repair * col("repair_days", 0.0)
    successor = col("successor_after_years", np.inf)
    until = np.where(np.isfinite(successor), np.ceil(successor * 12.0), width).astype(np.int64)
    condemned = np.where(t < until[:, None], condemned, 0.0)
    holding = col("holding_rate", 0.25)
    buys = []
    curves = []
    # one call per holding rate (the engine takes one): usually a single group
    for rate_value in np.unique(holding):
        rows = np.flatnonzero(holding == rate_value)
        fb = final_buy(
            condemned[rows],
            col("unit_cost", 0.0)[rows],
            col("shortage_cost", 0.0)[rows],
            holding_rate=float(rate_value),
            salvage=col("salvage_value", 0.0)[rows],
            pipeline=pipeline[rows],
            until=until[rows],
            period_days=MONTH_DAYS,
            service_level=service_level,
            life=months[rows],
        )
        least = fb.quantity_least_cost
        pick = np.arange(rows.size)
        ids = params["item_id"].gather(rows)
        buys.append(
            pl.DataFrame(
                {
                    "item_id": ids,
                    "expected_condemnations": condemned[rows].sum(axis=1) + pipeline[rows],
                    "quantity_for_service": fb.quantity_for_service,
                    "quantity_least_cost": least,
                    "service_at_least_cost": fb.service[pick, least],
                    "holding_cost": fb.holding[pick, least],
                    "obsolescence_cost": fb.obsolescence[pick, least],
                    "shortage_cost": fb.shortage[pick, least],
                    "total_cost": fb.total[pick, least],
                    "_row": rows,
                }
            )
        )
        q = fb.service.shape[1]
        curves.append(
            pl.DataFrame(
                {
                    "item_id": np.repeat(ids.to_numpy(), q),
                    "quantity": np.tile(np.arange(q), rows.size),
                    "service": fb.service.ravel(),
                    "holding_cost": fb.holding.ravel(),
                    "obsolescence_cost": fb.obsolescence.ravel(),
                    "shortage_cost": fb.shortage.ravel(),
                    "total_cost": fb.total.ravel(),
                    "_row": np.repeat(rows, q),
                }
            )
        )
    table = pl.concat(buys).sort("_row").drop("_row")
    curve = pl.concat(curves).sort("_row", "quantity").drop("_row")
    return table, curve
