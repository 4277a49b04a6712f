"""Long-run service of inventory policies with backordering, vectorised across items.

Timing (the discrete-time model of Axsäter 2015, ch. 5, and of ``simulate.monte_carlo``):
at the start of a review period the inventory position IP (on hand - backorders + on
order) is raised by an order if it is at or below the reorder point; an order arrives
``L`` periods later, at the start of a period and before that period's demand (L = 0:
at once). With review every ``R`` periods, the IP ``y`` just after a review covers the
periods until the order placed at the next review arrives, so (``D_k``: demand over k
periods; Silver, Pyke & Thomas 2017, sec. 7.4 and 8.4):

* unit fill rate  = 1 - E[(D_{L+R} - Y)+ - (D_L - Y)+] / E[D_R]
* ready rate      = mean over k = 1..R of P(D_{L+k} <= Y)      (no backorder at period end)
* backorders      = mean over k = 1..R of E[(D_{L+k} - Y)+]     (units, at period end)
* on hand         = mean over k = 1..R of E[(Y - D_{L+k})+]     (units, at period end)

where Y, the IP after a review, is: S (base stock (S-1, S) and (R, S)); uniform on
r+1..r+Q ((r, Q) with review every period; Hadley & Whitin 1963, Zipkin 2000 sec. 6.2);
for (s, S) and (R, s, S) the stationary law P(Y = S - j) proportional to m(j), j < S-s,
with m the renewal mass of demand per review period (Zipkin 2000, sec. 6.7).
All quantities are in units; periods are the planning time step (a day by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.stock.distributions import LossTables

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Service:
    """Long-run service per item (arrays shaped (items,))."""

    fill_rate: F64
    ready_rate: F64
    backorders: F64
    on_hand: F64


@dataclass(frozen=True, slots=True)
class Horizon:
    """Demand tables one policy evaluation needs, per item.

    ``lead``: demand over the lead time L; ``within``: demand over L + k periods for
    k = 1..R (the last is L + R), one table each (the same R for all items of a call);
    ``per_review``: mean demand per review period (units).
    """

    lead: LossTables
    within: tuple[LossTables, ...]
    per_review: F64

    @property
    def cycle_end(self) -> LossTables:
        return self.within[-1]


def _weighted(levels: I64, weights: F64, h: Horizon) -> Service:
    """Service for an IP after review with law ``weights`` over ``levels`` (items, J)."""
    w = weights / weights.sum(axis=1, keepdims=True)
    end = (w * h.cycle_end.loss1_at(levels)).sum(axis=1)
    start = (w * h.lead.loss1_at(levels)).sum(axis=1)
    fill = 1.0 - _ratio(end - start, h.per_review)
    ready = np.zeros(levels.shape[0])
    backorders = np.zeros(levels.shape[0])
    on_hand = np.zeros(levels.shape[0])
    mean_level = (w * levels).sum(axis=1)
    for t in h.within:
        ready += (w * t.cdf_at(levels)).sum(axis=1)
        b = (w * t.loss1_at(levels)).sum(axis=1)
        backorders += b
        on_hand += mean_level - t.mean + b  # E[(y - D)+] = y - E[D] + E[(D - y)+]
    r = len(h.within)
    return Service(
        fill_rate=np.clip(fill, 0.0, 1.0),
        ready_rate=ready / r,
        backorders=backorders / r,
        on_hand=on_hand / r,
    )


def _ratio(num: F64, den: F64) -> F64:
    """num / den, and 0 where there is no demand (nothing to fill: fill rate 1)."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def base_stock(order_up_to: I64, h: Horizon) -> Service:
    """Base-stock (S-1, S), or (R, S) when ``h`` spans R > 1 periods: Y = S."""
    s = np.asarray(order_up_to, dtype=np.int64)[:, None]
    return _weighted(s, np.ones(s.shape), h)


def rq(reorder_point: I64, order_quantity: I64, h: Horizon) -> Service:
    """(r, Q) reviewed every period (``h`` must span R = 1): Y uniform on r+1..r+Q.

    Closed forms over the uniform law with the first- and second-order losses (Zipkin
    2000, eq. 6.2.9), so Q may be large.
    """
    if len(h.within) != 1:
        raise ValueError("(r, Q) here is reviewed every period: pass a Horizon with R = 1")
    r = np.asarray(reorder_point, dtype=np.int64)
    q = np.maximum(np.asarray(order_quantity, dtype=np.int64), 1)
    lo, hi = r + 1, r + q + 1  # levels lo .. hi - 1
    end, lead = h.cycle_end, h.lead
    end_loss = (end.loss2_at(lo) - end.loss2_at(hi)) / q
    lead_loss = (lead.loss2_at(lo) - lead.loss2_at(hi)) / q
    fill = 1.0 - _ratio(end_loss - lead_loss, h.per_review)
    # mean of P(D <= y) over y = lo..hi-1: each term is 1 - P(D > y) and those tails
    # sum to E[(D - lo)+] - E[(D - hi)+] (Zipkin 2000, sec. 6.2)
    ready = 1.0 - (end.loss1_at(lo) - end.loss1_at(hi)) / q
    mean_level = r + (q + 1) / 2.0
    return Service(
        fill_rate=np.clip(fill, 0.0, 1.0),
        ready_rate=ready,
        backorders=end_loss,
        on_hand=mean_level - end.mean + end_loss,
    )


def renewal_mass(pmf: F64, last: int) -> F64:
    """Renewal mass m(0..last) per item of i.i.d. per-review demand with ``pmf`` (items,
    K+1): the expected number of reviews at which cumulative demand since a reset equals
    j, ``m(0) = 1/(1 - p0)``, ``m(j) = sum_{i=1..j} p(i) m(j - i) / (1 - p0)``
    (Zipkin 2000, sec. 6.7). O(last**2) vector operations."""
    n = pmf.shape[0]
    p = np.zeros((n, last + 1))
    width = min(pmf.shape[1], last + 1)
    p[:, :width] = pmf[:, :width]
    stay = np.maximum(1.0 - p[:, 0], 1e-300)
    m = np.zeros((n, last + 1))
    m[:, 0] = 1.0 / stay
    for j in range(1, last + 1):
        m[:, j] = (p[:, 1 : j + 1] * m[:, j - 1 :: -1][:, :j]).sum(axis=1) / stay
    return m


def ss(reorder_point: I64, order_up_to: I64, per_review_pmf: F64, h: Horizon) -> Service:
    """(s, S) (R = 1) or (R, s, S): Y on s+1..S with P(Y = S - j) proportional to m(j).

    ``per_review_pmf``: pmf of demand per review period (items, K+1).
    """
    s = np.asarray(reorder_point, dtype=np.int64)
    big = np.asarray(order_up_to, dtype=np.int64)
    span = np.maximum(big - s, 1)  # number of levels s+1..S
    width = int(span.max(initial=1))
    m = renewal_mass(per_review_pmf, width - 1)
    j = np.arange(width)[None, :]
    weights = np.where(j < span[:, None], m, 0.0)
    levels = big[:, None] - j
    return _weighted(levels, weights, h)


def horizon(
    mean_per_period: F64,
    variance_per_period: F64,
    intermittent: NDArray[np.bool_],
    lead_time: I64,
    review_period: int = 1,
    lead_time_variance: F64 | None = None,
    lean: bool = False,
) -> Horizon:
    """The demand tables for lead time ``lead_time`` and review every ``review_period``
    periods (whole periods; the same review period for every item of the call).

    ``lead_time_variance``: variance of a random lead time (periods squared), which
    widens every interval's demand (see :func:`fit_interval_demand`). ``lean``: keep
    only the second-order loss tables (all :func:`rq` needs; see ``LossTables``).
    """
    from spareflow.stock.distributions import fit_interval_demand, loss_tables

    if review_period < 1:
        raise ValueError("review_period must be at least 1")
    lead = np.asarray(lead_time, dtype=np.float64)

    def table(extra: int) -> LossTables:
        return loss_tables(
            fit_interval_demand(
                mean_per_period,
                variance_per_period,
                lead + extra,
                intermittent,
                lead_time_variance,
            ),
            lean=lean,
        )

    per_review = np.maximum(np.nan_to_num(np.asarray(mean_per_period)), 0.0) * review_period
    return Horizon(
        lead=table(0),
        within=tuple(table(k) for k in range(1, review_period + 1)),
        per_review=per_review,
    )
