"""ATP and order promising against hand-worked records and a naive promiser that tries
every arrival bucket and every source with plain loops, on random small networks."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from spareflow.errors import ParameterError
from spareflow.network.atp import (
    LATERAL,
    NONE,
    OWN,
    SUPERSESSION,
    Laterals,
    OrderLines,
    Promises,
    cumulative_atp,
    promise,
)


def lines(
    row: list[int], quantity: list[float], bucket: list[int], priority: list[int] | None = None
) -> OrderLines:
    return OrderLines(
        np.array(row, dtype=np.intp),
        np.array(quantity, dtype=float),
        np.array(bucket, dtype=np.intp),
        np.array(priority if priority is not None else [0] * len(row), dtype=np.intp),
    )


def laterals(
    from_row: list[int], to_row: list[int], lead: list[int], cost: list[float]
) -> Laterals:
    return Laterals(
        np.array(from_row, dtype=np.intp),
        np.array(to_row, dtype=np.intp),
        np.array(lead, dtype=np.intp),
        np.array(cost, dtype=float),
    )


# --- cumulative ATP ------------------------------------------------------------------


def test_the_textbook_record_by_hand() -> None:
    # on hand 10, receipt 20 in bucket 3, commitments 5 in 1 and 20 in 4:
    #   net after each bucket   10, 5, 5, 25, 5, 5
    #   ATP = min of net ahead  5, 5, 5, 5, 5, 5 (bucket 4's 20 eats the receipt)
    # second record: commitment 12 (not 20) in 4:
    #   net                     10, 5, 5, 25, 13, 13
    #   ATP                     5, 5, 5, 13, 13, 13
    receipts = np.array([[0, 0, 0, 20, 0, 0], [0, 0, 0, 20, 0, 0]], dtype=float)
    committed = np.array([[0, 5, 0, 0, 20, 0], [0, 5, 0, 0, 12, 0]], dtype=float)
    atp = cumulative_atp(np.array([10.0, 10.0]), receipts, committed)
    assert atp.tolist() == [[5, 5, 5, 5, 5, 5], [5, 5, 5, 13, 13, 13]]


def test_overcommitted_record_floors_at_zero() -> None:
    # on hand 4, commitments 6 in 1, receipt 10 in 3: net 4, -2, -2, 8 -> ATP 0, 0, 0, 8
    atp = cumulative_atp(np.array([4.0]), np.array([[0, 0, 0, 10.0]]), np.array([[0, 6.0, 0, 0]]))
    assert atp.tolist() == [[0, 0, 0, 8]]


def test_look_ahead_is_the_most_that_breaks_no_later_commitment() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        n, t_max = 4, 8
        on_hand = rng.integers(0, 15, n).astype(float)
        receipts = rng.integers(0, 3, (n, t_max)) * rng.integers(0, 10, (n, t_max)).astype(float)
        committed = rng.integers(0, 2, (n, t_max)) * rng.integers(0, 12, (n, t_max)).astype(float)
        atp = cumulative_atp(on_hand, receipts, committed)
        assert np.all(np.diff(atp, axis=1) >= 0)  # never falls
        for t in range(t_max):
            for extra, breaks in ((0.0, False), (1.0, True)):
                more = committed.copy()
                more[:, t] += atp[:, t] + extra
                net = on_hand[:, None] + np.cumsum(receipts - more, axis=1)
                lowest = net[:, t:].min(axis=1)
                if breaks:  # one unit more goes negative, unless the row was already short
                    original = on_hand[:, None] + np.cumsum(receipts - committed, axis=1)
                    fine = original[:, t:].min(axis=1) >= 0
                    assert np.all(lowest[fine] < 0)
                else:
                    assert np.all((lowest >= 0) | (atp[:, t] == 0))


def test_bad_records_are_refused_naming_the_field() -> None:
    with pytest.raises(ParameterError, match=r"committed: item-site 1, bucket 2: .* got -1"):
        cumulative_atp(np.zeros(2), np.zeros((2, 3)), np.array([[0, 0, 0], [0, 0, -1.0]]))
    with pytest.raises(ParameterError, match="receipts: shape"):
        cumulative_atp(np.zeros(2), np.zeros((3, 3)), np.zeros((2, 3)))
    with pytest.raises(ParameterError, match="on_hand: item-site 0: must be finite"):
        cumulative_atp(np.array([np.nan]), np.zeros((1, 3)), np.zeros((1, 3)))


# --- promising -----------------------------------------------------------------------


def test_own_site_promise_and_what_it_consumes() -> None:
    # the textbook record (ATP 5, 5, 5, 13, 13, 13); a line of 8 for bucket 1 waits for
    # bucket 3, consumes 8 there: net 10, 5, 5, 17, 5, 5 -> ATP 5 everywhere
    on_hand = np.array([10.0])
    receipts = np.array([[0, 0, 0, 20, 0, 0.0]])
    committed = np.array([[0, 5, 0, 0, 12, 0.0]])
    got = promise(on_hand, receipts, committed, lines([0], [8], [1]))
    assert (got.kind[0], got.source[0], got.ship[0], got.arrival[0]) == (OWN, 0, 3, 3)
    assert (got.quantity[0], got.short[0], got.cost[0], got.lane[0]) == (8.0, 0.0, 0.0, -1)
    assert got.consumed.tolist() == [[0, 0, 0, 8, 0, 0]]
    assert got.atp.tolist() == [[5, 5, 5, 5, 5, 5]]
    assert np.array_equal(got.atp, cumulative_atp(on_hand, receipts, committed + got.consumed))


def test_priority_then_input_order_consumes_first() -> None:
    # ATP 6 from bucket 0, 16 from bucket 2 (receipt 10)
    on_hand, receipts = np.array([6.0]), np.array([[0, 0, 10.0, 0]])
    got = promise(
        on_hand,
        receipts,
        np.zeros((1, 4)),
        lines([0, 0, 0], [5, 4, 3], [0, 0, 0], priority=[2, 1, 1]),
    )
    # line 2 (priority 1) takes 4 in bucket 0 (2 left), line 3 (priority 1) needs 3: the
    # receipt in 2 (ATP 12 there, 9 left); line 1 (priority 2) needs 5: bucket 2 too
    assert got.arrival.tolist() == [2, 0, 2]
    assert got.consumed.tolist() == [[4, 0, 8, 0]]
    assert got.atp.tolist() == [[2, 2, 4, 4]]


def test_a_lateral_with_lead_time_beats_waiting_for_the_receipt() -> None:
    # row 0 (site A) has nothing until a receipt of 10 in bucket 5; row 1 (same item, site
    # B) has 8 on hand; lane B -> A takes 2 buckets at 3.0 per unit. A line of 4 for bucket 1:
    # own arrives in 5; the lateral ships in 0 and arrives in 2
    on_hand = np.array([0.0, 8.0])
    receipts = np.array([[0, 0, 0, 0, 0, 10.0, 0], [0] * 7], dtype=float)
    got = promise(
        on_hand, receipts, np.zeros((2, 7)), lines([0], [4], [1]), laterals([1], [0], [2], [3.0])
    )
    assert (got.kind[0], got.source[0], got.lane[0]) == (LATERAL, 1, 0)
    assert (got.ship[0], got.arrival[0], got.cost[0]) == (0, 2, 12.0)
    assert got.consumed[1].tolist() == [4, 0, 0, 0, 0, 0, 0]
    assert got.atp[1].tolist() == [4] * 7
    # a request for bucket 4 ships just in time (bucket 2)
    later = promise(
        on_hand, receipts, np.zeros((2, 7)), lines([0], [4], [4]), laterals([1], [0], [2], [3.0])
    )
    assert (later.ship[0], later.arrival[0]) == (2, 4)
    # a request for bucket 5: own site has the receipt, same arrival, and wins the tie
    own = promise(
        on_hand, receipts, np.zeros((2, 7)), lines([0], [4], [5]), laterals([1], [0], [2], [3.0])
    )
    assert (own.kind[0], own.source[0], own.arrival[0], own.cost[0]) == (OWN, 0, 5, 0.0)


def test_the_cheapest_lane_wins_a_tie_and_a_faster_dear_lane_wins_on_time() -> None:
    # row 0 empty; rows 1, 2, 3 hold 5 each; lanes: 1 -> 0 (1 bucket, 9.0), 2 -> 0
    # (1 bucket, 4.0), 3 -> 0 (3 buckets, 0.5)
    lanes = laterals([1, 2, 3], [0, 0, 0], [1, 1, 3], [9.0, 4.0, 0.5])
    on_hand = np.array([0.0, 5, 5, 5])
    got = promise(on_hand, np.zeros((4, 5)), np.zeros((4, 5)), lines([0, 0], [5, 5], [0, 0]), lanes)
    # line 1: arrival 1 from row 1 or 2, the cheaper (row 2, 20.0); line 2: row 1 at 45.0
    assert got.source.tolist() == [2, 1]
    assert got.lane.tolist() == [1, 0]
    assert got.arrival.tolist() == [1, 1]
    assert got.cost.tolist() == [20.0, 45.0]
    # a third line then has only row 3 (arrives in 3) at 2.5
    more = promise(
        on_hand, np.zeros((4, 5)), np.zeros((4, 5)), lines([0, 0, 0], [5, 5, 5], [0, 0, 0]), lanes
    )
    assert (more.source[2], more.arrival[2], more.cost[2]) == (3, 3, 2.5)


def test_supersession_down_a_chain_and_its_tie_with_a_lateral() -> None:
    # site X: row 0 item A -> row 1 item B -> row 2 item C; only C has stock (6).
    # row 3 is A at site Y with 6, lane Y -> X with lead 0 at 1.0 per unit
    on_hand = np.array([0.0, 0.0, 6.0, 6.0])
    zeros = np.zeros((4, 3))
    chain = np.array([1, 2, -1, -1])
    lane = laterals([3], [0], [0], [1.0])
    got = promise(on_hand, zeros, zeros, lines([0, 0], [4, 4], [0, 0]), lane, chain)
    # line 1: C and the lateral both arrive in 0; supersession wins the tie. line 2: C has
    # only 2 left, the lateral serves
    assert got.kind.tolist() == [SUPERSESSION, LATERAL]
    assert got.source.tolist() == [2, 3]
    assert got.cost.tolist() == [0.0, 4.0]
    assert got.consumed[:, 0].tolist() == [0, 0, 4, 4]
    # B itself gets a line: its successor C (2 left) cannot cover 3; nothing else: short
    partial = promise(on_hand, zeros, zeros, lines([0, 1], [4, 3], [0, 0]), lane, chain)
    assert partial.kind.tolist() == [SUPERSESSION, NONE]
    assert (partial.quantity[1], partial.short[1], partial.arrival[1]) == (0.0, 3.0, -1)


def test_partial_promise_is_what_the_own_site_has_in_the_requested_bucket() -> None:
    # ATP 3, 3, 7: a line of 10 for bucket 1 fits nowhere; the own site gives 3 in bucket 1
    got = promise(
        np.array([3.0]), np.array([[0, 0, 4.0]]), np.zeros((1, 3)), lines([0, 0], [10, 2], [1, 1])
    )
    assert (got.kind[0], got.quantity[0], got.short[0]) == (OWN, 3.0, 7.0)
    assert (got.ship[0], got.arrival[0]) == (1, 1)
    # the next line (2 for bucket 1) finds ATP 0 in 1 and 4 in 2
    assert (got.kind[1], got.arrival[1], got.short[1]) == (OWN, 2, 0.0)
    assert got.consumed.tolist() == [[0, 3, 2]]


def test_a_lane_arriving_past_the_horizon_cannot_promise() -> None:
    # row 1 has 5; lane 1 -> 0 takes 3 buckets; horizon 3: it would arrive in 3
    got = promise(
        np.array([0.0, 5.0]),
        np.zeros((2, 3)),
        np.zeros((2, 3)),
        lines([0], [1], [0]),
        laterals([1], [0], [3], [1.0]),
    )
    assert (got.kind[0], got.short[0], got.consumed.sum()) == (NONE, 1.0, 0.0)


def test_supersession_cycles_and_bad_rows_are_refused() -> None:
    zeros = np.zeros((3, 2))
    one = lines([0], [1], [0])
    with pytest.raises(ParameterError, match=r"superseded_by: item-site \d leads into a .*cycle"):
        promise(np.zeros(3), zeros, zeros, one, superseded_by=np.array([1, 2, 0]))
    with pytest.raises(ParameterError, match=r"superseded_by: .* cycle"):
        promise(np.zeros(3), zeros, zeros, one, superseded_by=np.array([-1, 2, 1]))
    with pytest.raises(ParameterError, match="superseded_by: item-site 2: 2 is not another"):
        promise(np.zeros(3), zeros, zeros, one, superseded_by=np.array([-1, -1, 2]))
    with pytest.raises(ParameterError, match="superseded_by: item-site 1: 3 is not another"):
        promise(np.zeros(3), zeros, zeros, one, superseded_by=np.array([-1, 3, -1]))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (lines([0, 3], [1, 1], [0, 0]), r"row: line 2: row 3 is not an item-site \(0..2\)"),
        (lines([0, 0, 1], [1, 2, 0], [0, 0, 0]), r"quantity: line 3: quantity 0.0 must be > 0"),
        (lines([0], [-2], [0]), r"quantity: line 1: quantity -2.0 must be > 0"),
        (lines([0], [np.nan], [0]), r"quantity: line 1: quantity nan must be > 0"),
        (lines([1, 1], [1, 1], [1, 2]), r"bucket: line 2: bucket 2 is not a bucket \(0..1\)"),
        (lines([0], [1], [-1]), r"bucket: line 1: bucket -1 is not a bucket"),
    ],
)
def test_bad_lines_are_refused_naming_the_line_and_field(bad: OrderLines, message: str) -> None:
    zeros = np.zeros((3, 2))
    with pytest.raises(ParameterError, match=message):
        promise(np.zeros(3), zeros, zeros, bad)


def test_bad_lanes_and_ragged_lines_are_refused() -> None:
    zeros = np.zeros((3, 2))
    one = lines([0], [1], [0])
    with pytest.raises(ParameterError, match="to_row: lane index 1: to_row 2 equals from_row"):
        promise(np.zeros(3), zeros, zeros, one, laterals([1, 2], [0, 2], [0, 0], [1.0, 1.0]))
    with pytest.raises(ParameterError, match="lead_buckets: lane index 0: lead_buckets -1"):
        promise(np.zeros(3), zeros, zeros, one, laterals([1], [0], [-1], [1.0]))
    with pytest.raises(ParameterError, match="from_row: lane index 0: from_row 5 is not"):
        promise(np.zeros(3), zeros, zeros, one, laterals([5], [0], [1], [1.0]))
    no_bucket = np.zeros(1, dtype=np.intp)
    ragged = OrderLines(np.array([0]), np.ones(2), no_bucket, no_bucket)
    with pytest.raises(ParameterError, match="lines: row, quantity, bucket, priority need one"):
        promise(np.zeros(3), zeros, zeros, ragged)
    fractional = OrderLines(np.array([0.5]), np.ones(1), no_bucket, no_bucket)
    with pytest.raises(ParameterError, match="row: whole numbers expected"):
        promise(np.zeros(3), zeros, zeros, fractional)


FloatArrays = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


# --- the oracle ----------------------------------------------------------------------


def naive_atp(on_hand: float, receipts: list[float], committed: list[float], t: int) -> float:
    """Cumulative ATP in bucket t of one record, straight from the definition."""
    lowest = float("inf")
    for s in range(t, len(receipts)):
        net = on_hand + sum(receipts[: s + 1]) - sum(committed[: s + 1])
        lowest = min(lowest, net)
    return max(0.0, lowest)


def naive_promise(
    on_hand: list[float],
    receipts: list[list[float]],
    committed: list[list[float]],
    line: list[tuple[int, float, int, int]],
    lanes: list[tuple[int, int, int, float]],
    successor: list[int],
) -> list[tuple[float, int, int, int, int, int, float]]:
    """Each line in (priority, input) order: every arrival bucket from the requested one,
    at each every source in tie order (own, chain, lanes by cost); the first that covers
    the line wins. Else the own site's ATP in the requested bucket."""
    t_max = len(receipts[0])
    booked = [list(r) for r in committed]
    out: list[tuple[float, int, int, int, int, int, float]] = [
        (0.0, -1, NONE, -1, -1, -1, 0.0) for _ in line
    ]
    for k in sorted(range(len(line)), key=lambda k: (line[k][3], k)):
        row, q, want, _ = line[k]
        sources = [(row, 0, 0.0, OWN, -1)]
        nxt = successor[row]
        while nxt >= 0:
            sources.append((nxt, 0, 0.0, SUPERSESSION, -1))
            nxt = successor[nxt]
        into = sorted(
            (j for j in range(len(lanes)) if lanes[j][1] == row), key=lambda j: (lanes[j][3], j)
        )
        sources += [(lanes[j][0], lanes[j][2], lanes[j][3], LATERAL, j) for j in into]
        found = None
        for arrival in range(want, t_max):
            for src, lead, cost, kind, lane in sources:
                ship = arrival - lead
                if ship >= 0 and naive_atp(on_hand[src], receipts[src], booked[src], ship) >= q:
                    found = (q, src, kind, lane, ship, arrival, q * cost)
                    break
            if found:
                break
        if found is None:
            have = min(q, naive_atp(on_hand[row], receipts[row], booked[row], want))
            if have > 0:
                found = (have, row, OWN, -1, want, want, 0.0)
        if found is not None:
            out[k] = found
            booked[found[1]][found[4]] += found[0]
    return out


def random_case(
    rng: np.random.Generator,
) -> tuple[FloatArrays, OrderLines, Laterals, NDArray[np.intp]]:
    n, t_max = int(rng.integers(1, 6)), int(rng.integers(1, 7))
    on_hand = rng.integers(-2, 8, n).astype(float)
    receipts = (rng.random((n, t_max)) < 0.3) * rng.integers(1, 9, (n, t_max)).astype(float)
    committed = (rng.random((n, t_max)) < 0.3) * rng.integers(1, 7, (n, t_max)).astype(float)
    # supersession only to a higher row (acyclic), sometimes
    successor = np.where(rng.random(n) < 0.3, rng.integers(0, n, n), -1)
    successor = np.where(successor > np.arange(n), successor, -1)
    k = int(rng.integers(0, 2 * n + 1)) if n > 1 else 0
    origin = rng.integers(0, n, k)
    target = (origin + rng.integers(1, max(n, 2), k)) % n
    lanes = laterals(
        origin.tolist(),
        target.tolist(),
        rng.integers(0, 4, k).tolist(),
        rng.integers(0, 4, k).astype(float).tolist(),  # equal costs happen: the index decides
    )
    m = int(rng.integers(1, 9))
    line = lines(
        rng.integers(0, n, m).tolist(),
        rng.integers(1, 8, m).astype(float).tolist(),
        rng.integers(0, t_max, m).tolist(),
        rng.integers(0, 3, m).tolist(),
    )
    return (on_hand, receipts, committed), line, lanes, successor


def as_rows(got: Promises) -> list[tuple[float, int, int, int, int, int, float]]:
    return list(
        zip(
            got.quantity.tolist(),
            got.source.tolist(),
            got.kind.tolist(),
            got.lane.tolist(),
            got.ship.tolist(),
            got.arrival.tolist(),
            got.cost.tolist(),
            strict=True,
        )
    )


def test_promises_agree_with_the_naive_promiser() -> None:
    rng = np.random.default_rng(20240611)
    kinds: set[int] = set()
    for case in range(200):
        (on_hand, receipts, committed), line, lanes, successor = random_case(rng)
        got = promise(on_hand, receipts, committed, line, lanes, successor)
        want = naive_promise(
            on_hand.tolist(),
            receipts.tolist(),
            committed.tolist(),
            list(
                zip(
                    line.row.tolist(),
                    line.quantity.tolist(),
                    line.bucket.tolist(),
                    line.priority.tolist(),
                    strict=True,
                )
            ),
            list(
                zip(
                    lanes.from_row.tolist(),
                    lanes.to_row.tolist(),
                    lanes.lead_buckets.tolist(),
                    lanes.cost_per_unit.tolist(),
                    strict=True,
                )
            ),
            successor.tolist(),
        )
        assert as_rows(got) == want, f"case {case}"
        assert np.array_equal(got.short, line.quantity - got.quantity), f"case {case}"
        booked = committed + got.consumed
        buckets = range(receipts.shape[1])
        assert np.array_equal(got.atp, cumulative_atp(on_hand, receipts, booked)), f"case {case}"
        expect = [
            [naive_atp(on_hand[i], list(receipts[i]), list(committed[i]), t) for t in buckets]
            for i in range(on_hand.size)
        ]
        assert cumulative_atp(on_hand, receipts, committed).tolist() == expect, f"case {case}"
        kinds.update(got.kind.tolist())
    assert kinds == {NONE, OWN, SUPERSESSION, LATERAL}  # every branch was exercised
