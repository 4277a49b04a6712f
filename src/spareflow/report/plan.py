"""The stock plan's sections of the report: the investment vs fill-rate curve, service
and value by class, and the exceptions a planner acts on (orders to place now, item-sites
below target, excess stock, obsolete candidates)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from spareflow.plan.stock import StockPlan
from spareflow.report.html import table_html

#: Rows shown per exception list (the full lists are in the plan table).
TOP = 25


def _curve_chart(curve: dict[str, Any], chosen: tuple[float, float] | None) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=curve["investment"], y=curve["fill_rate"], mode="lines", name="efficient curve"
        )
    )
    if chosen is not None:
        fig.add_trace(
            go.Scatter(
                x=[chosen[0]], y=[chosen[1]], mode="markers", name="this plan",
                marker={"size": 12, "color": "#e76f51"},
            )
        )  # fmt: skip
    fig.update_layout(
        title="Inventory investment vs aggregate fill rate (marginal analysis)",
        xaxis={"title": "investment (expected stock value)"},
        yaxis={"title": "aggregate unit fill rate", "tickformat": ".1%"},
        height=420,
    )
    return fig


def _by_class_chart(by_class: list[dict[str, Any]]) -> go.Figure:
    """From the summary's ``by_class`` rows (demand-weighted fill rate, investment)."""
    classes = [str(r["demand_class"]) for r in by_class]
    g = {
        "demand_class": classes,
        "value": [r["investment"] for r in by_class],
        "fill": [r["expected_fill_rate"] for r in by_class],
    }
    fig = go.Figure()
    fig.add_trace(go.Bar(x=g["demand_class"], y=g["value"], name="investment"))
    fig.add_trace(
        go.Scatter(
            x=g["demand_class"], y=g["fill"], name="expected fill rate",
            yaxis="y2", mode="markers", marker={"size": 12},
        )
    )  # fmt: skip
    fig.update_layout(
        title="Investment and expected fill rate by demand class",
        yaxis={"title": "investment"},
        yaxis2={"title": "fill rate", "overlaying": "y", "side": "right", "tickformat": ".0%"},
        height=400,
    )
    return fig


def _rows(frame: pl.DataFrame, cols: list[str], sort: str) -> str:
    if frame.height == 0:
        return "<p>None.</p>"
    top = frame.sort(sort, descending=True).head(TOP).select(cols)
    note = f"<p>{frame.height:,} in all; the {min(TOP, frame.height)} largest shown.</p>"
    return note + table_html(top.to_dicts())


def exceptions(
    table: pl.DataFrame, demand_recent: np.ndarray | None = None
) -> dict[str, pl.DataFrame]:
    """The lists a planner acts on, each a slice of the plan table."""
    t = table.with_columns((pl.col("order_now") * pl.col("unit_cost")).alias("order_value"))
    excess_units = pl.col("on_hand") - pl.col("order_up_to")
    out = {
        "orders_now": t.filter(pl.col("order_now") > 0),
        "below_target": t.filter(pl.col("expected_fill_rate") < pl.col("target_fill_rate") - 1e-9),
        "excess": t.with_columns(
            excess_units.alias("excess_units"),
            (excess_units * pl.col("unit_cost")).alias("excess_value"),
        ).filter(pl.col("excess_units") > 0),
    }
    if demand_recent is not None:
        out["obsolete"] = t.with_columns(
            (pl.col("on_hand") * pl.col("unit_cost")).alias("stock_value")
        ).filter(pl.Series(demand_recent <= 0) & (pl.col("on_hand") > 0))
    return out


def plan_sections(
    plan: StockPlan,
    summary: dict[str, Any],
    curve: dict[str, Any] | None,
    recent: np.ndarray | None,
) -> str:
    """HTML of the plan sections (loads plotly.js)."""
    figs = []
    if curve is not None:
        chosen = (summary["investment"], summary["expected_fill_rate"])
        figs.append(_curve_chart(curve, chosen))
    figs.append(_by_class_chart(summary["by_class"]))
    charts = "".join(
        f.to_html(full_html=False, include_plotlyjs=(k == 0), config={"displaylogo": False})
        for k, f in enumerate(figs)
    )
    facts = [
        {"measure": k, "value": v}
        for k, v in summary.items()
        if k in ("as_of", "item_sites", "investment", "expected_fill_rate", "simulated_fill_rate",
                 "simulated_fill_rate_ci", "mean_target_fill_rate", "item_sites_below_target",
                 "orders_now", "orders_now_value", "budget", "lead_times_assumed")
    ]  # fmt: skip
    ex = exceptions(plan.table, recent)
    key = ["item_id", "site_id"]
    parts = [
        "<h2>Stock plan</h2>",
        table_html(facts),
        charts,
        "<h2>Orders to place now</h2>",
        _rows(ex["orders_now"], [*key, "order_now", "need_date", "inventory_position",
                                 "reorder_point", "order_value"], "order_value"),
        "<h2>Item-sites below target</h2>",
        _rows(ex["below_target"], [*key, "target_fill_rate", "expected_fill_rate",
                                   "reorder_point"], "target_fill_rate"),
        "<h2>Excess stock (on hand above the order-up-to level)</h2>",
        _rows(ex["excess"], [*key, "on_hand", "order_up_to", "excess_units", "excess_value"],
              "excess_value"),
    ]  # fmt: skip
    if "obsolete" in ex:
        parts += [
            "<h2>Obsolete candidates (stock, no demand in the last year)</h2>",
            _rows(ex["obsolete"], [*key, "on_hand", "stock_value", "demand_class"], "stock_value"),
        ]
    return "\n".join(parts)
