"""Teunter, Syntetos and Babai (2011): smooth the demand probability every period.

The probability of demand is updated every period (so a part that stops selling sees its
forecast decay, unlike Croston), the size only in periods with demand. Forecast per
period = probability x size. A series with no demand forecasts 0.

Units: ``y`` demand per period (series, periods), leading NaN before a series starts.
"""

from __future__ import annotations

import numpy as np

from spareflow.demand._ses import F64, ses_forecast
from spareflow.demand.croston import DemandEvents, smooth_events


def tsb(
    y: F64, alpha_d: float = 0.1, alpha_p: float = 0.1, events: DemandEvents | None = None
) -> F64:
    """TSB forecast per period, shape (series,); ``alpha_d`` sizes, ``alpha_p`` probability.

    ``events``: Croston's smoothing of ``y`` with alpha ``alpha_d``, when already at hand
    (its smoothed size is TSB's size).
    """
    occurred = np.where(np.isnan(y), np.nan, (y != 0).astype(np.float64))
    probability = ses_forecast(occurred, alpha_p)
    size = (events or smooth_events(y, alpha_d, alpha_d)).size
    return np.where(np.nan_to_num(y).any(axis=1), probability * size, 0.0)
