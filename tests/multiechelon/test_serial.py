"""Clark-Scarf serial systems against stockpyl's ``ssm_serial`` (test-only oracle), an
independent quadrature for two stages, the newsvendor formula, and invalid inputs.

stockpyl discretises: integer demand (Poisson, custom pmf) on the integers, which is exact
once its tail truncation is pushed below 1e-12, so there the two must agree to 1e-9;
normal demand on a grid of ``x_num`` levels and ``d_num`` demand bins with nearest-point
lookups, whose error is about 1e-4 relative and does not shrink steadily as the grid is
refined (Example 6.1: +1.1e-4 at its defaults, +7.8e-5 at 2000/200, +1.2e-4 at
1000/1000), so normal demand is compared to its defaults within 5e-4 and checked to
1e-8 against an independent quadrature instead.
"""

from __future__ import annotations

import doctest
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from scipy import integrate, optimize, stats

pytest.importorskip("stockpyl")

from stockpyl import ssm_serial
from stockpyl.demand_source import DemandSource
from stockpyl.instances import load_instance

from spareflow.errors import ParameterError
from spareflow.multiechelon import serial
from spareflow.multiechelon.serial import optimise_serial_base_stock, serial_expected_cost

EXACT = 1e-9  # integer demand: both sides exact
GRID = 5e-4  # normal demand: stockpyl's default discretisation
TINY_TAIL = 1e-12


@pytest.fixture(scope="module", autouse=True)
def _stockpyl_on_numpy_2() -> Iterator[None]:
    """stockpyl 1.0.2's ``find_nearest`` calls ``np.array(values, copy=False)`` and hands
    back 1-element arrays where ``ssm_serial`` stores scalars; NumPy 2 rejects both. Wrap
    it (same lookups, scalar in, scalar out) while these tests run."""
    original = ssm_serial.find_nearest

    def find_nearest(array: Any, values: Any, sorted: bool = False, index: Any = None) -> Any:
        found = original(array, np.array(values, ndmin=1, dtype=float), sorted, index or {})
        return int(found[0]) if np.ndim(values) == 0 else found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ssm_serial, "find_nearest", find_nearest)
        yield


def stockpyl_optimum(
    local: list[float], lead: list[float], p: float, **demand: Any
) -> tuple[np.ndarray, float]:
    """stockpyl's optimum for our inputs (stage 1 first): it takes echelon costs and
    lists upstream first, and numbers stage 1 as node 1."""
    n = len(local)
    echelon = np.asarray(local) - np.append(local[1:], 0.0)
    levels, cost = ssm_serial.optimize_base_stock_levels(
        num_nodes=n,
        echelon_holding_cost=echelon[::-1].tolist(),
        lead_time=list(lead)[::-1],
        stockout_cost=p,
        **demand,
    )
    return np.array([levels[j] for j in range(1, n + 1)], dtype=float), float(cost)


def integer_tails() -> dict[str, float]:
    return {
        "ltd_lower_tail_prob": TINY_TAIL,
        "ltd_upper_tail_prob": TINY_TAIL,
        "sum_ltd_lower_tail_prob": TINY_TAIL,
        "sum_ltd_upper_tail_prob": TINY_TAIL,
    }


def instance_inputs(name: str) -> tuple[list[float], list[float], float, Any, list[int]]:
    """Local holding costs and lead times (stage 1 first), p, the demand source and
    stockpyl's node index of each stage."""
    network = load_instance(name)
    node = network.sink_nodes[0]
    stages = [node]
    while node.predecessors():
        node = node.predecessors()[0]
        stages.append(node)
    echelon = [s.echelon_holding_cost for s in stages]
    local = np.cumsum(echelon[::-1])[::-1].tolist()
    lead = [s.shipment_lead_time for s in stages]
    indices = [s.index for s in stages]
    return local, lead, stages[0].stockout_cost, stages[0].demand_source, indices


# --- normal demand -----------------------------------------------------------------


def test_example_6_1() -> None:
    """Snyder & Shen (2019) Example 6.1: h = (3, 2, 2) echelon, L = (1, 1, 2),
    p = 37.12, demand N(5, 1)."""
    local, lead, p, source, _ = instance_inputs("example_6_1")
    assert (local, lead, p) == ([7, 4, 2], [1, 1, 2], 37.12)
    ours = optimise_serial_base_stock(local, lead, p, source.mean, source.standard_deviation)
    np.testing.assert_allclose(ours.echelon_base_stock, [6.4909, 12.0176, 22.7055], atol=1e-4)
    assert ours.expected_cost == pytest.approx(47.66015, abs=1e-5)
    # as stockpyl's documentation prints it (its discretisation, an earlier release)
    assert ours.expected_cost == pytest.approx(47.668653127136345, rel=GRID)
    np.testing.assert_allclose(ours.local_base_stock, np.diff(ours.echelon_base_stock, prepend=0))
    levels, cost = ssm_serial.optimize_base_stock_levels(network=load_instance("example_6_1"))
    theirs = np.array([levels[1], levels[2], levels[3]])
    assert ours.expected_cost == pytest.approx(cost, rel=GRID)
    np.testing.assert_allclose(ours.echelon_base_stock, theirs, atol=0.05)
    # stockpyl's levels, costed exactly, are no better than ours.
    assert serial_expected_cost(theirs, local, lead, p, 5.0, 1.0) >= ours.expected_cost - 1e-9


@pytest.mark.parametrize("name", ["problem_6_1", "problem_6_2a", "problem_6_16"])
def test_normal_instances(name: str) -> None:
    local, lead, p, source, _ = instance_inputs(name)
    ours = optimise_serial_base_stock(local, lead, p, source.mean, source.standard_deviation)
    _, cost = ssm_serial.optimize_base_stock_levels(network=load_instance(name))
    assert ours.expected_cost == pytest.approx(cost, rel=GRID)


def test_random_normal_systems_equal_stockpyl() -> None:
    rng = np.random.default_rng(11)
    for _ in range(2):
        n = int(rng.integers(2, 4))
        echelon = rng.uniform(0.2, 2.0, n)
        local = np.cumsum(echelon[::-1])[::-1].tolist()
        lead = rng.integers(1, 4, n).astype(float).tolist()
        p = float(rng.uniform(5.0, 40.0))
        mean = float(rng.uniform(20.0, 60.0))
        sd = float(mean * rng.uniform(0.05, 0.2))
        ours = optimise_serial_base_stock(local, lead, p, mean, sd)
        _, cost = stockpyl_optimum(local, lead, p, demand_mean=mean, demand_standard_deviation=sd)
        assert ours.expected_cost == pytest.approx(cost, rel=GRID)


def two_stage_by_quadrature(
    local: tuple[float, float], lead: tuple[float, float], p: float, mean: float, sd: float
) -> tuple[float, float, float]:
    """Independent two-stage optimum: newsvendor closed form for stage 1, adaptive
    quadrature (scipy ``quad``) and Brent's method for stage 2."""
    h1, h2 = local[0] - local[1], local[1]
    m1, s1 = mean * lead[0], sd * math.sqrt(lead[0])
    m2, s2 = mean * lead[1], sd * math.sqrt(lead[1])
    b = p + local[0]

    def c1(y: float) -> float:
        z = (y - m1) / s1
        return h1 * (y - m1) + b * s1 * (stats.norm.pdf(z) - z * stats.norm.sf(z))

    level1 = m1 + s1 * stats.norm.ppf((p + local[1]) / b)

    def c2(y: float) -> float:
        def integrand(d: float) -> float:
            return c1(min(level1, y - d)) * stats.norm.pdf(d, m2, s2)

        kink = y - level1
        lo, hi = m2 - 12 * s2, m2 + 12 * s2
        parts = [(lo, min(max(kink, lo), hi)), (min(max(kink, lo), hi), hi)]
        total = sum(
            integrate.quad(integrand, a, z, epsabs=0, epsrel=1e-13, limit=200)[0]
            for a, z in parts
            if z > a
        )
        return h2 * (y - m2) + total

    guess = level1 + m2 + s2
    best = optimize.minimize_scalar(
        c2, bracket=(guess - 3 * s2, guess), method="brent", options={"xtol": 1e-12}
    )
    return float(level1), float(best.x), float(best.fun)


@pytest.mark.parametrize(
    ("local", "lead", "p", "mean", "sd"),
    [((3.0, 1.0), (1.0, 2.0), 9.0, 10.0, 2.0), ((5.0, 4.5), (0.5, 3.0), 40.0, 4.0, 3.0)],
)
def test_two_stages_equal_quadrature(
    local: tuple[float, float], lead: tuple[float, float], p: float, mean: float, sd: float
) -> None:
    level1, level2, cost = two_stage_by_quadrature(local, lead, p, mean, sd)
    ours = optimise_serial_base_stock(list(local), list(lead), p, mean, sd)
    assert ours.expected_cost == pytest.approx(cost, rel=1e-8)
    np.testing.assert_allclose(ours.echelon_base_stock, [level1, level2], atol=1e-4)


def test_one_stage_is_the_newsvendor() -> None:
    """Single stage: S* = m + s z*, z* = Phi^-1(p / (p + h)), cost (p + h) s phi(z*)."""
    h, p, lead, mean, sd = 2.0, 10.0, 4.0, 5.0, 1.5
    ours = optimise_serial_base_stock([h], [lead], p, mean, sd)
    z = stats.norm.ppf(p / (p + h))
    s = sd * math.sqrt(lead)
    assert ours.echelon_base_stock[0] == pytest.approx(mean * lead + s * z, abs=1e-6)
    assert ours.expected_cost == pytest.approx((p + h) * s * stats.norm.pdf(z), rel=1e-12)


def test_finer_numerics_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The normal-demand quadrature is converged: three times finer, same optimum."""
    args = ([5.0, 3.5, 2.0], [1.0, 0.0, 2.0], 20.0, 10.0, 4.0)
    coarse = optimise_serial_base_stock(*args)
    monkeypatch.setattr(serial, "_POINTS_PER_SD", 3 * serial._POINTS_PER_SD)
    monkeypatch.setattr(serial, "_PANELS_PER_SD", 3 * serial._PANELS_PER_SD)
    monkeypatch.setattr(serial, "_TAIL_SDS", 14.0)
    fine = optimise_serial_base_stock(*args)
    assert coarse.expected_cost == pytest.approx(fine.expected_cost, rel=1e-10)
    np.testing.assert_allclose(coarse.echelon_base_stock, fine.echelon_base_stock, atol=1e-6)


def test_expected_cost_is_smallest_at_the_optimum() -> None:
    args = ([7.0, 4.0, 2.0], [1.0, 1.0, 2.0], 37.12, 5.0, 1.0)
    best = optimise_serial_base_stock(*args)
    assert serial_expected_cost(best.echelon_base_stock, *args) == pytest.approx(
        best.expected_cost, rel=1e-12
    )
    for j in range(3):
        for step in (-0.5, 0.5):
            moved = best.echelon_base_stock.copy()
            moved[j] += step
            assert serial_expected_cost(moved, *args) > best.expected_cost


# --- integer demand ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["shang_song_1", "shang_song_9", "shang_song_17", "shang_song_25", "problem_6_2b"]
)
def test_poisson_instances_equal_stockpyl(name: str) -> None:
    """Shang & Song (2003) test systems and Snyder & Shen Problem 6.2(b), Poisson demand."""
    local, lead, p, source, indices = instance_inputs(name)
    ours = optimise_serial_base_stock(local, lead, p, source.mean, demand="poisson")
    levels, cost = ssm_serial.optimize_base_stock_levels(
        network=load_instance(name), **integer_tails()
    )
    assert ours.expected_cost == pytest.approx(cost, rel=EXACT)
    assert ours.echelon_base_stock.tolist() == [levels[i] for i in indices]


def test_random_poisson_systems_equal_stockpyl() -> None:
    rng = np.random.default_rng(3)
    for _ in range(15):
        n = int(rng.integers(2, 7))
        echelon = rng.uniform(0.1, 3.0, n)
        local = np.cumsum(echelon[::-1])[::-1].tolist()
        lead = rng.choice([0.0, 0.25, 0.5, 1.0, 2.0, 3.0], n).tolist()
        p = float(rng.uniform(2.0, 60.0))
        mean = float(rng.uniform(0.5, 12.0))
        ours = optimise_serial_base_stock(local, lead, p, mean, demand="poisson")
        levels, cost = stockpyl_optimum(
            local, lead, p, demand_source=DemandSource(type="P", mean=mean), **integer_tails()
        )
        assert ours.expected_cost == pytest.approx(cost, rel=EXACT)
        assert serial_expected_cost(
            levels, local, lead, p, mean, demand="poisson"
        ) == pytest.approx(cost, rel=EXACT)


def test_random_discrete_systems_equal_stockpyl() -> None:
    """Intermittent demand given as a pmf (stockpyl's 'CD' custom discrete source)."""
    rng = np.random.default_rng(5)
    for _ in range(15):
        n = int(rng.integers(2, 7))
        echelon = rng.uniform(0.1, 3.0, n)
        local = np.cumsum(echelon[::-1])[::-1].tolist()
        lead = rng.integers(0, 4, n).tolist()  # whole periods, as ints for stockpyl
        p = float(rng.uniform(2.0, 60.0))
        counts = rng.integers(0, 8, int(rng.integers(2, 7)))
        counts[0] = 64 - counts[1:].sum()  # mostly no demand; sums to 1 exactly
        pmf = counts / 64.0
        ours = optimise_serial_base_stock(local, lead, p, demand="discrete", demand_pmf=pmf)
        source = DemandSource(
            type="CD", demand_list=list(range(pmf.size)), probabilities=pmf.tolist()
        )
        levels, cost = stockpyl_optimum(local, lead, p, demand_source=source)
        assert ours.expected_cost == pytest.approx(cost, rel=EXACT)
        assert serial_expected_cost(
            levels, local, lead, p, demand="discrete", demand_pmf=pmf
        ) == pytest.approx(cost, rel=EXACT)


def test_docstring_example() -> None:
    assert doctest.testmod(serial, raise_on_error=True).attempted > 0


# --- invalid inputs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name", "words"),
    [
        ({"local_holding_cost": [2.0, 3.0, 1.0]}, "local_holding_cost", "stage 2"),
        ({"lead_time": [1.0, -1.0, 2.0]}, "lead_time", "stage 2"),
        ({"lead_time": [1.0, 2.0]}, "lead_time", "3 values"),
        ({"stockout_cost": 0.0}, "stockout_cost", "> 0"),
        ({"demand_sd": None}, "demand_sd", "normal"),
        ({"demand_mean": -1.0}, "demand_mean", ">= 0"),
        ({"demand": "gamma"}, "demand", "gamma"),
        ({"demand": "discrete", "demand_pmf": [0.5, 0.6]}, "demand_pmf", "sum to 1"),
        ({"demand": "discrete", "demand_pmf": [0.5, -0.5, 1.0]}, "demand_pmf", "= 1"),
        (
            {"demand": "discrete", "demand_pmf": [0.5, 0.5], "lead_time": [1, 0.5, 2]},
            "lead_time",
            "stage 2",
        ),
    ],
)
def test_invalid_inputs_are_named(kwargs: dict[str, Any], name: str, words: str) -> None:
    base: dict[str, Any] = {
        "local_holding_cost": [3.0, 2.0, 1.0],
        "lead_time": [1.0, 1.0, 2.0],
        "stockout_cost": 10.0,
        "demand_mean": 5.0,
        "demand_sd": 1.0,
    }
    base.update(kwargs)
    with pytest.raises(ParameterError) as info:
        optimise_serial_base_stock(**base)
    assert info.value.name == name
    assert words in str(info.value)
