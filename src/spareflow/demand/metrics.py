"""Forecast accuracy measures, per series.

RMSSE (Hyndman & Koehler 2006; the M5 competition): root mean squared error scaled by the
in-sample mean squared one-step naive error, so series of any size compare; undefined
(NaN) for a series whose history never changes. MAE in demand units per period. Bias is
the mean of forecast - actual per period (positive: over-forecast).
"""

from __future__ import annotations

import numpy as np

from spareflow.demand._ses import F64


def naive_scale(y: F64) -> F64:
    """Mean squared one-step naive error of each row's history (NaN if it never changes)."""
    diff = np.diff(y, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        count = (~np.isnan(diff)).sum(axis=1)
        scale = np.nansum(diff**2, axis=1) / count
    return np.where((count > 0) & (scale > 0), scale, np.nan)


def rmsse(mse: F64, scale: F64) -> F64:
    """Root mean squared scaled error from per-series MSE and naive scale."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(mse / scale)
