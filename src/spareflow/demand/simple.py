"""Benchmarks every forecaster must beat: naive, moving average, simple exponential smoothing.

Units: ``y`` demand per period (series, periods), leading NaN before a series starts;
forecasts are demand per period, shape (series,).
"""

from __future__ import annotations

import numpy as np

from spareflow.demand._ses import F64, ses_forecast


def naive(y: F64) -> F64:
    """The last observed period (random-walk forecast)."""
    return np.asarray(y[:, -1], dtype=np.float64).copy()


def moving_average(y: F64, window: int = 12) -> F64:
    """Mean of the last ``window`` observed periods (fewer where a series is shorter)."""
    tail = y[:, -window:]
    observed = (~np.isnan(tail)).sum(axis=1)
    total = np.nansum(tail, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(observed > 0, total / observed, np.nan)


def ses(y: F64, alpha: float = 0.1) -> F64:
    """Simple exponential smoothing (Brown 1959) with a fixed alpha."""
    return ses_forecast(y, alpha)
