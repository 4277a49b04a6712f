"""Consolidation: orders share a shipment only on one lane, on a day inside every
window, within a trailer, and never at a higher price than shipped alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
from spareflow.errors import ParameterError
from spareflow.transport.consolidation import Orders, consolidate
from spareflow.transport.rating import CLASSES, rate_ltl

TARIFF = load_tariff(SAMPLE_TARIFF)


def ltl(shipment, lane, freight_class, weight, count):  # type: ignore[no-untyped-def]
    rated = rate_ltl(TARIFF, shipment, lane, freight_class, weight)
    out = np.full(count, np.inf)
    out[: rated.total.size] = rated.total
    return out


def orders(lanes, ready, due, weight, positions=None, cls="100"):  # type: ignore[no-untyped-def]
    n = len(lanes)
    return Orders(
        lane=np.array(lanes, dtype=np.intp),
        ready_day=np.array(ready, dtype=np.intp),
        due_day=np.array(due, dtype=np.intp),
        weight_lb=np.array(weight, dtype=float),
        floor_positions=np.array(positions or [1.0] * n),
        freight_class=np.full(n, CLASSES.index(cls), dtype=np.intp),
    )


def test_small_orders_on_one_lane_share_a_shipment_and_save_a_minimum_charge() -> None:
    result = consolidate(orders([0, 0, 0], [0, 1, 0], [2, 3, 5], [150, 200, 120]), ltl)
    assert result.shipment.tolist() == [0, 0, 0] and result.ship_day.tolist() == [2]
    assert result.saving > 0 and result.consolidation_rate == 3
    assert result.price.sum() == pytest.approx(result.alone_price.sum() - result.saving)


def test_windows_lanes_and_trailer_limits_keep_orders_apart() -> None:
    result = consolidate(orders([0, 0, 1], [0, 4, 0], [2, 6, 2], [150, 200, 120]), ltl)
    assert len(set(result.shipment.tolist())) == 3  # day 2 vs from day 4; another lane
    full = consolidate(orders([0, 0], [0, 0], [3, 3], [30_000, 20_000]), ltl)
    assert full.shipment.tolist() == [0, 1]  # 50,000 lb is more than a trailer


def test_a_dearer_consolidation_is_split_back() -> None:
    def convex(shipment, lane, freight_class, weight, count):  # type: ignore[no-untyped-def]
        return np.bincount(shipment, weights=weight, minlength=count) ** 2  # dearer together

    result = consolidate(orders([0, 0], [0, 0], [3, 3], [100, 100]), convex)
    assert sorted(result.shipment.tolist()) == [0, 1] and result.saving == pytest.approx(0)
    assert result.ship_day.tolist() == [3, 3]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_every_shipment_is_valid_and_never_dearer(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    ready = rng.integers(0, 10, n)
    data = orders(
        rng.integers(0, 3, n).tolist(), ready.tolist(), (ready + rng.integers(0, 4, n)).tolist(),
        rng.uniform(50, 8000, n).tolist(), rng.integers(1, 8, n).astype(float).tolist(),
    )  # fmt: skip
    result = consolidate(data, ltl)
    day = result.ship_day[result.shipment]
    assert np.all(day >= data.ready_day) and np.all(day <= data.due_day)
    assert np.all(result.lane[result.shipment] == data.lane)
    loads = np.bincount(result.shipment, weights=data.weight_lb)
    assert np.all(loads <= 45_000) and result.saving >= -1e-6
    assert result.price.sum() <= result.alone_price.sum() + 1e-6


def test_bad_orders_are_named() -> None:
    with pytest.raises(ParameterError, match="order 2: due before it is ready"):
        consolidate(orders([0, 0], [0, 3], [1, 2], [10, 10]), ltl)
    with pytest.raises(ParameterError, match="order 1: more than one trailer"):
        consolidate(orders([0], [0], [1], [50_000]), ltl)
