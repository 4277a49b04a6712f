"""Shipments from order lines on the sample tariff: a worked consolidation whose saving is
recomputed with rate_ltl, lanes and windows that keep orders apart, an order of several
classes kept whole, and invariants (never dearer, every unit in its order's shipment)."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
from spareflow.errors import ParameterError
from spareflow.transport.rating import CLASSES, class_index, rate_ltl
from spareflow.transport.shipment_build import OrderLines, build_shipments, ltl_pricer

TARIFF = load_tariff(SAMPLE_TARIFF)  # discount 68 %, fuel 22.8 %; Z1-Z1 floor 122
SHIP = date(2025, 9, 1)  # the 13-sub scale of Docket 2025-1


def lines(**kw: list[float]) -> OrderLines:
    """Order lines of 12 in cubes unless told otherwise."""
    n = len(kw["order"])
    cols: dict[str, list[float]] = {
        "lane": [0] * n,
        "ready_day": [0] * n,
        "due_day": [2] * n,
        "length_in": [12.0] * n,
        "width_in": [12.0] * n,
        "height_in": [12.0] * n,
        **kw,
    }
    return OrderLines(**cols)


def total(lane: int, classes: list[str], weights: list[float]) -> float:
    """One shipment rated by rate_ltl directly."""
    n = len(classes)
    rated = rate_ltl(
        TARIFF,
        np.zeros(n, dtype=np.intp),
        np.full(n, lane, dtype=np.intp),
        class_index(classes, TARIFF.fak),
        np.array(weights),
    )
    return float(rated.total[0])


TWO = lines(
    order=[101, 102], ready_day=[3, 4], due_day=[6, 5], quantity=[56, 30],
    unit_weight_lb=[40.0, 15.0],
)  # fmt: skip


def test_two_orders_on_one_lane_share_a_shipment_and_save_money() -> None:
    s = build_shipments(TWO, TARIFF, SHIP)
    # order 101: 56 cubes of 1,728 in^3 fill one pallet (60 in of goods, 66 in tall) at
    # 2,240 + 40 = 2,280 lb: 73.33 ft^3, 31.09 pcf, class 60. Order 102: 30 cubes, 51,840
    # in^3 / 1,632 = 31.8 -> 32 in (38 tall), 450 + 40 = 490 lb: 42.22 ft^3, 11.61 pcf, 92.5
    assert s.packing.height_in.tolist() == [66.0, 38.0]
    assert s.packing.weight_lb.tolist() == [2_280.0, 490.0]
    assert s.unit_class.tolist() == ["60", "92.5"]
    cubic_feet = [48 * 40 * 66 / 1728, 48 * 40 * 38 / 1728]
    assert s.unit_density_pcf.tolist() == pytest.approx(
        [2_280 / cubic_feet[0], 490 / cubic_feet[1]]
    )
    assert s.unit_density_pcf.tolist() == pytest.approx([31.0909, 11.6053], abs=1e-4)
    # alone, Z1-Z1: 2,280 lb x 17.89 / CWT = 407.892 gross, x 0.32 = 130.525 net, x 1.228
    # = 160.285; 490 lb billed as 500 at 35.48 = 177.40, x 0.32 = 56.77 < 122 floor:
    # 122 x 1.228 = 149.816. Together, 2,770 lb: (2,280 x 17.89 + 490 x 23.66) / 100 =
    # 523.826, x 0.32 x 1.228 = 205.843
    alone_101, alone_102 = total(0, ["60"], [2_280]), total(0, ["92.5"], [490])
    together = total(0, ["60", "92.5"], [2_280, 490])
    assert alone_101 == pytest.approx(160.28524032)
    assert alone_102 == pytest.approx(149.816)
    assert together == pytest.approx(205.84266496)
    assert s.order_id.tolist() == [101, 102] and s.order_shipment.tolist() == [0, 0]
    assert s.order_alone_price.tolist() == pytest.approx([alone_101, alone_102])
    assert s.shipment_price.tolist() == pytest.approx([together])
    assert s.saving == pytest.approx(alone_101 + alone_102 - together)
    assert s.saving == pytest.approx(104.25857536)
    assert s.alone_cost == pytest.approx(310.10124032)
    assert s.consolidated_cost == pytest.approx(205.84266496)
    assert s.consolidation_rate == 2.0
    # shipped on day 5, the first due day; both are ready by then
    assert s.shipment_ship_day.tolist() == [5] and s.shipment_lane.tolist() == [0]
    assert s.shipment_weight_lb.tolist() == [2_770.0] and s.shipment_units.tolist() == [2]
    assert s.unit_shipment.tolist() == [0, 0]
    assert s.rows.freight_class.tolist() == ["60", "92.5"]
    assert s.rows.floor_positions.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("change", "lane_102"),
    [
        ({"lane": [0.0, 1.0]}, 1),  # Z1-Z1 and Z1-Z2
        ({"ready_day": [0.0, 3.0], "due_day": [2.0, 5.0]}, 0),  # days 0-2 and 3-5
    ],
)
def test_other_lanes_or_windows_that_do_not_meet_keep_orders_apart(
    change: dict[str, list[float]], lane_102: int
) -> None:
    data = lines(order=[101, 102], quantity=[56, 30], unit_weight_lb=[40.0, 15.0], **change)
    s = build_shipments(data, TARIFF, SHIP)
    assert sorted(s.order_shipment.tolist()) == [0, 1] and s.consolidation_rate == 1.0
    assert s.shipment_units.tolist() == [1, 1] and s.saving == pytest.approx(0.0)
    # 490 lb billed as 500 at 35.48 (Z1-Z1) or 45.79 (Z1-Z2), x 0.32: below the floors of
    # 122 and 134, so 122 x 1.228 = 149.816 or 134 x 1.228 = 164.552
    alone = [total(0, ["60"], [2_280]), total(lane_102, ["92.5"], [490])]
    assert alone[1] == pytest.approx([149.816, 164.552][lane_102])
    assert s.order_alone_price.tolist() == pytest.approx(alone)
    assert s.consolidated_cost == pytest.approx(sum(alone))


def test_an_order_of_several_classes_stays_in_one_shipment_and_is_rated_mixed() -> None:
    # order 7: 56 cubes at 40 lb fill a pallet (2,280 lb, class 60); 20 cubes at 5 lb go on
    # a second (34,560 in^3 -> 22 in, 28 tall; 140 lb on 31.11 ft^3 = 4.5 pcf, class 175,
    # rated 125 by the tariff's FAK). Order 8: 10 cubes at 10 lb (18 in, 140 lb, 7 pcf,
    # class 125)
    data = lines(order=[7, 7, 8], quantity=[56, 20, 10], unit_weight_lb=[40.0, 5.0, 10.0])
    s = build_shipments(data, TARIFF, SHIP)
    assert s.unit_class.tolist() == ["60", "175", "125"]
    assert s.rows.order.tolist() == [0, 0, 1]
    assert s.rows.rated_class.tolist() == [CLASSES.index(c) for c in ("60", "125", "125")]
    assert s.rows.weight_lb.tolist() == [2_280.0, 140.0, 140.0]
    # order 7 alone is ONE shipment of two classes: 2,420 lb, (2,280 x 17.89 + 140 x
    # 29.42) / 100 = 449.08 gross, x 0.32 x 1.228 = 176.470; as two shipments it would
    # pay 160.285 + the 149.816 floor
    alone_7 = total(0, ["60", "175"], [2_280, 140])
    assert alone_7 == pytest.approx(176.4704768)
    assert s.order_alone_price.tolist() == pytest.approx([alone_7, total(0, ["125"], [140])])
    assert s.unit_shipment.tolist() == [0, 0, 0]
    together = total(0, ["60", "175", "125"], [2_280, 140, 140])
    assert s.shipment_price.tolist() == pytest.approx([together])
    assert s.saving == pytest.approx(alone_7 + 149.816 - together)


def test_an_oversize_unit_takes_its_footprint_in_floor_positions() -> None:
    # a 100 x 50 x 30 in crate: 5,000 in^2 / 1,920 = 2.6 -> 3 floor positions
    data = lines(
        order=[1], quantity=[1], unit_weight_lb=[500.0], length_in=[100.0],
        width_in=[50.0], height_in=[30.0],
    )  # fmt: skip
    s = build_shipments(data, TARIFF, SHIP)
    assert s.packing.loose.tolist() == [True]
    assert s.rows.floor_positions.tolist() == [3.0]
    # 100 x 50 x 30 / 1,728 = 86.81 ft^3 at 500 lb = 5.76 pcf: class 175, rated 125
    assert s.unit_class.tolist() == ["175"] and s.shipment_weight_lb.tolist() == [500.0]
    assert s.shipment_price.tolist() == pytest.approx([total(0, ["125"], [500])])


def test_no_lines_no_shipments() -> None:
    s = build_shipments(OrderLines(*([[]] * 9)), TARIFF, SHIP)
    assert s.order_id.size == 0 and s.shipment_price.size == 0 and s.packing.count == 0
    assert s.saving == 0.0 and s.consolidation_rate == 0.0


def test_the_carriers_rounding_rule_reaches_the_class() -> None:
    # a 65 x 16 x 20.4 in crate (too long for the pallet) at 187.5 lb: 12.278 ft^3 as
    # measured, 15.27 pcf, class 70; 65 x 16 x 21 = 12.639 ft^3 rounded up, 14.84 pcf, 85
    data = lines(
        order=[1], quantity=[1], unit_weight_lb=[187.5], length_in=[65.0],
        width_in=[16.0], height_in=[20.4],
    )  # fmt: skip
    exact = build_shipments(data, TARIFF, SHIP)
    ceil = build_shipments(data, TARIFF, SHIP, rounding="ceil")
    assert exact.packing.loose.tolist() == [True]
    assert exact.unit_density_pcf.tolist() == pytest.approx([187.5 / (65 * 16 * 20.4 / 1728)])
    assert ceil.unit_density_pcf.tolist() == pytest.approx([187.5 / (65 * 16 * 21 / 1728)])
    assert exact.unit_class.tolist() == ["70"] and ceil.unit_class.tolist() == ["85"]
    assert exact.shipment_price.tolist() == pytest.approx([total(0, ["70"], [187.5])])
    assert ceil.shipment_price.tolist() == pytest.approx([total(0, ["85"], [187.5])])


def test_the_pricer_is_rate_ltl() -> None:
    price = ltl_pricer(TARIFF)
    shipment, lane = np.array([0, 0, 1]), np.array([0, 0, 3])
    cls = class_index(["60", "92.5", "100"], TARIFF.fak)
    weight = np.array([2_280.0, 490.0, 800.0])
    got = price(shipment, lane, cls, weight, 3)  # a third shipment with no lines: 0
    expected = rate_ltl(TARIFF, shipment, lane, cls, weight).total
    assert got.tolist() == pytest.approx([*expected.tolist(), 0.0])
    assert got[0] == pytest.approx(205.84266496)
    empty = np.array([], dtype=np.intp)
    assert price(empty, empty, empty, np.array([]), 0).size == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_never_dearer_and_every_unit_in_its_orders_shipment(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # up to 3 lines an order, up to 11 units of up to 30 in a side and 40 pcf a line:
    # at most 4 pallets a line, so every order fits a trailer
    n_orders = int(rng.integers(1, 15))
    of = rng.permutation(np.repeat(np.arange(n_orders), rng.integers(1, 4, n_orders)))
    n = of.size
    ids = rng.permutation(1000)[:n_orders]
    ready = rng.integers(0, 8, n_orders)
    due = ready + rng.integers(0, 4, n_orders)
    lane = rng.integers(0, 3, n_orders)
    dims = rng.uniform(4, 30, (n, 3)).round(0)
    density = np.minimum(np.exp(rng.normal(np.log(10), 0.8, n)), 40)  # pcf
    weight = (dims.prod(axis=1) / 1728 * density).round(1) + 0.1
    data = OrderLines(
        order=ids[of], lane=lane[of], ready_day=ready[of], due_day=due[of],
        quantity=rng.integers(1, 12, n), unit_weight_lb=weight, length_in=dims[:, 0],
        width_in=dims[:, 1], height_in=dims[:, 2],
    )  # fmt: skip
    s = build_shipments(data, TARIFF, SHIP)
    assert s.saving >= -1e-9 and s.consolidated_cost <= s.alone_cost + 1e-9
    assert s.saving == pytest.approx(s.alone_cost - s.consolidated_cost)
    assert s.consolidated_cost == pytest.approx(float(s.shipment_price.sum()))
    assert s.alone_cost == pytest.approx(float(s.order_alone_price.sum()))
    assert s.order_id.tolist() == sorted(ids.tolist())
    assert s.consolidation_rate == pytest.approx(n_orders / s.shipment_price.size)
    # every unit in the shipment of its order; each shipment on its orders' lane and
    # on a day inside every window
    unit_order = np.searchsorted(s.order_id, s.packing.group)
    assert np.all(s.unit_shipment == s.order_shipment[unit_order])
    per_order = {int(i): k for k, i in enumerate(ids)}
    k = np.array([per_order[int(i)] for i in s.order_id])
    assert np.all(s.shipment_lane[s.order_shipment] == lane[k])
    day = s.shipment_ship_day[s.order_shipment]
    assert np.all(day >= ready[k]) and np.all(day <= due[k])
    np.testing.assert_allclose(
        s.shipment_weight_lb, np.bincount(s.unit_shipment, weights=s.packing.weight_lb)
    )
    assert int(s.shipment_units.sum()) == s.packing.count
    # the prices, recomputed from the handling units themselves
    rated = rate_ltl(
        TARIFF,
        s.unit_shipment,
        s.shipment_lane[s.unit_shipment],
        class_index(s.unit_class, TARIFF.fak),
        s.packing.weight_lb,
    )
    np.testing.assert_allclose(s.shipment_price, rated.total)
    alone = rate_ltl(
        TARIFF,
        unit_order.astype(np.intp),
        s.shipment_lane[s.unit_shipment],
        class_index(s.unit_class, TARIFF.fak),
        s.packing.weight_lb,
    )
    np.testing.assert_allclose(s.order_alone_price, alone.total)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lane": [0, 30, 0]}, "lane: line 2: lane 30 is not in the tariff (0..24)"),
        ({"due_day": [2, 2, -1]}, "due_day: line 3: due day -1 is before the ready day 0"),
        ({"lane": [0, 1, 0]}, "lane: line 2: order 5 has lane 0 on line 1, 1 here"),
        ({"ready_day": [0, 1, 0]}, "ready_day: line 2: order 5 has ready_day 0 on line 1"),
        ({"order": [5, 5.5, 6]}, "order: line 2: a whole number expected, got 5.5"),
        ({"quantity": [1, 0, 1]}, "quantity: line 2: a whole number of units >= 1 expected"),
        ({"unit_weight_lb": [1.0, 1.0, -2.0]}, "unit_weight_lb: line 3: a finite number"),
        ({"height_in": [12.0, 0.0, 12.0]}, "height_in: line 2: a finite number above zero"),
    ],
)
def test_bad_lines_are_named(change: dict[str, list[float]], message: str) -> None:
    base: dict[str, list[float]] = {"order": [5, 5, 6], "quantity": [1, 2, 3]}
    base["unit_weight_lb"] = [10.0, 10.0, 10.0]
    data = lines(**{**base, **change})
    with pytest.raises(ParameterError, match=re.escape(message)):
        build_shipments(data, TARIFF, SHIP)


def test_an_order_bigger_than_a_trailer_is_named_by_its_first_line() -> None:
    # 30 pallets of 56 cubes: 30 floor positions > 26
    data = lines(order=[4, 9], quantity=[10, 56 * 30], unit_weight_lb=[1.0, 1.0])
    with pytest.raises(
        ParameterError, match=re.escape("quantity: line 2: order 9 packs to 2,880 lb on 30")
    ):
        build_shipments(data, TARIFF, SHIP)
