"""LTL rating against the reference's rules and worked numbers (freight.md, section 8):
deficit weight, mixed classes, discount and floors, FAK, fuel, accessorials."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spareflow.errors import ParameterError
from spareflow.transport.rating import CLASSES, ClassRateTariff, class_index, rate_ltl

BREAKS = np.array([0.0, 500, 1000, 2000, 5000, 10000, 20000])
# class 125 on lane A-B: L5C 60, M5C 45, M1M 38 (the reference's invented example), then lower
C125 = [60.0, 45.0, 38.0, 30.0, 24.0, 20.0, 16.0]


def tariff(**kw: object) -> ClassRateTariff:
    rates = np.full((2, len(CLASSES), len(BREAKS)), np.nan)
    for c in range(len(CLASSES)):  # rates rise with the class, fall with the weight
        rates[:, c, :] = np.array(C125) * (0.5 + c / 20)
    rates[:, CLASSES.index("125"), :] = C125
    defaults: dict[str, object] = {
        "name": "test",
        "lanes": ("A-B", "A-C"),
        "breaks_lb": BREAKS,
        "rates": rates,
        "minimum_charge": np.zeros(2),
        "absolute_minimum_charge": np.zeros(2),
    }
    return ClassRateTariff(**{**defaults, **kw})  # type: ignore[arg-type]


def one(t: ClassRateTariff, weight: float, cls: str = "125", **kw: object) -> float:
    rated = rate_ltl(
        t, np.array([0]), np.array([0]), class_index([cls], t.fak), np.array([weight]), **kw
    )  # type: ignore[arg-type]
    return float(rated.total[0])


def test_deficit_weight_rating_as_in_the_reference() -> None:
    t = tariff()
    assert one(t, 400) == pytest.approx(225.00)  # billed as 500 lb at M5C
    assert one(t, 370) == pytest.approx(222.00)  # below the break-even: own group
    assert one(t, 375) == pytest.approx(225.00)  # the break-even, 500 x 45 / 60
    rated = rate_ltl(t, np.array([0]), np.array([0]), class_index(["125"], {}), np.array([400.0]))
    assert rated.billed_weight_lb[0] == 500 and rated.weight_lb[0] == 400


def oracle(weight: float, rates_by_break: dict[float, float]) -> float:
    """The reference's rate_with_deficit, written out: own group, or any heavier break."""
    own = max(b for b in rates_by_break if b <= weight)
    best = weight / 100 * rates_by_break[own]
    for brk, rate in rates_by_break.items():
        if brk > weight:
            best = min(best, brk / 100 * rate)
    return best


@settings(max_examples=200, deadline=None)
@given(st.floats(1, 30000), st.sampled_from(CLASSES))
def test_single_class_shipments_match_the_reference_oracle(weight: float, cls: str) -> None:
    t = tariff()
    expected = oracle(
        weight, dict(zip(BREAKS.tolist(), t.rates[0, CLASSES.index(cls)], strict=True))
    )
    assert one(t, weight, cls) == pytest.approx(expected, rel=1e-12)


def test_mixed_classes_share_the_weight_group_and_deficit_takes_the_lowest_rate() -> None:
    t = tariff()
    r70, r125 = t.rates[0, CLASSES.index("70")], t.rates[0, CLASSES.index("125")]
    rated = rate_ltl(
        t, np.array([0, 0]), np.array([0, 0]), class_index(["70", "125"], {}),
        np.array([300.0, 150.0]),
    )  # fmt: skip
    own = 3.0 * r70[0] + 1.5 * r125[0]  # 450 lb: both lines in L5C
    at_500 = 3.0 * r70[1] + 1.5 * r125[1] + 0.5 * min(r70[1], r125[1])
    assert rated.gross[0] == pytest.approx(min(own, at_500))
    assert rated.billed_weight_lb[0] == (500 if at_500 < own else 450)


def test_discount_then_the_higher_of_minimum_and_absolute_minimum() -> None:
    t = tariff(
        discount=0.7,
        minimum_charge=np.array([80.0, 0]),
        absolute_minimum_charge=np.array([95.0, 0]),
    )
    assert one(t, 100) == pytest.approx(95.0)  # 60 x 0.3 = 18 net, floored at 95
    assert one(t, 4000) == pytest.approx(40 * 30 * 0.3)  # above the floors
    rated = rate_ltl(t, np.array([0]), np.array([0]), class_index(["125"], {}), np.array([100.0]))
    assert bool(rated.floor_applied[0])


def test_fak_rates_the_mapped_class_fuel_on_net_and_accessorials_on_top() -> None:
    t = tariff(
        fak={"250": "125", "300": "125"}, fuel_surcharge=0.25, accessorials={"liftgate": 75.0}
    )
    assert one(t, 370, "250") == pytest.approx(222.0 * 1.25)
    assert one(t, 370, "300", accessorials=[["liftgate"]]) == pytest.approx(222.0 * 1.25 + 75)
    with pytest.raises(ParameterError, match="'inside' is not in the tariff"):
        one(t, 370, accessorials=[["inside"]])


def test_many_shipments_at_once_equal_each_alone() -> None:
    t = tariff(discount=0.6, absolute_minimum_charge=np.array([90.0, 110.0]), fuel_surcharge=0.2)
    rng = np.random.default_rng(3)
    shipment = np.sort(rng.integers(0, 40, 120))
    shipment = np.unique(shipment, return_inverse=True)[1]
    lane_of = rng.integers(0, 2, shipment.max() + 1)
    classes = rng.choice(["55", "70", "85", "125", "250"], shipment.size)
    weights = rng.uniform(20, 3000, shipment.size)
    together = rate_ltl(t, shipment, lane_of[shipment], class_index(list(classes), {}), weights)
    for s in range(shipment.max() + 1):
        lines = shipment == s
        alone = rate_ltl(
            t, np.zeros(lines.sum(), dtype=np.intp), lane_of[shipment][lines],
            class_index(list(classes[lines]), {}), weights[lines],
        )  # fmt: skip
        assert together.total[s] == pytest.approx(alone.total[0], rel=1e-12)


def test_bad_input_is_named() -> None:
    t = tariff()
    with pytest.raises(ParameterError, match="line 1: '45' is not an NMFC class"):
        class_index(["45"], {})
    with pytest.raises(ParameterError, match="same lane"):
        rate_ltl(t, np.array([0, 0]), np.array([0, 1]), np.array([10, 10]), np.array([1.0, 1.0]))
    with pytest.raises(ParameterError, match="line 2: must be above zero"):
        rate_ltl(t, np.array([0, 0]), np.array([0, 0]), np.array([10, 10]), np.array([1.0, 0.0]))
    with pytest.raises(ParameterError, match="no rates for lane 'X-Y'"):
        t.lane_index(["A-B", "X-Y"])
    with pytest.raises(ParameterError, match="fak"):
        tariff(fak={"45": "70"})


def test_the_reference_worked_pipeline_to_206_60() -> None:
    # 48 x 40 x 48 in, 400 lb -> class 125 -> $225.00 billed as 500 lb -> 70 % off -> $67.50
    # -> AMC $95.00 -> fuel 28 % = $26.60 -> liftgate $85.00 -> $206.60 (section 8.9)
    t = tariff(
        discount=0.70,
        absolute_minimum_charge=np.array([95.0, 95.0]),
        fuel_surcharge=0.28,
        accessorials={"liftgate": 85.0},
    )
    rated = rate_ltl(
        t, np.array([0]), np.array([0]), class_index(["125"], {}), np.array([400.0]),
        [["liftgate"]],
    )  # fmt: skip
    assert rated.gross[0] == pytest.approx(225.00)
    assert rated.net_linehaul[0] == pytest.approx(95.00) and bool(rated.floor_applied[0])
    assert rated.fuel[0] == pytest.approx(26.60)
    assert rated.total[0] == pytest.approx(206.60)
