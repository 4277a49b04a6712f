"""Exact cost-optimal continuous-review (r, Q) policies for Poisson demand, all items at once.

Federgruen, A. and Zheng, Y.-S. (1992). An efficient algorithm for computing an optimal
(r, Q) policy in continuous review stochastic inventory systems. *Operations Research*
40(4), 808-813. https://doi.org/10.1287/opre.40.4.808

Model (per item). Demand is a Poisson process with rate ``lambda`` units per unit time;
unmet demand is backordered. When the inventory position falls to the reorder point
``r``, an order of ``Q`` units is placed; it arrives after a fixed lead time ``L``. Costs:
``h`` per unit on hand per unit time, ``p`` per unit backordered per unit time, ``K`` per
order. The inventory position is uniform on ``r + 1, ..., r + Q``, so the long-run
expected cost per unit time is (Federgruen & Zheng 1992; Snyder & Shen 2019, eq. (5.48),
as cited by stockpyl's ``r_q_cost_poisson``, which computes the same)::

    g(r, Q) = (K lambda + sum_{y=r+1}^{r+Q} G(y)) / Q

with ``G(y) = h E[(y - D)+] + p E[(D - y)+]`` for the lead-time demand ``D`` ~ Poisson
(``lambda L``) (:mod:`spareflow.stock._poisson`).

Algorithm (Federgruen & Zheng 1992, as in stockpyl's ``r_q_poisson_exact``). Start at
``Q = 1``, ``r = y* - 1`` (``y*`` the minimiser of ``G``). Going from ``Q`` to ``Q + 1``
the window ``r + 1 .. r + Q`` takes the cheaper neighbour: ``r`` when
``G(r) < G(r + Q + 1)`` (then ``r`` falls by one), else ``r + Q + 1``. Stop at the first
``Q`` whose successor costs more; that ``(r, Q)`` is optimal. Every item steps together;
each step is O(1) per item (running window sum; the Poisson pmf and cdf at the window's
two ends are carried along by their recurrences), and finished items leave the arrays.
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
    critical_level,
    log_factorials,
    newsvendor_cost,
    pmf,
    policy_inputs,
)


@dataclass(frozen=True, slots=True)
class RQResult:
    """Optimal (r, Q) per item, each shaped (items,).

    ``reorder_point`` r is an inventory position in units (order when the position falls
    to r), ``order_quantity`` Q units per order (>= 1); ``expected_cost`` is the long-run
    expected cost per unit time (currency per unit time) of that policy.
    """

    reorder_point: I64
    order_quantity: I64
    expected_cost: F64


def optimal_rq(
    demand_mean: ArrayLike,
    lead_time: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RQResult:
    """Exact optimal continuous-review (r, Q) policy per item (Federgruen & Zheng 1992).

    Parameters, each a scalar or shaped (items,), broadcast together; one time unit
    throughout (days, weeks, years, ...):

    * ``demand_mean`` lambda: Poisson demand rate, units per time unit (>= 0).
    * ``lead_time`` L: fixed lead time in time units (>= 0, need not be whole).
      Lead-time demand is Poisson with mean ``lambda L``.
    * ``holding_cost`` h: currency per unit on hand per time unit (> 0).
    * ``stockout_cost`` p: currency per unit backordered per time unit (> 0).
    * ``fixed_cost`` K: currency per order (>= 0). ``K = 0`` gives ``Q = 1``,
      ``r = y* - 1`` (base stock ``y*``).
    * ``progress``: called as ``progress(done, total)`` (items) while the search runs.

    Cost per time unit: ``g(r, Q) = (K lambda + sum_{y=r+1}^{r+Q} G(y)) / Q`` (module
    docstring); with ``L > 0`` and ``lambda > 0`` the same as stockpyl's
    ``r_q_poisson_exact(h, p, K, lambda, L)``, which also returns (r, Q, cost). An item
    with ``lambda L = 0`` has no lead-time demand: ``G(y) = h y`` above 0 and ``-p y``
    below.

    Raises :class:`~spareflow.errors.ParameterError` for a negative, NaN or infinite
    input, ``h <= 0``, ``p <= 0``, shapes that do not broadcast, or a mean lead-time
    demand above 1e6 units.
    """
    x = policy_inputs(
        demand_mean, lead_time, holding_cost, stockout_cost, fixed_cost, integer_lead_time=False
    )
    rate, h, p = x.demand_mean, x.holding_cost, x.stockout_cost
    mu = rate * x.lead_time  # mean lead-time demand
    check_cover(mu, "mean demand over the lead time")
    n = mu.size
    ystar = critical_level(p / (p + h), mu)
    log_fact = log_factorials(int(ystar.max()) + 1)
    f_star = pmf(ystar, mu, log_fact)
    F_star = cdf(ystar, mu)

    # The window is r + 1 .. r + Q; "lo" is level r below it, "hi" level r + Q + 1 above.
    lo = _End(ystar - 1, pmf(ystar - 1, mu, log_fact), cdf(ystar - 1, mu))
    f_hi = pmf(ystar + 1, mu, log_fact)
    hi = _End(ystar + 1, f_hi, np.minimum(F_star + f_hi, 1.0))
    order_cost = x.fixed_cost * rate
    total = newsvendor_cost(ystar, f_star, F_star, mu, h, p)  # sum of G over the window
    Q = np.ones(n, dtype=np.int64)
    cost = order_cost + total

    out_r = np.empty(n, dtype=np.int64)
    out_Q = np.empty(n, dtype=np.int64)
    out_c = np.empty(n)
    items = np.arange(n)
    if progress is not None:
        progress(0, n)
    while items.size:
        g_lo = newsvendor_cost(lo.y, lo.f, lo.F, mu, h, p)
        g_hi = newsvendor_cost(hi.y, hi.f, hi.F, mu, h, p)
        down = g_lo < g_hi
        grown = total + np.where(down, g_lo, g_hi)
        next_cost = (order_cost + grown) / (Q + 1)
        stop = next_cost > cost
        if stop.any():
            done = items[stop]
            out_r[done], out_Q[done], out_c[done] = lo.y[stop], Q[stop], cost[stop]
            go = ~stop
            items, mu, h, p, order_cost = items[go], mu[go], h[go], p[go], order_cost[go]
            lo, hi, down = lo.take(go), hi.take(go), down[go]
            Q, total, cost = Q[go], grown[go], next_cost[go]
            if progress is not None:
                progress(n - items.size, n)
        else:
            total, cost = grown, next_cost
        Q += 1
        lo.step_down(down, mu)
        hi.step_up(~down, mu)
    return RQResult(reorder_point=out_r, order_quantity=out_Q, expected_cost=out_c)


class _End:
    """One end of the window: level ``y`` and the Poisson pmf ``f`` and cdf ``F`` there."""

    def __init__(self, y: I64, f: F64, F: F64) -> None:
        self.y, self.f, self.F = y, f, F

    def take(self, keep: NDArray[np.bool_]) -> _End:
        return _End(self.y[keep], self.f[keep], self.F[keep])

    def step_down(self, move: NDArray[np.bool_], mu: F64) -> None:
        """``y -= 1`` where ``move``: f(y - 1) = f(y) y / mu, F(y - 1) = F(y) - f(y)."""
        ratio = np.divide(self.y, mu, out=np.zeros_like(mu), where=self.y > 0)
        f_new = self.f * ratio
        F_new = np.maximum(self.F - self.f, 0.0)
        F_new[self.y <= 0] = 0.0  # level y - 1 < 0
        self.f = np.where(move, f_new, self.f)
        self.F = np.where(move, F_new, self.F)
        self.y = self.y - move

    def step_up(self, move: NDArray[np.bool_], mu: F64) -> None:
        """``y += 1`` where ``move``: f(y + 1) = f(y) mu / (y + 1), F(y + 1) = F(y) + f(y + 1).

        The upper end starts at y* + 1 >= 1, so ``y`` is never negative here.
        """
        f_new = self.f * mu / (self.y + 1)
        self.f = np.where(move, f_new, self.f)
        self.F = np.where(move, np.minimum(self.F + f_new, 1.0), self.F)
        self.y = self.y + move
