"""Final buy: the newsvendor and service quantities in closed form, and the costs
against a Monte Carlo of the remaining life."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from spareflow.errors import ParameterError
from spareflow.reliability.lifetime_buy import final_buy


def test_without_holding_the_least_cost_buy_is_the_newsvendor_fractile() -> None:
    condemned = np.array([[0.5] * 24, [0.1] * 24, [2.0] * 24])
    cost, salvage, short = (
        np.array([1000.0, 400.0, 50.0]),
        np.array([100.0, 0.0, 5.0]),
        np.array([5000.0, 400.0, 20.0]),
    )
    fb = final_buy(condemned, cost, short, holding_rate=0.0, salvage=salvage, service_level=0.9)
    total = condemned.sum(axis=1)
    fractile = short / (short + cost - salvage)
    np.testing.assert_array_equal(fb.quantity_least_cost, stats.poisson.ppf(fractile, total))
    np.testing.assert_array_equal(fb.quantity_for_service, stats.poisson.ppf(0.9, total))
    q = np.arange(fb.service.shape[1])
    for i in range(3):
        assert fb.obsolescence[i, 7] == pytest.approx(
            (cost[i] - salvage[i])
            * (stats.poisson.pmf(np.arange(7), total[i]) * (7 - np.arange(7))).sum()
        )
    assert (np.diff(fb.service, axis=1) >= 0).all() and q.size > 30


def test_costs_against_monte_carlo() -> None:
    rng = np.random.default_rng(4)
    condemned = np.array([np.linspace(0.8, 0.2, 36)])  # an ageing-out fleet, 3 years
    fb = final_buy(condemned, np.array([800.0]), np.array([3000.0]), holding_rate=0.2,
                   salvage=np.array([50.0]), pipeline=np.array([1.5]))  # fmt: skip
    q = 20
    n = 200_000
    x = rng.poisson(1.5, n)
    draws = rng.poisson(condemned[0], (n, 36)).cumsum(axis=1) + x[:, None]
    shelf = np.maximum(q - draws, 0).sum(axis=1).mean()
    holding = 0.2 * 800.0 * shelf * (365.25 / 12) / 365.25
    assert fb.holding[0, q] == pytest.approx(holding, rel=0.01)
    assert fb.obsolescence[0, q] == pytest.approx(
        750.0 * np.maximum(q - draws[:, -1], 0).mean(), rel=0.01
    )
    assert fb.shortage[0, q] == pytest.approx(
        3000.0 * np.maximum(draws[:, -1] - q, 0).mean(), rel=0.03
    )
    assert fb.quantity_least_cost[0] == int(np.argmin(fb.total[0]))


def test_a_successor_ends_the_buys_demand() -> None:
    condemned = np.full((2, 24), 1.0)
    fb = final_buy(
        condemned, np.array([1.0, 1.0]), np.array([10.0, 10.0]), until=np.array([24, 12])
    )
    np.testing.assert_array_equal(fb.quantity_for_service, stats.poisson.ppf(0.95, [24.0, 12.0]))
    with pytest.raises(ParameterError, match="service_level"):
        final_buy(condemned, np.ones(2), np.ones(2), service_level=1.0)


def test_package_names_are_the_functions_even_after_their_modules_load() -> None:
    """spareflow.reliability's final_buy and part_demand are the functions, not modules
    of the same name (a submodule import would shadow a lazily exported name)."""
    import spareflow.plan.final_buy
    import spareflow.plan.pdm  # load the modules behind the names first
    from spareflow import reliability

    assert callable(reliability.final_buy) and callable(reliability.part_demand)
    assert spareflow.plan.final_buy is not None
