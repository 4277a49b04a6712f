"""Reports of the repairables work: the availability-investment curve of a repair
network per base and for the fleet (``spareflow metric``), and Weibull probability plots
of fitted part lives (``spareflow reliability fit --report``). Self-contained HTML."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from spareflow.report.html import table_html

#: Items drawn in the probability plots (most failures first).
PLOTTED_ITEMS = 6

_STYLE = """body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
color: #222; } table { border-collapse: collapse; margin: 1rem 0; }
td, th { border: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }
th { background: #f4f4f4; }"""


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
{body}
</body></html>
"""


def metric_report(
    summary: dict[str, Any],
    curve_investment: np.ndarray | None,
    curve_bound: np.ndarray | None,
    sampled_investment: np.ndarray | None,
    sampled_availability: np.ndarray | None,
    base_ids: list[str],
    table: pl.DataFrame,
    comparison: pl.DataFrame | None = None,
) -> str:
    """The repair network's page: the curve (fleet bound and each base at sampled
    points), availability per base, METRIC against VARI-METRIC (and the simulation) at
    this stock, and the item-sites with the most backorders."""
    figs: list[go.Figure] = []
    if curve_investment is not None and curve_bound is not None:
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(x=curve_investment, y=curve_bound, mode="lines", name="fleet (bound)")
        )
        if sampled_investment is not None and sampled_availability is not None:
            for j, base in enumerate(base_ids):
                fig.add_trace(
                    go.Scatter(
                        x=sampled_investment, y=sampled_availability[:, j],
                        mode="lines+markers", name=base, line={"dash": "dot"},
                    )
                )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=[summary["investment"]], y=[summary["fleet_availability"]],
                mode="markers", name="this allocation", marker={"size": 12, "color": "#e76f51"},
            )
        )  # fmt: skip
        fig.update_layout(
            title="Equipment availability vs investment in repairable stock",
            xaxis={"title": "investment"},
            yaxis={"title": "expected availability", "tickformat": ".1%"},
            height=460,
        )
        figs.append(fig)
    parts = [
        f.to_html(full_html=False, include_plotlyjs=(k == 0), config={"displaylogo": False})
        for k, f in enumerate(figs)
    ]
    bases = [{"base": b, "availability": f"{a:.4f}"} for b, a in summary["availability"].items()]
    worst = (
        table.filter(pl.col("echelon") == "base")
        .sort("expected_backorders", descending=True)
        .head(20)
        .select(
            "item_id", "site_id", "stock_level", "pipeline_mean", "expected_backorders", "fill_rate"
        )
        .to_dicts()
    )
    facts = [{"measure": k, "value": v} for k, v in summary.items() if not isinstance(v, dict)]
    body = f"""<p>Model: {html.escape(str(summary["model"]))}. Availability per base is the
product over LRUs of (1 - EBO / (N Z))<sup>Z</sup>; the curve's fleet line is the
fleet-weighted geometric mean of the bases' availabilities (a lower bound on their mean),
and the dotted lines evaluate each base at points of that curve.</p>
{"".join(parts)}
<h2>Summary</h2>{table_html(facts)}
<h2>Availability per base</h2>{table_html(bases)}
{_comparison(comparison)}
<h2>Item-sites with the most expected backorders</h2>{table_html(worst)}"""
    return _page("spareflow repair network", body)


def _comparison(frame: pl.DataFrame | None) -> str:
    if frame is None:
        return ""
    rows = frame.with_columns(pl.selectors.float().round(4)).to_dicts()
    simulated = ""
    if "availability_simulated" in frame.columns:
        simulated = " The simulated columns come from the discrete-event simulation (95 %)."
    return f"""<h2>METRIC against VARI-METRIC at this stock</h2>
<p>Both models for the same stock levels. METRIC keeps every pipeline Poisson and so
misses the variance the depot's shortages add to the bases' pipelines: its backorders
run low where depot stock is short of its pipeline (the gap column; VARI-METRIC matches
Graves' exact model within a few percent in the tests), and low backorders mean
optimistic availability.{simulated}</p>
{table_html(rows)}"""


def plotting_positions(hours: np.ndarray, failed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Failure times and their median-rank unreliability F with suspensions (Johnson's
    adjusted ranks, Bernard's approximation ``(j - 0.3) / (n + 0.4)``; Abernethy, *The New
    Weibull Handbook*, 2006, sec. 2.11)."""
    order = np.argsort(hours, kind="stable")
    t, f = hours[order], failed[order]
    n = t.size
    reverse_rank = n - np.arange(n)  # n, n-1, ..., 1
    times, ranks = [], []
    previous = 0.0
    for k in np.flatnonzero(f):
        increment = (n + 1 - previous) / (1 + reverse_rank[k])
        previous += increment
        times.append(t[k])
        ranks.append((previous - 0.3) / (n + 0.4))
    return np.asarray(times), np.asarray(ranks)


def weibull_report(records: pl.DataFrame, lives: pl.DataFrame) -> str:
    """Weibull probability plots (ln t against ln(-ln(1 - F))) of the items with the
    most failures, each with its fitted line, and the life table."""
    fitted = lives.filter(pl.col("life_model") == "weibull").sort("failures", descending=True)
    fig = go.Figure()
    for row in fitted.head(PLOTTED_ITEMS).iter_rows(named=True):
        part = records.filter(pl.col("item_id") == row["item_id"])
        t, f = plotting_positions(part["hours"].to_numpy(), part["failed"].to_numpy())
        if t.size == 0:
            continue
        y = np.log(-np.log(1.0 - f))
        fig.add_trace(go.Scatter(x=t, y=y, mode="markers", name=f"{row['item_id']} (data)"))
        line_t = np.geomspace(t.min() * 0.5, t.max() * 2.0, 50)
        line_y = row["shape"] * (np.log(line_t) - np.log(row["scale"]))
        fig.add_trace(
            go.Scatter(
                x=line_t, y=line_y, mode="lines",
                name=f"{row['item_id']}: shape {row['shape']:.2f}, scale {row['scale']:.0f}",
            )
        )  # fmt: skip
    fig.update_layout(
        title="Weibull probability plot (median ranks with suspensions)",
        xaxis={"title": "operating time", "type": "log"},
        yaxis={"title": "ln(-ln(1 - F))"},
        height=520,
    )
    plot = fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    rows = lives.head(200).to_dicts()
    body = f"""<p>Points: failures at their median-rank unreliability (suspensions shift
the ranks); lines: the maximum-likelihood Weibull fits. A straight cloud supports the
Weibull model; shape &gt; 1 is wear-out, &lt; 1 infant mortality.</p>
{plot}
<h2>Lives</h2>{table_html(rows)}"""
    return _page("spareflow part lives", body)
