"""Temporal aggregation methods: ADIDA and IMAPA, vectorised across series.

ADIDA (Nikolopoulos et al. 2011): sum demand into non-overlapping buckets of ``L``
periods, ``L`` = the series' mean inter-demand interval rounded half to even, aligned
to the last period (an incomplete oldest bucket is dropped); forecast the bucket sums by
SES with alpha chosen in [0.1, 0.3] by golden-section search on the in-sample SSE;
divide by ``L``. IMAPA (Petropoulos & Kourentzes 2015) averages that forecast over the
levels 1..L. A series with no demand forecasts 0.

Work is grouped by aggregation level, never by series: for each level, all series that
use it are aggregated and searched together.

Units: ``y`` demand per period (series, periods), leading NaN before a series starts;
forecasts are demand per period, shape (series,).
"""

from __future__ import annotations

import numpy as np

from spareflow.demand._ses import F64, I64, first_valid, optimal_alpha, ses_forecast

_CHUNK = 16384


def aggregation_level(y: F64) -> I64:
    """Rounded mean inter-demand interval per series (0 where a series has no demand).

    The mean interval is (periods from the series' start to its last demand) / (number of
    demands): the first interval counts from the start, as in Croston's method.
    """
    n_periods = y.shape[1]
    nonzero = np.nan_to_num(y) != 0
    count = nonzero.sum(axis=1)
    last = n_periods - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    span = last - first_valid(y) + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_interval = np.where(count > 0, span / np.maximum(count, 1), 0.0)
    return np.rint(mean_interval).astype(np.int64)


def bucket_sums(y: F64, level: int) -> F64:
    """Sums over buckets of ``level`` periods aligned to the last period, (series, buckets).

    A bucket reaching back before a series' start is NaN (it is not observed).
    """
    n_series, n_periods = y.shape
    n_buckets = n_periods // level
    tail = y[:, n_periods - n_buckets * level :]
    return np.asarray(tail.reshape(n_series, n_buckets, level).sum(axis=2), dtype=np.float64)


def _chunked_alpha(sums: F64) -> F64:
    """SSE-optimal SES alphas (golden section, then Newton), searched in chunks of rows
    small enough to stay in cache (the search is bound by memory traffic, not arithmetic).
    Rows are dealt out in turn so every chunk gets a like mix of long and short series."""
    n = sums.shape[0]
    n_chunks = max(1, -(-n // _CHUNK))
    if n_chunks == 1:
        return optimal_alpha(sums)
    out = np.empty(n)
    for k in range(n_chunks):
        idx = np.arange(k, n, n_chunks)
        out[idx] = optimal_alpha(sums[idx])
    return out


def level_forecasts(y: F64, levels: I64, every_level: bool) -> tuple[F64, F64]:
    """Per-period forecasts from aggregation: (at level ``levels``, mean over 1..levels).

    With ``every_level`` False only the level ``levels`` itself is computed (ADIDA); the
    second output is then NaN. One golden-section search per level serves every series
    that uses that level.
    """
    n_series = y.shape[0]
    at_level = np.zeros(n_series)
    total = np.zeros(n_series)
    for level in range(1, int(levels.max(initial=0)) + 1):
        rows = np.flatnonzero(levels >= level) if every_level else np.flatnonzero(levels == level)
        if rows.size == 0:
            continue
        sums = bucket_sums(y[rows], level)
        component = ses_forecast(sums, _chunked_alpha(sums)) / level
        total[rows] += component
        hit = levels[rows] == level
        at_level[rows[hit]] = component[hit]
    if not every_level:
        return at_level, np.full(n_series, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(levels > 0, total / np.maximum(levels, 1), 0.0)
    return at_level, mean


def adida(y: F64) -> F64:
    """ADIDA forecast per period, shape (series,)."""
    return level_forecasts(y, aggregation_level(y), every_level=False)[0]


def imapa(y: F64) -> F64:
    """IMAPA forecast per period, shape (series,)."""
    return level_forecasts(y, aggregation_level(y), every_level=True)[1]


def adida_imapa(y: F64) -> tuple[F64, F64]:
    """Both at the cost of IMAPA alone: ADIDA is IMAPA's component at the top level."""
    return level_forecasts(y, aggregation_level(y), every_level=True)
