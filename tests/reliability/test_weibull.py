"""Weibull and exponential fits with suspensions, against lifelines as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import ExponentialFitter, WeibullFitter

from spareflow.errors import ParameterError
from spareflow.reliability import fit_exponential, fit_weibull

CASES = [  # (shape, scale, records, share of failures, seed)
    (0.7, 2_000.0, 40, 0.9, 1),  # infant mortality
    (1.0, 800.0, 25, 0.6, 2),
    (1.8, 500.0, 60, 0.7, 3),  # wear-out, a third suspended
    (3.5, 12_000.0, 120, 0.4, 4),  # heavy censoring, long lives
    (2.2, 0.5, 8, 1.0, 5),  # few records, all failed
]


def _records(shape: float, scale: float, n: int, share: float, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    life = scale * rng.weibull(shape, n)
    failed = rng.random(n) < share
    failed[:2] = True
    # a suspension is seen at a random time before its failure would have come
    time = np.where(failed, life, life * rng.uniform(0.2, 1.0, n))
    return time, failed


@pytest.mark.parametrize("case", CASES)
def test_weibull_equals_lifelines(case: tuple[float, float, int, float, int]) -> None:
    time, failed = _records(*case)
    ours = fit_weibull(time, failed)
    ref = WeibullFitter().fit(time, failed)
    # lifelines' optimiser stops a little short on small samples (case 5: 1.6e-5 in
    # shape); ours is never below its likelihood
    assert ours.shape[0] == pytest.approx(ref.rho_, rel=1e-4)
    assert ours.scale[0] == pytest.approx(ref.lambda_, rel=1e-4)
    assert ours.log_likelihood[0] >= ref.log_likelihood_ - 1e-10
    assert ours.log_likelihood[0] == pytest.approx(ref.log_likelihood_, rel=1e-8)
    cov = ref.variance_matrix_.loc[["lambda_", "rho_"], ["lambda_", "rho_"]].to_numpy()
    assert ours.scale_se[0] == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-4)
    assert ours.shape_se[0] == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-4)
    assert ours.covariance[0] == pytest.approx(cov[0, 1], rel=1e-3)
    assert ours.failures[0] == failed.sum() and ours.suspensions[0] == (~failed).sum()


@pytest.mark.parametrize("case", CASES)
def test_exponential_equals_lifelines(case: tuple[float, float, int, float, int]) -> None:
    time, failed = _records(*case)
    ours = fit_exponential(time, failed)
    ref = ExponentialFitter().fit(time, failed)
    assert ours.scale[0] == pytest.approx(ref.lambda_, rel=1e-6)
    assert ours.scale_se[0] == pytest.approx(ref.summary.loc["lambda_", "se(coef)"], rel=1e-4)
    assert ours.log_likelihood[0] == pytest.approx(ref.log_likelihood_, rel=1e-8)


def test_many_parts_at_once_equal_one_by_one() -> None:
    times, flags, parts = [], [], []
    for p, case in enumerate(CASES):
        t, f = _records(*case)
        times.append(t)
        flags.append(f)
        parts.append(np.full(t.size, p))
    order = np.random.default_rng(9).permutation(sum(t.size for t in times))  # interleaved
    t_all = np.concatenate(times)[order]
    f_all = np.concatenate(flags)[order]
    p_all = np.concatenate(parts)[order]
    together = fit_weibull(t_all, f_all, p_all)
    for p in range(len(CASES)):
        alone = fit_weibull(times[p], flags[p])
        assert together.shape[p] == pytest.approx(alone.shape[0], rel=1e-12)
        assert together.scale[p] == pytest.approx(alone.scale[0], rel=1e-12)


def test_bounds_cover_the_truth_about_as_often_as_promised() -> None:
    rng = np.random.default_rng(0)
    parts, n = 400, 50
    life = 1_000.0 * rng.weibull(2.0, (parts, n))
    stop = rng.uniform(500, 3_000, (parts, n))  # suspensions at a random inspection
    time, failed = np.minimum(life, stop), life <= stop
    code = np.repeat(np.arange(parts), n)
    fit = fit_weibull(time.ravel(), failed.ravel(), code)
    k_lo, k_hi, s_lo, s_hi = fit.bounds(0.9)
    assert 0.85 <= np.mean((k_lo <= 2.0) & (k_hi >= 2.0)) <= 0.95
    assert 0.85 <= np.mean((s_lo <= 1_000.0) & (s_hi >= 1_000.0)) <= 0.95
    assert np.mean(fit.mean_life()) == pytest.approx(1_000.0 * 0.886227, rel=0.02)


def test_too_few_failures_and_bad_records() -> None:
    fit = fit_weibull([10.0, 20.0, 30.0], [True, False, False])
    assert np.isnan(fit.shape[0]) and np.isnan(fit.scale[0]) and fit.failures[0] == 1
    assert np.isnan(fit_exponential([5.0], [False]).scale[0])
    with pytest.raises(ParameterError, match="record 1: must be a positive time"):
        fit_weibull([1.0, 0.0, 2.0], [True, True, True])
    with pytest.raises(ParameterError, match="2 flags for 3 times"):
        fit_weibull([1.0, 2.0, 3.0], [True, True])
    with pytest.raises(ParameterError, match="level"):
        fit.bounds(1.5)
