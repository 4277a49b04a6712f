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
            csum = sum(pmf[i][: z + 1].sum() for z in range(0, yy + 1)) if yy >= 0 else 0.0
            assert t.cdf_sum_at(y)[i, j] == pytest.approx(csum, abs=1e-10)
