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


def test_two_indentures_and_too_few_replications_are_refused() -> None:
    with pytest.raises(ParameterError, match="replications"):
        simulate_network(NET, S0, SB, replications=1)
