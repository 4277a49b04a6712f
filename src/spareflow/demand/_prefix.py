"""SES alpha search on nested prefixes of the same series, sharing passes over the data.

A rolling-origin backtest with origins one period apart fits ADIDA and IMAPA (Nikolopoulos
et al. 2011; Petropoulos & Kourentzes 2015) at every origin. For an aggregation level
``L``, origins ``L`` periods apart share one bucket grid, so their bucket-sum series are
prefixes of the longest one. The running SSE (and its derivatives, and the SES level)
after ``n`` buckets is the same number whether the series stops there or goes on, so one
pass over the longest prefix at a given alpha serves every prefix that needs that alpha.

:func:`prefix_optimal_alpha` runs, per prefix, exactly the search of
:func:`spareflow.demand._ses.optimal_alpha` (golden section to ``NEWTON_WIDTH``, two Newton
steps, the full search where that is in doubt) with the same arithmetic, so its alphas are
bit-for-bit those of one search per prefix; only the passes are shared: at each step,
neighbouring prefixes of a series whose searches probe the same alpha (early golden steps,
and minima at a bound of [0.1, 0.3], most of them) get one pass between them.

A golden-section search's state after ``k`` steps depends only on its ``k`` left/right
choices, so every state is tabulated once (with the search's own operations) and a
search carries its path; problems with identical data (common among short, highly
aggregated series) are solved once (:func:`distinct_layout`).

Layout: a :class:`PrefixLayout` holds series as columns of a time-major array sorted by
their first valid period (leading NaN before a series starts, as in ``_ses``), and ``ends``,
the prefix lengths (slots). Problems are (slot, column) pairs marked in ``valid``; every
per-problem array is shaped (slots, columns). A job is a run of neighbouring valid slots
of one column sharing one alpha; jobs are numbered column by column, so they stay sorted
by start, and a pass writes each problem's result straight from its job's running value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.demand._ses import (
    _GOLDEN,
    F64,
    I64,
    NEWTON_WIDTH,
    Capture,
    _golden_steps,
    newton_finish,
    ses_sse_slope_curvature,
    ses_sse_sorted,
)

BoolArray = NDArray[np.bool_]

#: Passes run over at most this many (column, alpha) jobs at a time, so that the
#: per-period working arrays stay in cache.
_JOB_CHUNK = 8192


@dataclass(frozen=True, slots=True)
class PrefixLayout:
    """Columns sorted by start, time-major ``xt`` (periods, columns), their ``start``
    (first valid period, ``periods`` if none), the ascending prefix lengths ``ends``
    (slots) and which (slot, column) problems exist, ``valid`` (slots, columns)."""

    xt: F64
    start: I64
    ends: I64
    valid: BoolArray


@dataclass(frozen=True, slots=True)
class _Jobs:
    """Jobs numbered column by column: the flat index (slot * columns + column) of each
    one's first problem, ``first``; the jobs of column ``r`` are ``offset[r]:offset[r +
    1]``; ``job_of`` (slots, columns) is each problem's job (meaningless where not valid,
    there maybe -1)."""

    first: I64
    offset: I64
    job_of: I64


def _jobs_from(new: BoolArray) -> _Jobs:
    """Jobs starting at the problems flagged ``new`` (slots, columns); a problem belongs
    to the last job started at or before its slot in its column."""
    n_slots, n_cols = new.shape
    job_of = np.empty((n_slots, n_cols), dtype=np.int64)
    count = np.zeros(n_cols, dtype=np.int64)
    for s in range(n_slots):  # a running count down the slots (np.cumsum on axis 0 is slow)
        count += new[s]
        job_of[s] = count
    offset = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(count, out=offset[1:])
    job_of += offset[:-1] - 1
    first = np.empty(offset[-1], dtype=np.int64)
    for s in range(n_slots):  # each slot's new jobs, put in their places
        at = np.flatnonzero(new[s])
        first[job_of[s, at]] = at + s * n_cols
    return _Jobs(first=first, offset=offset, job_of=job_of)


def _alpha_jobs(alpha: F64, valid: BoolArray) -> tuple[_Jobs, F64]:
    """Jobs for per-problem ``alpha``: neighbouring valid slots with equal alpha share one."""
    new = valid.copy()
    new[1:] &= ~(valid[:-1] & (alpha[1:] == alpha[:-1]))
    jobs = _jobs_from(new)
    return jobs, np.take(alpha, jobs.first)


def _kernel_level(
    xt: F64, bounds: I64, alpha: F64, ends: I64, capture: Callable[[int, list[F64]], None]
) -> None:
    """The level of :func:`~spareflow.demand._ses.ses_forecast` (before its
    single-observation rule), handed to ``capture(slot, [level])`` after each of ``ends``."""
    n_series = xt.shape[1]
    c = 1.0 - alpha
    level = np.full(n_series, np.nan)
    prev = 0
    slot = 0
    for t in range(int(ends[-1])):
        k = int(bounds[t])
        if k > prev:
            level[prev:k] = xt[t, prev:k]
            prev = k
        if k > 0:
            level[:k] = alpha[:k] * xt[t, :k] + c[:k] * level[:k]
        while slot < ends.size and ends[slot] == t + 1:
            capture(slot, [level])
            slot += 1


_KERNELS: dict[str, Callable[[F64, I64, F64, I64, Capture], object]] = {
    "sse": ses_sse_sorted,
    "slope": ses_sse_slope_curvature,  # captures the sums before its final scaling
    "level": _kernel_level,
}


def _run(layout: PrefixLayout, jobs: _Jobs, alpha: F64, kind: str) -> list[F64]:
    """Run the pass ``kind`` ("sse", "slope" or "level") of every job at its ``alpha``;
    returns each problem's result (slots, columns): the SSE; its slope and curvature; or
    the SES forecast. Jobs go in chunks of whole columns."""
    ends = layout.ends
    last = int(ends[-1])
    n_slots, n_cols = layout.valid.shape
    outs = [np.empty((n_slots, n_cols)) for _ in range(2 if kind == "slope" else 1)]
    offset = jobs.offset
    kernel = _KERNELS[kind]
    r0 = 0
    while r0 < n_cols:
        r1 = int(np.searchsorted(offset, offset[r0] + _JOB_CHUNK, side="right")) - 1
        r1 = min(max(r1, r0 + 1), n_cols)
        j0, j1 = int(offset[r0]), int(offset[r1])
        if j1 - j0 == r1 - r0:  # one job per column: the columns themselves
            xt = layout.xt[:last, r0:r1]
            start = layout.start[r0:r1]
        else:
            counts = np.diff(offset[r0 : r1 + 1])
            xt = np.repeat(layout.xt[:last, r0:r1], counts, axis=1)
            start = np.repeat(layout.start[r0:r1], counts)
        bounds = np.searchsorted(start, np.arange(last), side="right")
        local = jobs.job_of[:, r0:r1] - j0
        cols = slice(r0, r1)

        def capture(slot: int, running: list[F64], local: I64 = local, cols: slice = cols) -> None:
            for out, value in zip(outs, running, strict=True):
                np.take(value, local[slot], out=out[slot, cols], mode="clip")

        kernel(xt, bounds.astype(np.int64), alpha[j0:j1], ends, capture)
        r0 = r1
    if kind == "slope":
        outs[0] *= -2.0
        outs[1] *= 2.0
    elif kind == "level":
        # a single observation forecasts itself (no smoothing step applied)
        for s, end in enumerate(ends):
            single = layout.start == end - 1
            outs[0][s, single] = layout.xt[end - 1, single]
    return outs


def _evaluate(layout: PrefixLayout, alpha: F64, kind: str) -> list[F64]:
    """Per problem (slots, columns): the pass ``kind`` at ``alpha``, neighbouring slots of
    a column with the same alpha sharing one job; meaningless where not ``valid``."""
    jobs, job_alpha = _alpha_jobs(alpha, layout.valid)
    return _run(layout, jobs, job_alpha, kind)


@dataclass(frozen=True, slots=True)
class _GoldenTables:
    """Every state the golden-section search can be in, by path: after ``k`` steps the
    brackets ``a[k]``, ``b[k]`` and interior points ``c[k]``, ``d[k]`` (arrays of 2**k,
    indexed by the steps' left/right choices read as binary, left = 1, first choice most
    significant), and ``probe[k]`` the point the step ``k`` probes (2**(k + 1) entries)."""

    a: list[F64]
    b: list[F64]
    c: list[F64]
    d: list[F64]
    probe: list[F64]


@functools.lru_cache(maxsize=8)
def _golden_tables(lower: float, upper: float, steps: int) -> _GoldenTables:
    """:class:`_GoldenTables` computed with :func:`~spareflow.demand._ses._golden_bracket`'s
    own operations, so each state is bit for bit the one a search reaches by that path."""
    a0 = np.full(1, lower)
    b0 = np.full(1, upper)
    c0 = b0 - (b0 - a0) / _GOLDEN
    d0 = a0 + (b0 - a0) / _GOLDEN
    t = _GoldenTables(a=[a0], b=[b0], c=[c0], d=[d0], probe=[])
    for k in range(steps):
        left = np.tile([False, True], 2**k)
        a, b, c, d = (np.repeat(v[k], 2) for v in (t.a, t.b, t.c, t.d))
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        shift = (b - a) / _GOLDEN
        probe = np.where(left, b - shift, a + shift)
        t.a.append(a)
        t.b.append(b)
        t.c.append(np.where(left, probe, d))
        t.d.append(np.where(left, c, probe))
        t.probe.append(probe)
    return t


def _golden_shared(
    layout: PrefixLayout, lower: float, upper: float, width: float
) -> tuple[F64, F64, BoolArray, F64]:
    """:func:`~spareflow.demand._ses._golden_bracket` of every problem (slots, columns).

    A job is a run of neighbouring slots of a column whose searches have taken the same
    path so far (so they hold the same bracket and probe the same alpha); a run splits
    where its slots' comparisons differ. A job's state is its path, a problem's its last
    comparison and the SSE at the interior point that stays.
    """
    valid = layout.valid
    steps = max(int(np.ceil(np.log((upper - lower) / width) / np.log(_GOLDEN))), 0)
    if steps > 20:
        raise ValueError(f"{steps} golden-section steps: too many paths to tabulate")
    table = _golden_tables(lower, upper, steps)
    # a run starts at a valid slot whose left neighbour is not valid or took another path
    boundary = np.ones(valid.shape, dtype=bool)
    boundary[1:] = ~valid[:-1]
    jobs = _jobs_from(valid & boundary)
    path = np.zeros(jobs.first.size, dtype=np.int64)
    (fc,) = _run(layout, jobs, np.repeat(table.c[0], path.size), "sse")
    (fd,) = _run(layout, jobs, np.repeat(table.d[0], path.size), "sse")
    # per problem, only the order of its two interior SSEs matters (and their ties): keep
    # whether the left one is lower, and the lower one (the point that stays)
    left = fc < fd
    even = fc == fd
    f_keep = np.minimum(fc, fd)
    del fc, fd
    tied = np.zeros(valid.shape, dtype=bool)
    tie_mid = np.zeros(valid.shape)
    for step in range(steps):
        even &= valid
        if even.any():  # rare: the full search stops here; later steps are ignored
            fresh = even & ~tied
            j = path[jobs.job_of[fresh]]
            tie_mid[fresh] = (table.a[step][j] + table.b[step][j]) / 2.0
            tied |= fresh
        split = left[1:] != left[:-1]
        split &= ~boundary[1:]
        if split.any():
            boundary[1:] |= split
            previous = jobs.job_of
            jobs = _jobs_from(valid & boundary)
            path = path[np.take(previous, jobs.first)]  # the run each new run comes from
        # left: the minimum is in [a, d]; else in [c, b]
        path *= 2
        path += np.take(left, jobs.first)
        if step == steps - 1:
            break  # the last probe's SSE would never be compared
        (f_probe,) = _run(layout, jobs, table.probe[step][path], "sse")
        # left: the new pair is (probe, kept), else (kept, probe)
        above = f_probe > f_keep
        above &= ~left
        left &= f_probe < f_keep
        left |= above
        even = f_probe == f_keep
        np.minimum(f_keep, f_probe, out=f_keep)
    final = path[jobs.job_of]
    return table.a[steps][final], table.b[steps][final], tied, tie_mid


def prefix_optimal_alpha(layout: PrefixLayout, lower: float = 0.1, upper: float = 0.3) -> F64:
    """:func:`~spareflow.demand._ses.optimal_alpha` of every prefix problem, (slots,
    columns); NaN where not ``valid``. Same steps and arithmetic, passes shared."""
    valid = layout.valid
    if not valid.any():
        return np.full(valid.shape, np.nan)
    bracket = _golden_shared(layout, lower, upper, NEWTON_WIDTH)

    def derivatives(alpha: F64) -> tuple[F64, F64]:
        slope, curve = _evaluate(layout, alpha, "slope")
        return slope, curve

    alpha, doubtful = newton_finish(*bracket, lower, upper, derivatives)
    doubtful &= valid
    for s in np.flatnonzero(doubtful.any(axis=1)):
        cols = np.flatnonzero(doubtful[s])
        end = int(layout.ends[s])
        bounds = np.searchsorted(layout.start[cols], np.arange(end), side="right")
        xt = np.ascontiguousarray(layout.xt[:end, cols])
        ra, rb, _ = _golden_steps(xt, bounds.astype(np.int64), lower, upper, 1e-12)
        alpha[s, cols] = (ra + rb) / 2.0
    return np.where(valid, alpha, np.nan)


def prefix_ses_forecast(layout: PrefixLayout, alpha: F64) -> F64:
    """:func:`~spareflow.demand._ses.ses_forecast` of every prefix problem at its
    ``alpha`` (slots, columns); NaN where not ``valid``."""
    return np.where(layout.valid, _evaluate(layout, alpha, "level")[0], np.nan)


def distinct_layout(x: F64, valid: BoolArray, ends: I64) -> tuple[PrefixLayout, I64]:
    """The layout of the distinct columns of ``x`` (periods, columns; bit-identical data
    gives identical results, and short aggregated series repeat a lot), sorted by start,
    each with the union of its copies' problems ``valid`` (slots, columns); and for each
    column of ``x`` the index of its distinct column."""
    n_periods = x.shape[0]
    first, inverse = _distinct_columns(x)
    x = np.take(x, first, axis=1)
    observed = ~np.isnan(x)
    start = np.where(observed.any(axis=0), np.argmax(observed, axis=0), n_periods)
    order = np.argsort(start.astype(np.int32), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    inverse = rank[inverse]
    merged = np.empty((ends.size, order.size), dtype=bool)
    for s in range(ends.size):
        merged[s] = np.bincount(inverse, weights=valid[s], minlength=order.size) > 0
    layout = PrefixLayout(
        xt=np.take(x, order, axis=1),
        start=start[order].astype(np.int64),
        ends=ends,
        valid=merged,
    )
    return layout, inverse.astype(np.int64)


def _column_hash(bits: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """A 64-bit hash of each column of ``bits`` (periods, columns), FNV-1a-like."""
    h = np.full(bits.shape[1], np.uint64(0xCBF29CE484222325))
    for row in bits:
        h ^= row
        h *= np.uint64(0x100000001B3)
        h ^= h >> np.uint64(29)
    return h


def _distinct_columns(x: F64) -> tuple[I64, I64]:
    """The first of each set of identical columns of ``x``, and each column's set: found
    by hashing the bits, then checked exactly (grouped exactly on a hash collision)."""
    n_cols = x.shape[1]
    bits = np.ascontiguousarray(x).view(np.uint64)
    h = _column_hash(bits)
    by_hash = np.argsort(h)
    sorted_h = h[by_hash]
    new = np.ones(n_cols, dtype=bool)
    new[1:] = sorted_h[1:] != sorted_h[:-1]
    first = np.minimum.reduceat(by_hash, np.flatnonzero(new)) if n_cols else by_hash
    inverse = np.empty(n_cols, dtype=np.int64)
    inverse[by_hash] = np.cumsum(new) - 1
    if (np.take(bits, first[inverse], axis=1) != bits).any():  # a hash collision: group exactly
        _, first, inverse = np.unique(bits.T, axis=0, return_index=True, return_inverse=True)
    return np.asarray(first, dtype=np.int64), np.asarray(inverse, dtype=np.int64).reshape(-1)


def prefix_ses_optimal(layout: PrefixLayout) -> F64:
    """The SES forecast at the alpha of :func:`prefix_optimal_alpha`, of every prefix
    problem (slots, columns); NaN where not ``valid``."""
    return prefix_ses_forecast(layout, prefix_optimal_alpha(layout))
