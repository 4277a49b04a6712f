"""``spareflow policy``: exact cost-optimal policies for a table of items.

sS rows: periodic review, Poisson demand per period, Zheng & Federgruen (1991);
rQ rows: continuous review, Poisson demand, fixed lead time, Federgruen & Zheng (1992).
Costs per period (holding and backorder per unit, fixed per order); see ``stock.ss`` and
``stock.rq`` for the conventions (those of stockpyl).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spareflow.stock.rq import optimal_rq
from spareflow.stock.ss import optimal_ss


def optimal_policies(params: pl.DataFrame) -> pl.DataFrame:
    """item_id, policy, reorder_point, order_up_to (sS), order_quantity (rQ),
    expected_cost; one row per row of ``params``, in its order."""
    n = params.height
    r = np.zeros(n, dtype=np.int64)
    big = np.full(n, -1, dtype=np.int64)
    q = np.full(n, -1, dtype=np.int64)
    cost = np.zeros(n)
    kind = params["policy"].to_numpy()

    def col(name: str, rows: np.ndarray) -> np.ndarray:
        return np.asarray(params[name].cast(pl.Float64).to_numpy()[rows])

    cols = ("demand_mean", "lead_time", "holding_cost", "stockout_cost", "fixed_cost")
    rows = np.flatnonzero(kind == "sS")
    if rows.size:
        args = [col(c, rows) for c in cols]
        args[1] = np.rint(args[1]).astype(np.int64)
        res = optimal_ss(*args)
        r[rows], big[rows], cost[rows] = res.reorder_point, res.order_up_to, res.expected_cost
    rows = np.flatnonzero(kind == "rQ")
    if rows.size:
        res_q = optimal_rq(*[col(c, rows) for c in cols])
        r[rows], q[rows], cost[rows] = (
            res_q.reorder_point,
            res_q.order_quantity,
            res_q.expected_cost,
        )
    return pl.DataFrame(
        {
            "item_id": params["item_id"],
            "policy": params["policy"],
            "reorder_point": r,
            "order_up_to": pl.Series(big).set(pl.Series(kind != "sS"), None),
            "order_quantity": pl.Series(q).set(pl.Series(kind != "rQ"), None),
            "expected_cost": cost,
        }
    )
