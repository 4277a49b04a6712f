"""Exact (s, S) policies against published numbers and stockpyl, run one item at a time.

Oracle: ``stockpyl.ss.s_s_discrete_exact`` (Zheng & Federgruen 1991, zero lead time, K > 0)
and ``s_s_cost_discrete``. The expected cost must agree to a relative 1e-9 (the brief asks
for 1e-6; observed about 1e-12). The policy must be the same, unless the optimum is not
unique: then stockpyl's own cost of our policy equals its optimum (to 1e-9), which shows a
tie (common for large means, where m(j) for small j is below 1e-16 and several s cost the
same to the last digit).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats
from stockpyl.newsvendor import newsvendor_poisson  # type: ignore[import-untyped]
from stockpyl.ss import s_s_cost_discrete, s_s_discrete_exact  # type: ignore[import-untyped]

import spareflow.stock.ss as ss_module
from spareflow.errors import ParameterError
from spareflow.stock.ss import SSResult, optimal_ss

RTOL = 1e-9

F64 = NDArray[np.float64]


def random_instances(n: int, seed: int) -> tuple[F64, F64, F64, F64]:
    """The brief's ranges: mean 0.2..30, h 0.1..5, p 1..100, K 0..200 (never exactly 0)."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(0.2, 30.0, n)
    h = rng.uniform(0.1, 5.0, n)
    p = rng.uniform(1.0, 100.0, n)
    K = rng.uniform(0.0, 200.0, n)
    return mu, h, p, K


def assert_matches_stockpyl(mu: F64, h: F64, p: F64, K: F64) -> None:
    ours = optimal_ss(mu, 0, h, p, K)
    ties = 0
    for i in range(mu.size):
        s, S, cost = s_s_discrete_exact(h[i], p[i], K[i], True, mu[i])
        where = f"item {i}: mu={mu[i]!r} h={h[i]!r} p={p[i]!r} K={K[i]!r}"
        assert ours.expected_cost[i] == pytest.approx(cost, rel=RTOL), where
        mine = (int(ours.reorder_point[i]), int(ours.order_up_to[i]))
        if mine != (int(s), int(S)):
            ties += 1
            theirs_of_mine = s_s_cost_discrete(*mine, h[i], p[i], K[i], True, mu[i])
            assert theirs_of_mine == pytest.approx(cost, rel=RTOL), f"{where}: not a tie"
    assert ties <= mu.size // 10


# --- published examples ------------------------------------------------------------------


def test_example_4_7_from_stockpyl_docstring() -> None:
    """Snyder & Shen (2019) Example 4.7, as in stockpyl's ``s_s_discrete_exact`` doctest."""
    r = optimal_ss(6.0, 0, 1.0, 4.0, 5.0)
    assert (r.reorder_point[0], r.order_up_to[0]) == (4, 10)
    assert r.expected_cost[0] == pytest.approx(8.034111561471642, rel=1e-12)


def test_problem_4_31() -> None:
    """Snyder & Shen Problem 4.31 (stockpyl's bundled instance ``problem_4_31``)."""
    r = optimal_ss(4.0, 0, 40.0, 125.0, 150.0)
    assert (r.reorder_point[0], r.order_up_to[0]) == (2, 7)
    assert r.expected_cost[0] == pytest.approx(2.235748295669688e02, rel=1e-12)
    assert s_s_discrete_exact(40, 125, 150, True, 4)[2] == pytest.approx(223.5748295669688)


# Zheng & Federgruen (1991), Table I: Poisson demand, h = 1, p = 9, K = 64 (as transcribed in
# stockpyl's tests/test_ss.py, github.com/LarrySnyder/stockpyl); costs to three decimals.
ZF_MEAN = [*range(10, 80, 5), 21, 22, 23, 24, 51, 52, 59, 61, 63, 64]
ZF_S_LOW = [6, 10, 14, 19, 23, 28, 33, 37, 42, 47, 52, 56, 62, 67, 15, 16, 17, 18, 43, 44, 51, 52]
ZF_S_LOW += [54, 55]
ZF_S_UP = [40, 49, 62, 56, 66, 77, 87, 97, 108, 118, 129, 75, 81, 86, 65, 68, 52, 54, 110, 112]
ZF_S_UP += [126, 131, 73, 74]
ZF_COST = [35.022, 42.698, 49.173, 54.262, 57.819, 61.215, 64.512, 67.776, 70.975, 74.149]
ZF_COST += [77.306, 78.518, 79.037, 79.554, 50.406, 51.632, 52.757, 53.518, 71.611, 72.246]
ZF_COST += [76.679, 77.929, 78.287, 78.402]


def test_zheng_federgruen_table() -> None:
    r = optimal_ss(np.array(ZF_MEAN, dtype=float), 0, 1.0, 9.0, 64.0)
    np.testing.assert_array_equal(r.reorder_point, ZF_S_LOW)
    np.testing.assert_array_equal(r.order_up_to, ZF_S_UP)
    np.testing.assert_allclose(r.expected_cost, ZF_COST, rtol=0, atol=5e-4)


def test_zheng_federgruen_table_agrees_with_installed_stockpyl() -> None:
    """The transcribed table is what the installed stockpyl computes (two rows, for speed)."""
    for i in (1, 14):
        s, S, cost = s_s_discrete_exact(1, 9, 64, True, ZF_MEAN[i])
        assert (s, S) == (ZF_S_LOW[i], ZF_S_UP[i])
        assert cost == pytest.approx(ZF_COST[i], abs=5e-4)


# --- stockpyl as oracle --------------------------------------------------------------------


def test_matches_stockpyl_on_random_instances() -> None:
    assert_matches_stockpyl(*random_instances(24, seed=20260501))


@pytest.mark.slow
def test_matches_stockpyl_on_many_random_instances() -> None:
    assert_matches_stockpyl(*random_instances(200, seed=7))


def test_all_items_at_once_equal_one_at_a_time() -> None:
    mu, h, p, K = random_instances(60, seed=3)
    together = optimal_ss(mu, 0, h, p, K)
    for i in range(0, 60, 7):
        alone = optimal_ss(mu[i], 0, h[i], p[i], K[i])
        assert alone.reorder_point[0] == together.reorder_point[i]
        assert alone.order_up_to[0] == together.order_up_to[i]
        assert alone.expected_cost[0] == pytest.approx(together.expected_cost[i], rel=1e-13)


# --- edge cases ----------------------------------------------------------------------------


def test_zero_fixed_cost_is_base_stock() -> None:
    """K = 0: order every period up to the newsvendor level y*, cost G(y*)."""
    mu = np.array([0.3, 2.0, 7.5, 25.0])
    h = np.array([1.0, 0.2, 3.0, 1.5])
    p = np.array([9.0, 50.0, 4.0, 99.0])
    r = optimal_ss(mu, 0, h, p, 0.0)
    np.testing.assert_array_equal(r.order_up_to, r.reorder_point + 1)
    for i in range(mu.size):
        y_star, cost = newsvendor_poisson(h[i], p[i], mu[i])
        assert r.order_up_to[i] == y_star
        assert r.expected_cost[i] == pytest.approx(cost, rel=RTOL)


@pytest.mark.parametrize("mu", [1e-3, 0.01, 0.05])
def test_tiny_means(mu: float) -> None:
    for h, p, K in [(1.0, 10.0, 5.0), (0.1, 100.0, 200.0), (5.0, 1.0, 0.5)]:
        assert_matches_stockpyl(np.array([mu]), np.array([h]), np.array([p]), np.array([K]))


def test_zero_mean_never_orders() -> None:
    r = optimal_ss([0.0, 3.0], 0, 1.0, 10.0, 20.0)
    assert (r.reorder_point[0], r.order_up_to[0], r.expected_cost[0]) == (-1, 0, 0.0)
    assert r.expected_cost[1] > 0


def test_very_large_stockout_cost() -> None:
    mu = np.array([0.5, 4.0, 12.0])
    h = np.ones(3)
    p = np.array([1e4, 1e5, 1e6])
    K = np.array([20.0, 50.0, 10.0])
    assert_matches_stockpyl(mu, h, p, K)


def test_cost_of_returned_policy_is_its_cost() -> None:
    """The reported cost is the cost of the reported policy (stockpyl's evaluation)."""
    mu, h, p, K = random_instances(8, seed=11)
    r = optimal_ss(mu, 0, h, p, K)
    for i in range(mu.size):
        s, S = int(r.reorder_point[i]), int(r.order_up_to[i])
        c = s_s_cost_discrete(s, S, h[i], p[i], K[i], True, mu[i])
        assert r.expected_cost[i] == pytest.approx(c, rel=RTOL)


# --- lead time -----------------------------------------------------------------------------


def brute_force_ss(mu: float, L: int, h: float, p: float, K: float) -> tuple[int, int, float]:
    """Every (s, S) in a wide window, from scipy's Poisson directly (independent code)."""
    cover = (L + 1) * mu
    y_star = int(stats.poisson.ppf(p / (p + h), cover))
    reach = int(3 * np.sqrt(2 * K * mu * (h + p) / (h * p)) + 8 * np.sqrt(cover) + 10)
    y = np.arange(y_star - reach, y_star + reach + 1)
    F = stats.poisson.cdf(y, cover)
    G = h * ((y - cover) * F + cover * stats.poisson.pmf(y, cover)) + p * (
        (cover - y) * (1 - F) + cover * stats.poisson.pmf(y, cover)
    )
    f = stats.poisson.pmf(np.arange(y.size + 1), mu)
    m = np.zeros(y.size)
    m[0] = 1 / (1 - f[0])
    for j in range(1, y.size):
        m[j] = m[0] * np.dot(f[1 : j + 1], m[j - 1 :: -1])
    M = np.cumsum(m)
    best = (0, 0, np.inf)
    for top in range(reach, y.size):  # S = y[top] >= y*
        costs = (K + np.cumsum(m[: top + 1] * G[top::-1])) / M[: top + 1]
        d = int(np.argmin(costs))  # s = S - d - 1
        if costs[d] < best[2]:
            best = (int(y[top]) - d - 1, int(y[top]), float(costs[d]))
    return best


@pytest.mark.parametrize(
    ("mu", "L", "h", "p", "K"),
    [(0.4, 1, 1.0, 20.0, 30.0), (3.0, 2, 0.5, 10.0, 80.0), (8.0, 4, 2.0, 60.0, 150.0)],
)
def test_lead_time_uses_demand_over_lead_time_plus_one_period(
    mu: float, L: int, h: float, p: float, K: float
) -> None:
    s, S, cost = brute_force_ss(mu, L, h, p, K)
    r = optimal_ss(mu, L, h, p, K)
    assert (r.reorder_point[0], r.order_up_to[0]) == (s, S)
    assert r.expected_cost[0] == pytest.approx(cost, rel=1e-9)


def test_lead_time_zero_equals_brute_force() -> None:
    s, S, cost = brute_force_ss(6.0, 0, 1.0, 4.0, 5.0)
    assert (s, S) == (4, 10)
    assert cost == pytest.approx(8.034111561471642, rel=1e-12)


# --- implementation paths ------------------------------------------------------------------


def test_narrow_tables_are_searched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """With cost tables too narrow for most items, the second pass gives the same answer."""
    rng = np.random.default_rng(5)
    mu, h = rng.uniform(0.1, 50, 400), rng.uniform(0.1, 5, 400)
    p, K = rng.uniform(1, 100, 400), rng.uniform(0, 200, 400)
    L = rng.integers(0, 4, 400)
    expected = optimal_ss(mu, L, h, p, K)
    retried: list[int] = []
    solve = ss_module._solve

    def counting_solve(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = solve(*args, **kwargs)
        retried.append(int(found.retry.sum()))
        return found

    monkeypatch.setattr(ss_module, "_solve", counting_solve)
    monkeypatch.setattr(ss_module, "_TABLE_EXCESS", 0.0)
    got = optimal_ss(mu, L, h, p, K)
    assert retried[0] > 100 and retried[-1] == 0
    assert_same(got, expected)


def test_threads_and_chunks_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    mu, h, p, K = random_instances(500, seed=9)
    one = optimal_ss(mu, 0, h, p, K, threads=1)
    monkeypatch.setattr(ss_module, "CHUNK_CELLS", 1 << 12)
    many = optimal_ss(mu, 0, h, p, K, threads=3)
    assert_same(one, many)


def assert_same(a: SSResult, b: SSResult) -> None:
    np.testing.assert_array_equal(a.reorder_point, b.reorder_point)
    np.testing.assert_array_equal(a.order_up_to, b.order_up_to)
    np.testing.assert_allclose(a.expected_cost, b.expected_cost, rtol=1e-12)


def test_progress_reaches_total() -> None:
    seen: list[tuple[int, int]] = []
    optimal_ss(np.linspace(0, 20, 50), 0, 1.0, 9.0, 64.0, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (50, 50)
    assert all(b[0] > a[0] for a, b in itertools.pairwise(seen))


def test_shapes_and_types() -> None:
    r = optimal_ss([1.0, 2.0, 3.0], [0, 1, 2], 1.0, 10.0, [5.0, 6.0, 7.0])
    assert r.reorder_point.shape == r.order_up_to.shape == r.expected_cost.shape == (3,)
    assert r.reorder_point.dtype == np.int64 and r.expected_cost.dtype == np.float64


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name", "text"),
    [
        ({"demand_mean": [1.0, -0.5]}, "demand_mean", "-0.5 at item 1"),
        ({"demand_mean": np.nan}, "demand_mean", "finite"),
        ({"lead_time": 1.5}, "lead_time", "whole number"),
        ({"lead_time": -1}, "lead_time", ">= 0"),
        ({"holding_cost": 0.0}, "holding_cost", "> 0"),
        ({"stockout_cost": -2.0}, "stockout_cost", "> 0"),
        ({"fixed_cost": -1.0}, "fixed_cost", ">= 0"),
        ({"fixed_cost": np.inf}, "fixed_cost", "finite"),
        ({"demand_mean": [1.0, 2.0], "fixed_cost": [1.0, 2.0, 3.0]}, "inputs", "lengths differ"),
        ({"demand_mean": [[1.0]]}, "demand_mean", "1-D"),
        ({"holding_cost": "cheap"}, "holding_cost", "numbers"),
        ({"demand_mean": 6e5, "lead_time": 1}, "demand_mean", "over L + 1 periods"),
    ],
)
def test_bad_inputs_raise_parameter_error(kwargs: dict[str, object], name: str, text: str) -> None:
    args: dict[str, object] = {
        "demand_mean": 2.0,
        "lead_time": 0,
        "holding_cost": 1.0,
        "stockout_cost": 10.0,
        "fixed_cost": 5.0,
    }
    args.update(kwargs)
    with pytest.raises(ParameterError) as info:
        optimal_ss(**args)  # type: ignore[arg-type]
    assert info.value.name == name
    assert text in str(info.value)
