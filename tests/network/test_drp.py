"""DRP against a hand-worked example and a plain per-item-site, per-bucket transcription of
the textbook record (gross, scheduled receipts, projected on hand, net, planned receipt,
planned release), on random multi-echelon networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spareflow.errors import ParameterError
from spareflow.network.drp import DrpInput, SourceSplit, echelons, plan


def test_a_hand_worked_two_echelon_record() -> None:
    # a service site (0) resupplied by a DC (1) in 2 weeks; the DC by a supplier in 3
    gross = np.array([[20, 20, 30, 30, 30, 40], [0, 0, 0, 0, 0, 0]], dtype=float)
    data = DrpInput(
        gross=gross,
        on_hand=np.array([50.0, 100.0]),
        scheduled_receipts=np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype=float),
        safety_stock=np.array([10.0, 0.0]),
        lead_time=np.array([2, 3]),
        source=np.array([1, -1]),
        periods_of_supply=np.array([1, 1]),
        min_lot=np.array([0.0, 0.0]),
        lot_multiple=np.array([25.0, 100.0]),  # cases of 25 at the site, pallets of 100 at the DC
    )
    result = plan(data)
    # site: 50 -> 30 -> 10 -> (-20: need 30 -> 50) 30 -> (0: need 10 -> 25) 25 ->
    #       (-5: need 15 -> 25) 20 -> (-20: need 30 -> 50) 30
    assert result.planned_receipts[0].tolist() == [0, 0, 50, 25, 25, 50]
    assert result.projected_on_hand[0].tolist() == [30, 10, 30, 25, 20, 30]
    assert result.planned_releases[0].tolist() == [50, 25, 25, 50, 0, 0]
    # the DC sees the site's releases as its demand: 100 -> 50 -> 25 -> 0 -> (-50: 100) 50
    assert result.dependent_demand[1].tolist() == [50, 25, 25, 50, 0, 0]
    assert result.planned_receipts[1].tolist() == [0, 0, 0, 100, 0, 0]
    assert result.planned_releases[1].tolist() == [100, 0, 0, 0, 0, 0]
    assert result.past_due.tolist() == [0, 0]
    assert result.echelon.tolist() == [1, 0]


def test_period_order_quantity_and_past_due() -> None:
    gross = np.array([[10, 10, 10, 10, 10, 10]], dtype=float)
    data = DrpInput(
        gross=gross,
        on_hand=np.array([5.0]),
        scheduled_receipts=np.array([[0, 0, 8, 0, 0, 0]], dtype=float),
        safety_stock=np.array([0.0]),
        lead_time=np.array([2]),
        source=np.array([-1]),
        periods_of_supply=np.array([3]),
        min_lot=np.array([0.0]),
        lot_multiple=np.array([0.0]),
    )
    result = plan(data)
    # bucket 0 needs 5 plus the next two buckets' 10 and 10 - 8 scheduled: 17
    assert result.planned_receipts[0].tolist() == [17, 0, 0, 30, 0, 0]
    assert result.projected_on_hand[0].tolist() == [12, 2, 0, 20, 10, 0]
    assert result.past_due.tolist() == [17]  # due in bucket 0 with a 2-bucket lead time
    assert result.planned_releases[0].tolist() == [17, 30, 0, 0, 0, 0]


def edge_list(data: DrpInput) -> dict[int, list[tuple[int, float, int]]]:
    """Per item-site, its (parent, share, lead time) edges, split or single."""
    edges: dict[int, list[tuple[int, float, int]]] = {}
    if data.split is not None:
        for c, p, s, lt in zip(
            data.split.child,
            data.split.parent,
            data.split.share,
            data.split.lead_time,
            strict=True,
        ):
            edges.setdefault(int(c), []).append((int(p), float(s), int(lt)))
    for i in range(data.gross.shape[0]):
        edges.setdefault(i, [(int(data.source[i]), 1.0, int(data.lead_time[i]))])
    return edges


def levels(edges: dict[int, list[tuple[int, float, int]]]) -> dict[int, int]:
    """Longest path from the top, by plain recursion."""

    def level(i: int) -> int:
        return max((level(p) + 1 if p >= 0 else 0) for p, _, _ in edges[i])

    return {i: level(i) for i in edges}


def reference(data: DrpInput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Textbook DRP, one record at a time: children before parents; a split lot shared
    edge by edge, each edge's part the whole units of its cumulative share."""
    n, t_max = data.gross.shape
    gross = data.gross.astype(float).copy()
    receipts, releases, past = np.zeros((n, t_max)), np.zeros((n, t_max)), np.zeros(n)
    edges = edge_list(data)
    level = levels(edges)
    order = sorted(range(n), key=lambda i: -level[i])
    for i in order:
        pab = float(data.on_hand[i])
        for t in range(t_max):
            available = pab + data.scheduled_receipts[i, t] - gross[i, t]
            qty = 0.0
            if data.safety_stock[i] - available > 1e-9:
                qty = data.safety_stock[i] - available
                for u in range(t + 1, min(t + int(data.periods_of_supply[i]), t_max)):
                    qty += gross[i, u] - data.scheduled_receipts[i, u]
                qty = max(qty, data.safety_stock[i] - available, float(data.min_lot[i]))
                if data.lot_multiple[i] > 0:
                    qty = math.ceil(qty / data.lot_multiple[i] - 1e-9) * data.lot_multiple[i]
            receipts[i, t] = qty
            pab = available + qty
            given, cumulative = 0.0, 0.0
            for k, (parent, share, lead) in enumerate(edges[i]):
                cumulative += share
                last = k == len(edges[i]) - 1
                part = (qty if last else math.floor(qty * cumulative + 1e-9)) - given
                given += part
                if part:
                    when = t - lead
                    if when < 0:
                        past[i] += part
                    releases[i, max(when, 0)] += part
                    if parent >= 0:
                        gross[parent, max(when, 0)] += part
    return receipts, releases, past


@st.composite
def networks(draw: st.DrawFn) -> DrpInput:
    n = draw(st.integers(1, 12))
    t_max = draw(st.integers(1, 10))
    source = np.array([draw(st.integers(-1, k - 1)) for k in range(n)], dtype=np.int64)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gross = rng.integers(0, 30, (n, t_max)) * (rng.random((n, t_max)) < 0.6)
    split = None
    if n > 1 and draw(st.booleans()):  # some item-sites resupplied from two or three sources
        child, parent, share, lead = [], [], [], []
        for k in range(1, n):
            if rng.random() < 0.5:
                ways = int(rng.integers(2, 4))
                parts = rng.dirichlet(np.ones(ways))
                parts[-1] = 1.0 - parts[:-1].sum()
                for w in range(ways):
                    child.append(k)
                    parent.append(int(rng.integers(-1, k)))  # upstream only: no cycle
                    share.append(float(parts[w]))
                    lead.append(int(rng.integers(0, 4)))
        if child:
            split = SourceSplit(np.array(child), np.array(parent), np.array(share), np.array(lead))
    return DrpInput(
        split=split,
        gross=gross.astype(float),
        on_hand=rng.integers(0, 60, n).astype(float),
        scheduled_receipts=(
            rng.integers(0, 20, (n, t_max)) * (rng.random((n, t_max)) < 0.2)
        ).astype(float),
        safety_stock=rng.integers(0, 15, n).astype(float),
        lead_time=rng.integers(0, 4, n),
        source=source,
        periods_of_supply=rng.integers(1, 4, n),
        min_lot=rng.choice([0.0, 10.0, 25.0], n),
        lot_multiple=rng.choice([0.0, 1.0, 12.0], n),
    )


@settings(max_examples=300, deadline=None)
@given(networks())
def test_vectorised_plan_equals_the_record_by_record_reference(data: DrpInput) -> None:
    result = plan(data)
    receipts, releases, past = reference(data)
    np.testing.assert_allclose(result.planned_receipts, receipts, atol=1e-9)
    np.testing.assert_allclose(result.planned_releases, releases, atol=1e-9)
    np.testing.assert_allclose(result.past_due, past, atol=1e-9)
    # never below safety stock, and every item-site's books balance
    assert np.all(result.projected_on_hand >= data.safety_stock[:, None] - 1e-9)
    balance = (
        data.on_hand + data.scheduled_receipts.sum(1) + result.planned_receipts.sum(1)
        - data.gross.sum(1) - result.dependent_demand.sum(1)
    )  # fmt: skip
    np.testing.assert_allclose(balance, result.projected_on_hand[:, -1], atol=1e-6)


def test_bad_networks_are_refused() -> None:
    with pytest.raises(ParameterError, match="cycle"):
        echelons(np.array([1, 0]))
    with pytest.raises(ParameterError, match="item-site 1: source 5"):
        echelons(np.array([-1, 5]))
    data = DrpInput.lot_for_lot(np.ones((2, 3)), np.zeros(2), np.array([-1, 0]), np.array([1, -1]))
    with pytest.raises(ParameterError, match=r"lead_time.*item-site 1"):
        plan(data)


def test_a_split_lot_goes_in_whole_units_to_each_source() -> None:
    # a DC (0) bought 70/30 from two suppliers (lead 2 and 4); lots of 10 units
    data = DrpInput(
        gross=np.array([[0, 10, 10, 10, 0, 0]], dtype=float),
        on_hand=np.array([0.0]),
        scheduled_receipts=np.zeros((1, 6)),
        safety_stock=np.array([0.0]),
        lead_time=np.array([0]),
        source=np.array([-1]),
        periods_of_supply=np.array([1]),
        min_lot=np.array([0.0]),
        lot_multiple=np.array([10.0]),
        split=SourceSplit(
            np.array([0, 0]), np.array([-1, -1]), np.array([0.7, 0.3]), np.array([2, 4])
        ),
    )
    result = plan(data)
    assert result.planned_receipts[0].tolist() == [0, 10, 10, 10, 0, 0]
    # 7 + 3 per lot; the first supplier releases 2 buckets ahead (bucket 1 past due), the
    # second 4 (all past due)
    assert result.edge_releases.tolist() == [[14, 7, 0, 0, 0, 0], [9, 0, 0, 0, 0, 0]]
    assert result.edge_past_due.tolist() == [7, 9]
    assert result.edge_receipts.tolist() == [[0, 7, 7, 7, 0, 0], [0, 3, 3, 3, 0, 0]]
    assert result.past_due.tolist() == [16]
    with pytest.raises(ParameterError, match=r"item-site 0: shares add up to 0\.9,"):
        plan(
            DrpInput(
                **{
                    **data.__dict__,
                    "split": SourceSplit(
                        np.array([0, 0]), np.array([-1, -1]), np.array([0.6, 0.3]), np.array([2, 4])
                    ),
                }
            )
        )
    with pytest.raises(ParameterError, match="edge 1: share must be in"):
        plan(
            DrpInput(
                **{
                    **data.__dict__,
                    "split": SourceSplit(
                        np.array([0, 0]), np.array([-1, -1]), np.array([1.0, 0.0]), np.array([2, 4])
                    ),
                }
            )
        )
