"""System-level stock optimisation by marginal analysis on concave hulls.

Sherbrooke's system approach: instead of a service target per item, buy the unit of
stock that adds the most benefit per unit of currency, over all items at once, until the
budget is spent or the system target is met. Sherbrooke (2004), *Optimal Inventory
Modeling of Systems: Multi-Echelon Techniques*, 2nd ed., Kluwer, ch. 2-4 (marginal
analysis, the curve of system performance against investment).

Input, for ``items`` item-sites and ``K`` steps, arrays shaped (items, K):

- ``gain[i, k]``: the increase of the benefit when item i's stock goes from base+k to
  base+k+1, in the caller's unit (expected units filled per year, weighted fill, the
  decrease of expected backorders ...). A NaN ends the item's steps: step k and every
  later step of that item are ignored.
- ``cost[i, k]``: the investment of that step, in currency (usually the unit cost),
  > 0 and finite on every step that is not ignored.

Steps of an item are taken in order. Benefits need not be concave (fill rate is S-shaped
at low stock), so each item's cumulative curve (cost, benefit) is replaced by its least
concave majorant (upper concave hull) through (0, 0); the hull segments of all items are
then taken greedily by benefit per currency, best first. Fox (1966), "Discrete
optimization via marginal analysis", *Management Science* 13(3), 210-216; Everett (1963),
"Generalized Lagrange multiplier method ...", *Operations Research* 11(3), 399-417: the
greedy allocation is optimal (most benefit for its investment, least investment for its
benefit) at every breakpoint of the resulting curve, because there every item sits on a
point where its own curve touches its hull. Between breakpoints it need not be: a
budget between two breakpoints buys the lower one. Hull segments whose gain is zero or
negative are never taken.

Computation, vectorised across items: items whose gain/cost ratios already fall step by
step are their own hull; the others get their hull by pool-adjacent-violators (merge a
step into the segment below it while its ratio is higher), one column at a time for a
block of 65,536 items at once (the block bounds temporary memory). Then one global sort
of all segments by ratio (ties: lower item first, then its earlier segment, so an item's
segments always come in their own order) and cumulative sums. Money and benefit are
float64; item indices, flat segment indices and step counts int32 (so items x K must stay
below 2**31); the sort's permutation is int64 only while sorting.

Measured (1,000,000 items x 30 steps, float64 inputs 0.45 GiB not counted, 2 shared
vCPUs, numpy 2.4; the argsort of the 30 M keys is ~1.6-2.3 s of it):

=================================  ==========  ==========  ===========  ============
case                               first call  warm        peak memory  curve kept
=================================  ==========  ==========  ===========  ============
concave gains (no hull needed)     4.6 s       3.7-3.8 s   +0.79 GiB    0.67 GiB
every item S-shaped (all hulled)   5.2-5.4 s   3.6-3.9 s   +1.13 GiB    0.63 GiB
=================================  ==========  ==========  ===========  ============

Peak memory is above the inputs (tracemalloc); the whole process peaked at 1.37 and
1.72 GiB RSS including the benchmark's own data generation. "First call" includes the
operating system's first touch of ~1 GiB of fresh pages (about 1 s on that VM).
``steps_for_budget`` / ``steps_for_target`` then take 0.02-0.05 s each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

__all__ = [
    "Curve",
    "CurveSample",
    "HullSegments",
    "curve_points",
    "efficient_curve",
    "hull_segments",
    "point_for_budget",
    "point_for_target",
    "steps_at",
    "steps_for_budget",
    "steps_for_target",
]

F64 = NDArray[np.float64]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]

_HULL_BLOCK = 1 << 16  # items per hull block: (65,536 x K) temporaries
_CHUNK = 1 << 22  # sorted positions per chunk when scanning for ties


@dataclass(frozen=True, slots=True, eq=False)
class Curve:
    """The efficient frontier of investment against benefit, in greedy order.

    Point p (0 <= p <= segments) is the allocation after the first p hull segments;
    point 0 is every item at its base level.

    - ``investment`` (segments+1,): cumulative investment at each point, currency.
    - ``benefit`` (segments+1,): cumulative benefit at each point, the caller's unit.
    - ``item`` (segments,): the item whose stock segment p raises (going to point p+1).
    - ``steps`` (segments,): that item's steps above base after segment p (a hull segment
      of a non-concave item may take several steps at once).
    - ``vertex`` (items, K): item i's steps above base at the end of its j-th hull
      segment (j + 1 where every step is a breakpoint, as for concave gains; then a
      read-only broadcast view). An item's segments are taken in their own order, so
      after c of them it stands at ``vertex[i, c - 1]``.
    """

    investment: F64
    benefit: F64
    item: I32
    steps: I32
    vertex: I32

    @property
    def n_items(self) -> int:
        """Number of items (rows of the input)."""
        return int(self.vertex.shape[0])

    @property
    def n_segments(self) -> int:
        """Number of hull segments on the curve (points minus one)."""
        return int(self.item.size)


@dataclass(frozen=True, slots=True, eq=False)
class CurveSample:
    """A few curve points for plotting: their index, investment (currency) and benefit."""

    point: I64
    investment: F64
    benefit: F64


def efficient_curve(gain: F64, cost: F64) -> Curve:
    """Greedy marginal-analysis curve over the concave hull of every item's steps.

    ``gain`` (items, K), benefit of each successive step above base (caller's unit; NaN
    ends the item); ``cost`` (items, K), currency per step, > 0 and finite where used.
    Sherbrooke (2004) ch. 2-4; Fox (1966). Raises ``ParameterError`` naming the item,
    step and value for a non-positive or infinite cost or an infinite gain.

    Example: item 0 gains 1, 4, 1 and item 1 gains 3, 1, each step costing 1, 1, 1 and
    2, 1. Item 0's hull takes its first two steps together (ratio 2.5), then item 1's
    first (1.5), then the ratio-1 steps of item 0 and item 1:

    >>> c = efficient_curve(np.array([[1.0, 4, 1], [3, 1, np.nan]]),
    ...                     np.array([[1.0, 1, 1], [2, 1, 1]]))
    >>> c.investment.tolist(), c.benefit.tolist()
    ([0.0, 2.0, 4.0, 5.0, 6.0], [0.0, 5.0, 8.0, 9.0, 10.0])
    >>> c.item.tolist(), c.steps.tolist()
    ([0, 1, 0, 1], [2, 1, 3, 2])
    """
    gain = np.ascontiguousarray(gain, dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    n, K = gain.shape if gain.ndim == 2 else (0, 0)
    if n * K >= 2**31:
        raise ParameterError("gain", f"at most 2**31 - 1 items x steps (got {gain.shape})")
    if gain.ndim == 2 and gain.shape == cost.shape and n * K == 0:
        return _curve(np.zeros(1), np.zeros(1), np.empty(0, np.int32), None, (n, K))
    hull = hull_segments(gain, cost)
    key, d_cost, d_gain, vertex = hull.ratio, hull.cost, hull.gain, hull.vertex
    valid = key > 0
    n_seg = int(np.count_nonzero(valid))
    np.negative(key, out=key)
    key[~valid] = np.inf
    del valid
    order = np.argsort(key.ravel())
    _order_ties(order[:n_seg], key.ravel(), n * K)
    del key
    idx = order[:n_seg].astype(np.int32)  # n * K < 2**31
    del order
    investment = _cumulative(d_cost, idx)
    del d_cost  # frees the hull's copy, if any, before the next output is allocated
    benefit = _cumulative(d_gain, idx)
    del d_gain
    return _curve(investment, benefit, idx, vertex, (n, K))


@dataclass(frozen=True, slots=True, eq=False)
class HullSegments:
    """Each item's concave-hull segments, arrays (items, K): ``ratio`` (benefit per
    currency; 0 or less, or -inf, where there is no worthwhile segment), ``cost``,
    ``gain`` and ``vertex`` (steps above base at the segment's end; None when segment j
    ends at step j + 1 for every item). Ratios never rise along an item's segments."""

    ratio: F64
    cost: F64
    gain: F64
    vertex: I32 | None


def hull_segments(gain: F64, cost: F64) -> HullSegments:
    """The concave-hull segments of every item's steps (see the module docstring), the
    part of :func:`efficient_curve` that works item by item (so it can run on any
    partition of the items). ``ratio`` is a fresh array; ``cost`` and ``gain`` are the
    inputs themselves where no item needs a hull."""
    gain = np.ascontiguousarray(gain, dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    if gain.ndim != 2 or gain.shape != cost.shape:
        raise ParameterError(
            "gain", f"gain and cost must be 2-D of one shape (got {gain.shape}, {cost.shape})"
        )
    n, K = gain.shape
    m = _valid_steps(gain, cost)
    inside = np.arange(K) < m[:, None]
    _check(gain, cost, inside)
    with np.errstate(divide="ignore", invalid="ignore"):
        key = np.divide(gain, cost)
    rising = ((key[:, 1:] > key[:, :-1]) & inside[:, 1:]).any(axis=1)
    hull_items = np.flatnonzero(rising)
    d_cost, d_gain, vertex = cost, gain, None
    if hull_items.size:
        d_cost, d_gain = cost.copy(), gain.copy()
        vertex = np.broadcast_to(np.arange(1, K + 1, dtype=np.int32), (n, K)).copy()
        for a in range(0, hull_items.size, _HULL_BLOCK):
            rows = hull_items[a : a + _HULL_BLOCK]
            hc, hb, he, top = _hull(gain[rows], cost[rows], m[rows])  # (K, rows) each
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = hb / hc
            ratio[np.arange(K)[:, None] >= top] = -np.inf
            for j in range(1, K):  # PAVA leaves ratios falling; division may not, by an ulp
                np.minimum(ratio[j - 1], ratio[j], out=ratio[j])
            d_cost[rows], d_gain[rows], vertex[rows], key[rows] = hc.T, hb.T, he.T, ratio.T
    key[~inside] = -np.inf
    return HullSegments(key, d_cost, d_gain, vertex)


def point_for_budget(curve: Curve, budget: float) -> int:
    """Index of the last curve point whose investment <= ``budget`` (currency, >= 0)."""
    if not budget >= 0:
        raise ParameterError("budget", f"must be a number >= 0 (got {budget!r})")
    return int(np.searchsorted(curve.investment, budget, side="right")) - 1


def point_for_target(curve: Curve, target_benefit: float) -> tuple[int, bool]:
    """Cheapest curve point whose benefit >= ``target_benefit``, and whether one exists.

    When the target is above the curve's last benefit, returns the last point (every
    worthwhile hull segment taken) and ``False``.
    """
    if np.isnan(target_benefit):
        raise ParameterError("target_benefit", f"must be a number (got {target_benefit!r})")
    p = int(np.searchsorted(curve.benefit, target_benefit, side="left"))
    last = curve.benefit.size - 1
    return (p, True) if p <= last else (last, False)


def steps_at(curve: Curve, point: int) -> I64:
    """Steps above base per item, shape (items,), at curve point ``point``."""
    if not 0 <= point <= curve.n_segments:
        raise ParameterError("point", f"must be in 0..{curve.n_segments} (got {point!r})")
    taken = np.bincount(curve.item[:point], minlength=curve.n_items)
    steps = np.zeros(curve.n_items, np.int64)
    has = np.flatnonzero(taken)
    steps[has] = curve.vertex[has, taken[has] - 1]
    return steps


def steps_for_budget(curve: Curve, budget: float) -> I64:
    """Steps per item, shape (items,), at the last curve point costing <= ``budget``.

    ``budget`` in currency, the same as ``cost``. Optimal for the curve point's own
    investment (Fox 1966), not necessarily for ``budget`` when it lies between points.
    """
    return steps_at(curve, point_for_budget(curve, budget))


def steps_for_target(curve: Curve, target_benefit: float) -> tuple[I64, bool]:
    """Steps per item at the cheapest curve point with benefit >= ``target_benefit``.

    Returns (steps (items,), met). ``met`` is ``False`` when no point reaches the target;
    the steps are then those of the last point (every worthwhile hull segment taken).
    """
    point, met = point_for_target(curve, target_benefit)
    return steps_at(curve, point), met


def curve_points(curve: Curve, n: int = 200) -> CurveSample:
    """At most ``n`` curve points for a plot: half evenly spaced in investment, half in
    point index (to resolve the steep start), always the first and the last point."""
    if n < 2:
        raise ParameterError("n", f"must be >= 2 (got {n!r})")
    last = curve.investment.size - 1
    grid = np.linspace(0.0, curve.investment[-1], n // 2)
    by_money = np.searchsorted(curve.investment, grid, side="right") - 1
    by_index = np.rint(np.linspace(0, last, n - n // 2)).astype(np.int64)
    point = np.unique(np.concatenate((by_money, by_index, [0, last]))).astype(np.int64)
    return CurveSample(point, curve.investment[point], curve.benefit[point])


# --------------------------------------------------------------------------- kernels


def _valid_steps(gain: F64, cost: F64) -> I64:
    """Steps per item before its first NaN gain or cost, shape (items,)."""
    nan = np.isnan(gain)
    nan |= np.isnan(cost)
    steps: I64 = np.where(nan.any(axis=1), nan.argmax(axis=1), gain.shape[1]).astype(np.int64)
    return steps


def _check(gain: F64, cost: F64, inside: NDArray[np.bool_]) -> None:
    """Raise for the first used step with cost not in (0, inf) or an infinite gain."""
    bad = ~((cost > 0) & (cost < np.inf))
    bad &= inside
    if bad.any():
        i, k = np.unravel_index(int(bad.argmax()), bad.shape)
        raise ParameterError(
            "cost", f"item {i}, step {k}: must be positive and finite (got {float(cost[i, k])!r})"
        )
    bad = np.isinf(gain)
    bad &= inside
    if bad.any():
        i, k = np.unravel_index(int(bad.argmax()), bad.shape)
        raise ParameterError(
            "gain", f"item {i}, step {k}: must be finite (got {float(gain[i, k])!r})"
        )


def _hull(gain: F64, cost: F64, m: I64) -> tuple[F64, F64, I32, I64]:
    """Upper concave hull segments of each row's cumulative (cost, gain) curve.

    Pool adjacent violators: each step is pushed as a segment; while its ratio exceeds
    the segment below it on the stack the two are merged. Equal ratios are kept apart
    (each such point is a breakpoint where the curve touches its hull). Returns segment
    cost, gain, steps at its end, each (K, rows) (transposed), and the number of
    segments per row.
    Works column by column on all rows at once; the stack lives in (K, rows) arrays and
    its top segment also in dense (rows,) arrays, so rows that do not merge (most of
    them, most of the time) need no gather.
    """
    b, K = gain.shape
    gain_t, cost_t = gain.T.copy(), cost.T.copy()
    seg_cost = np.zeros((K, b))
    seg_gain = np.zeros((K, b))
    seg_end = np.zeros((K, b), np.int32)
    flat_cost, flat_gain = seg_cost.ravel(), seg_gain.ravel()
    top = np.zeros(b, np.int64)
    top_cost = np.zeros(b)  # the top segment; zero while the stack is empty, which
    top_gain = np.zeros(b)  # makes the merge test below false
    every = np.arange(b)
    for j in range(K):
        live = m > j
        rows = every if live.all() else np.flatnonzero(live)
        if rows.size == 0:
            break
        c, g, t = cost_t[j, rows], gain_t[j, rows], top[rows]
        tc, tg = top_cost[rows], top_gain[rows]
        q = np.flatnonzero(g * tc > tg * c)
        c[q] += tc[q]
        g[q] += tg[q]
        t[q] -= 1
        q = q[t[q] > 0]
        while q.size:
            at = (t[q] - 1) * b + rows[q]
            bc, bg = flat_cost[at], flat_gain[at]
            merge = g[q] * bc > bg * c[q]
            q, bc, bg = q[merge], bc[merge], bg[merge]
            c[q] += bc
            g[q] += bg
            t[q] -= 1
            q = q[t[q] > 0]
        at = t * b + rows
        flat_cost[at], flat_gain[at] = c, g
        seg_end.ravel()[at] = j + 1
        top[rows], top_cost[rows], top_gain[rows] = t + 1, c, g
    return seg_cost, seg_gain, seg_end, top


def _order_ties(order: NDArray[np.intp], key: F64, size: int) -> None:
    """Within runs of equal sort keys put flat indices ascending (item, then segment).

    The sort is not stable; an item's segments may tie (collinear hull points), and
    must stay in their own order. Works in place on ``order``.
    """
    s = order.size
    if s < 2:
        return
    eq = np.empty(s - 1, np.bool_)
    for a in range(0, s - 1, _CHUNK):
        b = min(a + _CHUNK, s - 1)
        k = np.take(key, order[a : b + 1], mode="clip")
        np.equal(k[1:], k[:-1], out=eq[a:b])
    if not eq.any():
        return
    tied = np.zeros(s, np.bool_)
    tied[1:] |= eq
    tied[:-1] |= eq
    at = np.flatnonzero(tied)
    starts = np.ones(at.size, np.bool_)
    starts[1:] = ~eq[at[1:] - 1]
    run = np.cumsum(starts) - 1
    packed = run * size + order[at]  # < 2**62: size < 2**31
    packed.sort()
    order[at] = packed - run * size


def _cumulative(table: F64, idx: I32) -> F64:
    """0, then the running sum of ``table``'s flat entries taken in order ``idx``."""
    out = np.zeros(idx.size + 1)
    np.take(table.ravel(), idx, out=out[1:], mode="clip")
    return np.cumsum(out, out=out)


def _curve(
    investment: F64, benefit: F64, idx: I32, vertex: I32 | None, shape: tuple[int, int]
) -> Curve:
    """Item and step bookkeeping for segments taken in order ``idx`` (flat indices into
    the (items, K) segment tables; ``vertex`` None means segment j ends at step j + 1)."""
    n, K = shape
    item = np.empty(idx.size, np.int32)
    np.floor_divide(idx, K, out=item)
    steps = np.empty(idx.size, np.int32)
    if vertex is None:
        np.remainder(idx, K, out=steps)
        steps += 1
        vertex = np.broadcast_to(np.arange(1, K + 1, dtype=np.int32), (n, K))
    else:
        np.take(vertex.ravel(), idx, out=steps, mode="clip")
    return Curve(investment, benefit, item, steps, vertex)
