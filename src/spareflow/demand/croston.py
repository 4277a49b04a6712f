"""Croston's method and the Syntetos-Boylan approximation, vectorised across series.

Croston (1972) smooths, at each period with demand, the demand size ``z`` and the
interval ``p`` since the previous demand (counted from the start of the series for the
first), each by SES with the same alpha; the per-period forecast is ``z / p``.
Syntetos & Boylan (2005) remove Croston's bias with the factor ``1 - alpha/2``; as in
statsforecast's CrostonSBA the factor is fixed at 0.95 (alpha 0.1).
A series with no demand forecasts its last value (0).

Units: ``y`` is demand per period, shape (series, periods), leading NaN before a series
starts; forecasts are demand per period, shape (series,).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spareflow.demand._ses import F64, I64, first_valid


@dataclass(frozen=True, slots=True)
class DemandEvents:
    """Smoothed demand size and interval per series (Croston's two SES states).

    ``size`` and ``interval`` are NaN where a series had no demand; ``count`` is the
    number of periods with demand.
    """

    size: F64
    interval: F64
    count: I64


def smooth_events(y: F64, alpha_size: float, alpha_interval: float) -> DemandEvents:
    """SES of the nonzero demand sizes and of the inter-demand intervals, per series."""
    return events_at(y, alpha_size, alpha_interval, [y.shape[1]])[0]


def events_at(
    y: F64, alpha_size: float, alpha_interval: float, origins: Sequence[int]
) -> list[DemandEvents]:
    """:func:`smooth_events` of ``y[:, :o]`` for each of ``origins`` (ascending), from
    one pass over time (a backtest's origins)."""
    n_series = y.shape[0]
    start = first_valid(y)
    last = (start - 1).astype(np.float64)  # index of the previous demand (or before start)
    size = np.full(n_series, np.nan)
    interval = np.full(n_series, np.nan)
    first_size = np.full(n_series, np.nan)
    first_interval = np.full(n_series, np.nan)
    count = np.zeros(n_series, dtype=np.int64)
    a_z, c_z = alpha_size, 1.0 - alpha_size
    a_p, c_p = alpha_interval, 1.0 - alpha_interval
    yt = y.T
    at = set(origins)

    def snapshot() -> DemandEvents:
        single = count == 1  # one observation forecasts itself
        return DemandEvents(
            size=np.where(single, first_size, size),
            interval=np.where(single, first_interval, interval),
            count=count.copy(),
        )

    out = [snapshot()] if 0 in at else []  # an origin before any period: nothing seen
    for t in range(max(origins, default=0)):
        idx = np.flatnonzero(yt[t] > 0)
        if idx.size:
            x = yt[t, idx]
            gap = t - last[idx]
            new = count[idx] == 0
            if new.any():
                j = idx[new]
                size[j] = x[new]
                interval[j] = gap[new]
                first_size[j] = x[new]
                first_interval[j] = gap[new]
            size[idx] = a_z * x + c_z * size[idx]
            interval[idx] = a_p * gap + c_p * interval[idx]
            count[idx] += 1
            last[idx] = t
        if t + 1 in at:
            out.append(snapshot())
    return out


def _last_value(y: F64) -> F64:
    return np.asarray(y[:, -1], dtype=np.float64)


def croston(y: F64, alpha: float = 0.1, events: DemandEvents | None = None) -> F64:
    """Croston's (1972) classic forecast per period, shape (series,).

    ``events``: :func:`smooth_events` of ``y`` with ``alpha``, when already at hand.
    """
    ev = events or smooth_events(y, alpha, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ev.interval != 0.0, ev.size / ev.interval, ev.size)
    return np.where(ev.count > 0, ratio, _last_value(y))


def sba(y: F64, alpha: float = 0.1) -> F64:
    """Syntetos-Boylan approximation (2005): Croston times 0.95, shape (series,)."""
    return croston(y, alpha) * 0.95
