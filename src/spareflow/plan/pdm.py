"""``spareflow pdm``: train the remaining-useful-life model on run-to-failure telemetry,
score the current fleet, rank the assets at risk and, with an assets table, turn the
failure probabilities into part demand per site. Everything is computed before anything
is written: DIR/rul.csv, DIR/summary.json, DIR/report.html (and DIR/part_demand.csv)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from spareflow.data.write import write_table, write_text
from spareflow.errors import Fault, InputError
from spareflow.reliability.pdm import PdmParams, fit_rul_model, rank_at_risk
from spareflow.reliability.risk_demand import part_demand
from spareflow.report.pdm import pdm_report


def run_pdm(
    telemetry: pl.DataFrame,
    train: pl.DataFrame,
    out: Path,
    horizon: float = 30.0,
    assets: pl.DataFrame | None = None,
    params: PdmParams | None = None,
) -> dict[str, Any]:
    """Fit on ``train``, predict for ``telemetry`` and write the outputs into ``out``."""
    p = params or PdmParams()
    model = fit_rul_model(train, p)
    risk = model.predict_risk(telemetry, horizon)
    ranked = rank_at_risk(risk, horizon, p)
    summary: dict[str, Any] = {
        "assets": ranked.height,
        "training_assets": int(train["asset_id"].n_unique()),
        "horizon": horizon,
        "rul_cap": p.cap,
        "expected_failures_within_horizon": float(ranked["failure_probability"].sum()),
        "actions": dict(sorted(ranked.group_by("action").len().iter_rows())),
    }
    demand = None
    if assets is not None:
        demand = _part_demand(ranked, assets)
        summary["part_demand_sites"] = demand.height
    page = pdm_report(ranked, summary, demand)
    out.mkdir(parents=True, exist_ok=True)
    write_table(ranked, out / "rul.csv")
    if demand is not None:
        write_table(demand, out / "part_demand.csv")
    write_text(page, out / "report.html")
    write_text(json.dumps(summary, indent=2), out / "summary.json")
    return summary


def _part_demand(ranked: pl.DataFrame, assets: pl.DataFrame) -> pl.DataFrame:
    """Per site: the distribution of parts needed within the horizon (mean, variance,
    P(0), 90th and 99th percentiles) from the assets' failure probabilities."""
    cols = ["asset_id", "site_id"] + (["quantity"] if "quantity" in assets.columns else [])
    joined = ranked.with_columns(pl.col("asset_id").cast(pl.String)).join(
        assets.select(cols).with_columns(pl.col("asset_id").cast(pl.String)),
        on="asset_id",
        how="left",
    )
    missing = joined.filter(pl.col("site_id").is_null())["asset_id"]
    if missing.len():
        raise InputError(
            [Fault("assets", f"asset {a} of the telemetry has no site", column="asset_id")
             for a in missing.head(10)]
        )  # fmt: skip
    qty = joined["quantity"].to_numpy() if "quantity" in cols else 1
    pd = part_demand(joined["failure_probability"].to_numpy(), joined["site_id"].to_numpy(), qty)
    cdf = np.cumsum(pd.pmf, axis=1)
    return pl.DataFrame(
        {
            "site_id": pd.sites.astype(str),
            "mean": pd.mean,
            "variance": pd.variance,
            "p_zero": pd.pmf[:, 0],
            "p90": np.argmax(cdf >= 0.9, axis=1),
            "p99": np.argmax(cdf >= 0.99, axis=1),
        }
    )
