"""Figures and files of a stock plan: summary.json, the plan table, ERP reorder rules.

The aggregate fill rate weights each item-site's fill rate by its demand (units), so it
is the share of all demanded units served from stock at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from spareflow.data.write import write_table, write_text
from spareflow.plan.erp import erpnext_reorder, odoo_reordering_rules
from spareflow.plan.stock import StockPlan, aggregate_fill_rate


def _by(table: pl.DataFrame, key: str) -> list[dict[str, Any]]:
    w = pl.col("forecast_per_period")
    return (
        table.group_by(key)
        .agg(
            pl.len().alias("item_sites"),
            (pl.col("expected_fill_rate") * w).sum().truediv(w.sum()).alias("expected_fill_rate"),
            pl.col("inventory_value").sum().alias("investment"),
            (pl.col("order_now") > 0).sum().alias("orders_now"),
        )
        .sort(key)
        .to_dicts()
    )


def stock_summary(plan: StockPlan) -> dict[str, Any]:
    """The stock figures of summary.json (snake_case keys)."""
    t = plan.table
    orders = t.filter(pl.col("order_now") > 0)
    summary: dict[str, Any] = {
        "as_of": plan.as_of.isoformat(),
        "item_sites": t.height,
        "investment": float(t["inventory_value"].sum()),
        "expected_fill_rate": aggregate_fill_rate(t),
        "mean_target_fill_rate": float(t["target_fill_rate"].cast(pl.Float64).mean() or 0.0),  # type: ignore[arg-type]
        "item_sites_below_target": int(
            (t["expected_fill_rate"] < t["target_fill_rate"] - 1e-9).sum()
        ),
        "orders_now": orders.height,
        "orders_now_value": float((orders["order_now"] * orders["unit_cost"]).sum()),
        "lead_times_assumed": int(t["lead_time_assumed"].sum()),
        "policies": dict(sorted(t.group_by("policy").len().iter_rows())),
        "demand_sources": dict(sorted(t.group_by("demand_source").len().iter_rows())),
        "by_class": _by(t, "demand_class"),
        "by_site": _by(t, "site_id"),
    }
    summary.update({k: v for k, v in plan.extras.items() if not k.startswith("_")})
    return summary


def write_plan(
    plan: StockPlan,
    out: Path,
    summary: dict[str, Any],
    csv: bool = False,
    report: str | None = None,
) -> dict[str, Path]:
    """Write DIR/plan.parquet (and plan.csv), the ERP rules, summary.json and the report."""
    paths = {"plan": write_table(plan.table, out / "plan.parquet")}
    if csv:
        paths["plan_csv"] = write_table(plan.table, out / "plan.csv")
    paths["erpnext"] = write_table(
        erpnext_reorder(plan.table), out / "erp" / "erpnext_item_reorder.csv"
    )
    paths["odoo"] = write_table(
        odoo_reordering_rules(plan.table), out / "erp" / "odoo_reordering_rules.csv"
    )
    paths["summary"] = write_text(json.dumps(summary, indent=2, default=str), out / "summary.json")
    if report is not None:
        paths["report"] = write_text(report, out / "report.html")
    return paths
