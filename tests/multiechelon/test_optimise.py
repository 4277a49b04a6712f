"""Marginal analysis over METRIC / VARI-METRIC stock levels: the item curves against
brute-force enumeration, and the system allocation for budgets and targets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tests.multiechelon.test_metric import network

from spareflow.errors import ParameterError
from spareflow.multiechelon.metric import evaluate
from spareflow.multiechelon.network import RepairNetwork
from spareflow.multiechelon.optimise import _item_curves, _loss, optimise


def brute_best(net: RepairNetwork, row: int, total: int, model: str) -> float:
    """Least loss of item ``row`` over every split of ``total`` units."""
    one = net.take(np.array([row]))
    best = np.inf
    for split in itertools.product(range(total + 1), repeat=one.bases + 1):
        if sum(split) != total:
            continue
        res = evaluate(one, np.array([split[0]]), np.array([split[1:]]), model)  # type: ignore[arg-type]
        best = min(best, float(_loss(one, np.array([0]), res.base.backorders).sum()))
    return best


def fleet_bound(net: RepairNetwork, availability: np.ndarray) -> float:
    """The fleet-weighted geometric mean of the bases' availabilities."""
    return float(np.exp((net.fleet_size / net.fleet_size.sum() * np.log(availability)).sum()))


@pytest.mark.parametrize("model", ["metric", "vari-metric"])
def test_item_curve_is_the_best_split_of_each_total(model: str) -> None:
    net = network(items=2, bases=2, seed=7)
    best, _depot = _item_curves(net, np.arange(2), model)  # type: ignore[arg-type]
    for row in range(2):
        for total in range(6):
            # the curves truncate each base pipeline at TAIL = 1e-7 of its mass
            assert best[row, total] == pytest.approx(brute_best(net, row, total, model), rel=1e-6)


def test_budget_buys_more_availability_and_stays_within_budget() -> None:
    net = network(items=12, bases=4, seed=8)
    prices = net.unit_cost.sum()
    previous = 0.0
    for budget in (0.5 * prices, 2 * prices, 5 * prices):
        alloc, curve = optimise(net, budget=budget)
        assert alloc.investment <= budget + 1e-6
        assert alloc.investment == pytest.approx(
            float((net.unit_cost * (alloc.depot_stock + alloc.base_stock.sum(axis=1))).sum())
        )
        fleet = np.exp(
            (net.fleet_size / net.fleet_size.sum() * np.log(alloc.result.availability)).sum()
        )
        assert fleet >= previous
        previous = fleet
    assert np.all(np.diff(curve.availability) >= -1e-12)
    assert curve.availability[0] < 0.6 and curve.availability[-1] > 0.99


def test_availability_target_met_at_least_cost_on_the_curve() -> None:
    net = network(items=10, bases=3, seed=9)
    alloc, curve = optimise(net, availability=0.9)
    assert alloc.target_met
    assert (alloc.result.availability >= 0.9 - 1e-9).any()
    bound = np.exp(
        (net.fleet_size / net.fleet_size.sum() * np.log(alloc.result.availability)).sum()
    )
    assert bound >= 0.9 - 1e-9
    # the previous point of the curve misses the target
    point = int(np.searchsorted(curve.investment, alloc.investment - 1e-6))
    assert curve.availability[point - 1] < 0.9 if point > 0 else True


def test_family_with_srus_gets_stock_for_its_lru_availability() -> None:
    base = network(items=3, bases=2, seed=10)
    net = RepairNetwork(
        base.unit_cost, np.array([-1, 0, 0]), base.quantity_per_unit, base.demand,
        base.repair_share, base.base_repair_days, base.order_ship_days,
        base.depot_repair_days, base.fleet_size,
    )  # fmt: skip
    alloc, curve = optimise(net, availability=0.95)
    assert alloc.target_met
    assert alloc.result.availability.min() >= 0.9
    assert curve.availability[-1] > 0.95


def test_options_are_checked() -> None:
    net = network()
    with pytest.raises(ParameterError, match="exactly one"):
        optimise(net)
    with pytest.raises(ParameterError, match="availability"):
        optimise(net, availability=1.5)


def test_per_base_target_lifts_every_base_at_a_small_extra_cost() -> None:
    """With the fleet target some bases fall short; per base, every base reaches it, and
    for less than following the fleet curve until the worst base does."""
    net = network(items=14, bases=4, seed=12)
    fleet, _ = optimise(net, availability=0.9)
    assert fleet.result.availability.min() < 0.9  # the fleet target leaves a base short
    each, _ = optimise(net, availability=0.9, per_base=True)
    assert each.target_met
    assert each.result.availability.min() >= 0.9 - 1e-12
    assert each.investment >= fleet.investment
    # the brute alternative: walk the fleet curve until the worst base meets the target
    from spareflow.multiechelon.optimise import _allocation, _build, fleet_weights

    plan = _build(net, "vari-metric", None, fleet_weights(net))
    point = next(
        p
        for p in range(plan.curve.curve.n_segments + 1)
        if _allocation(net, "vari-metric", plan, p).result.availability.min() >= 0.9
    )
    assert each.investment <= _allocation(net, "vari-metric", plan, point).investment + 1e-6
