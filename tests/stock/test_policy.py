"""Targets to policies: EOQ with MOQ and lot sizes, the least reorder point that meets
the target, and block processing that changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from spareflow.stock.policy import (
    StockInputs,
    demand_horizon,
    fill_rate_by_reorder_point,
    least_reorder_point,
    order_quantity,
    policies_for_targets,
)


def inputs(n: int = 300, seed: int = 1, target: float = 0.95) -> StockInputs:
    rng = np.random.default_rng(seed)
    mean = rng.gamma(0.5, 0.3, n)
    return StockInputs(
        mean_per_day=mean,
        variance_per_day=mean * rng.uniform(1.0, 6.0, n),
        intermittent=rng.random(n) < 0.5,
        lead_time_days=rng.integers(0, 90, n),
        unit_cost=rng.lognormal(3.0, 1.5, n),
        target_fill_rate=np.full(n, target),
    )


def test_eoq_with_moq_and_lot_size() -> None:
    # D = 365/yr, K = 50, h = 0.25 * 40 = 10 -> EOQ = sqrt(2*50*365/10) = 60.4
    base = {
        "mean_per_day": np.ones(4),
        "variance_per_day": np.ones(4),
        "intermittent": np.zeros(4, dtype=bool),
        "lead_time_days": np.zeros(4, dtype=np.int64),
        "unit_cost": np.full(4, 40.0),
        "target_fill_rate": np.full(4, 0.9),
        "order_cost": np.full(4, 50.0),
        "holding_rate": np.full(4, 0.25),
    }
    q = order_quantity(
        StockInputs(
            **base, moq=np.array([1.0, 100.0, 1.0, 25.0]), lot_size=np.array([1.0, 1.0, 12.0, 12.0])
        )  # type: ignore[arg-type]
    )
    # 61; MOQ 100; lots of 12 -> 72; MOQ 25 off the lot grid of 12 -> max(72, 25) = 72
    assert q.tolist() == [61, 100, 72, 72]


def test_defaults_fill_missing_sourcing_facts() -> None:
    x = inputs(3)
    q = order_quantity(x)
    assert (q >= 1).all()
    annual = x.mean_per_day * 365
    eoq = np.sqrt(2 * 50.0 * annual / (0.25 * x.unit_cost))
    np.testing.assert_array_equal(q, np.maximum(np.ceil(eoq - 1e-9), 1))


@pytest.mark.parametrize("target", [0.8, 0.95, 0.99])
def test_least_reorder_point_is_the_least(target: float) -> None:
    x = inputs(200, seed=4, target=target)
    h = demand_horizon(x)
    q = order_quantity(x)
    r = least_reorder_point(h, q, x.target_fill_rate)
    at = fill_rate_by_reorder_point(h, q, r[:, None])[:, 0]
    below = fill_rate_by_reorder_point(h, q, (r - 1)[:, None])[:, 0]
    assert (at >= target - 1e-12).all()
    assert ((below < target) | (r == -1)).all()


def test_blocks_do_not_change_the_result() -> None:
    x = inputs(500, seed=9)
    a = policies_for_targets(x, block=37, cells=5_000)
    b = policies_for_targets(x, block=10_000, cells=10**9)
    np.testing.assert_array_equal(a.reorder_point, b.reorder_point)
    np.testing.assert_array_equal(a.order_quantity, b.order_quantity)
    # tables of other widths drop other tails (under TAIL = 1e-8 of the mass)
    np.testing.assert_allclose(a.service.fill_rate, b.service.fill_rate, rtol=1e-7)
    assert (a.service.fill_rate >= 0.95 - 1e-12).all()
    assert set(a.policy.tolist()) <= {"rQ", "base_stock"}
    np.testing.assert_array_equal(a.policy == "base_stock", a.order_quantity == 1)
    np.testing.assert_array_equal(a.order_up_to, a.reorder_point + a.order_quantity)


def test_higher_target_never_needs_less_stock() -> None:
    low = policies_for_targets(inputs(300, seed=2, target=0.9))
    high = policies_for_targets(inputs(300, seed=2, target=0.98))
    assert (high.reorder_point >= low.reorder_point).all()
    assert (high.service.on_hand >= low.service.on_hand - 1e-9).all()
