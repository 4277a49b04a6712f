"""Simple exponential smoothing kernels, vectorised across series.

Series are rows of a float64 array shaped (series, periods). A series may begin later than
others: periods before its start are NaN (leading NaN only; the last period is shared).
Every kernel walks time once and updates all series together, so the work is one numpy
operation per period, never a Python loop per series.

Conventions (Brown 1959; as in statsforecast's ``ses_forecast``/``golden_section_ses``):
the level starts at the first observation and is then updated by every observation,
``level <- alpha * x + (1 - alpha) * level``; the one-step forecast is the final level.
A series with a single observation forecasts that observation. The in-sample SSE sums
``(x_t - level_{t-1})**2`` from the second observation on.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Golden ratio used by the golden-section search.
_GOLDEN = (np.sqrt(5.0) + 1.0) / 2.0


def first_valid(y: F64) -> I64:
    """Index of the first non-NaN period of each row (``periods`` when all NaN)."""
    valid = ~np.isnan(y)
    idx = np.argmax(valid, axis=1).astype(np.int64)
    idx[~valid.any(axis=1)] = y.shape[1]
    return np.asarray(idx, dtype=np.int64)


def ses_forecast(y: F64, alpha: float | F64) -> F64:
    """One-step SES forecast per row of ``y`` (series, periods); NaN for an empty row.

    ``alpha`` is a scalar or one smoothing constant per series, in (0, 1].
    """
    n_series, n_periods = y.shape
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (n_series,))
    if n_periods and not np.isnan(y[:, 0]).any():  # every series observed from the start
        yt = np.ascontiguousarray(y.T)
        c = 1.0 - a
        level = yt[0].copy()
        tmp = np.empty(n_series)
        for t in range(n_periods):
            np.multiply(a, yt[t], out=tmp)
            level *= c
            level += tmp
        if n_periods == 1:
            level = yt[0].copy()
        return np.asarray(level, dtype=np.float64)
    start = first_valid(y)
    order = np.argsort(start, kind="stable")
    ys = y[order].T.copy()  # (periods, series), rows sorted by start: active ones are a prefix
    a_s = a[order]
    c_s = 1.0 - a_s
    bounds = np.searchsorted(start[order], np.arange(n_periods + 1), side="right")
    level = np.full(n_series, np.nan)
    for t in range(n_periods):
        k0, k1 = (bounds[t - 1] if t else 0), bounds[t]
        level[k0:k1] = ys[t, k0:k1]
        if k1 == 0:
            continue
        level[:k1] = a_s[:k1] * ys[t, :k1] + c_s[:k1] * level[:k1]
    # a single observation forecasts itself (no smoothing step applied)
    single = start[order] == n_periods - 1
    level[single] = ys[n_periods - 1, single]
    out = np.empty(n_series)
    out[order] = level
    return out


def ses_sse_sorted(xt: F64, bounds: I64, alpha: F64) -> F64:
    """In-sample SSE of SES with per-series ``alpha`` on time-major ``xt`` (periods, series).

    Columns must be sorted by their first valid period; ``bounds[t]`` is the number of
    columns that have started by period ``t``. A column that starts at ``t`` has a zero
    error at ``t`` (its level starts at the observation). Errors are summed over time in
    order, as a sequential loop would; the work per period stays in cache.
    """
    n_periods, n_series = xt.shape
    c = 1.0 - alpha
    level = np.empty(n_series)
    sse = np.zeros(n_series)
    err = np.empty(n_series)
    step = np.empty(n_series)
    prev = 0
    for t in range(n_periods):
        k = int(bounds[t])
        if k == 0:
            continue
        if k > prev:
            level[prev:k] = xt[t, prev:k]
            prev = k
        if k == n_series:
            x, lv, e, w, a, cc, acc = xt[t], level, err, step, alpha, c, sse
        else:
            x, lv, e, w = xt[t, :k], level[:k], err[:k], step[:k]
            a, cc, acc = alpha[:k], c[:k], sse[:k]
        np.subtract(x, lv, out=e)
        np.multiply(e, e, out=e)
        acc += e
        np.multiply(a, x, out=w)
        lv *= cc
        lv += w
    return sse


def golden_section_alpha(x: F64, lower: float = 0.1, upper: float = 0.3, tol: float = 1e-12) -> F64:
    """SSE-minimising SES alpha per row of ``x`` by golden-section search on [lower, upper].

    The search stops when the bracket is narrower than ``tol`` or the two interior points
    tie exactly, and returns the bracket's midpoint: the same rule as statsforecast's
    ``golden_section_ses``, so both take the same path and agree to the tolerance.
    Series with fewer than two observations have SSE 0 everywhere and get the midpoint.
    """
    n_series = x.shape[0]
    if n_series == 0:
        return np.empty(0)
    start = first_valid(x)
    order = np.argsort(start, kind="stable")
    xt = x[order].T.copy()
    bounds = np.searchsorted(start[order], np.arange(x.shape[1]), side="right").astype(np.int64)

    a = np.full(n_series, lower)
    b = np.full(n_series, upper)
    c = b - (b - a) / _GOLDEN
    d = a + (b - a) / _GOLDEN
    fc = ses_sse_sorted(xt, bounds, c)
    fd = ses_sse_sorted(xt, bounds, d)
    active = np.abs(b - a) >= tol
    left = np.empty(n_series, dtype=bool)
    right = np.empty(n_series, dtype=bool)
    while active.any():
        np.less(fc, fd, out=left)
        left &= active
        np.less(fd, fc, out=right)
        right &= active
        active &= left | right  # an exact tie ends the search
        # left: the minimum is in [a, d]: b <- d, d <- c, probe a new c
        # right: the minimum is in [c, b]: a <- c, c <- d, probe a new d
        np.copyto(b, d, where=left)
        np.copyto(a, c, where=right)
        np.copyto(d, c, where=left)
        np.copyto(fd, fc, where=left)
        np.copyto(c, d, where=right)
        np.copyto(fc, fd, where=right)
        width = (b - a) / _GOLDEN
        probe = np.where(left, b - width, a + width)
        f_probe = ses_sse_sorted(xt, bounds, probe)
        np.copyto(c, probe, where=left)
        np.copyto(fc, f_probe, where=left)
        np.copyto(d, probe, where=right)
        np.copyto(fd, f_probe, where=right)
        active &= np.abs(b - a) >= tol
    alpha = np.empty(n_series)
    alpha[order] = (b + a) / 2.0
    return alpha
