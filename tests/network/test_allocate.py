"""Allocation by priority class with fair shares, and greedy lateral transshipments, against
hand-worked examples and naive per-item (per-shortage) loops on random instances."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from spareflow.errors import ParameterError
from spareflow.network.allocate import (
    EQUIPMENT_DOWN,
    REPLENISHMENT,
    SERVICE_CONTRACT,
    Allocation,
    Lanes,
    Transshipments,
    allocate,
    transshipments,
)

DOWN, CONTRACT, REPL = EQUIPMENT_DOWN, SERVICE_CONTRACT, REPLENISHMENT


def run(
    pool: list[float],
    item: list[int],
    site: list[int],
    quantity: list[float],
    priority: list[int],
    integer: bool = False,
) -> Allocation:
    return allocate(
        np.array(pool, dtype=float),
        np.array(item, dtype=np.intp),
        np.array(site, dtype=np.intp),
        np.array(quantity, dtype=float),
        np.array(priority, dtype=np.intp),
        integer=integer,
    )


# --- allocate ------------------------------------------------------------------------


@pytest.mark.parametrize("integer", [False, True])
def test_the_worked_example(integer: bool) -> None:
    # 10 units: equipment down at A asks 4 -> 4 (6 left); contracts at B (6) and C (3) ask
    # 9 > 6: fair shares 6 x 6/9 = 4 and 6 x 3/9 = 2; replenishment (5) gets nothing
    got = run([10], [0, 0, 0, 0], [0, 1, 2, 3], [4, 6, 3, 5], [DOWN, CONTRACT, CONTRACT, REPL])
    assert got.allocated.tolist() == [4, 4, 2, 0]
    assert got.short.tolist() == [0, 2, 1, 5]
    assert got.left_over.tolist() == [0]


def test_largest_remainder_gives_the_odd_unit_to_the_largest_fraction() -> None:
    # 7 units for 5 + 3 + 2 = 10 asked: exact shares 3.5, 2.1, 1.4; floors 3, 2, 1 (6), the
    # one unit left goes to the largest remainder (.5, site 0)
    pool, item, site, asked = [7.0], [0, 0, 0], [0, 1, 2], [5.0, 3.0, 2.0]
    whole = run(pool, item, site, asked, [CONTRACT] * 3, integer=True)
    assert whole.allocated.tolist() == [4, 2, 1]
    exact = run(pool, item, site, asked, [CONTRACT] * 3)
    assert np.allclose(exact.allocated, [3.5, 2.1, 1.4], rtol=0, atol=1e-12)


def test_equal_remainders_go_to_the_larger_demand_then_the_lower_site() -> None:
    # 5 units for 3 (site 0) + 7 (site 1): 1.5 and 3.5, equal remainders: the larger demand
    got = run([5], [0, 0], [0, 1], [3, 7], [REPL, REPL], integer=True)
    assert got.allocated.tolist() == [1, 4]
    # 3 units for 2 + 2 at sites 4 and 1 (listed in that order): 1.5 each, site 1 wins
    got = run([3], [0, 0], [4, 1], [2, 2], [DOWN, DOWN], integer=True)
    assert got.allocated.tolist() == [1, 2]


def test_shares_are_per_site_and_a_site_fills_its_demands_in_input_order() -> None:
    # site 0 asks 3 + 2, site 1 asks 5; 6 units -> 3 and 3 per site; site 0's first
    # demand takes its 3, the second nothing
    got = run([6], [0, 0, 0], [0, 1, 0], [3, 5, 2], [CONTRACT] * 3, integer=True)
    assert got.allocated.tolist() == [3, 3, 0]
    assert got.short.tolist() == [0, 2, 2]


def test_items_are_independent_and_left_over_is_per_item() -> None:
    # item 0: 4 units, asked 1 (down) and 2 (contract): all served, 1 left.
    # item 1: 3 units, asked 2 + 2 (down, sites 0 and 1) -> 1.5 / 1.5 -> 2 / 1 by site index;
    # item 2: nothing asked
    got = run(
        [4, 3, 9],
        [1, 0, 1, 0],
        [0, 0, 1, 2],
        [2, 1, 2, 2],
        [DOWN, DOWN, DOWN, CONTRACT],
        integer=True,
    )
    assert got.allocated.tolist() == [2, 1, 1, 2]
    assert got.left_over.tolist() == [1, 0, 9]


def test_no_demands_and_zero_demands() -> None:
    empty = run([5, 1], [], [], [], [])
    assert (empty.allocated.size, empty.left_over.tolist()) == (0, [5, 1])
    got = run([0, 2], [0, 1, 1], [0, 0, 1], [0, 0, 3], [DOWN, CONTRACT, CONTRACT], integer=True)
    assert got.allocated.tolist() == [0, 0, 2]
    assert got.short.tolist() == [0, 0, 1]


@pytest.mark.parametrize(
    ("args", "integer", "message"),
    [
        (([5], [0, 1], [0, 0], [1, 1], [0, 0]), False, r"item: demand index 1: must be in 0..0"),
        (([5], [0, 0], [0, -1], [1, 1], [0, 0]), False, r"site: demand index 1: must be >= 0"),
        (([5], [0, 0], [0, 0], [1, -2], [0, 0]), False, r"quantity: demand index 1: .* got -2"),
        (([5], [0], [0], [np.inf], [0]), False, r"quantity: demand index 0: must be finite"),
        (([5], [0, 0], [0, 0], [1, 1], [0, -1]), False, r"priority: demand index 1: must be >= 0"),
        (([5], [0, 0], [0, 0], [1, 2.5], [0, 0]), True, r"quantity: demand index 1: .*whole"),
        (([5.5], [0], [0], [1], [0]), True, r"pool: item index 0: must be a whole number"),
        (([-1], [0], [0], [1], [0]), False, r"pool: item index 0: must be finite and >= 0"),
        (([5], [0, 0], [0], [1, 1], [0, 0]), False, r"demand: item, site, quantity, priority"),
    ],
)
def test_bad_demands_are_refused_naming_field_and_row(
    args: tuple[list[float], list[int], list[int], list[float], list[int]],
    integer: bool,
    message: str,
) -> None:
    with pytest.raises(ParameterError, match=message):
        run(*args, integer=integer)


def naive_allocate(
    pool: list[int],
    item: list[int],
    site: list[int],
    quantity: list[int],
    priority: list[int],
    integer: bool,
) -> list[Fraction]:
    """One item, one class at a time, in exact fractions."""
    out = [Fraction(0)] * len(item)
    for i, stock in enumerate(pool):
        left = Fraction(stock)
        for c in sorted({priority[d] for d in range(len(item)) if item[d] == i}):
            rows = [d for d in range(len(item)) if item[d] == i and priority[d] == c]
            asked: dict[int, int] = {}
            for d in rows:
                asked[site[d]] = asked.get(site[d], 0) + quantity[d]
            total = sum(asked.values())
            share = {s: Fraction(q) for s, q in asked.items()}
            if total > left:
                share = {s: left * q / total for s, q in asked.items()}
                if integer:
                    whole = {s: Fraction(int(v)) for s, v in share.items()}
                    spare = int(left - sum(whole.values()))
                    ranked = sorted(asked, key=lambda s: (-(share[s] - whole[s]), -asked[s], s))
                    for s in ranked[:spare]:
                        whole[s] += 1
                    share = whole
            for s in asked:  # the site's share down its demands in input order
                rest = share[s]
                for d in rows:
                    if site[d] == s:
                        out[d] = min(rest, Fraction(quantity[d]))
                        rest -= out[d]
            left -= sum(share.values())
    return out


def test_allocations_agree_with_the_naive_loop_and_keep_the_invariants() -> None:
    rng = np.random.default_rng(11)
    fair_splits = 0
    for case in range(300):
        items, sites, m = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(0, 14))
        pool = rng.integers(0, 21, items)
        item, site = rng.integers(0, items, m), rng.integers(0, sites, m)
        quantity = rng.integers(0, 10, m) * (rng.random(m) < 0.9)
        priority = rng.integers(0, 3, m)
        for integer in (True, False):
            got = allocate(
                pool.astype(float), item, site, quantity.astype(float), priority, integer=integer
            )
            want = naive_allocate(
                pool.tolist(),
                item.tolist(),
                site.tolist(),
                quantity.tolist(),
                priority.tolist(),
                integer,
            )
            if integer:
                assert got.allocated.tolist() == [float(w) for w in want], f"case {case}"
                assert np.array_equal(got.allocated, np.round(got.allocated))
            else:
                assert np.allclose(got.allocated, [float(w) for w in want], rtol=1e-12, atol=1e-9)
            # conservation: allocated + left over = pool, per item
            taken = np.bincount(item, weights=got.allocated, minlength=items)
            assert np.allclose(taken + got.left_over, pool, rtol=0, atol=1e-9), f"case {case}"
            assert np.all(got.allocated >= 0)
            assert np.all(got.allocated <= quantity + 1e-9)
            assert np.allclose(got.allocated + got.short, quantity, rtol=0, atol=1e-12)
            # stock left over only where nobody of the item is short
            short_items = np.bincount(item, weights=got.short, minlength=items) > 1e-9
            assert np.all(got.left_over[short_items] < 1e-9), f"case {case}"
            # a class short while a lower class of the same item gets stock: never
            for i in range(items):
                mine = item == i
                if not mine.any():
                    continue
                short_classes = priority[mine & (got.short > 1e-9)]
                fed_classes = priority[mine & (got.allocated > 1e-9)]
                if short_classes.size and fed_classes.size:
                    assert fed_classes.max() <= short_classes.min(), f"case {case}"
                    fair_splits += int(fed_classes.max() == short_classes.min())
    assert fair_splits > 50  # the fair-share branch was exercised


# --- transshipments ------------------------------------------------------------------


def lanes(
    from_site: list[int],
    to_site: list[int],
    days: list[float],
    cost: list[float],
    fixed: list[float] | None = None,
) -> Lanes:
    return Lanes(
        np.array(from_site, dtype=np.intp),
        np.array(to_site, dtype=np.intp),
        np.array(days, dtype=float),
        np.array(cost, dtype=float),
        None if fixed is None else np.array(fixed, dtype=float),
    )


def ship(
    shortages: list[tuple[int, int, float, int]],
    excess: list[tuple[int, int, float]],
    lane: Lanes,
) -> Transshipments:
    s = np.array(shortages, dtype=float).reshape(-1, 4)
    x = np.array(excess, dtype=float).reshape(-1, 3)
    return transshipments(
        s[:, 0].astype(np.intp),
        s[:, 1].astype(np.intp),
        s[:, 2],
        s[:, 3].astype(np.intp),
        x[:, 0].astype(np.intp),
        x[:, 1].astype(np.intp),
        x[:, 2],
        lane,
    )


def moves(got: Transshipments) -> list[tuple[int, int, int, int, float, float, float]]:
    return list(
        zip(
            got.shortage.tolist(),
            got.item.tolist(),
            got.from_site.tolist(),
            got.to_site.tolist(),
            got.quantity.tolist(),
            got.transit_days.tolist(),
            got.cost.tolist(),
            strict=True,
        )
    )


# sites 1 and 2 each hold 5 spare of item 0; site 1 -> 0 is fast and dear (2 days, 10.0
# per unit), site 2 -> 0 slow and cheap (5 days, 1.0)
FAST_DEAR_SLOW_CHEAP = lanes([1, 2], [0, 0], [2.0, 5.0], [10.0, 1.0])


def test_equipment_down_takes_the_fastest_source() -> None:
    got = ship([(0, 0, 3, DOWN)], [(0, 1, 5), (0, 2, 5)], FAST_DEAR_SLOW_CHEAP)
    assert moves(got) == [(0, 0, 1, 0, 3.0, 2.0, 30.0)]
    assert got.excess_left.tolist() == [2, 5]
    assert got.uncovered.tolist() == [0]


@pytest.mark.parametrize("cls", [CONTRACT, REPL])
def test_other_classes_take_the_cheapest_source(cls: int) -> None:
    got = ship([(0, 0, 3, cls)], [(0, 1, 5), (0, 2, 5)], FAST_DEAR_SLOW_CHEAP)
    assert moves(got) == [(0, 0, 2, 0, 3.0, 5.0, 3.0)]


def test_ties_break_on_the_other_criterion() -> None:
    # both lanes take 2 days: down picks the cheaper (site 2, 4.0); both cost 4.0: a
    # contract picks the faster (site 1, 1 day)
    same_days = lanes([1, 2], [0, 0], [2.0, 2.0], [9.0, 4.0])
    assert ship([(0, 0, 1, DOWN)], [(0, 1, 5), (0, 2, 5)], same_days).from_site.tolist() == [2]
    same_cost = lanes([1, 2], [0, 0], [1.0, 3.0], [4.0, 4.0])
    assert ship([(0, 0, 1, REPL)], [(0, 1, 5), (0, 2, 5)], same_cost).from_site.tolist() == [1]


def test_excess_is_never_used_twice_and_classes_go_first() -> None:
    # site 1 has 5 spare. A replenishment shortage of 4 at site 3 is listed before an
    # equipment-down shortage of 4 at site 0: the down one is served first (4), the
    # replenishment gets the last 1 and stays 3 short
    lane = lanes([1, 1], [0, 3], [1.0, 1.0], [2.0, 2.0])
    got = ship([(0, 3, 4, REPL), (0, 0, 4, DOWN)], [(0, 1, 5)], lane)
    assert moves(got) == [(1, 0, 1, 0, 4.0, 1.0, 8.0), (0, 0, 1, 3, 1.0, 1.0, 2.0)]
    assert got.uncovered.tolist() == [3, 0]
    assert got.excess_left.tolist() == [0]


def test_a_shortage_larger_than_one_source_takes_the_next() -> None:
    # 8 short for a contract: the cheap site 2 gives its 5, the dear site 1 the other 3
    got = ship([(0, 0, 8, CONTRACT)], [(0, 1, 5), (0, 2, 5)], FAST_DEAR_SLOW_CHEAP)
    assert moves(got) == [(0, 0, 2, 0, 5.0, 5.0, 5.0), (0, 0, 1, 0, 3.0, 2.0, 30.0)]
    assert got.excess_left.tolist() == [2, 0]


def test_no_lane_no_suggestion_and_other_items_do_not_count() -> None:
    # item 0 short at site 0; item 0 spare at site 2 (no lane 2 -> 0) and item 1 spare at
    # site 1 (lane, but the wrong item)
    got = ship([(0, 0, 2, DOWN)], [(0, 2, 5), (1, 1, 5)], lanes([1], [0], [1.0], [1.0]))
    assert got.quantity.size == 0
    assert got.uncovered.tolist() == [2]
    assert got.excess_left.tolist() == [5, 5]


def test_fixed_cost_per_shipment_counts_per_unit_of_the_move() -> None:
    # lane 1 -> 0: 1.0 per unit + 100 per shipment; lane 2 -> 0: 5.0 per unit. For 10
    # units: 11.0 vs 5.0 per unit (site 2); for 100 units: 2.0 vs 5.0 (site 1)
    lane = lanes([1, 2], [0, 0], [1.0, 1.0], [1.0, 5.0], [100.0, 0.0])
    spare = [(0, 1, 500.0), (0, 2, 500.0)]
    assert moves(ship([(0, 0, 10, REPL)], spare, lane)) == [(0, 0, 2, 0, 10.0, 1.0, 50.0)]
    assert moves(ship([(0, 0, 100, REPL)], spare, lane)) == [(0, 0, 1, 0, 100.0, 1.0, 200.0)]


def test_the_allocation_shortfall_feeds_the_transshipments() -> None:
    # the worked example: B is 2 short, C 1 short, site 3 (replenishment) 5 short; site 4
    # has 4 spare, lanes to B (1 day, 3.0) and to site 3 (1 day, 1.0); none to C
    item, site = np.zeros(4, dtype=np.intp), np.array([0, 1, 2, 3], dtype=np.intp)
    priority = np.array([DOWN, CONTRACT, CONTRACT, REPL], dtype=np.intp)
    got = allocate(np.array([10.0]), item, site, np.array([4.0, 6, 3, 5]), priority)
    lane = lanes([4, 4], [1, 3], [1.0, 1.0], [3.0, 1.0])
    spare = (np.array([0], dtype=np.intp), np.array([4], dtype=np.intp), np.array([4.0]))
    move = transshipments(item, site, got.short, priority, *spare, lane)
    assert moves(move) == [(1, 0, 4, 1, 2.0, 1.0, 6.0), (3, 0, 4, 3, 2.0, 1.0, 2.0)]
    assert move.uncovered.tolist() == [0, 0, 1, 3]


@pytest.mark.parametrize(
    ("shortages", "excess", "lane", "message"),
    [
        (
            [(0, 0, 1, 0)],
            [(0, 1, 1)],
            lanes([1, 2], [0, 2], [1, 1], [1, 1]),
            r"to_site: lane index 1: to_site equals",
        ),
        (
            [(0, 0, 1, 0)],
            [(0, 1, 1)],
            lanes([1], [0], [-1], [1]),
            r"transit_days: lane index 0: must be finite and >= 0",
        ),
        (
            [(0, 0, 1, 0)],
            [(0, 1, 1)],
            lanes([1], [0], [1], [np.nan]),
            r"cost_per_unit: lane index 0: must be finite",
        ),
        (
            [(0, 0, 1, 0)],
            [(0, 1, 1)],
            lanes([1], [0], [1], [1], [-5]),
            r"fixed_cost: lane index 0: .* got -5",
        ),
        (
            [(0, 0, 1, 0)],
            [(0, 1, 1), (0, 2, -3)],
            FAST_DEAR_SLOW_CHEAP,
            r"excess: excess index 1: .* got -3",
        ),
        (
            [(0, 0, 1, 0), (0, -1, 1, 0)],
            [(0, 1, 1)],
            FAST_DEAR_SLOW_CHEAP,
            r"site: shortage index 1: must be >= 0",
        ),
        (
            [(0, 0, -1, 0)],
            [(0, 1, 1)],
            FAST_DEAR_SLOW_CHEAP,
            r"short: shortage index 0: .* got -1",
        ),
        (
            [(0, 0, 1, -1)],
            [(0, 1, 1)],
            FAST_DEAR_SLOW_CHEAP,
            r"priority: shortage index 0",
        ),
    ],
)
def test_bad_transshipment_input_is_refused_naming_field_and_row(
    shortages: list[tuple[int, int, float, int]],
    excess: list[tuple[int, int, float]],
    lane: Lanes,
    message: str,
) -> None:
    with pytest.raises(ParameterError, match=message):
        ship(shortages, excess, lane)


def test_ragged_lanes_are_refused() -> None:
    ragged = Lanes(np.array([1, 2]), np.array([0]), np.array([1.0]), np.array([1.0]))
    with pytest.raises(ParameterError, match="lane: from_site, to_site, transit_days"):
        ship([(0, 0, 1, 0)], [(0, 1, 1)], ragged)


def naive_transshipments(
    short: list[tuple[int, int, float, int]],
    excess: list[tuple[int, int, float]],
    lane: list[tuple[int, int, float, float, float]],
) -> tuple[list[tuple[int, int, int, int, float, float, float]], list[float], list[float]]:
    """Shortages one at a time in (class, input) order; every (source, lane) pair ranked
    by the class's rule, taken down the list while the shortage is open."""
    left = [x[2] for x in excess]
    open_ = [s[2] for s in short]
    out: list[tuple[int, int, int, int, float, float, float]] = []
    for k in sorted(
        (k for k in range(len(short)) if short[k][2] > 0), key=lambda k: (short[k][3], k)
    ):
        it, to, need, cls = short[k]
        pairs = []
        for x, (x_item, x_site, _) in enumerate(excess):
            for j, (a, b, days, unit, fixed) in enumerate(lane):
                if x_item == it and a == x_site and b == to and left[x] > 0:
                    per_unit = unit + fixed / min(need, left[x])
                    rank = (days, per_unit) if cls == DOWN else (per_unit, days)
                    pairs.append((rank, j, x))
        for _, j, x in sorted(pairs):
            take = min(open_[k], left[x])
            if take > 0:
                left[x] -= take
                open_[k] -= take
                cost = take * lane[j][3] + lane[j][4]
                out.append((k, it, excess[x][1], to, take, lane[j][2], cost))
    return out, open_, left


def test_transshipments_agree_with_the_naive_loop() -> None:
    rng = np.random.default_rng(5)
    total_moves = 0
    for case in range(300):
        items, sites = int(rng.integers(1, 4)), int(rng.integers(2, 6))
        ns, nx, nl = int(rng.integers(0, 8)), int(rng.integers(0, 8)), int(rng.integers(0, 12))
        short = [
            (
                int(rng.integers(0, items)),
                int(rng.integers(0, sites)),
                float(rng.integers(0, 9)),
                int(rng.integers(0, 3)),
            )
            for _ in range(ns)
        ]
        excess = [
            (int(rng.integers(0, items)), int(rng.integers(0, sites)), float(rng.integers(0, 7)))
            for _ in range(nx)
        ]
        a = rng.integers(0, sites, nl)
        b = (a + rng.integers(1, sites, nl)) % sites
        lane = [
            (
                int(a[j]),
                int(b[j]),
                float(rng.integers(0, 4)),
                float(rng.integers(0, 4)),
                float(rng.choice([0.0, 0.0, 6.0])),
            )
            for j in range(nl)
        ]
        lane_arrays = lanes(
            [x[0] for x in lane],
            [x[1] for x in lane],
            [x[2] for x in lane],
            [x[3] for x in lane],
            [x[4] for x in lane],
        )
        got = ship(short, excess, lane_arrays)
        want, uncovered, left = naive_transshipments(short, excess, lane)
        assert moves(got) == want, f"case {case}"
        assert got.uncovered.tolist() == uncovered, f"case {case}"
        assert got.excess_left.tolist() == left, f"case {case}"
        total_moves += len(want)
    assert total_moves > 100
