"""Demand from the installed base for the plan: the dataset's assets, bill of positions
and removals turned into part lives (Weibull per item), position ages and expected
failures per item-site over the plan's horizon.

Rules (stated so a planner can check them):

* an asset's use is ``utilisation_hours_per_day``; without it, its operating hours over
  the days since installation; without either, ``DEFAULT_HOURS_PER_DAY`` (continuous);
* an asset's operating hours at the plan date are ``operating_hours`` (read as of that
  date), else days since installation x use, else 0 (a new asset);
* a removal's operating hours are its ``operating_hours``, else the asset's hours at the
  plan date less the days since the removal x use;
* a life is the hours between consecutive removals of an item from an asset (the first
  from installation): a failure where ``kind`` is ``failure``, else a suspension; each
  position still running adds a suspension at its current age (all of an asset's
  positions of an item share the age since that item's last removal there);
* lives: Weibull with at least 2 failures, exponential with 1; items without failures
  get no installed-base demand;
* only first-indenture positions (no parent_item_id) are demand at the asset's site.

Demand per day is the expected failures over the horizon / its days; its variance per
day is taken equal to the mean (a superposition of many positions' renewals is close to
Poisson).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from numpy.typing import NDArray

from spareflow.data.load import Dataset
from spareflow.reliability.installed_base import expected_failures
from spareflow.reliability.table import life_table

F64 = NDArray[np.float64]

DEFAULT_HOURS_PER_DAY = 24.0
SOURCES = ("auto", "history", "installed-base")


@dataclass(frozen=True, slots=True)
class InstalledBase:
    """Per item-site (rows of the plan's keys): demand per day from the installed base
    (NaN where there is none) and the positions behind it; per item, its life fit."""

    mean_per_day: F64
    positions: F64
    lives: pl.DataFrame


def positions(dataset: Dataset, as_of: date) -> pl.DataFrame | None:
    """One row per asset and first-indenture item: site, quantity, use (hours per day)
    and the asset's operating hours at ``as_of``; None without assets and positions."""
    assets, bop = dataset.get("assets"), dataset.get("bill_of_positions")
    if assets is None or bop is None:
        return None
    days = (pl.lit(as_of) - pl.col("install_date")).dt.total_days().cast(pl.Float64)
    a = assets
    for column, dtype in (
        ("install_date", pl.Date),
        ("operating_hours", pl.Float64),
        ("utilisation_hours_per_day", pl.Float64),
    ):
        if column not in a.columns:
            a = a.with_columns(pl.lit(None, dtype).alias(column))
    a = a.with_columns(
        pl.coalesce(
            pl.col("utilisation_hours_per_day"),
            pl.when(days > 0).then(pl.col("operating_hours") / days),
            pl.lit(DEFAULT_HOURS_PER_DAY),
        ).alias("_use"),
    ).with_columns(
        pl.coalesce(
            pl.col("operating_hours"), days.clip(lower_bound=0) * pl.col("_use"), pl.lit(0.0)
        ).alias("_hours"),
    )
    first = bop
    if "parent_item_id" in bop.columns:
        first = bop.filter(pl.col("parent_item_id").is_null())
    return (
        a.select("asset_id", "site_id", "model", "_use", "_hours")
        .join(first.select("model", "item_id", "quantity_per_asset"), on="model", how="inner")
        .filter(pl.col("quantity_per_asset") > 0)
    )


def life_records(dataset: Dataset, pos: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Lives (item_id, hours, failed) from removals and running positions, and each
    position's current age: (records, ages) as one frame with a ``running`` flag."""
    removals = dataset.get("removals")
    base = pos.select("asset_id", "site_id", "item_id", "_use", "_hours", "quantity_per_asset")
    if removals is None or removals.height == 0:
        running = base.with_columns(pl.col("_hours").alias("hours"), pl.lit(False).alias("failed"))
        return running.with_columns(pl.lit(True).alias("running"))
    r = removals
    if "operating_hours" not in r.columns:
        r = r.with_columns(pl.lit(None, pl.Float64).alias("operating_hours"))
    since = (pl.lit(as_of) - pl.col("date")).dt.total_days().cast(pl.Float64)
    events = (
        r.join(base.unique(["asset_id", "item_id"]), on=["asset_id", "item_id"], how="inner")
        .with_columns(
            pl.coalesce(pl.col("operating_hours"), pl.col("_hours") - since * pl.col("_use"))
            .clip(lower_bound=0.0)
            .alias("at"),
            (pl.col("kind").str.to_lowercase() == "failure").alias("failed"),
        )
        .sort("asset_id", "item_id", "at")
        .with_columns(
            (
                pl.col("at") - pl.col("at").shift(1, fill_value=0.0).over("asset_id", "item_id")
            ).alias("hours")
        )
    )
    last = events.group_by("asset_id", "item_id").agg(pl.col("at").max().alias("_last"))
    running = (
        base.join(last, on=["asset_id", "item_id"], how="left")
        .with_columns(
            (pl.col("_hours") - pl.col("_last").fill_null(0.0))
            .clip(lower_bound=0.0)
            .alias("hours"),
            pl.lit(False).alias("failed"),
            pl.lit(True).alias("running"),
        )
        .drop("_last")
    )
    lives = events.select(
        "asset_id", "site_id", "item_id", "_use", "_hours", "quantity_per_asset", "hours",
        "failed",
    ).with_columns(pl.lit(False).alias("running"))  # fmt: skip
    return pl.concat([lives, running.select(lives.columns)], how="vertical_relaxed")


def fit_lives(records: pl.DataFrame) -> pl.DataFrame:
    """Per item: life_model (weibull, exponential or none), shape, scale (hours),
    failures and suspensions, from life records (item_id, hours, failed); positive
    hours only (see ``reliability.table.life_table``)."""
    usable = records.filter(pl.col("hours") > 0)
    return life_table(usable).select(
        "item_id", "life_model", "shape", "scale", "failures", "suspensions"
    )


def installed_base(
    dataset: Dataset, keys: pl.DataFrame, as_of: date, horizon_days: float, periods: int
) -> InstalledBase | None:
    """Installed-base demand per row of ``keys`` (item_id, site_id) over ``periods``
    periods spanning ``horizon_days``; None when the dataset has no installed base."""
    pos = positions(dataset, as_of)
    if pos is None or pos.height == 0:
        return None
    records = life_records(dataset, pos, as_of)
    lives = fit_lives(records)
    running = records.filter(pl.col("running")).join(
        lives.filter(pl.col("life_model") != "none"), on="item_id", how="inner"
    )
    mean = np.full(keys.height, np.nan)
    count = np.zeros(keys.height)
    if running.height:
        per_period = expected_failures(
            running["shape"].to_numpy(),
            running["scale"].to_numpy(),
            running["hours"].to_numpy(),
            running["_use"].to_numpy(),
            horizon_days / periods,
            periods,
            part=running["item_id"].to_physical().to_numpy()
            if running["item_id"].dtype == pl.Categorical
            else running["item_id"].rank("dense").cast(pl.Int64).to_numpy(),
        )
        qty = running["quantity_per_asset"].cast(pl.Float64).to_numpy()
        demand = (
            pl.DataFrame(
                {
                    "item_id": running["item_id"],
                    "site_id": running["site_id"],
                    "failures": per_period.sum(axis=1) * qty,
                    "positions": qty,
                }
            )
            .group_by("item_id", "site_id")
            .agg(pl.col("failures", "positions").sum())
        )
        joined = keys.select("item_id", "site_id").join(
            demand, on=["item_id", "site_id"], how="left", maintain_order="left"
        )
        has = joined["failures"].is_not_null().to_numpy()
        mean[has] = joined["failures"].to_numpy()[has] / horizon_days
        count = joined["positions"].fill_null(0.0).to_numpy()
    return InstalledBase(mean_per_day=mean, positions=count, lives=lives)


def installed_pairs(dataset: Dataset) -> pl.DataFrame | None:
    """The item-sites the installed base holds (item_id, site_id), to plan them even
    without demand history (first-indenture positions only)."""
    assets, bop = dataset.get("assets"), dataset.get("bill_of_positions")
    if assets is None or bop is None:
        return None
    if "parent_item_id" in bop.columns:
        bop = bop.filter(pl.col("parent_item_id").is_null())
    return (
        assets.select("site_id", "model")
        .join(bop.select("model", "item_id"), on="model", how="inner")
        .select("item_id", "site_id")
        .unique(maintain_order=True)
    )
