"""The analytic service of every policy type agrees with simulation, on item-sites drawn
at random (slow, intermittent, lumpy and fast demand; short and long lead times): unit
fill rates within one point, ready rates and stock levels within the simulation's noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from spareflow.simulate.demand import FamilyDemand
from spareflow.simulate.monte_carlo import PolicyArrays, simulate
from spareflow.stock.distributions import Family, fit_interval_demand
from spareflow.stock.service import Horizon, base_stock, horizon, rq, ss

N = 60  # item-sites per case
DAYS = 6000
REPS = 4


def item_sites(seed: int, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Daily mean, variance, intermittent flag and lead time of N random item-sites."""
    rng = np.random.default_rng(seed)
    if kind == "slow":  # a unit now and then
        mean = rng.uniform(0.01, 0.2, N)
        var = mean * rng.uniform(1.0, 1.04, N)
        inter = np.zeros(N, dtype=bool)
    elif kind == "intermittent":  # orders of several units
        mean = rng.uniform(0.02, 0.5, N)
        var = mean * rng.uniform(2.0, 8.0, N)
        inter = np.ones(N, dtype=bool)
    elif kind == "lumpy":  # rare, large and variable orders
        mean = rng.uniform(0.02, 0.3, N)
        var = mean * rng.uniform(10.0, 30.0, N)
        inter = np.ones(N, dtype=bool)
    else:  # fast movers
        mean = rng.uniform(5.0, 20.0, N)
        var = mean * rng.uniform(1.5, 4.0, N)
        inter = np.zeros(N, dtype=bool)
    lead = np.where(rng.random(N) < 0.5, rng.integers(0, 4, N), rng.integers(20, 60, N))
    return mean, var, inter, lead


def demand_model(
    mean: np.ndarray, var: np.ndarray, inter: np.ndarray, lead: np.ndarray
) -> FamilyDemand:
    fam = fit_interval_demand(mean, var, lead + 1.0, inter).family
    return FamilyDemand(family=fam, mean=mean, variance=var)


def per_review_pmf(
    mean: np.ndarray, var: np.ndarray, inter: np.ndarray, review: int, lead: np.ndarray
) -> np.ndarray:
    # the per-review demand of the same family as the interval's
    fam = fit_interval_demand(mean, var, lead + 1.0, inter).family
    d = fit_interval_demand(mean, var, np.full(N, float(review)), inter)
    per = type(d)(family=np.where(fam == Family.ZERO, d.family, fam).astype(np.int8), mean=d.mean,
                  variance=np.where(fam == Family.POISSON, d.mean, d.variance))  # fmt: skip
    return per.pmf()


def check(expected_fill: np.ndarray, expected_ready: np.ndarray, expected_on_hand: np.ndarray,
          policy: PolicyArrays, demand: FamilyDemand) -> None:  # fmt: skip
    sim = simulate(policy, demand, periods=DAYS, replications=REPS, seed=3)
    # over all item-sites of the case (demand-weighted): within one point
    weights = demand.mean / demand.mean.sum()
    aggregate = float((weights * expected_fill).sum())
    assert abs(sim.total_fill_rate - aggregate) <= max(0.01, 3 * sim.total_fill_rate_ci), (
        f"aggregate: expected {aggregate:.4f}, simulated {sim.total_fill_rate:.4f}"
    )
    # item by item: within one point, or the simulation's own noise where that is wider
    # (a lumpy part needs decades of days for a one-point interval)
    gap = np.abs(sim.fill_rate - expected_fill)
    assert gap.max() <= max(0.01, float(np.max(3 * sim.fill_rate_ci))), (
        f"worst fill-rate gap {gap.max():.4f} at {gap.argmax()}: "
        f"expected {expected_fill[gap.argmax()]:.4f}, simulated {sim.fill_rate[gap.argmax()]:.4f}"
    )
    assert np.abs(sim.ready_rate - expected_ready).max() <= max(
        0.015, float(np.max(3 * sim.ready_rate_ci))
    )
    gap_on_hand = np.abs(sim.mean_on_hand - expected_on_hand)
    allowed = np.maximum(4 * sim.mean_on_hand_ci, 0.02 * np.maximum(expected_on_hand, 1.0))
    assert (gap_on_hand <= allowed).all(), (
        f"on hand: worst excess {(gap_on_hand - allowed).max():.4f}"
    )


def fit_horizon(
    mean: np.ndarray, var: np.ndarray, inter: np.ndarray, lead: np.ndarray, review: int = 1
) -> Horizon:
    return horizon(mean, var, inter, lead, review)


KINDS = ["slow", "intermittent", "lumpy", "fast"]


@pytest.mark.parametrize("kind", KINDS)
def test_base_stock(kind: str) -> None:
    mean, var, inter, lead = item_sites(1, kind)
    h = fit_horizon(mean, var, inter, lead)
    big = np.ceil(h.cycle_end.mean + 1.0 * np.sqrt(np.maximum(var * (lead + 1), 0))).astype(
        np.int64
    )
    svc = base_stock(big, h)
    check(svc.fill_rate, svc.ready_rate, svc.on_hand, PolicyArrays.base_stock(big, lead),
          demand_model(mean, var, inter, lead))  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_rq(kind: str) -> None:
    mean, var, inter, lead = item_sites(2, kind)
    h = fit_horizon(mean, var, inter, lead)
    rng = np.random.default_rng(7)
    q = np.maximum(1, np.round(mean * rng.uniform(5, 40, N))).astype(np.int64)
    r = np.floor(h.lead.mean + 0.5 * np.sqrt(var * (lead + 1))).astype(np.int64)
    svc = rq(r, q, h)
    check(svc.fill_rate, svc.ready_rate, svc.on_hand, PolicyArrays.rq(r, q, lead),
          demand_model(mean, var, inter, lead))  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_periodic_review_order_up_to(kind: str) -> None:
    mean, var, inter, lead = item_sites(3, kind)
    review = 7
    h = fit_horizon(mean, var, inter, lead, review)
    big = np.ceil(h.cycle_end.mean).astype(np.int64)
    svc = base_stock(big, h)
    check(svc.fill_rate, svc.ready_rate, svc.on_hand, PolicyArrays.rs(review, big, lead),
          demand_model(mean, var, inter, lead))  # fmt: skip


@pytest.mark.parametrize("kind", ["slow", "intermittent", "lumpy"])
@pytest.mark.parametrize("review", [1, 5])
def test_s_s_and_r_s_s(kind: str, review: int) -> None:
    mean, var, inter, lead = item_sites(4, kind)
    h = fit_horizon(mean, var, inter, lead, review)
    s = np.floor(h.lead.mean).astype(np.int64)
    big = s + np.maximum(1, np.round(mean * 20)).astype(np.int64)
    svc = ss(s, big, per_review_pmf(mean, var, inter, review, lead), h)
    policy = (
        PolicyArrays.ss(s, big, lead) if review == 1 else PolicyArrays.rss(review, s, big, lead)
    )
    check(svc.fill_rate, svc.ready_rate, svc.on_hand, policy, demand_model(mean, var, inter, lead))
