"""Service measures against brute-force sums over Poisson lead-time demand (computed here
with scipy), and the properties a planner relies on. The comparison with simulation is
in tests/simulate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from spareflow.stock.distributions import Family, IntervalDemand, loss_tables
from spareflow.stock.service import base_stock, horizon, renewal_mass, rq, ss

F = np.float64


def loss(mean: float, y: int) -> float:
    """E[(D - y)+] for D ~ Poisson(mean)."""
    k = np.arange(400)
    return float((np.maximum(k - y, 0) * stats.poisson.pmf(k, mean)).sum())


def on_hand(mean: float, y: int) -> float:
    k = np.arange(400)
    return float((np.maximum(y - k, 0) * stats.poisson.pmf(k, mean)).sum())


CASES = [(0.5, 3, 3), (2.0, 0, 4), (0.1, 10, 1), (1.3, 7, 0), (4.0, 2, 15)]  # m, L, S


def poisson_horizon(m: list[float], lead: list[int], review: int = 1):  # type: ignore[no-untyped-def]
    mean = np.asarray(m, dtype=F)
    return horizon(mean, mean, np.zeros(len(m), dtype=bool), np.asarray(lead), review)


def test_base_stock_against_poisson_sums() -> None:
    m, lead, s = (list(c) for c in zip(*CASES, strict=True))
    svc = base_stock(np.asarray(s), poisson_horizon(m, lead))
    for i, (mi, li, si) in enumerate(CASES):
        fill = 1 - (loss(mi * (li + 1), si) - loss(mi * li, si)) / mi
        assert svc.fill_rate[i] == pytest.approx(fill, rel=1e-9)
        assert svc.ready_rate[i] == pytest.approx(stats.poisson.cdf(si, mi * (li + 1)), rel=1e-9)
        assert svc.backorders[i] == pytest.approx(loss(mi * (li + 1), si), rel=1e-9, abs=1e-12)
        assert svc.on_hand[i] == pytest.approx(on_hand(mi * (li + 1), si), rel=1e-9, abs=1e-12)


def test_periodic_review_base_stock() -> None:
    # (R, S) with R = 4: fill over the cycle, the rest averaged over its 4 periods
    m, L, R, S = 0.7, 2, 4, 6
    svc = base_stock(np.array([S]), poisson_horizon([m], [L], review=R))
    fill = 1 - (loss(m * (L + R), S) - loss(m * L, S)) / (R * m)
    assert svc.fill_rate[0] == pytest.approx(fill, rel=1e-9)
    ready = np.mean([stats.poisson.cdf(S, m * (L + k)) for k in range(1, R + 1)])
    assert svc.ready_rate[0] == pytest.approx(ready, rel=1e-9)
    bo = np.mean([loss(m * (L + k), S) for k in range(1, R + 1)])
    assert svc.backorders[0] == pytest.approx(bo, rel=1e-9)


def test_rq_is_the_average_over_a_uniform_position() -> None:
    r, q = np.array([1, 2, 0, -1, 5]), np.array([3, 5, 2, 1, 20])
    m, lead = [0.5, 2.0, 0.1, 1.3, 4.0], [3, 0, 10, 7, 2]
    svc = rq(r, q, poisson_horizon(m, lead))
    for i in range(5):
        ys = range(r[i] + 1, r[i] + q[i] + 1)
        big, small = m[i] * (lead[i] + 1), m[i] * lead[i]
        fill = np.mean([1 - (loss(big, y) - loss(small, y)) / m[i] for y in ys])
        assert svc.fill_rate[i] == pytest.approx(fill, rel=1e-9)
        assert svc.ready_rate[i] == pytest.approx(
            np.mean([stats.poisson.cdf(y, big) for y in ys]), rel=1e-9
        )
        assert svc.on_hand[i] == pytest.approx(np.mean([on_hand(big, y) for y in ys]), rel=1e-9)


def test_rq_with_q_one_is_base_stock() -> None:
    h = poisson_horizon([0.4, 3.0], [5, 1])
    a = rq(np.array([2, 4]), np.array([1, 1]), h)
    b = base_stock(np.array([3, 5]), h)
    np.testing.assert_allclose(a.fill_rate, b.fill_rate, rtol=1e-12)
    np.testing.assert_allclose(a.on_hand, b.on_hand, rtol=1e-12)


def test_renewal_mass_by_hand() -> None:
    # p = (0.5, 0.3, 0.2): m(0) = 1/0.5 = 2; m(1) = 0.3 m(0)/0.5 = 1.2;
    # m(2) = (0.3 m(1) + 0.2 m(0))/0.5 = (0.36 + 0.4)/0.5 = 1.52
    m = renewal_mass(np.array([[0.5, 0.3, 0.2]]), 2)
    np.testing.assert_allclose(m[0], [2.0, 1.2, 1.52], rtol=1e-12)


def test_ss_with_a_one_unit_span_is_base_stock() -> None:
    h = poisson_horizon([0.8], [3])
    per = IntervalDemand(
        np.array([Family.POISSON], dtype=np.int8), np.array([0.8]), np.array([0.8])
    )
    a = ss(np.array([4]), np.array([5]), per.pmf(), h)
    b = base_stock(np.array([5]), h)
    assert a.fill_rate[0] == pytest.approx(b.fill_rate[0], rel=1e-12)


def test_ss_poisson_by_direct_stationary_law() -> None:
    # Poisson per-period demand: P(Y = S - j) proportional to m(j); check against a
    # power iteration of the inventory-position Markov chain
    mean, s, big, lead = 1.5, 2, 7, 2
    h = poisson_horizon([mean], [lead])
    per = IntervalDemand(
        np.array([Family.POISSON], dtype=np.int8), np.array([mean]), np.array([mean])
    )
    svc = ss(np.array([s]), np.array([big]), per.pmf(), h)
    levels = np.arange(s + 1, big + 1)
    p = stats.poisson.pmf(np.arange(60), mean)
    trans = np.zeros((levels.size, levels.size))
    for a, y in enumerate(levels):
        for d in range(60):
            nxt = y - d
            nxt = big if nxt <= s else nxt
            trans[a, nxt - s - 1] += p[d]
    pi = np.full(levels.size, 1 / levels.size)
    for _ in range(2000):
        pi = pi @ trans
    fill = sum(
        w * (1 - (loss(mean * (lead + 1), y) - loss(mean * lead, y)) / mean)
        for w, y in zip(pi, levels, strict=True)
    )
    assert svc.fill_rate[0] == pytest.approx(fill, rel=1e-8)


def test_fill_rate_never_falls_as_the_reorder_point_rises() -> None:
    rng = np.random.default_rng(5)
    n = 50
    mean = rng.gamma(0.6, 0.5, n)
    var = mean * rng.uniform(1, 8, n)
    h = horizon(mean, var, rng.random(n) < 0.5, rng.integers(0, 60, n))
    q = rng.integers(1, 30, n)
    prev = np.full(n, -1.0)
    for r in range(-1, 60):
        f = rq(np.full(n, r), q, h).fill_rate
        assert (f >= prev - 1e-12).all()
        prev = f
    assert np.median(prev) > 0.99  # and it does rise: not flat


def test_loss_tables_of_zero_lead_time_are_zero() -> None:
    d = IntervalDemand(np.array([Family.ZERO], dtype=np.int8), np.zeros(1), np.zeros(1))
    t = loss_tables(d)
    assert t.loss1_at(np.array([[0, 3]])).tolist() == [[0.0, 0.0]]
    assert t.loss1_at(np.array([[-2]])).tolist() == [[2.0]]
