"""Packing order lines into handling units: hand-worked packings (the arithmetic written
out), weight- and volume-bound pallets, lines split across pallets, oversize units, a
unit-by-unit first-fit-decreasing oracle and conservation on random instances."""

from __future__ import annotations

import math
import re
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from spareflow.errors import ParameterError
from spareflow.transport.packing import STANDARD_PALLET, Packing, PalletSpec, classify_units, pack

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# the standard pallet: 48 x 40 in, 60 in of goods at 85 % fill on a 6 in deck, 40 lb tare,
# 2,500 lb gross
USABLE = 48 * 40 * 60 * 0.85  # 97,920 in^3 of goods
PAYLOAD = 2_500 - 40  # 2,460 lb of goods
PER_INCH = 48 * 40 * 0.85  # 1,632 in^3 of goods per inch of load height


def cubes(
    group: list[int], quantity: list[int], weight: list[float], side: float = 12.0
) -> Packing:
    n = len(group)
    return pack(group, quantity, weight, [side] * n, [side] * n, [side] * n)


def test_the_standard_pallet() -> None:
    assert STANDARD_PALLET.usable_cubic_in == pytest.approx(97_920.0)
    assert STANDARD_PALLET.payload_lb == 2_460.0 and STANDARD_PALLET.footprint_in2 == 1_920.0


def test_a_volume_bound_line_is_split_across_two_pallets() -> None:
    # 100 cubes of 12 in (1,728 in^3, 10 lb): floor(97,920 / 1,728) = 56 by cube,
    # floor(2,460 / 10) = 246 by weight, so 56 a pallet: 56 + 44
    p = cubes([1], [100], [10.0])
    assert p.pieces.tolist() == [56, 44] and p.loose.tolist() == [False, False]
    assert p.goods_cubic_in.tolist() == [96_768.0, 76_032.0]  # 56 and 44 x 1,728
    # goods height: 96,768 / 1,632 = 59.29 -> 60 in; 76,032 / 1,632 = 46.59 -> 47 in;
    # plus the 6 in deck
    assert p.height_in.tolist() == [66.0, 53.0]
    assert p.length_in.tolist() == [48.0, 48.0] and p.width_in.tolist() == [40.0, 40.0]
    assert p.weight_lb.tolist() == [600.0, 480.0]  # 560 + 40 tare, 440 + 40 tare
    assert p.line.tolist() == [0, 0] and p.unit.tolist() == [0, 1]
    assert p.quantity.tolist() == [56, 44] and p.group.tolist() == [1, 1]


def test_a_weight_bound_line() -> None:
    # 30 cubes of 12 in at 100 lb: floor(2,460 / 100) = 24 by weight (56 by cube): 24 + 6
    p = cubes([1], [30], [100.0])
    assert p.pieces.tolist() == [24, 6]
    assert p.weight_lb.tolist() == [2_440.0, 640.0]  # 2,400 + 40, 600 + 40
    # 24 x 1,728 = 41,472 in^3 / 1,632 = 25.41 -> 26 in (+ 6 = 32); 6 x 1,728 = 10,368
    # / 1,632 = 6.35 -> 7 in, but a 12 in cube stands 12 in: 12 + 6 = 18
    assert p.height_in.tolist() == [32.0, 18.0]
    assert p.goods_cubic_in.tolist() == [41_472.0, 10_368.0]


def test_first_fit_decreasing_goes_back_to_an_earlier_pallet() -> None:
    # given small-first; packed largest first:
    # A (line 1): 10 x 24x20x20 = 9,600 in^3, 50 lb -> pallet 0 holds 96,000, 1,920 left
    # B (line 2): 5 x 25x20x10 = 5,000 in^3, 20 lb -> no room on 0: pallet 1, 25,000
    # C (line 0): 3 x 10x10x10 = 1,000 in^3, 5 lb -> 1 on pallet 0 (1,920 // 1,000), 2 on 1
    p = pack([5, 5, 5], [3, 10, 5], [5.0, 50.0, 20.0], [10, 24, 25], [10, 20, 20], [10, 20, 10])
    assert p.line.tolist() == [0, 1, 0, 2] and p.unit.tolist() == [0, 0, 1, 1]
    assert p.quantity.tolist() == [1, 10, 2, 5] and p.pieces.tolist() == [11, 7]
    assert p.goods_cubic_in.tolist() == [97_000.0, 27_000.0]
    assert p.weight_lb.tolist() == [545.0, 150.0]  # 500 + 5 + 40; 100 + 10 + 40
    # 97,000 / 1,632 = 59.44 -> 60 (+ 6); 27,000 / 1,632 = 16.54 -> 17 (+ 6)
    assert p.height_in.tolist() == [66.0, 23.0]


def test_groups_never_share_a_pallet_and_are_numbered_in_ascending_order() -> None:
    p = cubes([9, 3, 9, 3], [1, 2, 3, 4], [1.0, 1.0, 1.0, 1.0])
    assert p.group.tolist() == [3, 9] and p.pieces.tolist() == [6, 4]
    assert p.line.tolist() == [1, 3, 0, 2] and p.unit.tolist() == [0, 0, 1, 1]
    # 6 x 1,728 = 10,368 in^3 -> 7 in, raised to the 12 in cube; + 6 in deck
    assert p.height_in.tolist() == [18.0, 18.0] and p.weight_lb.tolist() == [46.0, 44.0]


def test_oversize_units_ship_on_their_own_and_rotation_is_allowed() -> None:
    p = pack(
        [2, 1, 1, 2, 1, 1],
        [2, 2, 2, 1, 1, 1],
        [30.0, 40.0, 3_000.0, 5.0, 100.0, 2_460.0],
        [55, 72, 10, 10, 40, 10],
        [30, 30, 10, 10, 48, 10],
        [20, 20, 10, 10, 60, 10],
    )
    # line 0: 55 x 30 x 20 fits the 40 x 48 x 60 load space on its side (20, 30, 55);
    # line 1: 72 in is longer than any side; line 2: 3,000 lb is over the 2,460 lb
    # payload; line 4: 40 x 48 x 60 fits the sides but is 115,200 in^3 > 97,920;
    # line 5: exactly the payload, so it goes on a pallet (2,500 lb gross)
    assert p.group.tolist() == [1, 1, 1, 1, 1, 1, 2]
    assert p.loose.tolist() == [False, True, True, True, True, True, False]
    assert p.length_in.tolist() == [48.0, 72.0, 72.0, 10.0, 10.0, 40.0, 48.0]
    assert p.width_in.tolist() == [40.0, 30.0, 30.0, 10.0, 10.0, 48.0, 40.0]
    # pallets: 1,000 in^3 -> 1 in, raised to the 10 in cube; 2 x 33,000 + 1,000 = 67,000
    # in^3 / 1,632 = 41.05 -> 42 in (over the 20 in smallest side)
    assert p.height_in.tolist() == [16.0, 20.0, 20.0, 10.0, 10.0, 60.0, 48.0]
    assert p.weight_lb.tolist() == [2_500.0, 40.0, 40.0, 3_000.0, 3_000.0, 100.0, 105.0]
    assert p.pieces.tolist() == [1, 1, 1, 1, 1, 1, 3]
    assert p.line.tolist() == [5, 1, 1, 2, 2, 4, 0, 3]
    assert p.unit.tolist() == [0, 1, 2, 3, 4, 5, 6, 6]
    assert p.quantity.tolist() == [1, 1, 1, 1, 1, 1, 2, 1]


def test_a_heavier_unit_than_the_payload_is_loose() -> None:
    p = cubes([1, 1], [1, 1], [2_460.5, 2_460.0])
    assert p.loose.tolist() == [False, True] and p.line.tolist() == [1, 0]
    assert p.weight_lb.tolist() == [2_500.0, 2_460.5]


def test_another_pallet_spec() -> None:
    # 48 x 40 x 48 at full fill on a 5 in deck, 50 lb tare, 1,050 lb gross:
    # 92,160 in^3 and 1,000 lb of goods; 12 in cubes at 20 lb: 53 by cube, 50 by weight
    spec = PalletSpec(
        max_load_height_in=48, deck_height_in=5, tare_lb=50, max_gross_lb=1_050, fill_factor=1
    )
    p = pack([1], [120], [20.0], [12.0], [12.0], [12.0], spec)
    assert p.pieces.tolist() == [50, 50, 20]
    # 50 x 1,728 = 86,400 / 1,920 = 45 in exactly; 20 x 1,728 = 34,560 / 1,920 = 18 in
    assert p.height_in.tolist() == [50.0, 50.0, 23.0]
    assert p.weight_lb.tolist() == [1_050.0, 1_050.0, 450.0]


def test_the_units_are_classed_on_the_scale_of_the_ship_date() -> None:
    p = cubes([1], [30], [100.0])
    # 48 x 40 x 32 = 35.56 ft^3 at 2,440 lb = 68.625 pcf; 48 x 40 x 18 = 20 ft^3 at
    # 640 lb = 32 pcf
    new = classify_units(p, date(2025, 8, 1))
    assert new.density_pcf.tolist() == pytest.approx([68.625, 32.0])
    assert new.freight_class.tolist() == ["50", "60"]  # >= 50 and 30 to < 35 pcf
    old = classify_units(p, date(2025, 7, 18))
    assert old.freight_class.tolist() == ["60", "60"]  # the old scale stops at >= 30 -> 60
    assert old.scale_id.tolist() == ["nmfc_11sub_2017"] * 2


def test_no_lines_no_units() -> None:
    p = pack([], [], [], [], [], [])
    assert p.count == 0 and p.line.size == 0 and p.height_in.size == 0


def _reference_ffd(
    group: IntArray, quantity: IntArray, weight: FloatArray, dims: FloatArray
) -> dict[int, list[dict[int, int]]]:
    """Unit-by-unit first fit decreasing, written plainly: per group, the pallets in
    opening order as {line: units}."""
    vol = dims.prod(axis=1)
    box = sorted([48.0, 40.0, 60.0])
    out: dict[int, list[dict[int, int]]] = {}
    for g in sorted(set(group.tolist())):
        lines = [k for k in range(group.size) if group[k] == g]
        on_pallet = [
            k
            for k in lines
            if all(s <= b for s, b in zip(sorted(dims[k]), box, strict=True))
            and weight[k] <= PAYLOAD
            and vol[k] <= USABLE
        ]
        on_pallet.sort(key=lambda k: (-vol[k], k))
        pallets: list[dict[int, int]] = []
        used: list[list[float]] = []
        for k in on_pallet:
            for _ in range(int(quantity[k])):
                fits = (
                    i
                    for i, (c, w) in enumerate(used)
                    if c + vol[k] <= USABLE * (1 + 1e-9) and w + weight[k] <= PAYLOAD * (1 + 1e-9)
                )
                p = next(fits, len(pallets))
                if p == len(pallets):
                    pallets.append({})
                    used.append([0.0, 0.0])
                pallets[p][k] = pallets[p].get(k, 0) + 1
                used[p][0] += vol[k]
                used[p][1] += weight[k]
        out[g] = pallets
    return out


def _instance(seed: int) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    group = rng.integers(0, 4, n)
    quantity = rng.integers(1, 25, n)
    dims = rng.uniform(2, 36, (n, 3)).round(1)
    dims[rng.random(n) < 0.05, 0] = 70.0  # now and then too long for a pallet
    density = np.exp(rng.normal(np.log(12), 1.0, n))  # pcf
    weight = (dims.prod(axis=1) / 1728 * density).round(2) + 0.01
    weight[rng.random(n) < 0.03] = 3_000.0  # now and then too heavy
    return group, quantity, weight, dims


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_every_unit_packed_once_within_the_pallet(seed: int) -> None:
    group, quantity, weight, dims = _instance(seed)
    p = pack(group, quantity, weight, dims[:, 0], dims[:, 1], dims[:, 2])
    n, vol = group.size, dims.prod(axis=1)
    # every unit of every line on exactly one handling unit of its own group
    assert np.bincount(p.line, weights=p.quantity, minlength=n).tolist() == quantity.tolist()
    assert np.all(p.group[p.unit] == group[p.line]) and np.all(p.quantity >= 1)
    assert len(set(zip(p.line.tolist(), p.unit.tolist(), strict=True))) == p.line.size
    assert np.all(np.diff(p.group) >= 0)
    goods_cube = np.bincount(p.unit, weights=p.quantity * vol[p.line], minlength=p.count)
    goods_weight = np.bincount(p.unit, weights=p.quantity * weight[p.line], minlength=p.count)
    assert p.pieces.tolist() == np.bincount(p.unit, weights=p.quantity).astype(int).tolist()
    np.testing.assert_allclose(p.goods_cubic_in, goods_cube)
    pal, loose = ~p.loose, p.loose
    # no pallet over its cube or its weight; its size and gross weight as the rule says
    assert np.all(goods_cube[pal] <= USABLE * (1 + 1e-9))
    assert np.all(goods_weight[pal] <= PAYLOAD * (1 + 1e-9))
    np.testing.assert_allclose(p.weight_lb[pal], goods_weight[pal] + 40)
    assert np.all(p.length_in[pal] == 48) and np.all(p.width_in[pal] == 40)
    need = np.ceil(goods_cube[pal] / PER_INCH - 1e-9)
    assert np.all(p.height_in[pal] >= 6 + need) and np.all(p.height_in[pal] <= 66)
    assert np.all(p.height_in[pal] == np.round(p.height_in[pal]))
    # loose units: one piece of an oversize line, at its own size and weight
    k = p.line[np.isin(p.unit, np.flatnonzero(loose))]
    assert np.all(p.pieces[loose] == 1)
    assert np.all(
        (np.sort(dims[k], axis=1) > [40, 48, 60]).any(axis=1)
        | (weight[k] > PAYLOAD)
        | (vol[k] > USABLE)
    )
    np.testing.assert_array_equal(p.length_in[loose], dims[k, 0])
    np.testing.assert_array_equal(p.weight_lb[loose], weight[k])
    # the same pallets as first fit decreasing done one unit at a time
    expected = _reference_ffd(group, quantity, weight, dims)
    for g, pallets in expected.items():
        units = np.flatnonzero((p.group == g) & pal)
        got = [
            {
                int(line): int(q)
                for line, q in zip(p.line[p.unit == u], p.quantity[p.unit == u], strict=True)
            }
            for u in units
        ]
        assert got == pallets
    # never fewer pallets than the cube or the weight of a group needs
    for g in set(group.tolist()):
        mine = (p.group == g) & pal
        assert mine.sum() >= math.ceil(goods_cube[mine].sum() / USABLE - 1e-9)


def test_twenty_thousand_lines_in_300_groups_are_all_packed() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    group, quantity = rng.integers(0, 300, n), rng.integers(1, 40, n)
    dims = rng.uniform(2, 30, (n, 3))
    weight = dims.prod(axis=1) / 1728 * np.exp(rng.normal(np.log(10), 0.7, n))
    p = pack(group, quantity, weight, dims[:, 0], dims[:, 1], dims[:, 2])
    assert np.bincount(p.line, weights=p.quantity, minlength=n).tolist() == quantity.tolist()
    assert np.all(p.group[p.unit] == group[p.line]) and not p.loose.any()
    cube = np.bincount(p.unit, weights=p.quantity * dims.prod(axis=1)[p.line])
    assert cube.max() <= USABLE * (1 + 1e-9)
    assert p.count >= math.ceil(cube.sum() / USABLE)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("quantity", 0, "quantity: line 2: a whole number of units >= 1 expected, got 0.0"),
        ("quantity", 2.5, "quantity: line 2: a whole number of units >= 1 expected, got 2.5"),
        ("group", 1.5, "group: line 2: a whole number expected, got 1.5"),
        ("unit_weight_lb", -1.0, "unit_weight_lb: line 2: a finite number above zero"),
        ("length_in", float("nan"), "length_in: line 2: a finite number above zero"),
        ("width_in", 0.0, "width_in: line 2: a finite number above zero expected, got 0.0"),
        ("height_in", float("inf"), "height_in: line 2: a finite number above zero"),
    ],
)
def test_bad_lines_are_named(column: str, value: float, message: str) -> None:
    args: dict[str, list[float]] = {
        "group": [1, 1, 2],
        "quantity": [3, 4, 5],
        "unit_weight_lb": [1.0, 2.0, 3.0],
        "length_in": [10.0, 10.0, 10.0],
        "width_in": [10.0, 10.0, 10.0],
        "height_in": [10.0, 10.0, 10.0],
    }
    args[column][1] = value
    with pytest.raises(ParameterError, match=re.escape(message)):
        pack(**args)  # type: ignore[arg-type]


def test_bad_shapes_and_pallets_are_named() -> None:
    with pytest.raises(ParameterError, match=re.escape("width_in: one value per line expected (2")):
        pack([1, 1], [1, 1], [1.0, 1.0], [5.0, 5.0], [5.0], [5.0, 5.0])
    with pytest.raises(ParameterError, match=re.escape("fill_factor: a share in (0, 1], got 1.2")):
        PalletSpec(fill_factor=1.2)
    with pytest.raises(ParameterError, match="max_gross_lb: must exceed the tare"):
        PalletSpec(tare_lb=60, max_gross_lb=50)
    with pytest.raises(ParameterError, match="deck_height_in: must be a finite number >= 0"):
        PalletSpec(deck_height_in=-1)
    with pytest.raises(ParameterError, match="length_in: must be a finite number above zero"):
        PalletSpec(length_in=0)
