"""Exact cost-optimal periodic-review (s, S) policies for Poisson demand, all items at once.

Zheng, Y.-S. and Federgruen, A. (1991). Finding optimal (s, S) policies is about as simple
as evaluating a single policy. *Operations Research* 39(4), 654-665.
https://doi.org/10.1287/opre.39.4.654

Model (per item). Each period demand ``D`` is Poisson with mean ``mu`` units per period;
unmet demand is backordered. At the start of a period, when the inventory position is at
or below the reorder point ``s``, an order raises it to the order-up-to level ``S``; the
order arrives after ``L`` whole periods. Costs per period: ``h`` per unit on hand and ``p``
per unit backordered at the end of the period, and ``K`` per order.

Long-run expected cost per period (Zheng & Federgruen 1991; Snyder & Shen, *Fundamentals
of Supply Chain Theory*, 2nd ed. 2019, eq. (5.7), as cited by stockpyl's
``s_s_cost_discrete``, which computes the same)::

    c(s, S) = (K + sum_{j=0}^{S-s-1} m(j) G(S - j)) / M(S - s)

where ``G(y) = h E[(y - D_{L+1})+] + p E[(D_{L+1} - y)+]`` is the expected holding and
backorder cost charged to a period that starts with inventory position ``y`` (see
:mod:`spareflow.stock._poisson`); ``D_{L+1}``, the demand over the lead time plus that
period, is Poisson with mean ``(L + 1) mu``. ``m(0) = 1 / (1 - f(0))``,
``m(j) = m(0) sum_{l=1}^{j} f(l) m(j - l)`` is the expected number of periods the
position spends at ``S - j`` in a cycle (renewal mass of one period's demand pmf ``f``) and
``M(d) = sum_{j<d} m(j)`` the expected cycle length in periods. With ``L = 0`` this is
exactly stockpyl's ``s_s_discrete_exact(h, p, K, use_poisson=True, demand_mean=mu)``;
``L > 0`` is the standard reduction of a fixed lead time (charge period ``t + L``'s
end-of-period cost to period ``t``), which changes only ``G``.

Search (Zheng & Federgruen 1991). ``y*`` minimises ``G``; an optimal policy has
``s* < y* <= S*`` and ``G(S*) <= c*``, and for any ``S`` the best ``s`` satisfies
``G(s + 1) <= c(s, S) <= G(s)`` (``c(s - 1, S)`` is a weighted mean of ``c(s, S)`` and
``G(s)``). The algorithm scans ``S = y*, y* + 1, ...`` while ``G(S)`` is at most the
incumbent cost ``c0``, keeping a level ``s`` with ``G(s + 1) <= c0 <= G(s)``: a row ``S``
can beat ``c0`` only if ``c(s, S) < c0`` already; then ``s`` is raised while
``c(s, S) <= G(s + 1)`` and ``c0 = c(s, S)``. stockpyl starts from the best ``s`` for
``S = y*``; here the scan starts from an upper bound ``c0`` (the cheapest of a few
policies: ``S = y*`` with its best ``s`` in the table, and two read off level sets of
``G``) and ``s + 1`` the first level with ``G <= c0``, which keeps the same invariant, so
the same optimum comes out. On exact ties both return the smallest ``S``, then the
largest ``s``; policies whose costs differ only by rounding may come out either way.
Each row costs one dot product of ``m`` and ``G`` per item, done for a whole chunk of
items in one numpy call; each step of ``s`` is O(1). Chunks run on several threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spareflow.stock._poisson import (
    F64,
    I64,
    cdf,
    check_cover,
    cost_table,
    critical_level,
    default_threads,
    log_factorials,
    newsvendor_cost,
    pmf,
    policy_inputs,
    run_chunks,
)

#: Cells (items x levels) per chunk: bounds memory (about 10 arrays of this size).
CHUNK_CELLS = 1 << 18

#: Cost tables reach the levels where G exceeds G(y*) + _TABLE_EXCESS * sqrt(2 K mu h p /
#: (h + p)) (deterministic EOQ-with-backorders excess cost); an item whose search needs
#: more is searched again with a table sized by its own cost bound.
_TABLE_EXCESS = 1.5

#: Rounds of the level-set heuristic that bounds the optimal cost before the scan.
_HEURISTIC_ROUNDS = 2


@dataclass(frozen=True, slots=True)
class SSResult:
    """Optimal (s, S) per item, each shaped (items,).

    ``reorder_point`` s and ``order_up_to`` S are inventory positions in units (order when
    the position is at or below s, up to S); ``expected_cost`` is the long-run expected
    cost per period (currency per period) of that policy.
    """

    reorder_point: I64
    order_up_to: I64
    expected_cost: F64


def optimal_ss(
    demand_mean: ArrayLike,
    lead_time: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    *,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SSResult:
    """Exact optimal periodic-review (s, S) policy per item (Zheng & Federgruen 1991).

    Parameters, each a scalar or shaped (items,), broadcast together:

    * ``demand_mean`` mu: Poisson demand per period, units per period (>= 0).
    * ``lead_time`` L: whole periods (>= 0). The one-period cost ``G`` then uses demand
      over ``L + 1`` periods, Poisson with mean ``(L + 1) mu`` (standard reduction of a
      fixed lead time); ``L = 0`` is stockpyl's ``s_s_discrete_exact`` exactly.
    * ``holding_cost`` h: currency per unit on hand per period (> 0).
    * ``stockout_cost`` p: currency per unit backordered per period (> 0).
    * ``fixed_cost`` K: currency per order (>= 0). ``K = 0`` gives a base-stock policy,
      ``S = s + 1 = y*``.
    * ``threads``: worker threads for the chunks of items (default: the usable CPUs,
      at most 8); the result does not depend on it.
    * ``progress``: called as ``progress(done, total)`` (items) while the search runs.

    Cost per period of a policy: ``c(s, S) = (K + sum_{j<S-s} m(j) G(S-j)) / M(S-s)``
    (module docstring). An item with ``mu = 0`` never orders: ``s = -1``, ``S = 0``,
    cost 0.

    Run time per item grows with the square of ``S - s`` (about ``sqrt(2 K mu / h)``);
    100,000 items with means up to 50 and ``K / h`` up to 2,000 take about a second.

    Raises :class:`~spareflow.errors.ParameterError` for a negative, NaN or infinite
    input, ``h <= 0``, ``p <= 0``, a fractional lead time, shapes that do not broadcast,
    or a mean demand over ``L + 1`` periods above 1e6 units.
    """
    x = policy_inputs(
        demand_mean, lead_time, holding_cost, stockout_cost, fixed_cost, integer_lead_time=True
    )
    check_cover(x.demand_mean * (x.lead_time + 1.0), "mean demand over L + 1 periods")
    n = x.demand_mean.size
    s = np.full(n, -1, dtype=np.int64)
    S = np.zeros(n, dtype=np.int64)
    cost = np.zeros(n)
    items = np.flatnonzero(x.demand_mean > 0)
    workers = default_threads() if threads is None else max(1, int(threads))
    report = _Progress(n, n - items.size, progress)
    bound = np.full(items.size, np.inf)
    while items.size:  # a second pass (rare) only for items whose table was too narrow
        mu = x.demand_mean[items]
        found = _solve(
            mu,
            mu * (x.lead_time[items] + 1.0),
            x.holding_cost[items],
            x.stockout_cost[items],
            x.fixed_cost[items],
            bound,
            workers,
            report.add,
        )
        ok = ~found.retry
        s[items[ok]] = found.s[ok]
        S[items[ok]] = found.S[ok]
        cost[items[ok]] = found.cost[ok]
        items, bound = items[found.retry], found.bound[found.retry]
    report.finish()
    return SSResult(reorder_point=s, order_up_to=S, expected_cost=cost)


class _Progress:
    """Forwards items searched to a ``progress(done, total)`` callback, if any."""

    def __init__(self, total: int, done: int, callback: Callable[[int, int], None] | None):
        self.total, self.done, self.callback = total, done, callback
        self.last = -1
        self.report(done)

    def report(self, done: int) -> None:
        done = min(done, self.total)
        if self.callback is not None and done > self.last:
            self.last = done
            self.callback(done, self.total)

    def add(self, searched: int) -> None:
        self.report(self.done + searched)

    def finish(self) -> None:
        self.report(self.total)


@dataclass(frozen=True, slots=True)
class _Found:
    s: I64
    S: I64
    cost: F64
    retry: NDArray[np.bool_]  # bool: the level set reached the table's edge; search again
    bound: F64  # a feasible policy's cost (upper bound on the optimum)


def _solve(
    mu: F64,
    mu_cover: F64,
    h: F64,
    p: F64,
    K: F64,
    bound: F64,
    threads: int,
    progress: Callable[[int], None] | None,
) -> _Found:
    """Search every item; ``mu_cover`` is the mean over L + 1 periods."""
    n = mu.size
    ystar = critical_level(p / (p + h), mu_cover)
    lf0 = log_factorials(int(ystar.max()))
    g_star = newsvendor_cost(ystar, pmf(ystar, mu_cover, lf0), cdf(ystar, mu_cover), mu_cover, h, p)
    # Table bounds: G(y) >= max(p (mu - y), h (y - mu)) (Jensen), so levels beyond these
    # have G > lam, outside every level set searched below when the cost bound is <= lam.
    excess = np.sqrt(2.0 * K * mu * h * p / (h + p))
    lam = g_star + _TABLE_EXCESS * excess + 1e-9 * (1.0 + g_star)
    lam = np.where(np.isfinite(bound), bound, lam)
    lowest = np.floor(mu_cover - lam / p).astype(np.int64) - 1
    highest = np.ceil(mu_cover + lam / h).astype(np.int64) + 1
    below = ystar - lowest
    above = highest - ystar
    log_fact = log_factorials(int(ystar.max() + above.max()))

    out_s = np.empty(n, dtype=np.int64)
    out_S = np.empty(n, dtype=np.int64)
    out_c = np.empty(n)
    retry = np.zeros(n, dtype=bool)
    out_bound = np.empty(n)

    def work(rows: I64) -> int:
        found = _chunk(
            mu[rows],
            mu_cover[rows],
            h[rows],
            p[rows],
            K[rows],
            ystar[rows],
            g_star[rows],
            excess[rows],
            bound[rows],
            int(below[rows].max()),
            int(above[rows].max()),
            log_fact,
        )
        out_s[rows], out_S[rows], out_c[rows], retry[rows], out_bound[rows] = found
        return int(rows.size)

    chunks = _chunks(below + above + 1)
    run_chunks(work, chunks, threads, progress)
    return _Found(out_s, out_S, out_c, retry, out_bound)


def _chunks(width: I64) -> list[I64]:
    """Item indices in chunks of similar table width, each about ``CHUNK_CELLS`` cells."""
    order = np.argsort(width, kind="stable")
    sorted_width = width[order]
    chunks = []
    start, n = 0, width.size
    while start < n:
        most = min(n - start, CHUNK_CELLS // int(sorted_width[start]) + 1)
        cells = np.arange(1, most + 1) * sorted_width[start : start + most]
        stop = start + max(1, int(np.searchsorted(cells, CHUNK_CELLS, side="right")))
        chunks.append(order[start:stop])
        start = stop
    return chunks


class _Renewal:
    """Renewal mass ``m(j)`` of per-period Poisson demand, j = 0, 1, ..., grown on demand.

    ``m(0) = 1 / (1 - f(0))``, ``m(j) = m(0) sum_{l=1}^{j} f(l) m(j - l)`` (Zheng &
    Federgruen 1991): the expected number of periods a cycle spends ``j`` units
    below ``S``. Terms with ``l`` beyond ``mu + 10 sqrt(mu) + 10`` (their total probability
    is below 1e-18) are left out. ``m`` is shaped (capacity, items).
    """

    def __init__(self, mu: F64, capacity: int) -> None:
        W = max(1, min(capacity, int(np.ceil((mu + 10 * np.sqrt(mu) + 10).max()))))
        f = pmf(np.arange(W + 1)[:, None], mu, log_factorials(W))
        m0 = 1.0 / -np.expm1(-mu)
        self.support = W
        # a(W), ..., a(1) with a(l) = m(0) f(l): pairs with m(j - W), ..., m(j - 1)
        self.a_rev = np.ascontiguousarray((m0 * f[1:])[::-1])
        self.m = np.zeros((capacity, mu.size))
        self.m[0] = m0
        # M[d] = m(0) + ... + m(d - 1): expected periods per cycle when S - s = d
        self.M = np.zeros((capacity + 1, mu.size))
        self.M[1] = m0
        self.filled = 1

    def upto(self, count: int) -> None:
        """Make ``m(j)`` available for j < count."""
        m, M, a_rev, W = self.m, self.M, self.a_rev, self.support
        for j in range(self.filled, count):
            k = min(j, W)
            np.einsum("ji,ji->i", a_rev[W - k :], m[j - k : j], out=m[j])
            np.add(M[j], m[j], out=M[j + 1])
        self.filled = max(self.filled, count)


def _level_set(G: F64, lam: F64) -> tuple[I64, I64]:
    """First and last row of each column with ``G <= lam`` (G convex: an interval)."""
    inside = lam >= G
    first = np.argmax(inside, axis=0)
    last = G.shape[0] - 1 - np.argmax(inside[::-1], axis=0)
    return first.astype(np.int64), last.astype(np.int64)


def _policy_cost(G: F64, renewal: _Renewal, K: F64, s_row: I64, S_row: I64) -> F64:
    """``c(s, S)`` for table rows ``s_row < S_row`` (module docstring)."""
    D = S_row - s_row
    top = int(D.max())
    renewal.upto(top)
    items = np.arange(D.size)
    j = np.arange(top)[:, None]
    m = renewal.m[:top]
    vals = G[np.maximum(S_row - j, 0), items] * m
    vals[j >= D] = 0.0
    return np.asarray((K + vals.sum(axis=0)) / renewal.M[D, items])


def _chunk(
    mu: F64,
    mu_cover: F64,
    h: F64,
    p: F64,
    K: F64,
    ystar: I64,
    g_star: F64,
    excess: F64,
    bound: F64,
    A: int,
    B: int,
    log_fact: F64,
) -> tuple[I64, I64, F64, NDArray[np.bool_], F64]:
    """Optimal (s, S) for one chunk; the cost table has rows y* - A .. y* + B."""
    n = mu.size
    width = A + B + 1
    G = cost_table(ystar - A, width, mu_cover, h, p, log_fact)
    renewal = _Renewal(mu, width)

    # Upper bound on the optimal cost. First the best s for S = y* (Zheng & Federgruen's
    # starting point), then policies read off level sets of G.
    renewal.upto(A + 1)
    items = np.arange(n)
    row = np.cumsum(renewal.m[: A + 1] * G[A::-1], axis=0)  # j = 0..A: levels y* - j
    row += K
    row /= renewal.M[1 : A + 2]
    j0 = np.argmin(row, axis=0)
    c_ub = row[j0, items]
    h_s = -1 - j0
    h_S = np.zeros(n, dtype=np.int64)
    lam = np.minimum(g_star + excess, c_ub)
    for _ in range(_HEURISTIC_ROUNDS):
        first, last = _level_set(G, lam)
        c = _policy_cost(G, renewal, K, first - 1, last)
        better = c < c_ub
        c_ub = np.where(better, c, c_ub)
        h_s = np.where(better, first - 1 - A, h_s)
        h_S = np.where(better, last - A, h_S)
        lam = np.maximum(c_ub, g_star)
    # a hair above, so that the scan re-finds (and tie-breaks) the heuristic policy
    c0 = np.maximum(np.minimum(c_ub, bound) * (1.0 + 1e-12), g_star)
    first, last = _level_set(G, c0)
    retry = (first == 0) | (last == width - 1)

    s = ystar + h_s
    S = ystar + h_S
    cost = c_ub.copy()
    keep = np.flatnonzero(~retry)
    if keep.size:
        ks, kS, kc = _scan(G[:, keep], renewal, keep, K[keep], first[keep], last[keep], c0[keep], A)
        found = kS >= 0
        rows = keep[found]
        s[rows] = ystar[rows] + ks[found]
        S[rows] = ystar[rows] + kS[found]
        cost[rows] = kc[found]
    return s, S, cost, retry, np.minimum(c_ub, bound)


def _scan(
    G: F64, renewal: _Renewal, keep: I64, K: F64, first: I64, last: I64, c0: F64, A: int
) -> tuple[I64, I64, F64]:
    """Zheng & Federgruen's scan over S = y*, y* + 1, ... with a level-set incumbent.

    The incumbent ``(s, c0)`` always has ``G(s + 1) <= c0 < G(s)`` (at the start ``c0``
    is an upper bound and ``s + 1`` the first level with ``G <= c0``). Then a row ``S``
    has a policy cheaper than ``c0`` only if ``c(s, S) < c0`` itself (Zheng & Federgruen
    1991), and the best ``s`` of an improving row is at or above the
    incumbent's, found by raising ``s`` while ``c(s, S) <= G(s + 1)``. Rows stop once
    ``G(S) > c0``. Returns s - y*, S - y* (-1 where no row beat ``c0``) and the cost.
    Row ``A`` of ``G`` is y*.
    """
    n = G.shape[1]
    items = np.arange(n)
    k = A - first + 1  # s = y* - k: band levels y*, ..., s + 1 are in the cycle
    w = int(k.max())
    T = int((last - A).max()) + 1  # order-up-to levels y*, ..., highest u
    J = T + w
    renewal.upto(J)
    m = np.ascontiguousarray(renewal.m[:J, keep])
    M = np.ascontiguousarray(renewal.M[: J + 1, keep])
    up = np.ascontiguousarray(G[A + T - np.arange(T)])  # up[r] = G(y* + T - r)
    band = np.ascontiguousarray(G[A - np.arange(w)])  # band[i] = G(y* - i)
    banded = np.where(np.arange(w)[:, None] < k, band, 0.0)  # the levels in the cycle
    cost = c0.copy()
    best_t = np.full(n, -1, dtype=np.int64)
    head = np.zeros(n)
    Z = np.empty(n)
    for t in range(T):
        live = G[A + t] <= cost
        if not live.any():
            break
        if t:
            np.einsum("ji,ji->i", m[:t], up[T - t :], out=head)
        np.einsum("ji,ji->i", m[t : t + w], banded, out=Z)
        D = t + k
        Mv = M[D, items]
        N = K + head + Z
        improve = np.flatnonzero(live & (cost * Mv > N))
        if improve.size == 0:
            continue
        i = improve
        Ni, Mi, ki = N[i], Mv[i], k[i]
        while True:
            Di = t + ki
            m_last = m[Di - 1, i]
            g_next = band[ki - 1, i]
            move = (ki > 1) & (Ni <= g_next * Mi)  # s stays below y* (s* < y*)
            if not move.any():
                break
            Ni = np.where(move, Ni - m_last * g_next, Ni)
            Mi = np.where(move, Mi - m_last, Mi)
            ki = ki - move
            banded[ki[move], i[move]] = 0.0
        k[i] = ki
        cost[i] = Ni / Mi
        best_t[i] = t
    return -k, best_t, cost
