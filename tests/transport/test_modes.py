"""Truckload and parcel prices, LTL capacity rules and the cheapest feasible mode."""

from __future__ import annotations

import numpy as np
import pytest

from spareflow.transport.modes import (
    FtlTariff,
    LtlCapacityRules,
    ParcelTariff,
    billable_pounds,
    cheapest_mode,
    ftl_price,
    linear_feet,
    ltl_allowed,
    parcel_price,
)

PARCEL = ParcelTariff(rates=np.tile(8.0 + 0.9 * np.arange(150.0), (3, 1)) * [[1.0], [1.2], [1.5]])


def test_dimensional_weight_bills_light_bulky_packages() -> None:
    # 20 x 20 x 20 in at 10 lb: 8,000 / 139 = 57.55 -> 58 lb billed; a dense 10 lb box: 10
    pounds = billable_pounds(
        np.array([20.0, 10.0]), np.array([20.0, 10.0]), np.array([20.0, 10.0]),
        np.array([10.0, 10.0]), 139.0,
    )  # fmt: skip
    assert pounds.tolist() == [58.0, 10.0]


def test_parcel_sums_packages_and_refuses_what_breaks_a_limit() -> None:
    shipment = np.array([0, 0, 1, 2])
    price = parcel_price(
        shipment,
        np.array([0, 2, 1]),
        length_in=np.array([10.0, 10.0, 10.0, 120.0]),
        width_in=np.array([10.0, 10.0, 10.0, 12.0]),
        height_in=np.array([10.0, 10.0, 10.0, 12.0]),
        weight_lb=np.array([5.0, 12.0, 160.0, 20.0]),
        tariff=PARCEL,
        shipments=3,
    )
    # 5 lb (dim 7.2 -> 8) and 12 lb in zone 0: rates of 8 and 12 lb
    assert price[0] == pytest.approx((8.0 + 0.9 * 7) + (8.0 + 0.9 * 11))
    assert np.isinf(price[1])  # over 150 lb
    assert np.isinf(price[2])  # 120 + 2 x (12 + 12) = 168 in > 165


def test_truckload_price_has_a_minimum_fuel_and_trailer_limits() -> None:
    tariff = FtlTariff(rate_per_mile=2.5, minimum_charge=900.0, fuel_per_mile=0.6)
    price = ftl_price(
        np.array([100.0, 800.0, 800.0, 800.0]),
        np.array([10_000.0, 20_000.0, 46_000.0, 20_000.0]),
        np.array([10.0, 26.0, 20.0, 27.0]),
        np.array([1_000.0, 3_000.0, 3_000.0, 3_000.0]),
        tariff,
    )
    assert price[0] == pytest.approx(900 + 60) and price[1] == pytest.approx(2000 + 480)
    assert np.isinf(price[2]) and np.isinf(price[3])  # too heavy; too many positions


def test_ltl_capacity_rules() -> None:
    assert linear_feet(np.array([1.0, 2.0, 6.0, 7.0])).tolist() == [4.0, 4.0, 12.0, 16.0]
    allowed = ltl_allowed(
        weight_lb=np.array([2_000.0, 9_000.0, 3_000.0, 4_000.0]),
        cubic_feet=np.array([300.0, 500.0, 800.0, 800.0]),
        floor_positions=np.array([4.0, 8.0, 6.0, 6.0]),
        rules=LtlCapacityRules(),
    )
    # 8 positions take 16 ft of floor (> 12); 800 ft3 at 3.75 and at 5 pcf are light and big
    assert allowed.tolist() == [True, False, False, False]


def test_the_cheapest_feasible_mode_wins() -> None:
    mode, price = cheapest_mode(
        {
            "parcel": np.array([40.0, np.inf, np.inf]),
            "ltl": np.array([95.0, 310.0, np.inf]),
            "ftl": np.array([900.0, 900.0, np.inf]),
        }
    )
    assert mode.tolist() == ["parcel", "ltl", "none"]
    assert price[:2].tolist() == [40.0, 310.0] and np.isinf(price[2])
