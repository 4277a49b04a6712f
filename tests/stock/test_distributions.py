"""Interval demand distributions: each family against scipy or its closed form, the rules
that choose the family, and the loss tables against brute-force sums."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from spareflow.stock.distributions import (
    FAST_MEAN,
    Family,
    IntervalDemand,
    LossTables,
    fit_interval_demand,
    interval_pmf,
)


def one(family: Family, mean: float, var: float) -> IntervalDemand:
    return IntervalDemand(np.array([family], dtype=np.int8), np.array([mean]), np.array([var]))


@pytest.mark.parametrize("mean", [0.05, 1.0, 7.5, 60.0])
def test_poisson_equals_scipy(mean: float) -> None:
    p = one(Family.POISSON, mean, mean).pmf()[0]
    k = np.arange(p.size)
    np.testing.assert_allclose(p, stats.poisson.pmf(k, mean), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(("mean", "var"), [(0.5, 1.5), (4.0, 10.0), (30.0, 400.0)])
def test_negative_binomial_equals_scipy(mean: float, var: float) -> None:
    p = one(Family.NEGBIN, mean, var).pmf()[0]
    k = np.arange(p.size)
    n, prob = mean**2 / (var - mean), mean / var
    np.testing.assert_allclose(p, stats.nbinom.pmf(k, n, prob), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize(("mean", "var"), [(0.3, 0.9), (2.5, 9.0), (8.0, 100.0)])
def test_stuttering_poisson_equals_closed_form(mean: float, var: float) -> None:
    # P(k) = sum_n Poisson(n; lam) C(k-1, n-1) (1-theta)^n theta^(k-n): n orders of
    # geometric sizes summing to k
    a = (var / mean + 1) / 2
    lam, theta = mean / a, 1 - 1 / a
    p = one(Family.STUTTER, mean, var).pmf()[0]
    for k in range(40):
        exact = np.exp(-lam) if k == 0 else sum(
            stats.poisson.pmf(n, lam) * special.comb(k - 1, n - 1) * (1 - theta) ** n
            * theta ** (k - n)
            for n in range(1, k + 1)
        )  # fmt: skip
        assert p[k] == pytest.approx(exact, rel=1e-10, abs=1e-300)
    k = np.arange(p.size)
    assert (p * k).sum() == pytest.approx(mean, rel=1e-8)
    assert (p * k**2).sum() - mean**2 == pytest.approx(var, rel=1e-7)


@pytest.mark.parametrize(
    ("family", "mean", "var"),
    [(Family.NORMAL, 150.0, 400.0), (Family.GAMMA, 120.0, 8000.0), (Family.GAMMA, 500.0, 9e4)],
)
def test_continuous_families_discretised_keep_their_moments(
    family: Family, mean: float, var: float
) -> None:
    p = one(family, mean, var).pmf()[0]
    k = np.arange(p.size)
    assert p.sum() == pytest.approx(1.0, abs=1e-7)
    assert (p * k).sum() == pytest.approx(mean, rel=2e-3)
    assert (p * k**2).sum() - (p * k).sum() ** 2 == pytest.approx(var + 1 / 12, rel=5e-3)


@pytest.mark.parametrize(
    ("family", "mean", "var"),
    [
        (Family.POISSON, 40.0, 40.0),
        (Family.NEGBIN, 3.0, 300.0),
        (Family.STUTTER, 2.0, 200.0),
        (Family.GAMMA, 150.0, 1e5),
        (Family.NORMAL, 1000.0, 1e4),
    ],
)
def test_support_leaves_almost_no_mass_behind(family: Family, mean: float, var: float) -> None:
    d = one(family, mean, var)
    assert 1.0 - d.pmf().sum() < 1e-7


def test_family_rules() -> None:
    mean = np.array([0.0, 2.0, 2.0, 2.0, 2.0, 5.0, 5.0])
    var = np.array([0.0, 2.05, 1.0, 8.0, 8.0, 6.0, 300.0])
    tau = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 30.0, 30.0])  # the last two are fast movers
    intermittent = np.array([False, False, True, True, False, False, False])
    d = fit_interval_demand(mean, var, tau, intermittent)
    assert d.family.tolist() == [
        Family.ZERO,
        Family.POISSON,  # variance within 5 % of the mean
        Family.POISSON,  # under-dispersed: Poisson, not a distribution it cannot be
        Family.STUTTER,  # intermittent or lumpy, over-dispersed
        Family.NEGBIN,  # over-dispersed, not intermittent
        Family.NORMAL,  # mean 150 > FAST_MEAN, CV 0.08
        Family.GAMMA,  # mean 150, CV 0.55
    ]
    assert (d.mean[5:] > FAST_MEAN).all()
    np.testing.assert_allclose(d.mean, mean * tau)
    assert d.variance[2] == d.mean[2]  # a Poisson keeps its own variance


def test_random_lead_time_adds_its_variance() -> None:
    d = fit_interval_demand(
        np.array([2.0]), np.array([6.0]), np.array([10.0]), np.array([False]), np.array([9.0])
    )
    # sigma2 tau + mu^2 var(tau) = 6*10 + 4*9
    assert d.variance[0] == pytest.approx(96.0)


def test_loss_tables_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    pmf = rng.dirichlet(np.ones(15), size=4)
    t = LossTables.from_pmf(pmf)
    k = np.arange(15)
    y = np.array([[-3, -1, 0, 4, 14, 20]] * 4)
    for i in range(4):
        for j, yy in enumerate(y[i]):
            loss1 = (np.maximum(k - yy, 0) * pmf[i]).sum()
            assert t.loss1_at(y)[i, j] == pytest.approx(loss1, abs=1e-12)
            loss2 = sum((np.maximum(k - z, 0) * pmf[i]).sum() for z in range(yy, 40))
            assert t.loss2_at(y)[i, j] == pytest.approx(loss2, abs=1e-10)
            cdf = pmf[i][: max(yy + 1, 0)].sum() if yy >= 0 else 0.0
            assert t.cdf_at(y)[i, j] == pytest.approx(min(cdf, 1.0), abs=1e-12)


def test_lean_tables_equal_full_tables() -> None:
    """The lean tables (loss2 only, built in the pmf's buffer) give the same loss1, loss2
    and cdf at every level as the full tables, for every family."""
    rng = np.random.default_rng(5)
    n = 60
    fam = rng.choice(
        [Family.ZERO, Family.POISSON, Family.NEGBIN, Family.STUTTER, Family.NORMAL,
         Family.GAMMA],
        n,
    ).astype(np.int8)  # fmt: skip
    mean = rng.uniform(0.2, 30.0, n)
    mean[fam == Family.ZERO] = 0.0
    mean[(fam == Family.NORMAL) | (fam == Family.GAMMA)] += 100.0
    var = mean * rng.uniform(1.2, 6.0, n)
    var[fam == Family.POISSON] = mean[fam == Family.POISSON]
    d = IntervalDemand(fam, mean, var)
    full, lean = LossTables.from_pmf(d.pmf()), LossTables.lean(d)
    y = np.tile(np.array([-4, -1, 0, 1, 3, 10, 40, 150, 10_000]), (n, 1))
    np.testing.assert_allclose(lean.mean, full.mean, rtol=1e-12)
    np.testing.assert_allclose(lean.loss2_at(y), full.loss2_at(y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lean.loss1_at(y), full.loss1_at(y), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(lean.cdf_at(y), full.cdf_at(y), atol=1e-10)
    np.testing.assert_allclose(lean.loss1, full.loss1, atol=1e-10)
    np.testing.assert_allclose(lean.cdf, full.cdf, atol=1e-10)


def test_negative_binomial_far_from_zero_against_scipy() -> None:
    """Where P(0) = p**r underflows the running product, the log-gamma form serves."""
    d = IntervalDemand(
        np.array([Family.NEGBIN, Family.NEGBIN], dtype=np.int8),
        np.array([700.0, 3.0]),
        np.array([750.0, 9.0]),
    )
    last = 1200
    p = interval_pmf(d, last)
    k = np.arange(last + 1)
    for i in range(2):
        m, v = d.mean[i], d.variance[i]
        ref = stats.nbinom.pmf(k, m**2 / (v - m), m / v)
        np.testing.assert_allclose(p[i], ref, rtol=1e-9, atol=1e-300)
