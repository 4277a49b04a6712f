"""The main jobs: plan a dataset; the demo (generate a dataset, load it back, plan it).

Everything is computed before anything is written; each output is written atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from spareflow.data.demo import generate_dataset
from spareflow.data.load import Dataset, load_dataset
from spareflow.data.write import write_dataset, write_table, write_text
from spareflow.plan import DemandPlan
from spareflow.plan.engine import Engine
from spareflow.plan.outputs import stock_summary, write_plan
from spareflow.plan.stock import PlanParams, StockPlan, stock_plan

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
        counts = pl.Series(fc.auto_method).value_counts()
        summary["auto_methods"] = dict(sorted((str(m), int(c)) for m, c in counts.iter_rows()))
    return summary


def run_plan(
    dataset: Dataset,
    out: str | Path,
    params: PlanParams = PlanParams(),
    csv: bool = False,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> tuple[StockPlan, dict[str, Path]]:
    """The stock plan of ``dataset`` into folder ``out``: plan table, ERP reorder rules,
    summary.json and report.html. Everything is computed before anything is written.
    ``engine``: where the plan's partitions run (default: threads in this process)."""
    plan = stock_plan(dataset, params, progress=progress, engine=engine)
    summary = {**summarise(plan.demand, len(dataset.carried_over)), **stock_summary(plan)}
    from spareflow.report.html import demand_report  # plotly only when a report is made
    from spareflow.report.plan import plan_sections

    y = plan.demand.forecast.matrix.values
    recent = (
        np.nansum(y[:, -12:], axis=1) if plan.demand.forecast.matrix.period == "month" else None
    )
    sections = plan_sections(plan, summary, plan.extras.get("_curve"), recent)  # type: ignore[arg-type]
    page = demand_report(plan.demand, summary, title="spareflow plan", before=sections)
    paths = write_plan(plan, Path(out), summary, csv=csv, report=page)
    return plan, paths


def _demo_repairables(root: Path, seed: int) -> dict[str, Path]:
    """The repairable fleet of the demo: a generated depot-and-bases network whose stock
    VARI-METRIC optimises for 95 % fleet availability (``spareflow metric``)."""
    from spareflow.data.demo_network import generate_network
    from spareflow.data.network import load_network
    from spareflow.plan.repair import run_metric

    folder = root / "network"
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in generate_network(seed=seed).items():
        write_table(table, folder / f"{name}.csv")
    out = root / "repair"
    run_metric(load_network(folder), out, "vari-metric", availability=0.95)
    return {"network": folder, "repair": out / "report.html"}


def _demo_operations(
    root: Path, dataset_dir: Path, dataset: Dataset, plan: StockPlan, progress: Progress | None
) -> dict[str, Path]:
    """The operations side of the demo on SQLite: the dataset imported into a store
    (``OUT/spareflow.db``), the plan's orders to place now drafted there, and a year of
    month of KPIs from its ledger (``OUT/operations.json``)."""
    import json
    import os
    from datetime import UTC, datetime, timedelta

    from spareflow.data.demo import DEMO_END
    from spareflow.job_coordination import run_day
    from spareflow.services.bulk_import import import_dataset
    from spareflow.services.kpis import compute
    from spareflow.services.plan_bridge import draft_orders
    from spareflow.store.session import make_engine, session_factory, unit_of_work, upgrade

    store = root / "spareflow.db"
    for suffix in ("", "-wal", "-shm"):  # a fresh store on every run
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{store}")
    try:
        upgrade(engine)
        factory = session_factory(engine)
        imported = import_dataset(factory, dataset_dir, "demo", progress=progress)
        sourcing = dataset.tables.get("sourcing")
        table = plan.table
        if sourcing is not None and "supplier_id" in sourcing.columns:
            table = table.join(
                sourcing.select("item_id", "site_id", "supplier_id"),
                on=["item_id", "site_id"],
                how="left",
            )
        with unit_of_work(factory) as session:
            drafts = draft_orders(session, table, "demo")
            drafted = {
                "orders": len(drafts),
                "purchase_orders": sum(v.order.kind == "purchase" for v in drafts),
                "transfer_orders": sum(v.order.kind == "transfer" for v in drafts),
                "lines": sum(len(v.lines) for v in drafts),
            }
        end = datetime(DEMO_END.year, DEMO_END.month, DEMO_END.day, tzinfo=UTC) + timedelta(1)
        with unit_of_work(factory) as session:
            kpis = compute(session, end - timedelta(days=30), end).as_dict()
        if progress is not None:
            progress("day of coordination", 0, 1)
        coordination = run_day(
            factory, root, DEMO_END + timedelta(days=1), os.environ.get("SPAREFLOW_MQTT_URL")
        )
        if progress is not None:
            progress("day of coordination", 1, 1)
    finally:
        engine.dispose()
    report = {
        "store": str(store),
        "imported": imported.as_dict(),
        "drafted": drafted,
        "kpis": kpis,
        "note": "the dataset holds demand, not past stock levels: the import opens each "
        "item-site with its stock plus all later demand, so stock (and inventory value and "
        "turns) before the stock count is reconstructed, not observed; order KPIs are null "
        "until orders flow through the store",
    }
    path = write_text(json.dumps(report, indent=2) + "\n", root / "operations.json")
    return {"store": store, "operations": path, **coordination}


def run_demo(
    out: str | Path,
    items: int = 2000,
    sites: int = 3,
    seed: int = 7,
    horizon: int = 12,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """The main job into folder ``out``: generate the demo dataset, plan it (classes,
    forecasts, policies, simulation) and write everything; returns the paths written."""
    root = Path(out)
    tables = generate_dataset(items=items, sites=sites, seed=seed)
    dataset_dir = root / "dataset"
    write_dataset(tables, dataset_dir, "csv")
    dataset = load_dataset(dataset_dir)
    plan, written = run_plan(
        dataset, root, PlanParams(horizon=horizon, forecast_quantiles=True), progress=progress
    )
    demand = plan.demand
    forecast = demand.forecast.table().join(
        demand.classes.select("item_id", "site_id", "demand_class", "abc", "xyz"),
        on=["item_id", "site_id"],
        how="left",
    )
    paths = {
        "dataset": dataset_dir,
        "forecast": write_table(forecast, root / "forecast.parquet"),
        "classes": write_table(demand.classes, root / "classes.csv"),
        **written,
        **_demo_repairables(root, seed),
        **_demo_operations(root, dataset_dir, dataset, plan, progress),
    }
    report = paths.pop("report")
    paths["report"] = report  # the last line printed names the report
    return paths
