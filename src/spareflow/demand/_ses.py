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

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: ``capture(slot, running)``: receives the running sums after ``ends[slot]`` periods.
Capture = Callable[[int, list[F64]], None]

#: Golden ratio used by the golden-section search.
_GOLDEN = (np.sqrt(5.0) + 1.0) / 2.0


def pairwise_sum(parts: F64) -> F64:
    """Sum of ``parts`` (terms, ...) over its first axis, in place (``parts`` is
    overwritten), adding the terms in the order numpy's pairwise summation adds those of
    a contiguous axis (eight running sums, then a tree; halves beyond 128 terms), so the
    result is bit for bit ``np.sum`` over the last axis of an array holding the terms
    there. Plane by plane, so no reduction runs along a short axis."""
    n = parts.shape[0]
    if n > 128:
        half = n // 2
        half -= half % 8
        first = pairwise_sum(parts[:half])
        first += pairwise_sum(parts[half:])
        return first
    total: F64 = parts[0]
    if n < 8:
        for i in range(1, n):
            total += parts[i]
        return total
    i = 8
    while i < n - n % 8:
        for j in range(8):
            parts[j] += parts[i + j]
        i += 8
    for j in (0, 2, 4, 6):
        parts[j] += parts[j + 1]
    total += parts[2]
    parts[4] += parts[6]
    total += parts[4]
    for k in range(i, n):
        total += parts[k]
    return total


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


def ses_sse_sorted(
    xt: F64,
    bounds: I64,
    alpha: F64,
    ends: I64 | None = None,
    capture: Capture | None = None,
) -> F64:
    """In-sample SSE of SES with per-series ``alpha`` on time-major ``xt`` (periods, series).

    Columns must be sorted by their first valid period; ``bounds[t]`` is the number of
    columns that have started by period ``t``. A column that starts at ``t`` has a zero
    error at ``t`` (its level starts at the observation). Errors are summed over time in
    order, as a sequential loop would; the work per period stays in cache.

    ``ends`` (ascending period counts) with ``capture``: the pass stops after
    ``ends[-1]`` periods and hands the running SSE to ``capture(slot, [sse])`` after
    each ``ends[slot]`` periods (the SSE of every prefix in one pass).
    """
    n_periods, n_series = xt.shape
    c = 1.0 - alpha
    level = np.empty(n_series)
    sse = np.zeros(n_series)
    err = np.empty(n_series)
    step = np.empty(n_series)
    prev = 0
    slot = 0
    for t in range(n_periods if ends is None else int(ends[-1])):
        k = int(bounds[t])
        if k > 0:
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
            # level <- alpha x + (1 - alpha) level, rounded as statsforecast rounds it:
            # where the SSE is flat in alpha, these last bits steer the search and so
            # its answer
            np.multiply(a, x, out=w)
            lv *= cc
            lv += w
        if ends is not None and capture is not None:
            while slot < ends.size and ends[slot] == t + 1:
                capture(slot, [sse])
                slot += 1
    return sse


def ses_sse_slope_curvature(
    xt: F64,
    bounds: I64,
    alpha: F64,
    ends: I64 | None = None,
    capture: Capture | None = None,
) -> tuple[F64, F64]:
    """First and second derivatives of the SES in-sample SSE with respect to alpha.

    Same layout as :func:`ses_sse_sorted`. With error ``e_t = x_t - l_{t-1}`` and level
    ``l_t = l_{t-1} + alpha e_t``, the level's derivatives follow the recursions
    ``l'_t = (1 - alpha) l'_{t-1} + e_t`` and ``l''_t = (1 - alpha) l''_{t-1} - 2 l'_{t-1}``
    (both zero at the first observation), so ``SSE' = -2 sum e_t l'_{t-1}`` and
    ``SSE'' = 2 sum (l'_{t-1}^2 - e_t l''_{t-1})``, all in one pass over time.
    ``ends`` and ``capture`` as in :func:`ses_sse_sorted`; the captured sums are those
    before the final scaling (-2 and 2).
    """
    n_periods, n_series = xt.shape
    c = 1.0 - alpha
    level = np.empty(n_series)
    d1 = np.zeros(n_series)
    d2 = np.zeros(n_series)
    slope = np.zeros(n_series)
    curve = np.zeros(n_series)
    err = np.empty(n_series)
    tmp = np.empty(n_series)
    prev = 0
    slot = 0
    for t in range(n_periods if ends is None else int(ends[-1])):
        k = int(bounds[t])
        if k > 0:
            if k > prev:
                level[prev:k] = xt[t, prev:k]
                prev = k
            if k == n_series:
                x, lv, e, w, a, cc = xt[t], level, err, tmp, alpha, c
                g, h, l1, l2 = slope, curve, d1, d2
            else:
                x, lv, e, w, a, cc = xt[t, :k], level[:k], err[:k], tmp[:k], alpha[:k], c[:k]
                g, h, l1, l2 = slope[:k], curve[:k], d1[:k], d2[:k]
            np.subtract(x, lv, out=e)
            np.multiply(e, l1, out=w)
            g += w
            np.multiply(l1, l1, out=w)
            h += w
            np.multiply(e, l2, out=w)
            h -= w
            l2 *= cc  # l'' <- c l'' - 2 l'
            np.add(l1, l1, out=w)
            l2 -= w
            l1 *= cc  # l' <- c l' + e
            l1 += e
            np.multiply(a, e, out=w)  # l <- l + alpha e
            lv += w
        if ends is not None and capture is not None:
            while slot < ends.size and ends[slot] == t + 1:
                capture(slot, [slope, curve])
                slot += 1
    return -2.0 * slope, 2.0 * curve


def _sorted_by_start(x: F64) -> tuple[F64, I64, I64]:
    """Time-major copy of ``x`` with columns sorted by first valid period, the bounds
    :func:`ses_sse_sorted` needs, and the sort order."""
    start = first_valid(x)
    order = np.argsort(start, kind="stable")
    xt = x[order].T.copy()
    bounds = np.searchsorted(start[order], np.arange(x.shape[1]), side="right").astype(np.int64)
    return xt, bounds, order


def _golden_start(
    xt: F64, bounds: I64, lower: float, upper: float
) -> tuple[F64, F64, F64, F64, F64, F64]:
    """The golden-section search's first bracket [lower, upper] per series, its two
    interior points c < d and their SSEs."""
    n_series = xt.shape[1]
    a = np.full(n_series, lower)
    b = np.full(n_series, upper)
    c = b - (b - a) / _GOLDEN
    d = a + (b - a) / _GOLDEN
    return a, b, c, d, ses_sse_sorted(xt, bounds, c), ses_sse_sorted(xt, bounds, d)


def _golden_steps(
    xt: F64, bounds: I64, lower: float, upper: float, tol: float
) -> tuple[F64, F64, NDArray[np.bool_]]:
    """Golden-section search on sorted series until the bracket is narrower than ``tol``
    or the two interior points tie exactly; returns the brackets (a, b) and the ties."""
    n_series = xt.shape[1]
    a, b, c, d, fc, fd = _golden_start(xt, bounds, lower, upper)
    active = np.abs(b - a) >= tol
    tied = np.zeros(n_series, dtype=bool)
    left = np.empty(n_series, dtype=bool)
    right = np.empty(n_series, dtype=bool)
    while active.any():
        np.less(fc, fd, out=left)
        left &= active
        np.less(fd, fc, out=right)
        right &= active
        tied |= active & ~(left | right)
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
    return a, b, tied


def _golden_bracket(
    xt: F64, bounds: I64, lower: float, upper: float, width: float
) -> tuple[F64, F64, NDArray[np.bool_], F64]:
    """The first golden-section steps, lean: every row steps together until the bracket
    is narrower than ``width`` (a fixed count), so no per-row stopping mask is kept.
    Returns the brackets (a, b), the rows whose interior points tied exactly and, for
    those, the midpoint of their bracket at the tie (where the full search stops)."""
    n_series = xt.shape[1]
    a, b, c, d, fc, fd = _golden_start(xt, bounds, lower, upper)
    tied = np.zeros(n_series, dtype=bool)
    tie_mid = np.zeros(n_series)
    left = np.empty(n_series, dtype=bool)
    steps = int(np.ceil(np.log((upper - lower) / width) / np.log(_GOLDEN)))
    for _ in range(max(steps, 0)):
        np.less(fc, fd, out=left)
        even = fc == fd
        if even.any():  # rare: the full search stops here; later steps are ignored
            new = even & ~tied
            tie_mid[new] = (a[new] + b[new]) / 2.0
            tied |= new
        # left: the minimum is in [a, d]; else in [c, b]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        shift = (b - a) / _GOLDEN
        probe = np.where(left, b - shift, a + shift)
        f_probe = ses_sse_sorted(xt, bounds, probe)
        c, d = np.where(left, probe, d), np.where(left, c, probe)
        fc, fd = np.where(left, f_probe, fd), np.where(left, fc, f_probe)
    return a, b, tied, tie_mid


def golden_section_alpha(x: F64, lower: float = 0.1, upper: float = 0.3, tol: float = 1e-12) -> F64:
    """SSE-minimising SES alpha per row of ``x`` by golden-section search on [lower, upper].

    The search stops when the bracket is narrower than ``tol`` or the two interior points
    tie exactly, and returns the bracket's midpoint: the same rule as statsforecast's
    ``golden_section_ses``, so both take the same path and agree to the tolerance.
    Series with fewer than two observations have SSE 0 everywhere and get the midpoint.
    """
    if x.shape[0] == 0:
        return np.empty(0)
    xt, bounds, order = _sorted_by_start(x)
    a, b, _ = _golden_steps(xt, bounds, lower, upper, tol)
    alpha = np.empty(x.shape[0])
    alpha[order] = (b + a) / 2.0
    return alpha


#: Bracket width at which :func:`optimal_alpha` stops the golden-section search and
#: switches to Newton steps (10 golden steps on [0.1, 0.3]).
NEWTON_WIDTH = 3e-3


def newton_finish(
    a: F64,
    b: F64,
    tied: NDArray[np.bool_],
    tie_mid: F64,
    lower: float,
    upper: float,
    derivatives: Callable[[F64], tuple[F64, F64]],
) -> tuple[F64, NDArray[np.bool_]]:
    """Two Newton steps inside the golden brackets (a, b) on the SSE's ``derivatives``
    (slope and curvature at alpha, any array shape). Returns alpha and the entries
    only the full search can settle (see :func:`optimal_alpha`). Changes ``a`` and
    ``b`` where ``tied``: a tie ends the search at ``tie_mid``."""
    a[tied] = b[tied] = tie_mid[tied]
    alpha = (a + b) / 2.0
    doubtful = np.zeros(alpha.shape, dtype=bool)
    flat = np.zeros(alpha.shape, dtype=bool)
    for _ in range(2):
        slope, curve = derivatives(alpha)
        convex = (curve > 0.0) & ~tied
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = np.where(convex, slope / np.where(convex, curve, 1.0), 0.0)
        alpha = np.clip(alpha - step, a, b)
        # not convex here: the minimum is at the bracket's end the slope points to. At an
        # end of [lower, upper] that is the answer; inside, the full search decides.
        downhill = np.where(slope > 0.0, a, b)
        flat = (slope == 0.0) & (curve == 0.0)
        concave = ~convex & ~tied & ~flat
        alpha = np.where(concave, downhill, alpha)
        at_bound = np.where(slope > 0.0, a == lower, b == upper)
        doubtful |= concave & ~at_bound
    # flat in exact arithmetic (e.g. one observation after the first): rounding decides
    # the full search's path, so only the full search gives its answer
    doubtful |= flat & ~tied
    return alpha, doubtful


def optimal_alpha(x: F64, lower: float = 0.1, upper: float = 0.3) -> F64:
    """The alpha a full golden-section search finds (see :func:`golden_section_alpha`),
    in about half the passes over the data.

    Golden-section steps narrow the bracket to NEWTON_WIDTH, which fixes the local
    minimum the search converges to; two Newton steps on the SSE's analytic derivatives,
    kept inside the bracket, then converge quadratically to it (a minimum at an end of
    [lower, upper] is met by clipping). Where the SSE is not convex at the bracket's
    midpoint the minimum is taken at the end the slope points to if that end is lower or
    upper; otherwise (rare) the row gets the full search. Exact ties stop at the
    midpoint, as in the full search.
    """
    n_series = x.shape[0]
    if n_series == 0:
        return np.empty(0)
    xt, bounds, order = _sorted_by_start(x)
    bracket = _golden_bracket(xt, bounds, lower, upper, NEWTON_WIDTH)
    alpha, doubtful = newton_finish(
        *bracket, lower, upper, lambda al: ses_sse_slope_curvature(xt, bounds, al)
    )
    if doubtful.any():
        rows = np.flatnonzero(doubtful)
        ra, rb, _ = _golden_steps(
            np.ascontiguousarray(xt[:, rows]), _bounds_subset(bounds, rows), lower, upper, 1e-12
        )
        alpha[rows] = (ra + rb) / 2.0
    out = np.empty(n_series)
    out[order] = alpha
    return out


def _bounds_subset(bounds: I64, rows: I64) -> I64:
    """Bounds for the sorted columns ``rows`` (ascending) of a sorted layout."""
    return np.searchsorted(rows, bounds, side="left").astype(np.int64)
