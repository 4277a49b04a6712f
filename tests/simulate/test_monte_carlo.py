"""The Monte Carlo simulation against hand derivations and exact Poisson formulas.

Timing (see the module): at the start of period t, receipts, then review/order (an order
placed at t arrives at t + L), then demand. With the inventory position after ordering
equal to y, the net stock at the end of period t + L is y - D_{L+1}, where D_k is demand
over k periods (Axsäter, *Inventory Control*, 2015, ch. 5). Expected values below are
computed here from scipy.stats.poisson, independently of the simulation; tolerances come
from the confidence intervals the simulation reports (|sim - exact| <= max(3 ci, floor)).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from spareflow.errors import ParameterError
from spareflow.simulate.monte_carlo import (
    Bootstrap,
    CompoundPoisson,
    PolicyArrays,
    SimulationResult,
    _grow,
    simulate,
)

F64 = NDArray[np.float64]
FIELDS = [f.name for f in dataclasses.fields(PolicyArrays)]


def concat(*policies: PolicyArrays) -> PolicyArrays:
    return PolicyArrays(*(np.concatenate([getattr(p, f) for p in policies]) for f in FIELDS))


# --------------------------------------------------------------------------- exact values


def below(mean: float, y: float) -> float:
    """E[(y - X)^+], X ~ Poisson(mean): a finite sum."""
    if y < 0:
        return 0.0
    x = np.arange(int(np.floor(y)) + 1)
    return float(np.sum((y - x) * stats.poisson.pmf(x, mean)))


def above(mean: float, y: float) -> float:
    """E[(X - y)^+] = E[X] - y + E[(y - X)^+]."""
    return mean - y + below(mean, y)


def exact_rs(m: float, lead: int, review: int, level: float) -> dict[str, float]:
    """(R, S) with Poisson demand m per period; R = 1 is base stock.

    End of period t0 + L + j (t0 a review, j = 0..R-1): net = S - D_{L+j+1}; demand in
    that period meets net S - D_{L+j} before it.
    """
    ks = range(lead + 1, lead + review + 1)
    return {
        "fill_rate": 1
        - (above(m * (lead + review), level) - above(m * lead, level)) / (review * m),
        "ready_rate": float(np.mean([stats.poisson.cdf(level, m * k) for k in ks])),
        "mean_backorders": float(np.mean([above(m * k, level) for k in ks])),
        "mean_on_hand": float(np.mean([below(m * k, level) for k in ks])),
        "orders_per_period": (1 - np.exp(-review * m)) / review,
    }


def exact_rq(m: float, lead: int, r: int, q: int) -> dict[str, float]:
    """(r, Q), Poisson demand: IP after ordering uniform on r+1..r+Q (Hadley & Whitin)."""
    ys = range(r + 1, r + q + 1)
    k = lead + 1
    return {
        "fill_rate": float(np.mean([1 - (above(m * k, y) - above(m * lead, y)) / m for y in ys])),
        "ready_rate": float(np.mean([stats.poisson.cdf(y, m * k) for y in ys])),
        "mean_backorders": float(np.mean([above(m * k, y) for y in ys])),
        "mean_on_hand": float(np.mean([below(m * k, y) for y in ys])),
        # an order follows a period whose demand takes IP from y down to r or below
        "orders_per_period": float(np.mean([stats.poisson.sf(j - 1, m) for j in range(1, q + 1)])),
    }


def check(res: SimulationResult, i: int, expected: dict[str, float], n: int) -> None:
    cis = {
        "fill_rate": res.fill_rate_ci,
        "ready_rate": res.ready_rate_ci,
        "mean_backorders": res.mean_backorders_ci,
        "mean_on_hand": res.mean_on_hand_ci,
    }
    for name, want in expected.items():
        got = float(getattr(res, name)[i])
        if name == "orders_per_period":  # no CI reported: binomial-type bound
            tol = 6 * np.sqrt(want * (1 - want) / n) + 1e-4
        else:
            tol = max(3 * float(cis[name][i]), 0.005)
        assert abs(got - want) <= tol, f"item {i} {name}: simulated {got}, exact {want}, tol {tol}"


# --------------------------------------------------------------------------- deterministic


def constant(d: list[float]) -> Bootstrap:
    return Bootstrap(np.repeat(np.asarray(d, dtype=np.float64)[:, None], 5, axis=1))


def test_constant_demand_base_stock_by_hand() -> None:
    # Demand d each period, base stock S, lead L. In steady state an order of d is placed
    # every period; after ordering IP = S with the last L orders (d each) in flight, so the
    # net stock before demand is S - d L and the fill rate is clip(S - d L, 0, d) / d.
    # S/(L+1) is not it: S = 2, L = 4 serves nothing, S = 3, d = 2, L = 1 serves half.
    cases = [  # d, L, S, fill, ready, on hand, backorders (end of period: S - d (L + 1))
        (1, 2, 3, 1.0, 1.0, 0.0, 0.0),
        (1, 4, 2, 0.0, 0.0, 0.0, 3.0),
        (2, 1, 3, 0.5, 0.0, 0.0, 1.0),
        (2, 1, 6, 1.0, 1.0, 2.0, 0.0),
        (1, 0, 1, 1.0, 1.0, 0.0, 0.0),  # L = 0: received at once, before demand
        (3, 2, 7, 1 / 3, 0.0, 0.0, 2.0),
    ]
    d, lead, level, fill, ready, oh, bo = (
        np.array(c, dtype=np.float64) for c in zip(*cases, strict=True)
    )
    res = simulate(PolicyArrays.base_stock(level, lead), constant(list(d)), 200, replications=2)
    np.testing.assert_allclose(res.fill_rate, fill, atol=1e-12)
    np.testing.assert_allclose(res.ready_rate, ready, atol=1e-12)
    np.testing.assert_allclose(res.mean_on_hand, oh, atol=1e-12)
    np.testing.assert_allclose(res.mean_backorders, bo, atol=1e-12)
    np.testing.assert_allclose(res.orders_per_period, 1.0)
    np.testing.assert_allclose(res.demand_per_period, d)
    np.testing.assert_allclose(res.fill_rate_ci, 0.0, atol=1e-12)
    assert res.total_fill_rate == pytest.approx((1 + 0 + 1 + 2 + 1 + 1) / 10)


def test_constant_demand_periodic_review_by_hand() -> None:
    # R = 2, d = 1, L = 1, S = 2: at a review t the order of 2 arrives at t + 1; on hand
    # before demand is 0 at t (a backorder) and 1 + 1 - 1 at t + 1 after clearing it.
    # R = 3, d = 1, L = 0, S = 3: order 3 at each review, received at once; on hand at the
    # end of the three periods 2, 1, 0.
    res = simulate(PolicyArrays.rs([2, 3], [2, 3], [1, 0]), constant([1, 1]), 300, replications=2)
    np.testing.assert_allclose(res.fill_rate, [0.5, 1.0])
    np.testing.assert_allclose(res.ready_rate, [0.5, 1.0])
    np.testing.assert_allclose(res.mean_on_hand, [0.0, 1.0])
    np.testing.assert_allclose(res.mean_backorders, [0.5, 0.0])
    np.testing.assert_allclose(
        res.orders_per_period, [1 / 2, 1 / 3], atol=0.01
    )  # 280 or 270 periods


# --------------------------------------------------------------------------- Poisson, exact

BASE = [(0.5, 2, 2), (2.0, 3, 9), (0.1, 5, 1), (1.0, 0, 1), (1.0, 0, 2), (0.3, 10, 4), (0.5, 1, 0)]
RS = [(3, 0.5, 2, 4), (7, 0.2, 1, 3), (2, 2.0, 0, 5)]  # R, m, L, S
RQ = [(0.5, 2, 1, 3), (0.1, 4, 0, 2), (2.0, 1, 3, 5), (1.0, 0, -1, 2)]  # m, L, r, Q
PERIODS, WARMUP, REPS = 20_000, 1_000, 10


@pytest.fixture(scope="module")
def poisson_run() -> SimulationResult:
    policy = concat(
        PolicyArrays.base_stock([c[2] for c in BASE], [c[1] for c in BASE]),
        PolicyArrays.rs([c[0] for c in RS], [c[3] for c in RS], [c[2] for c in RS]),
        PolicyArrays.rq([c[2] for c in RQ], [c[3] for c in RQ], [c[1] for c in RQ]),
    )
    rate = [c[0] for c in BASE] + [c[1] for c in RS] + [c[0] for c in RQ]
    demand = CompoundPoisson(np.array(rate), np.ones(len(rate)))
    return simulate(policy, demand, PERIODS, REPS, warmup=WARMUP, seed=7)


@pytest.mark.parametrize("case", range(len(BASE)))
def test_base_stock_poisson_matches_exact(poisson_run: SimulationResult, case: int) -> None:
    m, lead, level = BASE[case]
    check(poisson_run, case, exact_rs(m, lead, 1, level), (PERIODS - WARMUP) * REPS)


@pytest.mark.parametrize("case", range(len(RS)))
def test_periodic_review_poisson_matches_exact(poisson_run: SimulationResult, case: int) -> None:
    review, m, lead, level = RS[case]
    i = len(BASE) + case
    check(poisson_run, i, exact_rs(m, lead, review, level), (PERIODS - WARMUP) * REPS)


@pytest.mark.parametrize("case", range(len(RQ)))
def test_rq_poisson_matches_exact(poisson_run: SimulationResult, case: int) -> None:
    m, lead, r, q = RQ[case]
    i = len(BASE) + len(RS) + case
    check(poisson_run, i, exact_rq(m, lead, r, q), (PERIODS - WARMUP) * REPS)


def test_totals_pool_items(poisson_run: SimulationResult) -> None:
    d = poisson_run.demand_per_period
    pooled = float(np.sum(poisson_run.fill_rate * d) / np.sum(d))
    assert poisson_run.total_fill_rate == pytest.approx(pooled, rel=1e-12)
    assert 0 < poisson_run.total_fill_rate_ci < 0.01
    assert poisson_run.periods == PERIODS - WARMUP
    assert poisson_run.warmup == WARMUP


# --------------------------------------------------------------------------- stochastic lead times


def exact_base_stock_random_lead(m: float, lead: float, sd: float, level: int) -> dict[str, float]:
    """Base stock, Poisson demand, lead max(0, round(N(L, sd))) per order, orders crossing.

    The order placed at t replaces the demand of t - 1. Before demand at t, the demand of
    period t-1-j is still in flight iff its order's lead time exceeds j, with probability
    p_j = 1 - Phi((j + 0.5 - L) / sd); the terms are independent, so the pipeline P has the
    pmf of a convolution of mixtures (1 - p_j) delta_0 + p_j Poisson(m). Net before
    demand: S - P; at the end of the period: S - P - D.
    """
    top = 400
    x = np.arange(top)
    pois = stats.poisson.pmf(x, m)
    pmf = np.zeros(top)
    pmf[0] = 1.0
    for j in range(int(lead + 12 * sd) + 1):
        p = float(stats.norm.sf((j + 0.5 - lead) / sd))
        term = (1 - p) * (x == 0) + p * pois
        pmf = np.convolve(pmf, term)[:top]
    end = np.convolve(pmf, pois)[:top]  # P + D
    served = sum(pmf[k] * np.sum(np.minimum(x, max(level - k, 0)) * pois) for k in range(top))
    return {
        "fill_rate": float(served / m),
        "ready_rate": float(end[: level + 1].sum()),
        "mean_backorders": float(np.sum(np.maximum(x - level, 0) * end)),
        "mean_on_hand": float(np.sum(np.maximum(level - x, 0) * end)),
    }


def test_stochastic_lead_times_match_exact() -> None:
    cases = [(0.5, 4, 1.5, 3), (1.0, 2, 1.0, 4), (0.2, 8, 3.0, 2)]  # m, L, sd, S
    policy = PolicyArrays.base_stock([c[3] for c in cases], [c[1] for c in cases])
    demand = CompoundPoisson(np.array([c[0] for c in cases]), np.ones(len(cases)))
    sd = np.array([c[2] for c in cases])
    res = simulate(policy, demand, PERIODS, REPS, warmup=WARMUP, seed=3, lead_time_sd=sd)
    for i, (m, lead, s, level) in enumerate(cases):
        check(res, i, exact_base_stock_random_lead(m, lead, s, level), (PERIODS - WARMUP) * REPS)


def test_zero_lead_time_sd_is_deterministic_and_demand_is_common() -> None:
    policy = PolicyArrays.rq([1, 0], [3, 2], [2, 5])
    demand = CompoundPoisson(np.array([0.4, 1.2]), np.array([1.0, 2.5]))
    a = simulate(policy, demand, 500, 3, seed=11, record=True)
    b = simulate(policy, demand, 500, 3, seed=11, lead_time_sd=[0.0, 0.0], record=True)
    c = simulate(PolicyArrays.base_stock([4, 9], [1, 1]), demand, 500, 3, seed=11, record=True)
    assert a.trace is not None and b.trace is not None and c.trace is not None
    np.testing.assert_array_equal(a.fill_rate, b.fill_rate)
    np.testing.assert_array_equal(a.trace.on_hand, b.trace.on_hand)
    np.testing.assert_array_equal(a.trace.demand, c.trace.demand)  # common random numbers


def test_ring_buffer_growth_keeps_arrival_periods() -> None:
    old = 3
    pipe = np.zeros((old, 1, 2))
    t = 7  # outstanding arrivals at absolute periods 7, 8, 9 sit in slots 1, 2, 0
    for a, value in ((7, 1.0), (8, 2.0), (9, 3.0)):
        pipe[a % old] = value
    grown = _grow(pipe, t, 8)
    for a, value in ((7, 1.0), (8, 2.0), (9, 3.0)):
        np.testing.assert_array_equal(grown[a % 8], value)
    assert grown.sum() == 2 * 6.0


# --------------------------------------------------------------------------- invariants


def test_orders_multiples_and_inventory_balance() -> None:
    policy = concat(
        PolicyArrays.rq([2, 0, 5], [3, 4, 2], [3, 0, 6]),
        PolicyArrays.rss([3, 1], [1, 4], [6, 10], [2, 4]),
        PolicyArrays.base_stock([5], [3]),
    )
    rate = np.array([0.4, 0.3, 0.8, 0.5, 0.6, 0.7])
    demand = CompoundPoisson(rate, np.array([4.0, 2.0, 1.5, 3.0, 1.0, 2.0]))
    sd = np.array([1.5, 0.0, 2.5, 1.0, 3.0, 0.0])
    res = simulate(policy, demand, 600, 4, seed=5, lead_time_sd=sd, record=True)
    tr = res.trace
    assert tr is not None
    mult = policy.multiple
    q = policy.order_quantity
    s = policy.reorder_point

    # orders: multiples of Q that lift IP above s; up-to orders reach S; only on reviews
    ip_before = np.concatenate(
        [
            np.broadcast_to(tr.initial_on_hand, (1, 4, 6)),
            (tr.on_hand - tr.backorders + tr.on_order)[:-1],
        ]
    )
    placed = tr.ordered > 0
    ip_after = ip_before + tr.ordered
    reviewed = (np.arange(600)[:, None, None] % policy.review_period) == 0
    assert np.all(placed <= reviewed)
    np.testing.assert_array_equal(placed, reviewed & (ip_before <= s))
    n_q = tr.ordered / q
    multiples = placed & mult
    np.testing.assert_allclose(n_q[multiples], np.round(n_q[multiples]))
    assert np.all(ip_after[multiples] > s[None, None, :].repeat(600, 0).repeat(4, 1)[multiples])
    assert np.all(ip_after[multiples] - q[np.nonzero(multiples)[2]] <= s[np.nonzero(multiples)[2]])
    assert (n_q[multiples] > 1).any()  # lumpy demand needed more than one Q sometimes
    up_to = placed & ~mult
    np.testing.assert_allclose(ip_after[up_to], policy.order_up_to[np.nonzero(up_to)[2]])

    # balance: initial + received - served = on hand; demanded - served = backorders
    received, served = np.cumsum(tr.received, 0), np.cumsum(tr.served, 0)
    np.testing.assert_allclose(tr.initial_on_hand + received - served, tr.on_hand, atol=1e-9)
    np.testing.assert_allclose(np.cumsum(tr.demand, 0) - served, tr.backorders, atol=1e-9)
    np.testing.assert_allclose(np.cumsum(tr.ordered, 0) - received, tr.on_order, atol=1e-9)
    assert tr.on_hand.min() >= 0 and tr.backorders.min() >= 0 and tr.on_order.min() >= -1e-9
    assert not np.any((tr.on_hand > 0) & (tr.backorders > 0))
    assert np.all(tr.served_at_once <= tr.demand)
    assert tr.received.sum() > 0


# --------------------------------------------------------------------------- demand models


def test_bootstrap_constant_history_and_nan_never_drawn() -> None:
    rng = np.random.default_rng(0)
    history = np.array(
        [
            [2.0, 2.0, 2.0, 2.0],
            [np.nan, 5.0, np.nan, 7.0],
            [np.nan, np.nan, np.nan, np.nan],
            [0.0, np.nan, 3.0, np.nan],
        ]
    )
    x = Bootstrap(history).sample(rng, (20_000, 4))
    assert x.shape == (20_000, 4) and not np.isnan(x).any()
    np.testing.assert_array_equal(x[:, 0], 2.0)
    assert set(np.unique(x[:, 1])) == {5.0, 7.0}
    np.testing.assert_array_equal(x[:, 2], 0.0)  # nothing observed: no demand
    assert set(np.unique(x[:, 3])) == {0.0, 3.0}
    # each observed period equally likely: 10,000 expected, sd 71
    assert abs(int((x[:, 1] == 5.0).sum()) - 10_000) < 500
    res = simulate(PolicyArrays.base_stock([3], [1]), Bootstrap(history[:1]), 50, 2, record=True)
    assert res.trace is not None
    np.testing.assert_array_equal(res.trace.demand, 2.0)


def test_compound_poisson_distribution() -> None:
    # n ~ Poisson(lam) occurrences of geometric sizes on {1, 2, ...}, p = 1 / mean size:
    # P(0) = e^-lam, P(1) = lam e^-lam p, P(2) = e^-lam (lam p (1 - p) + lam^2 p^2 / 2),
    # mean lam mu, variance lam mu (2 mu - 1).
    lam, mu = np.array([0.3, 1.5, 0.0, 0.8]), np.array([3.0, 1.5, 2.0, 1.0])
    n = 200_000
    x = CompoundPoisson(lam, mu).sample(np.random.default_rng(1), (n, 4))
    assert np.all(x == np.round(x)) and x.min() >= 0
    p = 1 / mu
    e = np.exp(-lam)
    for k, want in enumerate((e, lam * e * p, e * (lam * p * (1 - p) + lam**2 * p**2 / 2))):
        got = (x == k).mean(axis=0)
        np.testing.assert_array_less(np.abs(got - want), 5 * np.sqrt(want * (1 - want) / n) + 1e-12)
    var = lam * mu * (2 * mu - 1)
    np.testing.assert_array_less(np.abs(x.mean(axis=0) - lam * mu), 5 * np.sqrt(var / n) + 1e-12)
    np.testing.assert_allclose(x.var(axis=0), var, rtol=0.03, atol=1e-12)


# --------------------------------------------------------------------------- boundary


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: PolicyArrays.rq([1], [0], [2]), "order_quantity"),
        (lambda: PolicyArrays.ss([3], [3], [2]), "order_up_to"),
        (lambda: PolicyArrays.base_stock([3], [-1]), "lead_time"),
        (lambda: PolicyArrays.rs([1.5], [3], [1]), "review_period"),
        (lambda: PolicyArrays.rs([0], [3], [1]), "review_period"),
        (lambda: CompoundPoisson(np.array([1.0]), np.array([0.5])), "mean_size"),
        (lambda: CompoundPoisson(np.array([-1.0]), np.array([1.0])), "rate"),
        (lambda: Bootstrap(np.array([[1.0, -2.0]])), "history"),
    ],
)
def test_bad_parameters_name_the_field(build: Callable[[], object], name: str) -> None:
    with pytest.raises(ParameterError) as err:
        build()
    assert err.value.name == name


def test_bad_run_arguments() -> None:
    policy = PolicyArrays.base_stock([3, 4], [1, 2])
    demand = CompoundPoisson(np.array([0.5, 0.5]), np.ones(2))
    with pytest.raises(ParameterError, match="warmup"):
        simulate(policy, demand, 100, warmup=100)
    with pytest.raises(ParameterError, match="lead_time_sd"):
        simulate(policy, demand, 100, lead_time_sd=[-1.0, 0.0])
    with pytest.raises(ParameterError, match="demand"):
        simulate(policy, CompoundPoisson(np.array([0.5]), np.ones(1)), 100)


def test_progress_and_reproducibility() -> None:
    policy = PolicyArrays.rss([2], [1], [5], [3])
    demand = CompoundPoisson(np.array([0.7]), np.array([1.5]))
    calls: list[tuple[int, int]] = []
    a = simulate(policy, demand, 250, 3, seed=9, progress=lambda d, t: calls.append((d, t)))
    b = simulate(policy, demand, 250, 3, seed=9)
    assert calls[-1] == (250, 250) and len(calls) == 125
    np.testing.assert_array_equal(a.fill_rate, b.fill_rate)
    assert a.trace is None
