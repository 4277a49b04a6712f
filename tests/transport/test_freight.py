"""NMFC density classes against the published scales and worked examples
(../shared/reference/freight.md, sections 2, 3.1, 4.3, 4.4 and 7), boundaries exact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spareflow.errors import ParameterError
from spareflow.transport.freight import (
    NMFC_11SUB_2017,
    NMFC_13SUB_2025_1,
    class_of_density,
    classify,
    exact_density,
    scale_on,
)

NEW, OLD = date(2025, 7, 19), date(2025, 7, 18)

# the published bands: (lower bound inclusive, class), 13-sub and 11-sub
BANDS_2025 = [
    ("0", "400"), ("1", "300"), ("2", "250"), ("4", "175"), ("6", "125"), ("8", "100"),
    ("10", "92.5"), ("12", "85"), ("15", "70"), ("22.5", "65"), ("30", "60"), ("35", "55"),
    ("50", "50"),
]  # fmt: skip
BANDS_2017 = BANDS_2025[:11]


def one(length: str, width: str, height: str, weight: str, on: date = NEW, **kw: str) -> str:
    result = classify(
        np.array([float(length)]),
        np.array([float(width)]),
        np.array([float(height)]),
        np.array([float(weight)]),
        np.array([on], dtype="datetime64[D]"),
        **kw,  # type: ignore[arg-type]
    )
    return str(result.freight_class[0])


@pytest.mark.parametrize(("bands", "on"), [(BANDS_2025, NEW), (BANDS_2017, OLD)])
def test_every_band_edge_is_lower_inclusive(bands: list[tuple[str, str]], on: date) -> None:
    for (lower, freight_class), below in zip(bands[1:], bands, strict=False):
        assert class_of_density(lower, on) == freight_class, lower
        just_below = Decimal(lower) - Decimal("0.001")
        assert class_of_density(just_below, on) == below[1], just_below
    assert class_of_density("1000", on) == bands[-1][1]


def test_the_scale_changes_on_19_july_2025() -> None:
    assert scale_on(OLD) is NMFC_11SUB_2017 and scale_on(NEW) is NMFC_13SUB_2025_1
    assert scale_on(date(2017, 8, 5)) is NMFC_11SUB_2017
    with pytest.raises(ParameterError, match="before 2017-08-05"):
        scale_on(date(2017, 8, 4))
    # only freight at 35 pcf or more rates differently
    assert [class_of_density(d, OLD) for d in ("34.999", "35", "50")] == ["60", "60", "60"]
    assert [class_of_density(d, NEW) for d in ("34.999", "35", "50")] == ["60", "55", "50"]


@pytest.mark.parametrize(
    ("dims", "weight", "cubic_feet", "pcf", "new", "old"),
    [  # reference section 7: worked examples (ft3 and pcf to 2 decimals as printed)
        ((48, 40, 48), 400, 53.33, 7.50, "125", "125"),
        ((48, 40, 48), 100, 53.33, 1.88, "300", "300"),
        ((48, 40, 48), 250, 53.33, 4.69, "175", "175"),
        ((48, 48, 48), 511, 64.00, 7.98, "125", "125"),
        ((48, 48, 48), 512, 64.00, 8.00, "100", "100"),
        ((48, 40, 60), 1300, 66.67, 19.50, "70", "70"),
        ((48, 40, 30), 1500, 33.33, 45.00, "55", "60"),
        ((48, 40, 36), 2400, 40.00, 60.00, "50", "60"),
    ],
)
def test_the_worked_examples(
    dims: tuple[int, int, int], weight: int, cubic_feet: float, pcf: float, new: str, old: str
) -> None:
    result = classify(*(np.array([float(d)]) for d in dims), np.array([float(weight)]))
    assert round(float(result.cubic_feet[0]), 2) == cubic_feet
    assert round(float(result.density_pcf[0]), 2) == pcf
    assert one(*map(str, dims), str(weight), NEW) == new
    assert one(*map(str, dims), str(weight), OLD) == old


def test_rounding_policies_reproduce_the_reference_example() -> None:
    # 48 x 40 pallet at 615 lb, height 46 3/8 in: exact 92.5, nearest 85, ceil 92.5
    assert one("48", "40", "46.375", "615") == "92.5"
    assert one("48", "40", "46.375", "615", rounding="nearest") == "85"
    assert one("48", "40", "46.375", "615", rounding="ceil") == "92.5"
    assert round(float(exact_density(*map(Fraction, ("48", "40", "46.375", "615")))), 2) == 11.94


def test_units_exactly_on_a_break_are_decided_exactly() -> None:
    # 48 x 48 x 48 is 64 ft3: 8 pcf at 512 lb, 12 at 768, 22.5 at 1440, 35 at 2240
    for weight, expected in [(512, "100"), (768, "85"), (1440, "65"), (2240, "55"), (3200, "50")]:
        assert one("48", "48", "48", str(weight)) == expected
    # 0.1 ft sides that are not binary fractions: 12.3 x 10 x 14.049... kept exact by decimals
    pcf = exact_density(Fraction("12.3"), Fraction("10"), Fraction("14.4"), Fraction("10.2"))
    assert one("12.3", "10", "14.4", "10.2") == class_of_density(
        Decimal(pcf.numerator) / Decimal(pcf.denominator), NEW
    )


def test_missing_or_zero_measures_take_the_lightest_class_and_are_flagged() -> None:
    result = classify(
        np.array([48.0, np.nan, 48.0]),
        np.array([40.0, 40.0, 40.0]),
        np.array([48.0, 48.0, 0.0]),
        np.array([400.0, 400.0, 400.0]),
    )
    assert result.freight_class.tolist() == ["125", "400", "400"]
    assert result.density_known.tolist() == [True, False, False]
    assert np.isnan(result.density_pcf[1])


def test_bad_measures_are_refused_by_name() -> None:
    with pytest.raises(ParameterError, match=r"weight_lb.*unit 2"):
        classify(*(np.ones(2),) * 3, np.array([1.0, -1.0]))
    with pytest.raises(ParameterError, match="rounding"):
        classify(*(np.ones(1),) * 4, rounding="up")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.decimals("1", "120", places=3),
            st.decimals("1", "120", places=3),
            st.decimals("1", "120", places=3),
            st.decimals("0.5", "5000", places=2),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["exact", "ceil", "nearest"]),
)
def test_vectorised_classes_equal_the_exact_reference(
    units: list[tuple[Decimal, Decimal, Decimal, Decimal]], rounding: str
) -> None:
    columns = [np.array([float(u[i]) for u in units]) for i in range(4)]
    result = classify(*columns, rounding=rounding)  # type: ignore[arg-type]
    for k, unit in enumerate(units):
        pcf = exact_density(*(Fraction(v) for v in unit), rounding=rounding)  # type: ignore[arg-type]
        expected = next(c for lower, c in NMFC_13SUB_2025_1.bands if pcf >= lower)
        assert result.freight_class[k] == expected
