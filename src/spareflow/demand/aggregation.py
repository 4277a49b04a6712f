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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.demand._prefix import PrefixLayout, distinct_layout, prefix_ses_optimal
from spareflow.demand._ses import (
    F64,
    I64,
    first_valid,
    optimal_alpha,
    pairwise_sum,
    ses_forecast,
)

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


# --------------------------------------------------------------------------- many origins


def aggregation_levels_at(y: F64, origins: Sequence[int]) -> I64:
    """:func:`aggregation_level` of ``y[:, :o]`` for each of ``origins`` (ascending),
    (origins, series), from running counts in one pass over time."""
    n_series = y.shape[0]
    start = first_valid(y)
    count = np.zeros(n_series, dtype=np.int64)
    last = np.full(n_series, -1, dtype=np.int64)
    at = {o: k for k, o in enumerate(origins)}
    out = np.zeros((len(origins), n_series), dtype=np.int64)
    demand = np.nan_to_num(y[:, : max(origins, default=0)].T) != 0  # time-major
    for t in range(demand.shape[0]):
        count += demand[t]
        np.copyto(last, t, where=demand[t])
        k = at.get(t + 1)
        if k is not None:
            span = last - np.minimum(start, t + 1) + 1
            with np.errstate(divide="ignore", invalid="ignore"):
                mean_interval = np.where(count > 0, span / np.maximum(count, 1), 0.0)
            out[k] = np.rint(mean_interval).astype(np.int64)
    return out


class _WindowSums:
    """Sums of every ``level`` consecutive periods of ``yt`` (periods, series), for levels
    1, 2, 3, ... in turn, each from the previous one with one addition per window where
    the order allows it: bit for bit ``np.sum`` over each window (numpy adds the terms of
    a contiguous axis one by one below 8 terms, then in eight running sums and a tree,
    then the rest one by one; beyond 128 terms it splits in halves)."""

    def __init__(self, yt: F64) -> None:
        self.yt = yt
        self.level = 0
        self.sums = yt[:0]

    def keep(self, columns: I64) -> None:
        """Go on with these series (columns) only."""
        self.yt = np.take(self.yt, columns, axis=1)
        self.sums = np.take(self.sums, columns, axis=1)

    def next(self) -> F64:
        """The sums for the next level, (periods - level + 1, series)."""
        y = self.yt
        self.level = level = self.level + 1
        windows = y.shape[0] - level + 1
        if level > 128:
            parts = np.stack([y[j : j + windows] for j in range(level)])
            self.sums = pairwise_sum(parts).copy()
        elif level == 1:
            self.sums = y.copy()
        elif level % 8:  # one more term, added last
            self.sums = self.sums[:-1] + y[level - 1 :]
        else:  # a new set of eight running sums
            r = [y[j : j + windows].copy() for j in range(8)]
            for block in range(1, level // 8):
                for j in range(8):
                    r[j] += y[8 * block + j : 8 * block + j + windows]
            self.sums = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        return self.sums


@dataclass(frozen=True, slots=True)
class _Problems:
    """The (origin, series) problems of one level, flat: the ``origin`` index, the
    ``series``, and where its forecast is: ``slot`` and ``column`` of the layout."""

    origin: I64
    series: I64
    slot: I64
    column: I64


def _prefix_layout(
    window_sums: F64, origins: Sequence[int], level: int, member: NDArray[np.bool_]
) -> tuple[PrefixLayout, _Problems]:
    """The bucket sums of level ``level`` of every series that uses it at some origin, as
    nested prefixes: origins ``level`` periods apart share a bucket grid (a chain), and each
    chain's series are right-aligned to a common last bucket so that one set of prefix
    lengths (slots) serves every chain; identical columns are kept once.

    ``window_sums`` are the sums of every ``level`` consecutive periods (time-major, as
    :func:`bucket_sums` sums a bucket); ``member`` (origins, series) the problems.
    """
    chains: dict[int, list[int]] = {}
    for k, o in enumerate(origins):
        if o >= level:  # before, no series uses the level (it is at most the history)
            chains.setdefault(o % level, []).append(k)
    n_max = {r: max(origins[k] // level for k in ks) for r, ks in chains.items()}
    width = max(n_max.values())
    ends = sorted({origins[k] // level + width - n_max[r] for r, ks in chains.items() for k in ks})
    slot = {e: s for s, e in enumerate(ends)}
    columns: list[F64] = []
    valids: list[NDArray[np.bool_]] = []
    problems: list[tuple[I64, I64, I64, I64]] = []
    n_columns = 0
    for r, ks in chains.items():
        rows = np.flatnonzero(member[ks].any(axis=0))
        if rows.size == 0:
            continue
        n = n_max[r]
        shift = width - n
        # the buckets of the chain's longest origin (those of every shorter one come
        # first), summed as bucket_sums sums them
        x = np.full((width, rows.size), np.nan)
        np.take(window_sums[r : r + n * level : level], rows, axis=1, out=x[shift:])
        valid = np.zeros((len(ends), rows.size), dtype=bool)
        for k in ks:
            s = slot[origins[k] // level + shift]
            valid[s] = member[k, rows]
            at = np.flatnonzero(valid[s])
            problems.append((np.full(at.size, k), rows[at], np.full(at.size, s), n_columns + at))
        columns.append(x)
        valids.append(valid)
        n_columns += rows.size
    layout, distinct = distinct_layout(
        np.concatenate(columns, axis=1),
        np.concatenate(valids, axis=1),
        np.asarray(ends, dtype=np.int64),
    )
    flat = [np.concatenate([p[j] for p in problems]) for j in range(4)]
    return layout, _Problems(flat[0], flat[1], flat[2], distinct[flat[3]])


def level_forecasts_at(y: F64, origins: Sequence[int], every_level: bool = True) -> tuple[F64, F64]:
    """:func:`level_forecasts` of ``y[:, :o]`` at its own aggregation levels, for each of
    ``origins``: (at level, mean over levels), each shaped (origins, series).

    Equal to one call per origin, bit for bit: each level's alpha searches run on nested
    prefixes with shared passes (:mod:`spareflow.demand._prefix`).
    """
    n_series = y.shape[0]
    levels = aggregation_levels_at(y, origins)
    at_level = np.zeros((len(origins), n_series))
    total = np.zeros((len(origins), n_series))
    top = levels.max(axis=0, initial=0)
    series = np.arange(n_series)  # the series some origin still uses a level for
    windows = _WindowSums(np.ascontiguousarray(y[:, : max(origins, default=0)].T))
    for level in range(1, int(top.max(initial=0)) + 1):
        keep = np.flatnonzero(top[series] >= level)
        if keep.size < 0.8 * series.size:  # fewer series from here on
            series = series[keep]
            windows.keep(keep)
        sums = windows.next()
        used = levels[:, series]
        member = used >= level if every_level else used == level
        if not member.any():
            continue
        layout, problems = _prefix_layout(sums, origins, level, member)
        component = prefix_ses_optimal(layout) / level
        k, i = problems.origin, series[problems.series]
        value = component[problems.slot, problems.column]
        total[k, i] += value
        hit = levels[k, i] == level
        at_level[k[hit], i[hit]] = value[hit]
    if not every_level:
        return at_level, np.full(at_level.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(levels > 0, total / np.maximum(levels, 1), 0.0)
    return at_level, mean
