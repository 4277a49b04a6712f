"""Pegging against a two-pointer walk, one item-site at a time, and a worked example."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spareflow.errors import ParameterError
from spareflow.network.pegging import peg


def walk(
    dk: list[int], do: list[float], dq: list[float], sk: list[int], so: list[float],
    sq: list[float],
) -> dict[tuple[int, int, int], float]:  # fmt: skip
    """Per key: demands and supplies in order, matched with two pointers."""
    out: dict[tuple[int, int, int], float] = defaultdict(float)
    for key in set(dk) | set(sk):
        ds = sorted((i for i in range(len(dk)) if dk[i] == key), key=lambda i: (do[i], i))
        ss = sorted((j for j in range(len(sk)) if sk[j] == key), key=lambda j: (so[j], j))
        d_left = {i: dq[i] for i in ds}
        s_left = {j: sq[j] for j in ss}
        a = b = 0
        while a < len(ds) and b < len(ss):
            i, j = ds[a], ss[b]
            q = min(d_left[i], s_left[j])
            if q > 0:
                out[(key, i, j)] += q
            d_left[i] -= q
            s_left[j] -= q
            if d_left[i] <= 0:
                a += 1
            if s_left[j] <= 0:
                b += 1
        for i in ds[a:]:
            if d_left[i] > 0:
                out[(key, i, -1)] += d_left[i]
        for j in ss[b:]:
            if s_left[j] > 0:
                out[(key, -1, j)] += s_left[j]
    return dict(out)


def test_a_worked_item_site() -> None:
    # on hand 5 (bucket -1), a receipt of 10 in bucket 2; orders of 3 (b0), 4 (b1), 6 (b2)
    pegs = peg(
        np.array([0, 0, 0]), np.array([0.0, 1.0, 2.0]), np.array([3.0, 4.0, 6.0]),
        np.array([0, 0]), np.array([-1.0, 2.0]), np.array([5.0, 10.0]),
    )  # fmt: skip
    rows = list(
        zip(pegs.demand.tolist(), pegs.supply.tolist(), pegs.quantity.tolist(), strict=True)
    )
    assert rows == [(0, 0, 3.0), (1, 0, 2.0), (1, 1, 2.0), (2, 1, 6.0), (-1, 1, 2.0)]


def test_short_demand_and_keys_without_supply() -> None:
    pegs = peg(
        np.array([1, 0]), np.array([0.0, 0.0]), np.array([2.5, 1.0]),
        np.array([1]), np.array([0.0]), np.array([1.0]),
    )  # fmt: skip
    got = {
        (k, d, s): q
        for k, d, s, q in zip(pegs.key, pegs.demand, pegs.supply, pegs.quantity, strict=True)
    }
    assert got == {(0, 1, -1): 1.0, (1, 0, 0): 1.0, (1, 0, -1): 1.5}


@st.composite
def books(draw: st.DrawFn) -> tuple[list[int], ...]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keys = int(rng.integers(1, 6))
    nd, ns = int(rng.integers(0, 15)), int(rng.integers(0, 15))
    qty = lambda k: np.round(rng.choice([0.0, 1.0, 2.5, 7.0, 0.125], k) * rng.integers(0, 4, k), 3)  # noqa: E731
    return (
        rng.integers(0, keys, nd).tolist(), rng.integers(-1, 5, nd).astype(float).tolist(),
        qty(nd).tolist(), rng.integers(0, keys, ns).tolist(),
        rng.integers(-1, 5, ns).astype(float).tolist(), qty(ns).tolist(),
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(books())
def test_vectorised_pegging_equals_the_two_pointer_walk(data: tuple[list[int], ...]) -> None:
    dk, do, dq, sk, so, sq = data
    pegs = peg(*(np.array(x, dtype=float if i % 3 else np.int64) for i, x in enumerate(data)))
    got: dict[tuple[int, int, int], float] = defaultdict(float)
    for k, d, s, q in zip(pegs.key, pegs.demand, pegs.supply, pegs.quantity, strict=True):
        got[(int(k), int(d), int(s))] += float(q)
    want = walk(dk, do, dq, sk, so, sq)
    assert set(got) == set(want)
    for row, q in want.items():
        assert got[row] == pytest.approx(q, abs=1e-6)


def test_bad_rows_are_refused() -> None:
    with pytest.raises(ParameterError, match="row 1: key must be >= 0 and quantity"):
        peg(
            np.array([0, 0]),
            np.zeros(2),
            np.array([1.0, -1.0]),
            np.array([0]),
            np.zeros(1),
            np.ones(1),
        )
