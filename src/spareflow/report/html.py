"""The main job's report: one self-contained HTML file (plotly.js inlined once).

Charts: the ADI/CV² map coloured by demand class, backtest accuracy by method and class,
quantile calibration, and example series with their forecasts.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from spareflow.plan import DemandPlan

_CLASS_COLOURS = {
    "smooth": "#2a9d8f",
    "erratic": "#e9c46a",
    "intermittent": "#457b9d",
    "lumpy": "#e76f51",
    "none": "#adb5bd",
}


#: Series drawn at most in the ADI/CV² scatter (a seeded sample beyond: a page stays light).
SCATTER_POINTS = 20_000


def _adi_cv2_chart(classes: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    data = classes.filter(pl.col("demand_class") != "none")
    title = "Demand classes (Syntetos-Boylan-Croston): ADI vs CV²"
    counts = dict(data.group_by("demand_class").len().iter_rows())  # the legend counts all
    if data.height > SCATTER_POINTS:
        title += f" (a random {SCATTER_POINTS:,} of {data.height:,} item-sites drawn)"
        data = data.sample(SCATTER_POINTS, seed=0)
    for cls, colour in _CLASS_COLOURS.items():
        part = data.filter(pl.col("demand_class") == cls)
        if part.height == 0:
            continue
        fig.add_trace(
            go.Scattergl(
                x=part["adi"].to_numpy(),
                y=np.maximum(part["cv2"].to_numpy(), 1e-3),
                mode="markers",
                name=f"{cls} ({counts.get(cls, part.height):,})",
                marker={"color": colour, "size": 5, "opacity": 0.6},
                text=[f"{i} @ {s}" for i, s in zip(part["item_id"], part["site_id"], strict=True)]
                if "site_id" in part.columns
                else part["item_id"].to_list(),
            )
        )
    fig.add_vline(x=1.32, line_dash="dash", line_color="#555")
    fig.add_hline(y=0.49, line_dash="dash", line_color="#555")
    fig.update_layout(
        title=title,
        xaxis={"title": "ADI (periods per demand)", "type": "log"},
        yaxis={"title": "CV² of demand sizes", "type": "log"},
        height=480,
    )
    return fig


def _accuracy_chart(accuracy: pl.DataFrame) -> go.Figure:
    fig = go.Figure()
    for cls in accuracy["demand_class"].unique(maintain_order=True).to_list():
        part = accuracy.filter(pl.col("demand_class") == cls)
        fig.add_trace(go.Bar(x=part["method"].to_list(), y=part["rmsse"].to_list(), name=cls))
    fig.update_layout(
        title="Backtest accuracy: mean RMSSE by method and demand class (lower is better)",
        barmode="group",
        yaxis={"title": "RMSSE"},
        height=420,
    )
    return fig


def _calibration_chart(plan: DemandPlan) -> go.Figure:
    bt = plan.backtest
    fig = go.Figure()
    levels = list(bt.levels)
    fig.add_trace(
        go.Scatter(
            x=levels, y=levels, mode="lines", name="ideal", line={"dash": "dot", "color": "#999"}
        )
    )
    for j, m in enumerate(bt.methods):
        fig.add_trace(go.Scatter(x=levels, y=bt.coverage[j].tolist(), mode="lines+markers", name=m))
    fig.update_layout(
        title="Quantile calibration: share of actual demand at or below each quantile",
        xaxis={"title": "quantile level"},
        yaxis={"title": "observed share"},
        height=420,
    )
    return fig


def _example_charts(plan: DemandPlan, methods: list[str]) -> list[go.Figure]:
    fc = plan.forecast
    matrix = fc.matrix
    classes = plan.classes["demand_class"].to_numpy()
    dates = matrix.dates()
    future = matrix.dates(matrix.n_periods, fc.horizon)
    figs = []
    for cls in ("smooth", "erratic", "intermittent", "lumpy"):
        rows = np.flatnonzero(classes == cls)
        if rows.size == 0:
            continue
        i = int(rows[rows.size // 2])
        key = " @ ".join(str(v) for v in matrix.keys.row(i))
        fig = go.Figure()
        fig.add_trace(
            go.Bar(x=dates, y=matrix.values[i].tolist(), name="demand", marker_color="#888")
        )
        for m in methods:
            if m in fc.point:
                fig.add_trace(
                    go.Scatter(x=future, y=[fc.point[m][i]] * fc.horizon, mode="lines", name=m)
                )
        if "auto" in fc.quantiles and fc.levels:
            top = len(fc.levels) - 1
            fig.add_trace(
                go.Scatter(
                    x=future,
                    y=[fc.quantiles["auto"][i, top]] * fc.horizon,
                    mode="lines",
                    name=f"auto q{fc.levels[top]:g}",
                    line={"dash": "dash"},
                )
            )
        chosen = f", auto chose {fc.auto_method[i]}" if fc.auto_method is not None else ""
        fig.update_layout(
            title=f"{cls}: {key}{chosen}", height=320, yaxis={"title": "demand per period"}
        )
        figs.append(fig)
    return figs


def table_html(rows: list[dict[str, Any]]) -> str:
    """A plain HTML table of ``rows`` (dicts with the same keys)."""
    return _table(rows)


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def demand_report(
    plan: DemandPlan,
    summary: dict[str, Any],
    title: str = "spareflow demand report",
    before: str = "",
) -> str:
    """The HTML page as a string; ``before``: HTML placed ahead of the demand sections
    (the stock plan's, which then loads plotly.js itself)."""
    accuracy = plan.accuracy()
    figs = [
        _adi_cv2_chart(plan.classes),
        _accuracy_chart(accuracy.filter(pl.col("rmsse").is_not_null())),
        _calibration_chart(plan),
        *_example_charts(plan, ["auto", "sba", "tsb", "imapa"]),
    ]
    parts = [
        fig.to_html(
            full_html=False, include_plotlyjs=(k == 0 and not before), config={"displaylogo": False}
        )
        for k, fig in enumerate(figs)
    ]
    overall = accuracy.filter(pl.col("demand_class") == "all").sort("rmsse").to_dicts()
    facts = [
        {"measure": k, "value": v} for k, v in summary.items() if not isinstance(v, dict | list)
    ]
    classes = [
        {"demand class": k, "series": v} for k, v in summary.get("demand_classes", {}).items()
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }}
th {{ background: #f4f4f4; }}
.grid {{ display: flex; gap: 2rem; flex-wrap: wrap; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{before}
<h2>Demand</h2>
<p>Every item-site classified, backtested from rolling origins and forecast. RMSSE scales
errors by each series' naive one-step error (1.0 = as good as the naive forecast in-sample).</p>
<div class="grid">{_table(facts)}{_table(classes)}</div>
<h2>Backtest accuracy, all series</h2>
{_table(overall)}
{"".join(parts)}
</body></html>
"""
