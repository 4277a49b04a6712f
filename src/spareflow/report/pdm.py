"""The predictive-maintenance report: assets at risk, ranked, with their failure
probability within the horizon, remaining-life interval and suggested action."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
import polars as pl

from spareflow.report.html import table_html

#: Assets drawn and listed.
TOP = 25


def pdm_report(ranked: pl.DataFrame, summary: dict[str, Any], demand: pl.DataFrame | None) -> str:
    top = ranked.head(TOP)
    fig = go.Figure(
        go.Bar(
            x=top["asset_id"].cast(pl.String).to_list(),
            y=top["failure_probability"].to_list(),
            error_y=None,
            name="failure probability",
        )
    )
    fig.update_layout(
        title=f"Assets most at risk: probability of failure within {summary['horizon']:g}",
        yaxis={"title": "failure probability", "tickformat": ".0%"},
        height=420,
    )
    chart = fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    rows = top.select(
        "rank", "asset_id", "time", "rul", "rul_low", "rul_high", "failure_probability", "action"
    ).to_dicts()
    facts = [{"measure": k, "value": v} for k, v in summary.items() if not isinstance(v, dict)]
    actions = [{"action": k, "assets": v} for k, v in summary["actions"].items()]
    parts = (
        "" if demand is None else f"<h2>Part demand per site</h2>{table_html(demand.to_dicts())}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>spareflow assets at risk</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }}
th {{ background: #f4f4f4; }}</style></head><body>
<h1>Assets at risk</h1>
<p>Remaining useful life from condition telemetry (gradient boosting on rolling features,
trained on run-to-failure histories); the interval and the failure probability come from
the model's out-of-fold errors. {html.escape(str(summary["assets"]))} assets scored.</p>
{chart}
<h2>Ranking</h2>{table_html(rows)}
<h2>Summary</h2>{table_html(facts)}{table_html(actions)}
{parts}
</body></html>
"""
