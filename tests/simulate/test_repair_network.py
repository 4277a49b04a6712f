"""The repair-network simulation against exact results (Graves 1985: base backorders,
fill rates and availability of a one-for-one depot-and-bases network), and what lateral
and emergency shipments change."""

from __future__ import annotations

import numpy as np
import pytest
from tests.multiechelon.test_metric import network

from spareflow.errors import ParameterError
from spareflow.multiechelon.exact import base_availability, base_excess
from spareflow.multiechelon.metric import evaluate
from spareflow.simulate.repair_network import simulate_network

NET = network(items=3, bases=3, seed=11)
S0 = np.array([1, 2, 0])
SB = np.ones((3, 3), dtype=np.int64)


@pytest.fixture(scope="module")
def simulated() -> object:
    return simulate_network(NET, S0, SB, days=40_000, replications=6, seed=3)


def z_scores(mean: np.ndarray, half_width: np.ndarray, exact: np.ndarray, r: int) -> np.ndarray:
    from scipy import stats

    se = half_width / stats.t.ppf(0.975, r - 1)
    return np.asarray((mean - exact) / se)


def test_simulated_backorders_and_fill_rates_match_the_exact_model(simulated: object) -> None:
    sim = simulated
    exact = base_excess(NET, S0, SB)
    for mean, ci, want in (
        (sim.base_backorders, sim.base_backorders_ci, exact.backorders),  # type: ignore[attr-defined]
        (sim.base_fill_rate, sim.base_fill_rate_ci, exact.fill_rate),  # type: ignore[attr-defined]
    ):
        z = z_scores(mean, ci, want, 6)
        assert np.abs(z).max() < 3.5  # nine cells, none far out
        assert np.mean(z**2) < 3.0  # and no systematic bias


def test_simulated_availability_matches_the_exact_model(simulated: object) -> None:
    sim = simulated
    want = base_availability(NET, S0, SB)
    z = z_scores(sim.availability, sim.availability_ci, want, 6)  # type: ignore[attr-defined]
    assert np.abs(z).max() < 3.5
    # METRIC's availability formula, fed the exact expected backorders, is close too
    vm = evaluate(NET, S0, SB).availability
    np.testing.assert_allclose(vm, want, rtol=0.01)


def test_fixed_repair_times_give_the_same_steady_state() -> None:
    """Palm's theorem: only the mean repair time matters."""
    sim = simulate_network(
        NET, S0, SB, days=40_000, replications=6, seed=4, repair_distribution="fixed"
    )
    z = z_scores(
        sim.base_backorders, sim.base_backorders_ci, base_excess(NET, S0, SB).backorders, 6
    )
    assert np.abs(z).max() < 3.5


def test_lateral_and_emergency_shipments_cut_backorders() -> None:
    plain = simulate_network(NET, S0, SB, days=20_000, replications=4, seed=5)
    lateral = simulate_network(NET, S0, SB, days=20_000, replications=4, seed=5, lateral_days=0.5)
    emergency = simulate_network(
        NET, S0, SB, days=20_000, replications=4, seed=5, emergency_days=0.5
    )
    assert lateral.lateral_shipments > 10 and plain.lateral_shipments == 0
    assert emergency.emergency_shipments > 10
    for better in (lateral, emergency):
        assert better.base_backorders.sum() < 0.9 * plain.base_backorders.sum()
        assert (better.availability > plain.availability).all()


def test_too_few_replications_are_refused() -> None:
    with pytest.raises(ParameterError, match="replications"):
        simulate_network(NET, S0, SB, replications=1)


def test_two_indentures_simulated_against_vari_metric() -> None:
    """An LRU with two SRUs (each LRU repair needs one of them at most): the SRUs' and
    the LRU's backorders at the bases and the depot, and the bases' availability, agree
    with VARI-METRIC within the simulation's intervals."""
    from spareflow.multiechelon.network import RepairNetwork

    j = 3
    lru = np.full(j, 0.08)
    share = np.full(j, 0.6)
    net = RepairNetwork(
        unit_cost=np.array([5000.0, 800.0, 600.0]),
        parent=np.array([-1, 0, 0]),
        quantity_per_unit=np.ones(3),
        demand=np.vstack([lru, 0.5 * share * lru, 0.3 * share * lru]),
        repair_share=np.vstack([share, np.full(j, 0.3), np.full(j, 0.2)]),
        base_repair_days=np.vstack([np.full(j, 4.0), np.full(j, 3.0), np.full(j, 3.0)]),
        order_ship_days=np.full((3, j), 4.0),
        depot_repair_days=np.array([25.0, 20.0, 15.0]),
        fleet_size=np.full(j, 10.0),
        depot_removals=np.array([0.0, 0.5, 0.3]) * (1 - 0.6) * 0.24,
    )
    s0 = np.array([1, 1, 0])
    sb = np.array([[1, 1, 1], [0, 0, 0], [0, 0, 0]])
    sim = simulate_network(net, s0, sb, days=40_000, replications=6, seed=1)
    vm = evaluate(net, s0, sb, "vari-metric")
    z = z_scores(sim.base_backorders[1:], sim.base_backorders_ci[1:], vm.base.backorders[1:], 6)
    assert np.abs(z).max() < 3.5
    z0 = z_scores(sim.depot_backorders[1:], sim.depot_backorders_ci[1:], vm.depot.backorders[1:], 6)
    assert np.abs(z0).max() < 3.5
    z_lru = z_scores(sim.base_backorders[0], sim.base_backorders_ci[0], vm.base.backorders[0], 6)
    assert np.abs(z_lru).max() < 3.5
    z_depot = z_scores(
        sim.depot_backorders[0], sim.depot_backorders_ci[0], vm.depot.backorders[0], 6
    )
    assert abs(z_depot) < 3.5
    z_avail = z_scores(sim.availability, sim.availability_ci, vm.availability, 6)
    assert np.abs(z_avail).max() < 3.5


def test_sru_removals_beyond_their_lru_repairs_are_refused() -> None:
    from spareflow.multiechelon.network import RepairNetwork

    net = RepairNetwork(
        unit_cost=np.array([1.0, 1.0]), parent=np.array([-1, 0]), quantity_per_unit=np.ones(2),
        demand=np.array([[0.1], [0.2]]), repair_share=np.array([[0.5], [0.5]]),
        base_repair_days=np.ones((2, 1)), order_ship_days=np.ones((2, 1)),
        depot_repair_days=np.ones(2), fleet_size=np.ones(1),
    )  # fmt: skip
    with pytest.raises(ParameterError, match="removals at base 0 exceed its repairs"):
        simulate_network(net, np.zeros(2, dtype=np.int64), np.zeros((2, 1), dtype=np.int64))
