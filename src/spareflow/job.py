"""The main job: generate a dataset, load it back, classify, backtest, forecast, report.

Everything is computed before anything is written; each output is written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from spareflow.data.demo import generate_dataset
from spareflow.data.load import load_dataset
from spareflow.data.write import write_dataset, write_table, write_text
from spareflow.demand.methods import AUTO_CANDIDATES
from spareflow.plan import DEFAULT_LEVELS, DemandPlan, demand_plan, matrix_from_dataset

Progress = Callable[[str, int, int], None]


def summarise(plan: DemandPlan, carried_over: int) -> dict[str, Any]:
    """The figures of summary.json (snake_case keys)."""
    fc = plan.forecast
    matrix = fc.matrix
    classes = plan.classes
    accuracy = plan.accuracy()
    overall = accuracy.filter(pl.col("demand_class") == "all")
    best_single = overall.filter(pl.col("method") != "auto").sort("rmsse").row(0, named=True)
    bt = plan.backtest
    summary: dict[str, Any] = {
        "item_sites": int(matrix.values.shape[0]),
        "items": int(classes["item_id"].n_unique()),
        "sites": int(classes["site_id"].n_unique()) if "site_id" in classes.columns else 1,
        "period": matrix.period,
        "history_periods": matrix.n_periods,
        "first_period": matrix.dates(0, 1)[0].isoformat(),
        "last_period": matrix.dates(matrix.n_periods - 1, 1)[0].isoformat(),
        "horizon": fc.horizon,
        "superseded_items_carried_over": carried_over,
        "demand_classes": dict(sorted(classes.group_by("demand_class").len().iter_rows())),
        "abc": dict(sorted(classes.group_by("abc").len().iter_rows()))
        if "abc" in classes.columns
        else {},
        "xyz": dict(sorted(classes.group_by("xyz").len().iter_rows())),
        "backtest_origins": len(bt.origins),
        "backtest_horizon": bt.horizon,
        "best_single_method": best_single["method"],
        "best_single_rmsse": best_single["rmsse"],
        "accuracy": overall.to_dicts(),
        "accuracy_by_class": accuracy.filter(pl.col("demand_class") != "all").to_dicts(),
        "quantile_coverage": {
            m: dict(
                zip([str(q) for q in bt.levels], np.round(bt.coverage[j], 4).tolist(), strict=True)
            )
            for j, m in enumerate(bt.methods)
        },
    }
    if fc.auto_method is not None:
        methods, counts = np.unique(fc.auto_method, return_counts=True)
        summary["auto_methods"] = {str(m): int(c) for m, c in zip(methods, counts, strict=True)}
    return summary


def run_demo(
    out: str | Path,
    items: int = 2000,
    sites: int = 3,
    seed: int = 7,
    horizon: int = 12,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Run the main job into folder ``out``; returns the paths written, by label."""
    root = Path(out)
    tables = generate_dataset(items=items, sites=sites, seed=seed)
    dataset_dir = root / "dataset"
    write_dataset(tables, dataset_dir, "csv")
    dataset = load_dataset(dataset_dir)
    matrix = matrix_from_dataset(dataset, "month")
    plan = demand_plan(
        matrix,
        unit_cost=dataset["items"],
        horizon=horizon,
        methods=("auto", *AUTO_CANDIDATES),
        levels=DEFAULT_LEVELS,
        progress=progress,
    )
    summary = summarise(plan, len(dataset.carried_over))
    from spareflow.report.html import demand_report  # plotly only when a report is made

    page = demand_report(plan, summary)
    forecast = plan.forecast.table().join(
        plan.classes.select("item_id", "site_id", "demand_class", "abc", "xyz"),
        on=["item_id", "site_id"],
        how="left",
    )
    paths = {
        "dataset": dataset_dir,
        "forecast": write_table(forecast, root / "forecast.parquet"),
        "classes": write_table(plan.classes, root / "classes.csv"),
        "summary": write_text(json.dumps(summary, indent=2, default=str), root / "summary.json"),
        "report": write_text(page, root / "report.html"),
    }
    return paths
