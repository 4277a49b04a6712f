"""Final (lifetime) buy: when a part's production ends, how many to buy now to serve
the installed base for the rest of its life, and what each quantity costs.

Per item, over the remaining life split into periods, the units the buy must supply
are the failures that are not repaired (condemnations, expected ``condemned[t]`` per
period; the installed base's expected failures times the share not repaired), until a
superseding part takes over at period ``until`` (demand after it is not this buy's).
Unit demands are Poisson, so cumulative demand by the end of period t is Poisson with
mean ``C(t) = sum_{s<=t} condemned[s]``; repairs also hold ``pipeline`` units in
repair on average, covered by the buy as well (a Poisson pipeline, Palm).

For a buy of Q units (Teunter & Fortuin 1999, "End-of-life service", *IJPE* 59;
van Kooten & Tan 2009, *J. Oper. Res. Soc.* 60(3)):

* service: ``P(D_T + X <= Q)``, D_T the total condemnations, X the repair pipeline;
* holding: ``h c sum_t E[(Q - D_t - X)+] * period_years`` (units on the shelf in each
  period, at the period's end);
* obsolescence: ``(c - salvage) E[(Q - D_T - X)+]`` (left over at the end);
* shortage: ``p E[(D_T + X - Q)+]`` (demands the buy cannot serve: each costs ``p``,
  an alternative source, a cannibalisation or a unit down).

Both the least-service quantity and the least-cost quantity are returned with the cost
curve over Q, all items at once (Poisson tables over a shared grid of Q). Units:
currency, units, periods of ``period_days`` days, holding rate per year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from spareflow.errors import ParameterError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FinalBuy:
    """Per item (items,): the least quantity meeting the service level and the
    least-cost quantity; per item and candidate Q = 0..K (items, K + 1): service and
    the expected holding, obsolescence and shortage costs."""

    quantity_for_service: I64
    quantity_least_cost: I64
    service: F64
    holding: F64
    obsolescence: F64
    shortage: F64

    @property
    def total(self) -> F64:
        return np.asarray(self.holding + self.obsolescence + self.shortage)


def final_buy(
    condemned: F64,
    unit_cost: F64,
    shortage_cost: F64,
    holding_rate: float = 0.25,
    salvage: F64 | None = None,
    pipeline: F64 | None = None,
    until: I64 | None = None,
    period_days: float = 365.25 / 12.0,
    service_level: float = 0.95,
    life: I64 | None = None,
) -> FinalBuy:
    """The final buy of each item from its expected condemnations per period
    (items, periods); see the module doc for the costs. ``life``: the periods each
    item's buy must last (default: all); its stock is held, and its demand counted, only
    until then."""
    c_t = np.asarray(condemned, dtype=np.float64)
    if c_t.ndim != 2 or (c_t < 0).any():
        raise ParameterError("condemned", "must be (items, periods) of expected units >= 0")
    if not 0.0 < service_level < 1.0:
        raise ParameterError("service_level", f"must be between 0 and 1, got {service_level}")
    n, periods = c_t.shape
    alive = np.ones((n, periods), dtype=bool)
    if life is not None:
        alive = np.arange(periods)[None, :] < np.asarray(life, dtype=np.int64)[:, None]
        c_t = np.where(alive, c_t, 0.0)
    if until is not None:
        stop = np.asarray(until, dtype=np.int64)
        c_t = np.where(np.arange(periods)[None, :] < stop[:, None], c_t, 0.0)
    x_mean = np.zeros(n) if pipeline is None else np.asarray(pipeline, dtype=np.float64)
    cumulative = np.cumsum(c_t, axis=1) + x_mean[:, None]  # mean of D_t + X per period end
    total = cumulative[:, -1]
    k = int(stats.poisson.isf(1e-9, total.max(initial=0.0))) + 2
    q = np.arange(k + 1)
    cost = np.asarray(unit_cost, dtype=np.float64)
    left_value = cost - (np.zeros(n) if salvage is None else np.asarray(salvage, dtype=np.float64))
    p = np.asarray(shortage_cost, dtype=np.float64)

    def over(mu: F64) -> F64:
        """E[(Q - Y)+] for Y Poisson(mu), Q = 0..K: sum_{j<Q} P(Y <= j)."""
        cdf = stats.poisson.cdf(q[None, :] - 1, mu[:, None])  # P(Y <= Q - 1)
        return np.asarray(np.cumsum(cdf, axis=1))

    end_over = over(total)
    end_short = end_over - (q[None, :] - total[:, None])  # E[(Y-Q)+] = E[(Q-Y)+] - (Q - mu)
    on_shelf = np.zeros((n, k + 1))
    for t in range(periods):
        on_shelf += over(cumulative[:, t]) * alive[:, t, None]
    years = period_days / 365.25
    holding = holding_rate * cost[:, None] * on_shelf * years
    obsolescence = left_value[:, None] * end_over
    shortage = p[:, None] * np.maximum(end_short, 0.0)
    service = stats.poisson.cdf(q[None, :], total[:, None])
    for_service = np.argmax(service >= service_level, axis=1).astype(np.int64)
    least = np.argmin(holding + obsolescence + shortage, axis=1).astype(np.int64)
    return FinalBuy(for_service, least, service, holding, obsolescence, shortage)
