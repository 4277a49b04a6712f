"""The demand side of a plan: the demand matrix of a dataset, the classes of every
series, and ``DemandPlan`` (classes, forecasts and backtest accuracy), which
``plan.stock`` builds partition by partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from spareflow.data.load import Dataset
from spareflow.data.periods import DemandMatrix, Period, demand_matrix, period_start
from spareflow.demand.backtest import BacktestResult
from spareflow.demand.classify import Cutoffs, abc_class, classify
from spareflow.demand.forecast import ForecastResult
from spareflow.plan.installed import installed_pairs

F64 = NDArray[np.float64]

PERIODS_PER_YEAR = {"day": 365.25, "week": 365.25 / 7, "month": 12.0}
DEFAULT_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)


def matrix_from_dataset(dataset: Dataset, period: Period) -> DemandMatrix:
    """Demand per item-site and period, zero-filled from the dataset's first period or from
    an item's introduction date. Item-sites stocked, sourced, repaired or fitted on an
    asset (the installed base) but never demanded are series too (all zeros), after the demanded
    ones."""
    items = dataset["items"]
    starts = None
    if "introduction_date" in items.columns:
        starts = items.select("item_id", pl.col("introduction_date").alias("start")).drop_nulls()
    demand = dataset["demand"].select("item_id", "site_id", "date", "quantity")
    keys = ("item_id", "site_id")
    matrix = demand_matrix(demand, period, keys, series_start=starts)
    tables = [dataset.get(t) for t in ("stock", "sourcing", "repair")]
    stocked = [t.select(*keys) for t in tables if t is not None]
    fleet = installed_pairs(dataset)  # parts fitted on assets: demand to come
    if fleet is not None:
        stocked.append(fleet)
    if not stocked:
        return matrix
    # found against the matrix's keys (one row per series), not the demand rows
    silent = (
        pl.concat(stocked)
        .unique(maintain_order=True)  # the plan's row order must not vary between runs
        .join(matrix.keys, on=list(keys), how="anti", maintain_order="left", nulls_equal=True)
    )
    if silent.height == 0:
        return matrix
    first_day = period_start(matrix.first, period)
    filler = silent.with_columns(pl.lit(first_day).alias("date"), pl.lit(0.0).alias("quantity"))
    last_day = period_start(matrix.first + matrix.n_periods - 1, period)
    extra = demand_matrix(
        filler, period, keys, series_start=starts, first_day=first_day, last_day=last_day
    )
    return DemandMatrix(
        keys=pl.concat([matrix.keys, extra.keys]),
        values=np.concatenate([matrix.values, extra.values]),
        period=period,
        first=matrix.first,
    )


def classify_matrix(
    matrix: DemandMatrix, unit_cost: pl.DataFrame | None = None, cutoffs: Cutoffs = Cutoffs()
) -> pl.DataFrame:
    """One row per series: ADI, CV², demand class, CV, XYZ and (with unit costs) ABC."""
    y = matrix.values
    c = classify(y, cutoffs)
    observed = (~np.isnan(y)).sum(axis=1)
    per_year = PERIODS_PER_YEAR[matrix.period]
    recent = y[:, -max(1, round(per_year)) :]
    observed_recent = (~np.isnan(recent)).sum(axis=1)
    recent_mean = np.nansum(recent, axis=1) / np.maximum(observed_recent, 1)
    demand_per_year = np.asarray(recent_mean * per_year, dtype=np.float64)
    frame = matrix.keys.with_columns(
        pl.Series("periods", observed.astype(np.int64)),
        pl.Series("demand_periods", (np.nan_to_num(y) > 0).sum(axis=1).astype(np.int64)),
        pl.Series(
            "mean_demand",
            np.nan_to_num(np.nanmean(np.where(observed[:, None] > 0, y, 0.0), axis=1)),
        ),
        pl.Series("adi", c.adi),
        pl.Series("cv2", c.cv2),
        pl.Series("demand_class", c.demand_class.astype(str)),
        pl.Series("cv", c.cv),
        pl.Series("xyz", c.xyz.astype(str)),
        pl.Series("demand_per_year", demand_per_year),
    )
    if unit_cost is not None:
        frame = frame.join(unit_cost.select("item_id", "unit_cost"), on="item_id", how="left")
        value = (frame["demand_per_year"] * frame["unit_cost"].fill_null(0.0)).to_numpy()
        frame = frame.with_columns(
            pl.Series("annual_value", value),
            pl.Series("abc", abc_class(value, cutoffs.abc).astype(str)),
        )
    return frame


@dataclass(frozen=True)
class DemandPlan:
    """Classes, forecasts and backtest accuracy of every series."""

    classes: pl.DataFrame
    forecast: ForecastResult
    backtest: BacktestResult

    def accuracy(self) -> pl.DataFrame:
        """Mean RMSSE, MAE and bias per method and demand class (RMSSE over series where
        it is defined), plus quantile coverage per method."""
        bt = self.backtest
        r = bt.rmsse
        classes = self.classes["demand_class"]
        names = sorted(classes.unique().to_list())  # polars: no sort of a million strings
        code = classes.replace_strict(
            {c: i for i, c in enumerate(names)}, return_dtype=pl.Int64
        ).to_numpy()
        k = len(names)

        def mean_by_class(values: F64) -> tuple[NDArray[np.int64], F64]:
            """Count and mean of the finite values per class, then over all (last)."""
            ok = np.isfinite(values)
            count = np.bincount(code[ok], minlength=k)
            total = np.bincount(code[ok], weights=values[ok], minlength=k)
            count = np.append(count, count.sum())
            total = np.append(total, total.sum())
            with np.errstate(invalid="ignore", divide="ignore"):
                return count, total / count

        series = np.append(np.bincount(code, minlength=k), code.size)
        labels = [*names, "all"]
        order = [k, *range(k)]  # "all" first, then the classes in sorted order
        rows = []
        for j, m in enumerate(bt.methods):
            n_r, rmsse = mean_by_class(np.asarray(r[:, j], dtype=np.float64))
            n_a, mae = mean_by_class(np.asarray(bt.mae[:, j], dtype=np.float64))
            n_b, bias = mean_by_class(np.asarray(bt.bias[:, j], dtype=np.float64))
            for c in order:
                rows.append(
                    {
                        "method": m,
                        "demand_class": labels[c],
                        "series": int(series[c]),
                        "rmsse": float(rmsse[c]) if n_r[c] else None,
                        "mae": float(mae[c]) if n_a[c] else None,
                        "bias": float(bias[c]) if n_b[c] else None,
                    }
                )
        return pl.DataFrame(rows)
