"""The system curve traced by multiplier levels: every level is a point of the exact
greedy curve (``stock.optimise.efficient_curve``, the global sort), partitions merge to
the same curve, and the reorder points of a level cost what the curve says."""

from __future__ import annotations

import numpy as np
import pytest

from spareflow.plan.budget import (
    BINS,
    SystemCurve,
    curve_part,
    ratio_bins,
    reorder_points_at_level,
)
from spareflow.stock.optimise import efficient_curve
from spareflow.stock.policy import (
    DAYS_PER_YEAR,
    PolicyGrid,
    StockInputs,
    concat_policies,
    policies_with_grid,
)


def _case(n: int, steps: int, seed: int) -> tuple[StockInputs, PolicyGrid, np.ndarray]:
    """Item-sites with S-shaped fill rates (so many need a hull) on a reorder-point grid."""
    rng = np.random.default_rng(seed)
    k = np.arange(steps + 1)
    mid = rng.uniform(1, steps, n)[:, None]
    width = rng.uniform(0.5, 6, n)[:, None]
    fill = 1 / (1 + np.exp(-(k - mid) / width))
    fill = (fill - fill[:, :1]) / (1 - fill[:, :1]) * rng.uniform(0.5, 1, n)[:, None]
    on_hand = np.cumsum(rng.uniform(0.2, 1.0, (n, steps + 1)), axis=1)
    inputs = StockInputs(
        mean_per_day=rng.gamma(0.5, 2, n),
        variance_per_day=np.ones(n),
        intermittent=np.zeros(n, dtype=bool),
        lead_time_days=np.full(n, 10),
        unit_cost=rng.lognormal(3, 1.5, n),
        target_fill_rate=np.full(n, 0.95),
    )
    stride = rng.integers(1, 4, n)
    empty = policies_with_grid(inputs.take(np.arange(0)), 0, 0).policy
    grid = PolicyGrid(concat_policies([empty]), stride, fill, on_hand)
    return inputs, grid, rng.choice([1.0, 3.0], n)


def _take(grid: PolicyGrid, rows: slice) -> PolicyGrid:
    return PolicyGrid(grid.policy, grid.stride[rows], grid.fill_rate[rows], grid.on_hand[rows])


def test_ratio_bins_edges() -> None:
    b = ratio_bins(np.array([0.0, -1.0, np.nan, 1e-17, 1e-16, 1.0, 1.0233, 1e13]))
    assert b.tolist() == [-1, -1, -1, -1, 0, 1600, 1601, BINS - 1]


def test_every_level_is_a_point_of_the_exact_greedy_curve() -> None:
    inputs, grid, weights = _case(400, 24, seed=3)
    system = SystemCurve.from_parts([curve_part(inputs, grid, weights)])
    demand = inputs.mean_per_day * DAYS_PER_YEAR * weights
    gain = np.maximum(demand[:, None] * np.diff(grid.fill_rate, axis=1), 0.0)
    cost = np.diff(grid.on_hand, axis=1) * inputs.unit_cost[:, None]
    exact = efficient_curve(gain, cost)
    base_value = float((grid.on_hand[:, 0] * inputs.unit_cost).sum())
    base_filled = float((demand * grid.fill_rate[:, 0]).sum())
    # the levels' distinct points, each found on the exact curve (investment and benefit)
    invest = system.investment - base_value
    benefit = system.filled - base_filled
    at = np.searchsorted(exact.investment, invest - 1e-9 * exact.investment[-1])
    assert np.unique(invest).size > 100
    np.testing.assert_allclose(exact.investment[at], invest, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(exact.benefit[at], benefit, rtol=1e-9, atol=1e-9)
    # the cheapest level takes every worthwhile segment: the exact curve's end
    assert invest[0] == pytest.approx(exact.investment[-1], rel=1e-12)
    assert system.fill_rate[-1] == pytest.approx(base_filled / demand.sum())


def test_partitions_merge_to_the_same_curve() -> None:
    inputs, grid, weights = _case(1000, 16, seed=5)
    whole = SystemCurve.from_parts([curve_part(inputs, grid, weights)])
    cuts = [slice(0, 137), slice(137, 600), slice(600, 1000)]
    parts = [curve_part(inputs.take(np.arange(1000)[s]), _take(grid, s), weights[s]) for s in cuts]
    merged = SystemCurve.from_parts(parts)
    np.testing.assert_allclose(merged.investment, whole.investment, rtol=1e-12)
    np.testing.assert_allclose(merged.filled, whole.filled, rtol=1e-12)
    assert merged.weight_total == pytest.approx(whole.weight_total, rel=1e-14)


def test_reorder_points_of_a_level_cost_what_the_curve_says() -> None:
    inputs, grid, weights = _case(300, 20, seed=7)
    system = SystemCurve.from_parts([curve_part(inputs, grid, weights)])
    rows = np.arange(300)
    for budget_share in (0.0, 0.2, 0.5, 0.9, 1.0):
        budget = system.investment[0] * budget_share
        level = system.level_for_budget(budget)
        r = reorder_points_at_level(inputs, grid, weights, level)
        steps = (r + 1) // grid.stride
        assert ((r + 1) % grid.stride == 0).all()
        value = float((grid.on_hand[rows, steps] * inputs.unit_cost).sum())
        spent = system.investment[level] if level < BINS + 1 else 0.0
        assert value == pytest.approx(spent, rel=1e-9)
        assert value <= budget + 1e-9 * system.investment[0] or level == BINS
        # one level costlier would break the budget (the level is the costliest within it)
        if level > 0:
            assert system.investment[level - 1] > budget


def test_points_for_the_report() -> None:
    inputs, grid, weights = _case(200, 12, seed=9)
    system = SystemCurve.from_parts([curve_part(inputs, grid, weights)])
    pts = system.points(50)
    inv, fill = np.asarray(pts["investment"]), np.asarray(pts["fill_rate"])
    assert 10 < inv.size <= 50
    assert (np.diff(inv) > 0).all() and (np.diff(fill) >= -1e-12).all()
    assert inv[0] == pytest.approx(system.investment[-1])
    assert inv[-1] == pytest.approx(system.investment[0])
