"""``spareflow metric``: a repair network's stock levels evaluated or optimised by METRIC
or VARI-METRIC, written as DIR/metric.csv (per item and site), DIR/summary.json
(availability per base), DIR/report.html and, when optimised, DIR/curve.csv (investment
against availability). Everything is computed before anything is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from spareflow.data.network import NetworkData
from spareflow.data.write import write_table, write_text
from spareflow.errors import ParameterError
from spareflow.multiechelon.metric import MetricResult, Model, evaluate
from spareflow.multiechelon.optimise import (
    AvailabilityCurve,
    availability_along,
    fleet_weights,
    optimise,
)
from spareflow.report.repair import metric_report
from spareflow.simulate.repair_network import RepairSimulation, simulate_network
from spareflow.stock.optimise import curve_points

#: Curve points at which every base's availability is evaluated for the report.
REPORT_POINTS = 12


def run_metric(
    data: NetworkData,
    out: Path,
    model: Model = "vari-metric",
    availability: float | None = None,
    budget: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    per_base: bool = False,
    simulate_days: float = 0.0,
    replications: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate the stock table's levels, or optimise for ``availability`` / ``budget``;
    with ``simulate_days`` also simulate the levels (``simulate.repair_network``) and
    put the simulated backorders, fill rates and availability with their confidence
    intervals beside the model's; write the outputs into ``out``; return the summary."""
    net = data.network
    net.check()
    curve: AvailabilityCurve | None = None
    target_met: bool | None = None
    if data.depot_stock is not None and data.base_stock is not None:
        if availability is not None or budget is not None:
            raise ParameterError(
                "--availability/--budget",
                "the network has a stock table, which is evaluated as it is: remove the "
                "stock table to optimise, or drop the option",
            )
        s0, sb = data.depot_stock, data.base_stock
        result = evaluate(net, s0, sb, model)
    elif availability is None and budget is None:
        raise ParameterError(
            "--availability/--budget",
            "give a target (--availability A or --budget X), or a stock table to evaluate",
        )
    else:
        alloc, curve = optimise(net, model, availability, budget, progress, per_base)
        s0, sb, result, target_met = (
            alloc.depot_stock,
            alloc.base_stock,
            alloc.result,
            alloc.target_met,
        )
    table = metric_table(data, s0, sb, result)
    simulated = None
    if simulate_days > 0:
        simulated = simulate_network(
            net, s0, sb, days=simulate_days, replications=replications, seed=seed
        )
        table = with_simulation(table, simulated)
    investment = float((net.unit_cost * (s0 + sb.sum(axis=1))).sum())
    w = fleet_weights(net)
    summary: dict[str, Any] = {
        "model": model,
        "items": net.items,
        "bases": net.bases,
        "depot": data.depot_id,
        "investment": investment,
        "fleet_availability": float((w * result.availability).sum()),
        "availability": {
            b: float(a) for b, a in zip(data.base_ids, result.availability, strict=True)
        },
        "expected_backorders_at_bases": float(result.base.backorders[net.is_lru].sum()),
        "mode": "evaluate" if curve is None else "optimise",
    }
    if availability is not None:
        summary["target_availability"] = availability
        summary["target_applies_to"] = "every base" if per_base else "fleet"
    if budget is not None:
        summary["budget"] = budget
    if target_met is not None:
        summary["target_met"] = target_met
    if simulated is not None:
        summary["simulation"] = {
            "days": simulate_days,
            "replications": replications,
            "seed": seed,
            "availability": dict(
                zip(data.base_ids, map(float, simulated.availability), strict=True)
            ),
            "availability_ci": dict(
                zip(data.base_ids, map(float, simulated.availability_ci), strict=True)
            ),
            "level": simulated.level,
        }
    sample = sampled = None
    if curve is not None:
        sample = curve_points(curve.curve, 200)
        last = curve.curve.n_segments
        points = np.unique(np.rint(np.linspace(0, last, REPORT_POINTS)).astype(np.int64))
        sampled = availability_along(net, model, curve, points)
    report = metric_report(
        summary,
        None if sample is None else sample.investment,
        None if sample is None or curve is None else curve.availability[sample.point],
        None if sampled is None else sampled[0],
        None if sampled is None else sampled[1],
        data.base_ids,
        table,
        model_comparison(data, s0, sb, simulated),
    )
    out.mkdir(parents=True, exist_ok=True)
    write_table(table, out / "metric.csv")
    write_text(report, out / "report.html")
    if curve is not None and sample is not None:
        write_table(
            pl.DataFrame(
                {
                    "investment": sample.investment,
                    "availability_bound": curve.availability[sample.point],
                }
            ),
            out / "curve.csv",
        )
    write_text(json.dumps(summary, indent=2), out / "summary.json")
    return summary


def model_comparison(
    data: NetworkData, s0: np.ndarray, sb: np.ndarray, sim: RepairSimulation | None
) -> pl.DataFrame:
    """Per base, the same stock by METRIC and VARI-METRIC (and the simulation, if run):
    availability and expected backorders of the LRUs, and METRIC's gap to VARI-METRIC,
    where METRIC's Poisson pipelines drift (Sherbrooke 1986)."""
    net = data.network
    lru = net.is_lru
    metric = evaluate(net, s0, sb, "metric")
    vari = evaluate(net, s0, sb, "vari-metric")
    frame = pl.DataFrame(
        {
            "base": data.base_ids,
            "availability_metric": metric.availability,
            "availability_vari_metric": vari.availability,
            "backorders_metric": metric.base.backorders[lru].sum(axis=0),
            "backorders_vari_metric": vari.base.backorders[lru].sum(axis=0),
        }
    ).with_columns(
        (pl.col("backorders_metric") / pl.col("backorders_vari_metric") - 1.0).alias(
            "metric_backorder_gap"
        )
    )
    if sim is not None:
        frame = frame.with_columns(
            pl.Series("availability_simulated", sim.availability),
            pl.Series("availability_simulated_ci", sim.availability_ci),
            pl.Series("backorders_simulated", sim.base_backorders[lru].sum(axis=0)),
        )
    return frame


def with_simulation(table: pl.DataFrame, sim: RepairSimulation) -> pl.DataFrame:
    """``table`` with simulated_backorders, simulated_backorders_ci, simulated_fill_rate and
    simulated_fill_rate_ci (half-widths) at the bases (null at the depot for fill rates)."""
    n = sim.base_backorders.shape[0]

    def both(depot: np.ndarray, base: np.ndarray) -> np.ndarray:
        return np.concatenate((depot[:, None], base), axis=1).ravel()

    nan = np.full(n, np.nan)
    return table.with_columns(
        pl.Series("simulated_backorders", both(sim.depot_backorders, sim.base_backorders)),
        pl.Series("simulated_backorders_ci", both(sim.depot_backorders_ci, sim.base_backorders_ci)),
        pl.Series("simulated_fill_rate", both(nan, sim.base_fill_rate)).fill_nan(None),
        pl.Series("simulated_fill_rate_ci", both(nan, sim.base_fill_rate_ci)).fill_nan(None),
    )


def metric_table(
    data: NetworkData, s0: np.ndarray, sb: np.ndarray, result: MetricResult
) -> pl.DataFrame:
    """One row per item and site (depot first): stock and what METRIC says of it."""
    n, j = data.network.items, data.network.bases
    items = np.repeat(np.asarray(data.item_ids, dtype=object), j + 1)
    sites = np.tile(np.asarray([data.depot_id, *data.base_ids], dtype=object), n)

    def both(depot: np.ndarray, base: np.ndarray) -> np.ndarray:
        return np.concatenate((depot[:, None], base), axis=1).ravel()

    return pl.DataFrame(
        {
            "item_id": items.tolist(),
            "site_id": sites.tolist(),
            "echelon": np.tile(np.array(["depot"] + ["base"] * j), n).tolist(),
            "stock_level": both(s0, sb).astype(np.int64),
            "pipeline_mean": both(result.depot_pipeline_mean, result.base_pipeline_mean),
            "pipeline_variance": both(
                result.depot_pipeline_variance, result.base_pipeline_variance
            ),
            "expected_backorders": both(result.depot.backorders, result.base.backorders),
            "backorder_variance": both(
                result.depot.backorder_variance, result.base.backorder_variance
            ),
            "fill_rate": both(result.depot.fill_rate, result.base.fill_rate),
        }
    )
