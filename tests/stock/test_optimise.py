"""System stock optimisation by marginal analysis on concave hulls (spareflow.stock.optimise).

Oracles: exhaustive search over every combination of levels (itertools.product), a
per-item hull in exact rational arithmetic (fractions.Fraction), and hand-computed
Poisson backorder reductions (Sherbrooke 2004, ch. 2: EBO(s) - EBO(s+1) = P(D > s)).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.stats import poisson

from spareflow.errors import ParameterError
from spareflow.stock.optimise import (
    Curve,
    curve_points,
    efficient_curve,
    point_for_budget,
    point_for_target,
    steps_at,
    steps_for_budget,
    steps_for_target,
)

NAN = np.nan
F64 = NDArray[np.float64]


def cumulative(table: F64, steps: NDArray[np.int64]) -> float:
    """Sum of each item's first ``steps[i]`` entries of ``table``."""
    return float(sum(table[i, :s].sum() for i, s in enumerate(steps)))


def reference_curve(gain: F64, cost: F64) -> tuple[list[int], list[int], list[Fraction]]:
    """Item, steps and ratio of each hull segment in greedy order, exact arithmetic.

    Hull: from each vertex, the nearest later point of steepest chord (so collinear
    points stay vertices); segments with ratio <= 0 are dropped; order by ratio
    descending, ties by item then segment.
    """
    segments: list[tuple[Fraction, int, int, int]] = []
    for i in range(gain.shape[0]):
        points = [(Fraction(0), Fraction(0))]
        for g, c in zip(gain[i], cost[i], strict=True):
            if math.isnan(g) or math.isnan(c):
                break
            points.append((points[-1][0] + Fraction(c), points[-1][1] + Fraction(g)))
        v, ordinal = 0, 0
        while v < len(points) - 1:
            slopes = [
                (points[w][1] - points[v][1]) / (points[w][0] - points[v][0])
                for w in range(v + 1, len(points))
            ]
            best = max(slopes)
            w = v + 1 + slopes.index(best)
            if best > 0:
                segments.append((-best, i, ordinal, w))
            v, ordinal = w, ordinal + 1
    segments.sort()
    return [s[1] for s in segments], [s[3] for s in segments], [-s[0] for s in segments]


def assert_matches_reference(curve: Curve, gain: F64, cost: F64) -> None:
    item, steps, ratio = reference_curve(gain, cost)
    assert curve.item.tolist() == item
    assert curve.steps.tolist() == steps
    seg_benefit = np.diff(curve.benefit)
    seg_investment = np.diff(curve.investment)
    # differences of running sums carry the sums' rounding, a few ulp of the total
    rounding = 8 * np.finfo(np.float64).eps * curve.benefit[-1] / seg_investment.min()
    np.testing.assert_allclose(
        seg_benefit / seg_investment, [float(r) for r in ratio], rtol=1e-9, atol=rounding
    )


# --------------------------------------------------------------------------- hand examples


def test_non_concave_two_items_by_hand() -> None:
    # Item 0: gains 1, 4, 1, -2 at cost 1 each; cumulative benefit 0, 1, 5, 6, 4.
    # Hull chords from 0: slopes 1, 2.5, 2, 1 -> vertex at 2 steps (ratio 2.5); from
    # there 1 (to 3 steps) and -0.5 (to 4) -> vertex at 3 steps (ratio 1); last step -2.
    # Item 1: gains 3, 1, 0 at costs 2, 1, 1: ratios 1.5, 1, 0 (concave; 0 never taken).
    gain = np.array([[1.0, 4, 1, -2], [3, 1, 0, NAN]])
    cost = np.array([[1.0, 1, 1, 1], [2, 1, 1, 1]])
    curve = efficient_curve(gain, cost)
    # 2.5 (item 0 to 2), 1.5 (item 1 to 1), then the ratio-1 tie: item 0 first.
    assert curve.item.tolist() == [0, 1, 0, 1]
    assert curve.steps.tolist() == [2, 1, 3, 2]
    assert curve.investment.tolist() == [0.0, 2.0, 4.0, 5.0, 6.0]
    assert curve.benefit.tolist() == [0.0, 5.0, 8.0, 9.0, 10.0]
    # Budget 1 lies between breakpoints: the greedy buys nothing, though one step of
    # item 0 would gain 1 (marginal analysis is optimal at breakpoints only).
    assert steps_for_budget(curve, 1.0).tolist() == [0, 0]
    assert steps_for_budget(curve, 3.99).tolist() == [2, 0]
    assert steps_for_budget(curve, 4.0).tolist() == [2, 1]
    assert steps_for_budget(curve, 1e9).tolist() == [3, 2]  # never the -2 or the 0 step
    assert steps_for_target(curve, 8.5)[0].tolist() == [3, 1]
    assert point_for_target(curve, 8.5) == (3, True)
    assert point_for_target(curve, 10.0) == (4, True)
    steps, met = steps_for_target(curve, 10.5)
    assert (steps.tolist(), met) == ([3, 2], False)


def test_sherbrooke_style_poisson_backorders() -> None:
    # Lead-time demand Poisson with means 1, 2, 0.5; unit costs 10, 5, 20. The gain of
    # step s -> s+1 is the fall of expected backorders EBO(s) = E[(D - s)^+], which is
    # P(D > s). Hand values (1 - e^-mu sum_{x<=s} mu^x/x!), divided by the unit cost:
    #   A (mu 1, c 10):  .6321206 .2642411 .0803014 .0189882  -> ratios .0632121 .0264241 ...
    #   B (mu 2, c 5):   .8646647 .5939942 .3233236 .1428765 .0526530 .0165636
    #                    -> ratios .1729329 .1187988 .0646647 .0285753 .0105306 .0033127
    #   C (mu .5, c 20): .3934693 .0902040 .0143877 -> ratios .0196735 .0045102 .0007194
    # Greedy: B1 .1729 B2 .1188 B3 .0647 A1 .0632 B4 .0286 A2 .0264 C1 .0197 B5 .0105
    #         A3 .0080 C2 .0045 B6 .0033 A4 .0019
    means, unit_cost, K = np.array([1.0, 2.0, 0.5]), np.array([10.0, 5.0, 20.0]), 10
    gain = poisson.sf(np.arange(K)[None, :], means[:, None])
    cost = np.repeat(unit_cost[:, None], K, axis=1)
    np.testing.assert_allclose(
        gain[1, :6], [0.8646647, 0.5939942, 0.3233236, 0.1428765, 0.0526530, 0.0165636], atol=1e-7
    )
    curve = efficient_curve(gain, cost)
    assert curve.item[:12].tolist() == [1, 1, 1, 0, 1, 0, 2, 1, 0, 2, 1, 0]
    assert curve.investment[1:13].tolist() == [5, 10, 15, 25, 30, 40, 60, 65, 75, 95, 100, 110]
    ratio = np.diff(curve.benefit)[:12] / np.diff(curve.investment)[:12]
    np.testing.assert_allclose(
        ratio,
        [.1729329, .1187988, .0646647, .0632121, .0285753, .0264241,
         .0196735, .0105306, .0080301, .0045102, .0033127, .0018988],
        atol=1e-7,
    )  # fmt: skip
    # After 4 segments: EBO = 3.5 - (.8646647 + .5939942 + .3233236 + .6321206) = 1.0858969.
    assert curve.benefit[4] == pytest.approx(2.4141031, abs=1e-7)

    def ebo(levels: NDArray[np.int64]) -> float:
        x = np.arange(200)
        return float(
            sum(
                (np.maximum(x - s, 0) * poisson.pmf(x, mu)).sum()
                for mu, s in zip(means, levels, strict=True)
            )
        )

    assert ebo(steps_at(curve, 4)) == pytest.approx(1.0858969, abs=1e-7)
    # Budget 50: last point within it is 40 (A 2, B 4, C 0); the next costs 60.
    assert steps_for_budget(curve, 50.0).tolist() == [2, 4, 0]
    # System EBO <= 0.5, i.e. a reduction >= 3: 2.4141 + .1429 + .2642 = 2.8212 < 3, then
    # C1 (+.3935) -> 3.2147 at investment 60, levels A 2, B 4, C 1.
    steps, met = steps_for_target(curve, 3.0)
    assert met and steps.tolist() == [2, 4, 1]
    assert ebo(steps) == pytest.approx(3.5 - 3.2146900, abs=1e-6)
    assert curve.investment[point_for_target(curve, 3.0)[0]] == 60.0


# --------------------------------------------------------------------------- oracles


@pytest.mark.parametrize("concave", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_greedy_is_optimal_at_every_breakpoint(seed: int, concave: bool) -> None:
    rng = np.random.default_rng(seed)
    n, K = 4, 4
    cost = rng.integers(1, 6, (n, K)).astype(np.float64)
    gain = rng.uniform(-0.5, 3.0, (n, K))
    if concave:
        gain = -np.sort(-np.abs(gain), axis=1)
    curve = efficient_curve(gain, cost)
    cum_cost = np.concatenate((np.zeros((n, 1)), np.cumsum(cost, axis=1)), axis=1)
    cum_gain = np.concatenate((np.zeros((n, 1)), np.cumsum(gain, axis=1)), axis=1)
    levels = np.array(list(itertools.product(range(K + 1), repeat=n)))
    rows = np.arange(n)
    all_cost = cum_cost[rows, levels].sum(axis=1)
    all_gain = cum_gain[rows, levels].sum(axis=1)
    assert curve.n_segments >= 1
    for p in range(curve.n_segments + 1):
        budget = curve.investment[p]
        steps = steps_for_budget(curve, budget)
        assert cum_cost[rows, steps].sum() == pytest.approx(budget)
        assert cum_gain[rows, steps].sum() == pytest.approx(curve.benefit[p])
        best = all_gain[all_cost <= budget + 1e-9].max()
        assert curve.benefit[p] == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_matches_exact_per_item_hull(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, K = 40, 7
    gain = rng.uniform(-1.0, 4.0, (n, K))
    gain[: n // 2] = -np.sort(-gain[: n // 2], axis=1)  # half concave (fast path)
    cost = rng.uniform(0.5, 8.0, (n, K))
    ends = rng.integers(0, K + 1, n)  # NaN ends an item; some have no step at all
    for i, e in enumerate(ends):
        gain[i, e:] = NAN
    cost[0, 3] = NAN  # a NaN cost also ends item 0
    curve = efficient_curve(gain, cost)
    assert_matches_reference(curve, gain, cost)
    steps = steps_at(curve, curve.n_segments)
    valid = np.minimum(ends, np.where(np.arange(n) == 0, 3, K))
    assert (steps <= valid).all()


def test_integer_data_with_collinear_steps_and_ties() -> None:
    # Integer gains and costs: many exactly equal ratios, within and across items.
    rng = np.random.default_rng(7)
    gain = rng.integers(0, 4, (30, 6)).astype(np.float64)
    cost = rng.integers(1, 3, (30, 6)).astype(np.float64)
    gain[gain / cost > 2] = 2.0
    gain[:3] = 4.0  # three items whose every step ties with every other, ratio 4
    cost[:3] = 1.0  # (every other step has ratio <= 2)
    curve = efficient_curve(gain, cost)
    assert_matches_reference(curve, gain, cost)
    # An item's segments come in its own order: its steps rise along the curve.
    for i in range(30):
        mine = curve.steps[curve.item == i]
        assert (np.diff(mine) > 0).all()
    assert curve.item[:18].tolist() == [0] * 6 + [1] * 6 + [2] * 6  # ratio 4, lower item first


# --------------------------------------------------------------------------- invariants


def random_instance(n: int, K: int, seed: int) -> tuple[F64, F64]:
    """Mixed items: concave, S-shaped (Poisson pmf) and noisy, some ended by NaN."""
    rng = np.random.default_rng(seed)
    k = np.arange(K)[None, :]
    mu = rng.uniform(0.2, 8.0, (n, 1))
    gain = poisson.pmf(k, mu) * rng.uniform(1.0, 50.0, (n, 1))
    third = n // 3
    gain[:third] = poisson.sf(k, mu[:third])
    gain[third : 2 * third] += rng.normal(0.0, 0.05, (third, K))
    cost = np.repeat(rng.uniform(1.0, 300.0, (n, 1)), K, axis=1)
    short = rng.random(n) < 0.1
    gain[short, K // 2 :] = NAN
    return gain, cost


def test_budget_and_target_invariants() -> None:
    gain, cost = random_instance(300, 12, seed=3)
    curve = efficient_curve(gain, cost)
    assert (np.diff(curve.investment) > 0).all()
    assert (np.diff(curve.benefit) >= 0).all()  # > 0 in exact arithmetic; far tails round
    ratio = np.diff(curve.benefit) / np.diff(curve.investment)  # cost >= 1 per segment
    rounding = 4 * np.finfo(np.float64).eps * curve.benefit[-1]
    assert (np.diff(ratio) <= rounding).all()  # benefit is concave in money
    clean_gain = np.nan_to_num(gain)

    budgets = np.sort(np.random.default_rng(0).uniform(0, curve.investment[-1] * 1.1, 40))
    previous = np.zeros(300, np.int64)
    for budget in budgets:
        steps = steps_for_budget(curve, float(budget))
        p = point_for_budget(curve, float(budget))
        assert (steps >= previous).all()  # monotone in the budget
        assert cumulative(cost, steps) == pytest.approx(curve.investment[p], rel=1e-12)
        assert cumulative(clean_gain, steps) == pytest.approx(curve.benefit[p], rel=1e-12)
        assert curve.investment[p] <= budget
        assert p == curve.n_segments or curve.investment[p + 1] > budget
        previous = steps

    for target in np.linspace(0.0, curve.benefit[-1], 25):
        steps, met = steps_for_target(curve, float(target))
        p, _ = point_for_target(curve, float(target))
        assert met
        assert cumulative(clean_gain, steps) >= target - 1e-9 * curve.benefit[-1]
        assert p == 0 or curve.benefit[p - 1] < target  # the least investment on the curve
    steps, met = steps_for_target(curve, curve.benefit[-1] * 1.01)
    assert not met
    np.testing.assert_array_equal(steps, steps_at(curve, curve.n_segments))


def test_mixed_instance_matches_exact_per_item_hull() -> None:
    gain, cost = random_instance(90, 10, seed=8)  # concave, S-shaped and noisy items
    assert_matches_reference(efficient_curve(gain, cost), gain, cost)


def test_curve_points_for_plotting() -> None:
    gain, cost = random_instance(500, 10, seed=4)
    curve = efficient_curve(gain, cost)
    sample = curve_points(curve, n=50)
    assert 2 < sample.point.size <= 50
    assert sample.point[0] == 0 and sample.point[-1] == curve.n_segments
    assert (np.diff(sample.point) > 0).all()
    np.testing.assert_array_equal(sample.investment, curve.investment[sample.point])
    np.testing.assert_array_equal(sample.benefit, curve.benefit[sample.point])


def test_large_instance_runs() -> None:
    gain, cost = random_instance(200_000, 20, seed=5)
    curve = efficient_curve(gain, cost)
    assert curve.n_items == 200_000
    assert 1_000_000 < curve.n_segments <= 4_000_000
    assert (np.diff(curve.investment) > 0).all()
    p = point_for_budget(curve, curve.investment[-1] / 2)
    steps = steps_at(curve, p)
    spent = np.cumsum(cost, axis=1)[np.arange(200_000), np.maximum(steps - 1, 0)]
    assert spent[steps > 0].sum() == pytest.approx(curve.investment[p], rel=1e-9)
    assert (steps <= np.isfinite(gain).sum(axis=1)).all()


# --------------------------------------------------------------------------- edges and errors


def test_empty_and_worthless_inputs() -> None:
    curve = efficient_curve(np.zeros((0, 5)), np.ones((0, 5)))
    assert curve.investment.tolist() == [0.0] and curve.n_items == 0
    curve = efficient_curve(np.array([[0.0, -1.0], [NAN, 1.0]]), np.ones((2, 2)))
    assert curve.n_segments == 0
    assert steps_for_budget(curve, 10.0).tolist() == [0, 0]
    assert steps_for_target(curve, 1.0)[1] is False


def test_errors_name_the_item_step_and_value() -> None:
    with pytest.raises(ParameterError, match=r"item 1, step 2: must be positive .*got 0\.0"):
        efficient_curve(np.ones((2, 3)), np.array([[1.0, 1, 1], [1, 1, 0]]))
    # A bad cost after the item's end (NaN gain) is ignored.
    assert efficient_curve(np.array([[1.0, NAN]]), np.array([[1.0, -5.0]])).n_segments == 1
    with pytest.raises(ParameterError, match=r"item 0, step 1: must be finite"):
        efficient_curve(np.array([[1.0, np.inf]]), np.ones((1, 2)))
    with pytest.raises(ParameterError, match="one shape"):
        efficient_curve(np.ones((2, 3)), np.ones((3, 2)))
    curve = efficient_curve(np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ParameterError, match="budget"):
        steps_for_budget(curve, -1.0)
    with pytest.raises(ParameterError, match="target_benefit"):
        steps_for_target(curve, NAN)
    with pytest.raises(ParameterError, match="point"):
        steps_at(curve, 3)
