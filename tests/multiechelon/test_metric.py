"""METRIC and VARI-METRIC against exact results: Palm's theorem at a single site and
Graves' (1985) exact base distribution in a depot-and-bases network."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from spareflow.errors import ParameterError
from spareflow.multiechelon.exact import base_excess, base_pipeline_pmf, pipeline_moments
from spareflow.multiechelon.metric import evaluate, excess
from spareflow.multiechelon.network import RepairNetwork


def network(
    items: int = 3, bases: int = 4, seed: int = 0, repair_share: float | None = None
) -> RepairNetwork:
    rng = np.random.default_rng(seed)
    share = (
        rng.uniform(0.0, 0.6, (items, bases))
        if repair_share is None
        else np.full((items, bases), repair_share)
    )
    return RepairNetwork(
        unit_cost=rng.uniform(100.0, 5000.0, items),
        parent=np.full(items, -1, dtype=np.int64),
        quantity_per_unit=rng.integers(1, 4, items).astype(float),
        demand=rng.uniform(0.005, 0.08, (items, bases)),
        repair_share=share,
        base_repair_days=rng.uniform(2.0, 10.0, (items, bases)),
        order_ship_days=rng.uniform(2.0, 8.0, (items, bases)),
        depot_repair_days=rng.uniform(15.0, 40.0, items),
        fleet_size=rng.integers(6, 24, bases).astype(float),
    )


def test_excess_of_poisson_against_scipy() -> None:
    mean = np.array([0.3, 2.5, 7.0, 0.0])
    level = np.array([0, 2, 9, 1])
    e = excess(mean, mean, level, "metric")
    for i in range(3):
        x = np.arange(200)
        p = stats.poisson.pmf(x, mean[i])
        over = np.maximum(x - level[i], 0)
        assert e.backorders[i] == pytest.approx((p * over).sum(), rel=1e-12)
        var = (p * over**2).sum() - (p * over).sum() ** 2
        assert e.backorder_variance[i] == pytest.approx(var, rel=1e-10)
        assert e.fill_rate[i] == pytest.approx(stats.poisson.cdf(level[i] - 1, mean[i]), rel=1e-12)
    assert e.backorders[3] == 0.0 and e.fill_rate[3] == 1.0


def test_excess_of_negative_binomial_against_scipy() -> None:
    mean, var, level = 3.2, 7.5, 4
    e = excess(np.array([mean]), np.array([var]), np.array([level]))
    x = np.arange(400)
    p = stats.nbinom.pmf(x, mean**2 / (var - mean), mean / var)
    over = np.maximum(x - level, 0)
    assert e.backorders[0] == pytest.approx((p * over).sum(), rel=1e-10)
    assert e.backorder_variance[0] == pytest.approx(
        (p * over**2).sum() - (p * over).sum() ** 2, rel=1e-9
    )
    assert e.fill_rate[0] == pytest.approx(
        stats.nbinom.cdf(level - 1, mean**2 / (var - mean), mean / var)
    )


def test_all_repairs_at_base_is_palm_exact() -> None:
    """With every removal repaired at the base the depot plays no part: the base pipeline
    is Poisson(m T) (Palm) in both models."""
    net = network(repair_share=1.0)
    sb = np.full((net.items, net.bases), 1)
    for model in ("metric", "vari-metric"):
        r = evaluate(net, np.zeros(net.items, dtype=np.int64), sb, model)  # type: ignore[arg-type]
        mu = net.demand * net.base_repair_days
        np.testing.assert_allclose(r.base_pipeline_mean, mu, rtol=1e-12)
        np.testing.assert_allclose(r.base_pipeline_variance, mu, rtol=1e-12)
        ebo = mu - 1 + stats.poisson.pmf(0, mu)  # E[(X - 1)+] = mu - 1 + P(X = 0)
        np.testing.assert_allclose(r.base.backorders, ebo, rtol=1e-10)


def test_vari_metric_pipeline_moments_equal_the_exact_distribution() -> None:
    """VARI-METRIC's base pipeline mean and variance are exact (Graves 1985); only the
    shape (negative binomial) is fitted. METRIC gets the mean right, not the variance."""
    net = network(seed=1)
    s0 = np.array([0, 1, 3])
    pmf = base_pipeline_pmf(net, s0)
    assert pmf.sum(axis=2) == pytest.approx(np.ones((3, 4)), abs=1e-10)
    mean, var = pipeline_moments(pmf)
    sb = np.zeros((3, 4), dtype=np.int64)
    vm = evaluate(net, s0, sb, "vari-metric")
    np.testing.assert_allclose(vm.base_pipeline_mean, mean, rtol=1e-9)
    np.testing.assert_allclose(vm.base_pipeline_variance, var, rtol=1e-9)
    m = evaluate(net, s0, sb, "metric")
    np.testing.assert_allclose(m.base_pipeline_mean, mean, rtol=1e-9)
    # s0 = 0: depot backorders are Poisson, so is their thinning, and METRIC is exact;
    # with depot stock the backorders are not Poisson and METRIC misses variance
    np.testing.assert_allclose(m.base_pipeline_variance[0], var[0], rtol=1e-9)
    assert (var[1:] > m.base_pipeline_variance[1:] * 1.001).all()


def test_vari_metric_is_closer_to_exact_than_metric() -> None:
    """Backorders at the bases: VARI-METRIC within a few percent of exact, and closer
    than METRIC, which underestimates them when the depot is often short."""
    net = network(items=6, bases=5, seed=2)
    s0 = np.array([0, 1, 1, 2, 0, 3])
    sb = np.ones((6, 5), dtype=np.int64)
    exact = base_excess(net, s0, sb)
    vm = evaluate(net, s0, sb, "vari-metric").base
    m = evaluate(net, s0, sb, "metric").base
    err_vm = np.abs(vm.backorders.sum(axis=1) / exact.backorders.sum(axis=1) - 1)
    err_m = np.abs(m.backorders.sum(axis=1) / exact.backorders.sum(axis=1) - 1)
    assert err_vm.max() < 0.03
    assert (err_vm <= err_m + 1e-12).all()
    assert (m.backorders.sum(axis=1) <= exact.backorders.sum(axis=1) + 1e-12).all()


def test_availability_formula() -> None:
    net = network(items=2, bases=1, seed=3)
    r = evaluate(net, np.zeros(2, dtype=np.int64), np.zeros((2, 1), dtype=np.int64))
    n, z = net.fleet_size[0], net.quantity_per_unit
    want = np.prod((1 - r.base.backorders[:, 0] / (n * z)) ** z)
    assert r.availability[0] == pytest.approx(want, rel=1e-12)


def two_indentures(depot_removals: float) -> RepairNetwork:
    base = network(items=2, bases=3, seed=4)
    return RepairNetwork(
        unit_cost=base.unit_cost,
        parent=np.array([-1, 0]),
        quantity_per_unit=base.quantity_per_unit,
        demand=base.demand,
        repair_share=np.vstack([np.full(3, 0.5), np.full(3, 0.3)]),
        base_repair_days=base.base_repair_days,
        order_ship_days=base.order_ship_days,
        depot_repair_days=base.depot_repair_days,
        fleet_size=base.fleet_size,
        depot_removals=np.array([0.0, depot_removals]),
    )


def test_two_indentures_srus_lengthen_lru_repair() -> None:
    """An SRU's backorders at a base add to its LRU's base pipeline: more SRU stock
    never lowers the LRU's availability, and with ample SRU stock the LRU is as if alone."""
    net = two_indentures(0.0)
    s0 = np.array([1, 0])
    lean = evaluate(net, s0, np.array([[1, 1, 1], [0, 0, 0]]))
    rich = evaluate(net, np.array([1, 30]), np.array([[1, 1, 1], [30, 30, 30]]))
    alone = evaluate(net.take(np.array([0])), s0[:1], np.array([[1, 1, 1]]))
    assert (lean.base_pipeline_mean[0] > rich.base_pipeline_mean[0]).all()
    np.testing.assert_allclose(rich.base_pipeline_mean[0], alone.base_pipeline_mean[0], rtol=1e-9)
    assert (lean.availability < rich.availability).all()
    # each SRU backorder at a base holds an LRU there
    np.testing.assert_allclose(
        lean.base_pipeline_mean[0], alone.base_pipeline_mean[0] + lean.base.backorders[1]
    )
    # no SRU is removed in the depot's repairs: its depot backorders are all owed to the
    # bases and do not hold the depot's LRU repairs
    assert lean.depot_pipeline_mean[0] == pytest.approx(alone.depot_pipeline_mean[0])


def test_sru_backorders_at_the_depot_hold_depot_repairs_by_their_share() -> None:
    """With SRU removals in the depot's LRU repairs, the share h = depot removals /
    depot demand of the SRU's depot backorders holds LRUs in depot repair (mean h EBO,
    variance h (1 - h) EBO + h^2 VBO), and the bases' SRU shares shrink to match."""
    net = two_indentures(0.02)
    s0 = np.array([1, 1])
    sb = np.array([[1, 1, 1], [0, 0, 0]])
    res = evaluate(net, s0, sb)
    alone = evaluate(net.take(np.array([0])), s0[:1], sb[:1])
    m0 = net.depot_demand[1]
    h = 0.02 / m0
    ebo, vbo = res.depot.backorders[1], res.depot.backorder_variance[1]
    assert res.depot_pipeline_mean[0] == pytest.approx(alone.depot_pipeline_mean[0] + h * ebo)
    assert res.depot_pipeline_variance[0] == pytest.approx(
        alone.depot_pipeline_variance[0] + h * (1 - h) * ebo + h**2 * vbo
    )
    f = (1 - net.repair_share[1]) * net.demand[1] / m0
    assert f.sum() + h == pytest.approx(1.0)  # every depot backorder is owed to someone


def test_bad_networks_are_refused() -> None:
    net = network()
    bad = RepairNetwork(
        net.unit_cost, net.parent, net.quantity_per_unit, net.demand,
        np.full_like(net.repair_share, 1.5), net.base_repair_days, net.order_ship_days,
        net.depot_repair_days, net.fleet_size,
    )  # fmt: skip
    with pytest.raises(ParameterError, match="repair_share"):
        bad.check()
    with pytest.raises(ParameterError, match="model"):
        evaluate(net, np.zeros(3, dtype=np.int64), np.zeros((3, 4), dtype=np.int64), "x")  # type: ignore[arg-type]
