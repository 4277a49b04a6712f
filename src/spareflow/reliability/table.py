"""The life table of ``spareflow reliability fit``: per item the Weibull fit (exponential
with a single failure), its bounds, mean life and the counts behind it."""

from __future__ import annotations

import numpy as np
import polars as pl

from spareflow.reliability.weibull import fit_exponential, fit_weibull


def life_table(records: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Per item (first-seen order) from records item_id, hours, failed: life_model,
    shape, scale, their ``level`` bounds, mean_life, failures, suspensions,
    log_likelihood. Items with no failure get life_model ``none`` and empty figures."""
    items = records["item_id"].unique(maintain_order=True)
    code = records["item_id"].replace_strict(items, range(items.len())).to_numpy()
    hours = records["hours"].to_numpy()
    failed = records["failed"].to_numpy()
    wb = fit_weibull(hours, failed, code)
    ex = fit_exponential(hours, failed, code)
    use_wb = wb.failures >= 2
    wlo, whi, slo, shi = wb.bounds(level)
    elo, ehi, eslo, eshi = ex.bounds(level)

    def pick(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(use_wb, a, b)

    mean = pick(wb.mean_life(), ex.mean_life())
    model = np.where(use_wb, "weibull", np.where(ex.failures >= 1, "exponential", "none"))
    return pl.DataFrame(
        {
            "item_id": items,
            "life_model": model,
            "shape": pick(wb.shape, ex.shape),
            "shape_lower": pick(wlo, elo),
            "shape_upper": pick(whi, ehi),
            "scale": pick(wb.scale, ex.scale),
            "scale_lower": pick(slo, eslo),
            "scale_upper": pick(shi, eshi),
            "mean_life": mean,
            "failures": wb.failures,
            "suspensions": wb.suspensions,
            "log_likelihood": pick(wb.log_likelihood, ex.log_likelihood),
        }
    ).with_columns(pl.selectors.float().fill_nan(None))
