"""Demand classification on hand-computed examples: ADI/CV², the SBC classes, ABC and XYZ.

ADI = observed periods / periods with demand; CV² = population variance of the nonzero
sizes / their mean squared (0 with a single demand). SBC cut-offs 1.32 / 0.49; a value
exactly at a cut-off belongs to the higher class (ADI >= 1.32 is intermittent/lumpy,
CV² >= 0.49 is erratic/lumpy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spareflow.demand.classify import (
    Cutoffs,
    abc_class,
    adi_cv2,
    classify,
    coefficient_of_variation,
    sbc_class,
    xyz_class,
)
from spareflow.errors import ParameterError

NAN = np.nan


def one(row: list[float]) -> tuple[float, float, str]:
    adi, cv2 = adi_cv2(np.array([row], dtype=np.float64))
    cls = sbc_class(adi, cv2)
    return float(adi[0]), float(cv2[0]), str(cls[0])


# --------------------------------------------------------------------------- ADI / CV²


def test_intermittent_example_from_the_brief() -> None:
    # 6 periods, 2 with demand -> ADI 6/2 = 3; sizes 3, 3 -> CV² 0
    assert one([0, 0, 3, 0, 0, 3]) == (3.0, 0.0, "intermittent")


def test_smooth_example() -> None:
    # every period has demand -> ADI 1; sizes 2,3,2,3: mean 2.5, var 0.25 -> CV² 0.25/6.25 = 0.04
    adi, cv2, cls = one([2, 3, 2, 3])
    assert adi == 1.0
    assert cv2 == pytest.approx(0.04, rel=1e-15)
    assert cls == "smooth"


def test_erratic_example() -> None:
    # ADI 1; sizes 1,9,1,9: mean 5, var 16 -> CV² 16/25 = 0.64
    adi, cv2, cls = one([1, 9, 1, 9])
    assert (adi, cls) == (1.0, "erratic")
    assert cv2 == pytest.approx(0.64, rel=1e-15)


def test_lumpy_example() -> None:
    # 6 periods, 2 demands -> ADI 3; sizes 1, 9: mean 5, var 16 -> CV² 0.64
    adi, cv2, cls = one([0, 1, 0, 0, 9, 0])
    assert (adi, cls) == (3.0, "lumpy")
    assert cv2 == pytest.approx(0.64, rel=1e-15)


def test_no_demand_is_none_with_infinite_adi() -> None:
    adi, cv2, cls = one([0, 0, 0, 0])
    assert math.isinf(adi)
    assert cv2 == 0.0
    assert cls == "none"


def test_single_demand_has_cv2_zero() -> None:
    # 4 periods, one demand of 5 -> ADI 4, CV² 0 (one size has no spread)
    assert one([0, 0, 0, 5]) == (4.0, 0.0, "intermittent")


def test_leading_nan_periods_are_not_observed() -> None:
    # observed: 0, 4, 0, 4 -> ADI 4/2 = 2 (the 2 NaN periods do not count, zeros would: 6/2 = 3)
    assert one([NAN, NAN, 0, 4, 0, 4]) == (2.0, 0.0, "intermittent")
    assert one([0, 0, 0, 4, 0, 4])[0] == 3.0


def test_cv2_uses_population_variance_of_nonzero_sizes() -> None:
    # sizes 2, 4, 6 (zeros ignored): mean 4, population var 8/3 -> CV² (8/3)/16 = 1/6
    # (sample variance would give 4/16 = 0.25)
    adi, cv2, _ = one([2, 0, 4, 0, 6, 0])
    assert adi == 2.0
    assert cv2 == pytest.approx(1.0 / 6.0, rel=1e-14)


def test_adi_exactly_at_cutoff_goes_to_the_intermittent_side() -> None:
    # 33 periods, 25 with demand: ADI = 33/25 = 1.32 exactly (as a double, the same as 1.32)
    row = [2.0] * 25 + [0.0] * 8
    adi, cv2, cls = one(row)
    assert (adi, cv2) == (1.32, 0.0)
    assert cls == "intermittent"
    # one more demand: 33/26 < 1.32 -> smooth
    row2 = [2.0] * 26 + [0.0] * 7
    assert one(row2)[2] == "smooth"


def test_cv2_exactly_at_cutoff_goes_to_the_variable_side() -> None:
    # sizes 17, 3: mean 10, population var 49 -> CV² 49/100 = 0.49 exactly
    adi, cv2, cls = one([17, 3])
    assert (adi, cv2, cls) == (1.0, 0.49, "erratic")
    adi, cv2, cls = one([0, 17, 0, 3])
    assert (adi, cv2, cls) == (2.0, 0.49, "lumpy")


def test_sbc_class_at_and_just_below_both_cutoffs() -> None:
    below_adi = np.nextafter(1.32, 0.0)
    below_cv2 = np.nextafter(0.49, 0.0)
    adi = np.array([below_adi, below_adi, 1.32, 1.32, below_adi, 1.32, np.inf])
    cv2 = np.array([below_cv2, 0.49, below_cv2, 0.49, 0.0, 5.0, 0.0])
    got = sbc_class(adi, cv2).tolist()
    assert got == ["smooth", "erratic", "intermittent", "lumpy", "smooth", "lumpy", "none"]


def test_custom_sbc_cutoffs() -> None:
    # ADI 2, CV² 0.25: default -> intermittent; with adi 2.5 / cv2 0.2 -> erratic
    adi, cv2 = np.array([2.0]), np.array([0.25])
    assert sbc_class(adi, cv2).tolist() == ["intermittent"]
    assert sbc_class(adi, cv2, Cutoffs(adi=2.5, cv2=0.2)).tolist() == ["erratic"]
    assert sbc_class(adi, cv2, Cutoffs(adi=2.0, cv2=0.25)).tolist() == ["lumpy"]


def test_classify_matrix_all_classes_at_once() -> None:
    y = np.array(
        [
            [2, 3, 2, 3, 2, 3],  # smooth
            [1, 9, 1, 9, 1, 9],  # erratic
            [0, 0, 3, 0, 0, 3],  # intermittent
            [0, 1, 0, 0, 9, 0],  # lumpy
            [0, 0, 0, 0, 0, 0],  # none
            [NAN, NAN, NAN, 0, 5, 5],  # ADI 3/2 = 1.5, CV² 0 -> intermittent
        ],
        dtype=np.float64,
    )
    c = classify(y)
    assert c.demand_class.tolist() == [
        "smooth",
        "erratic",
        "intermittent",
        "lumpy",
        "none",
        "intermittent",
    ]
    np.testing.assert_allclose(c.adi, [1, 1, 3, 3, np.inf, 1.5], rtol=1e-15)
    np.testing.assert_allclose(c.cv2, [0.04, 0.64, 0, 0.64, 0, 0], rtol=1e-14, atol=0)


# --------------------------------------------------------------------------- XYZ


def test_coefficient_of_variation_includes_zeros() -> None:
    y = np.array(
        [
            [2, 2, 2, 2],  # mean 2, std 0 -> 0
            [0, 2, 0, 2],  # mean 1, std 1 -> 1
            [0, 0, 0, 4],  # mean 1, std sqrt(3) -> 1.732
            [1, 3, 1, 3],  # mean 2, std 1 -> 0.5
            [0, 0, 0, 0],  # no demand -> inf
        ],
        dtype=np.float64,
    )
    cv = coefficient_of_variation(y)
    np.testing.assert_allclose(cv[:4], [0.0, 1.0, math.sqrt(3.0), 0.5], rtol=1e-15)
    assert math.isinf(cv[4])


def test_coefficient_of_variation_skips_leading_nan() -> None:
    # observed 0, 2, 0: mean 2/3, population std sqrt(8/9) -> cv sqrt(2)
    y = np.array([[NAN, 0, 2, 0], [2, 2, 2, 2]], dtype=np.float64)
    np.testing.assert_allclose(coefficient_of_variation(y), [math.sqrt(2.0), 0.0], rtol=1e-14)


def test_xyz_classes_and_boundaries() -> None:
    # X: cv <= 0.5, Y: 0.5 < cv <= 1.0, Z: cv > 1.0 (a value at a cut-off stays in the
    # steadier class); no demand (inf) is Z
    cv = np.array([0.0, 0.3, 0.5, np.nextafter(0.5, 1.0), 1.0, np.nextafter(1.0, 2.0), 4.0, np.inf])
    assert xyz_class(cv).tolist() == ["X", "X", "X", "Y", "Y", "Z", "Z", "Z"]
    custom = Cutoffs(xyz=(0.2, 0.4))
    assert xyz_class(np.array([0.2, 0.3, 0.4, 0.5]), custom).tolist() == ["X", "Y", "Y", "Z"]


def test_classify_xyz_from_the_series() -> None:
    y = np.array(
        [[2, 2, 2, 2], [1, 3, 1, 3], [0, 2, 0, 2], [0, 0, 0, 4], [0, 0, 0, 0]], dtype=np.float64
    )
    assert classify(y).xyz.tolist() == ["X", "X", "Y", "Z", "Z"]


# --------------------------------------------------------------------------- ABC


def test_abc_known_values() -> None:
    # total 100, largest first 50, 30, 15, 5; share of value *before* each: 0, .5, .8, .95
    # A while that share < 0.80, B while < 0.95, else C: the 15 (before = 0.80) is B
    assert abc_class(np.array([50.0, 30.0, 15.0, 5.0])).tolist() == ["A", "A", "B", "C"]


def test_abc_order_of_input_does_not_matter() -> None:
    assert abc_class(np.array([5.0, 50.0, 15.0, 30.0])).tolist() == ["C", "A", "B", "A"]


def test_abc_top_series_is_always_a() -> None:
    # one item holds 99 % of the value: it is A though its own share exceeds 80 %
    assert abc_class(np.array([1.0, 99.0])).tolist() == ["C", "A"]
    assert abc_class(np.array([7.0])).tolist() == ["A"]


def test_abc_custom_cutoffs() -> None:
    # cut-offs 0.5 / 0.9: before-shares 0, .5, .8, .95 -> A, B, B, C
    assert abc_class(np.array([50.0, 30.0, 15.0, 5.0]), (0.5, 0.9)).tolist() == ["A", "B", "B", "C"]
    # from a validated Cutoffs (0.6, 0.85): before-shares 0, .6, .85, .95 -> A, B, C, C
    assert abc_class(np.array([60.0, 25.0, 10.0, 5.0]), Cutoffs(abc=(0.6, 0.85)).abc).tolist() == [
        "A",
        "B",
        "C",
        "C",
    ]


def test_abc_ties_and_missing_values() -> None:
    # two equal items 40, 40 then 20: before-shares 0, .4, .8 -> A, A, B; NaN counts as 0 -> C
    assert abc_class(np.array([40.0, 20.0, np.nan, 40.0])).tolist() == ["A", "B", "C", "A"]


def test_abc_no_usage_value_at_all_is_c() -> None:
    assert abc_class(np.array([0.0, 0.0, 0.0])).tolist() == ["C", "C", "C"]


# --------------------------------------------------------------------------- Cutoffs


def test_default_cutoffs() -> None:
    c = Cutoffs()
    assert (c.adi, c.cv2, c.abc, c.xyz) == (1.32, 0.49, (0.80, 0.95), (0.5, 1.0))
    Cutoffs(abc=(0.8, 1.0))  # B may reach 100 %


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"adi": 1.0}, "cutoffs"),
        ({"adi": 0.5}, "cutoffs"),
        ({"cv2": 0.0}, "cutoffs"),
        ({"cv2": -0.1}, "cutoffs"),
        ({"abc": (0.95, 0.8)}, "abc"),
        ({"abc": (0.8, 0.8)}, "abc"),
        ({"abc": (0.0, 0.9)}, "abc"),
        ({"abc": (0.8, 1.01)}, "abc"),
        ({"xyz": (1.0, 0.5)}, "xyz"),
        ({"xyz": (0.5, 0.5)}, "xyz"),
        ({"xyz": (0.0, 1.0)}, "xyz"),
    ],
)
def test_invalid_cutoffs_raise_parameter_error(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ParameterError) as info:
        Cutoffs(**kwargs)  # type: ignore[arg-type]
    assert info.value.name == name


def test_abc_without_any_usage_value_is_all_c() -> None:
    assert abc_class(np.zeros(3)).tolist() == ["C", "C", "C"]
    assert abc_class(np.array([0.0, 4.0, 0.0])).tolist() == ["C", "A", "C"]
