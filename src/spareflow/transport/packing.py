"""Handling units from order lines: each group's lines (an order, a shipment) packed onto
pallets by first-fit decreasing volume, within the pallet's usable cube and its payload.

Rule, per group (lines of different groups never share a unit):

1. A unit that cannot go on the pallet ships as its own handling unit (``loose``: crated
   or skidded, its own dimensions and weight, no tare): any side too long for the
   pallet's load space with rotation allowed (the unit's sides sorted against the sorted
   sides of the 48 x 40 x ``max_load_height_in`` box), heavier than the payload
   (``max_gross_lb - tare_lb``), or more cube than the usable volume
   (48 x 40 x ``max_load_height_in`` x ``fill_factor``).
2. The other lines are taken in decreasing unit volume (ties: line order) and placed
   first fit: each unit of a line goes on the first pallet opened for the group that
   still has the cube and the weight for it, and a new pallet is opened when none has.
   A line's quantity is split across pallets when it does not fit whole. For identical
   units, unit-by-unit first fit is the same as filling the open pallets in order to
   their capacity, which is how it is computed.
3. A pallet is 48 x 40 in and ``deck_height_in`` plus its goods height tall: its goods
   volume over the footprint x ``fill_factor``, rounded up to the inch, but never less
   than the largest of its units' smallest sides (a unit laid on its largest face
   stands at least that high) and never more than ``max_load_height_in``. Its weight is
   goods plus ``tare_lb``.

Capacity is two resources (cube and weight): this is vector bin packing, sorted by one
of them. First-fit decreasing is the classic heuristic: Johnson (1973), "Near-optimal
bin packing algorithms", PhD thesis, MIT; Johnson, Demers, Ullman, Garey & Graham
(1974), SIAM J. Comput. 3(4) 299-325, doi:10.1137/0203025, prove FFD <= 11/9 OPT + 4
for one resource; Coffman, Garey & Johnson (1997), "Approximation algorithms for bin
packing: a survey", in Hochbaum (ed.), Approximation Algorithms for NP-Hard Problems,
PWS, 46-93, survey it and its multi-dimensional variants; the one-resource bound is not
claimed here. The volume check is the fill-factor cube, not a geometric placement: the
factor stands for stacking loss.

The lines are sorted once for all groups; the first-fit loop runs in Python over the
lines and the pallets they touch, with the first pallet that has room found in a max
segment tree in O(log pallets) (Johnson 1974, "Fast algorithms for bin packing",
J. Comput. Syst. Sci. 8(3) 272-314, doi:10.1016/S0022-0000(74)80026-7), not by a scan
of every open pallet. 20,000 lines in 300 groups pack in about 0.12 s; in a single
group, about 0.5 s.

Facts on handling units and density: ../shared/reference/freight.md (sections 2 and 4).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spareflow.errors import ParameterError
from spareflow.transport.freight import Classified, Rounding, classify

IntArray = NDArray[np.intp]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_REL = 1e-9  # relative slack on the capacity checks (float sums of unit volumes)


@dataclass(frozen=True)
class PalletSpec:
    """A pallet: footprint (in), load height of goods (in) on a deck (in), tare (lb),
    greatest gross weight (lb) and the share of the load cube goods can fill."""

    length_in: float = 48.0
    width_in: float = 40.0
    max_load_height_in: float = 60.0
    deck_height_in: float = 6.0
    tare_lb: float = 40.0
    max_gross_lb: float = 2_500.0
    fill_factor: float = 0.85

    def __post_init__(self) -> None:
        for name in ("length_in", "width_in", "max_load_height_in", "max_gross_lb"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ParameterError(name, f"must be a finite number above zero, got {value}")
        for name in ("deck_height_in", "tare_lb"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ParameterError(name, f"must be a finite number >= 0, got {value}")
        if not 0 < self.fill_factor <= 1:
            raise ParameterError("fill_factor", f"a share in (0, 1], got {self.fill_factor}")
        if self.max_gross_lb <= self.tare_lb:
            raise ParameterError(
                "max_gross_lb",
                f"must exceed the tare ({self.tare_lb} lb), got {self.max_gross_lb}",
            )

    @property
    def footprint_in2(self) -> float:
        """Floor area of one pallet (square inches)."""
        return self.length_in * self.width_in

    @property
    def usable_cubic_in(self) -> float:
        """Goods cube one pallet takes: footprint x load height x fill factor (in^3)."""
        return self.footprint_in2 * self.max_load_height_in * self.fill_factor

    @property
    def payload_lb(self) -> float:
        """Goods weight one pallet takes: greatest gross weight less tare (lb)."""
        return self.max_gross_lb - self.tare_lb


STANDARD_PALLET = PalletSpec()


@dataclass(frozen=True)
class Packing:
    """Handling units, numbered by group (ascending), a group's pallets in the order they
    were opened, then its loose units; and which line's units went on which unit.

    Per handling unit: ``group``; ``length_in``, ``width_in``, ``height_in`` as measured
    for density (pallet: footprint and deck + goods height; loose: the unit's own);
    ``weight_lb`` gross (goods + tare; loose: the unit); ``goods_cubic_in``; ``pieces``;
    ``loose`` (True: a unit too large or heavy for the pallet, shipped by itself).

    Per assignment row, sorted by unit then line: ``line`` (0-based, as given),
    ``unit`` and ``quantity`` (units of that line on that handling unit)."""

    group: IntArray
    length_in: FloatArray
    width_in: FloatArray
    height_in: FloatArray
    weight_lb: FloatArray
    goods_cubic_in: FloatArray
    pieces: IntArray
    loose: BoolArray
    line: IntArray
    unit: IntArray
    quantity: IntArray

    @property
    def count(self) -> int:
        """Number of handling units."""
        return int(self.group.shape[0])


def pack(
    group: ArrayLike,
    quantity: ArrayLike,
    unit_weight_lb: ArrayLike,
    length_in: ArrayLike,
    width_in: ArrayLike,
    height_in: ArrayLike,
    pallet: PalletSpec = STANDARD_PALLET,
) -> Packing:
    """Pack order lines into handling units, first-fit decreasing by volume per group.

    One value per line: ``group`` (int; lines of different groups never share a unit),
    ``quantity`` (whole units >= 1), ``unit_weight_lb`` (lb per unit) and the unit's
    ``length_in``, ``width_in``, ``height_in`` (in). ParameterError names the field and
    the 1-based line of the first bad value.

    >>> p = pack([7], [100], [10.0], [12.0], [12.0], [12.0])
    >>> p.height_in.tolist(), p.weight_lb.tolist(), p.pieces.tolist()
    ([66.0, 53.0], [600.0, 480.0], [56, 44])
    """
    g, q, w, dims = _checked(group, quantity, unit_weight_lb, length_in, width_in, height_in)
    n = q.shape[0]
    vol = dims[:, 0] * dims[:, 1] * dims[:, 2]
    shortest = dims.min(axis=1)
    box = np.sort([pallet.length_in, pallet.width_in, pallet.max_load_height_in])
    loose_line = (
        np.any(np.sort(dims, axis=1) > box[None, :], axis=1)
        | (w > pallet.payload_lb)
        | (vol > pallet.usable_cubic_in)
    )
    caps = (pallet.usable_cubic_in * (1 + _REL), pallet.payload_lb * (1 + _REL))
    on_pallet = ~loose_line
    per_pallet = np.ones(n, dtype=np.int64)  # units of the line one pallet takes
    per_pallet[on_pallet] = np.minimum(
        np.floor(caps[0] / vol[on_pallet]), np.floor(caps[1] / w[on_pallet])
    ).astype(np.int64)

    order = np.lexsort((-vol, g))  # stable: by group, then largest unit first, then line
    order = order[on_pallet[order]]
    built = _Pallets()
    for seg in np.split(order, np.flatnonzero(np.diff(g[order])) + 1) if order.size else []:
        _ffd(
            int(g[seg[0]]),
            seg.tolist(),
            q[seg].tolist(),
            vol[seg].tolist(),
            w[seg].tolist(),
            shortest[seg].tolist(),
            per_pallet[seg].tolist(),
            caps,
            built,
        )
    pallets = len(built.cube)
    cube = np.array(built.cube, dtype=np.float64)
    goods_height = np.minimum(
        np.maximum(
            np.ceil(cube / (pallet.footprint_in2 * pallet.fill_factor) - 1e-9),
            np.ceil(np.array(built.tallest, dtype=np.float64) - 1e-9),
        ),
        pallet.max_load_height_in,
    )
    loose_of = np.repeat(np.flatnonzero(loose_line), q[loose_line]).astype(np.intp)
    n_loose = loose_of.size

    # number the units by group, a group's pallets (in opening order) before its loose ones
    unit_group = np.concatenate([np.array(built.group, dtype=np.intp), g[loose_of]])
    loose = np.concatenate([np.zeros(pallets, dtype=np.bool_), np.ones(n_loose, dtype=np.bool_)])
    rank = np.lexsort((loose, unit_group))  # stable
    new_id = np.empty_like(rank)
    new_id[rank] = np.arange(rank.size)
    table = np.array(built.rows, dtype=np.intp).reshape(-1, 3)
    line = np.concatenate([table[:, 0], loose_of])
    unit = new_id[np.concatenate([table[:, 1], pallets + np.arange(n_loose, dtype=np.intp)])]
    qty = np.concatenate([table[:, 2], np.ones(n_loose, dtype=np.intp)])
    by_unit = np.lexsort((line, unit))

    def per_unit(on_pallets: FloatArray, on_their_own: FloatArray) -> FloatArray:
        out: FloatArray = np.concatenate([on_pallets, on_their_own]).astype(np.float64)[rank]
        return out

    return Packing(
        group=unit_group[rank],
        length_in=per_unit(np.full(pallets, pallet.length_in), dims[loose_of, 0]),
        width_in=per_unit(np.full(pallets, pallet.width_in), dims[loose_of, 1]),
        height_in=per_unit(pallet.deck_height_in + goods_height, dims[loose_of, 2]),
        weight_lb=per_unit(pallet.tare_lb + np.array(built.weight), w[loose_of]),
        goods_cubic_in=per_unit(cube, vol[loose_of]),
        pieces=np.bincount(unit, weights=qty, minlength=rank.size).astype(np.intp),
        loose=loose[rank],
        line=line[by_unit],
        unit=unit[by_unit],
        quantity=qty[by_unit],
    )


@dataclass
class _Pallets:
    """Pallets as they are built: goods cube (in^3), goods weight (lb), the greatest
    smallest side of their units (in), group; and (line, pallet, units) rows."""

    cube: list[float] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)
    tallest: list[float] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    rows: list[tuple[int, int, int]] = field(default_factory=list)


def _ffd(
    group: int,
    lines: list[int],
    quantity: list[int],
    cube_of: list[float],
    weight_of: list[float],
    shortest: list[float],
    per_pallet: list[int],
    caps: tuple[float, float],
    built: _Pallets,
) -> None:
    """First fit of one group's lines (sorted by decreasing unit cube) onto new pallets,
    appended to ``built``. ``caps``: cube (in^3) and weight (lb) one pallet takes.

    The open pallets' remaining cube and weight sit at the leaves of a max segment tree,
    so the first pallet with room for one unit of a line is found by a leftmost descent
    in O(log pallets) rather than by a scan (Johnson 1974). With two resources a descent
    can backtrack (a subtree with the cube on one pallet and the weight on another); a
    pallet that can take no unit of any line still to come is taken out of the tree,
    which keeps that rare."""
    cube_cap, weight_cap = caps
    base = len(built.cube)
    cube_used, weight_used, tallest, rows = built.cube, built.weight, built.tallest, built.rows
    bound = sum(-(-need // per) for need, per in zip(quantity, per_pallet, strict=True))
    size = 1
    while size < bound:
        size *= 2
    room_c = [-1.0] * (2 * size)  # max remaining cube in each subtree; -1: not opened
    room_w = [-1.0] * (2 * size)
    opened = 0
    smallest = min(cube_of)  # the lines come largest first
    lightest = list(itertools.accumulate(reversed(weight_of), min))[::-1]

    def refresh(lo: int, hi: int) -> None:  # leaves lo..hi-1 changed: their ancestors
        lo, hi = (lo + size) >> 1, (hi - 1 + size) >> 1
        while lo >= 1:
            for node in range(lo, hi + 1):
                a, b = 2 * node, 2 * node + 1
                room_c[node] = room_c[a] if room_c[a] > room_c[b] else room_c[b]
                room_w[node] = room_w[a] if room_w[a] > room_w[b] else room_w[b]
            lo, hi = lo >> 1, hi >> 1

    for i, (line, need, v, u, low, per) in enumerate(
        zip(lines, quantity, cube_of, weight_of, shortest, per_pallet, strict=True)
    ):
        floor_w = lightest[i]  # a pallet with less room than this takes nothing more
        while need and room_c[1] >= v and room_w[1] >= u:
            node = 1  # leftmost descent; on a dead end, up to the next right sibling
            while node < size:
                node *= 2
                if room_c[node] >= v and room_w[node] >= u:
                    continue
                node += 1
                while node > 1 and (room_c[node] < v or room_w[node] < u):
                    while node & 1:
                        node >>= 1
                    node += 1
                if node <= 1:
                    break
            if node < size:
                break
            leaf = node - size
            take = min(need, int(room_c[leaf + size] // v), int(room_w[leaf + size] // u))
            cube_used[base + leaf] += take * v
            weight_used[base + leaf] += take * u
            tallest[base + leaf] = max(tallest[base + leaf], low)
            rc = cube_cap - cube_used[base + leaf]
            rw = weight_cap - weight_used[base + leaf]
            closed = rc < smallest or rw < floor_w  # out of the search for good
            room_c[leaf + size] = -1.0 if closed else rc
            room_w[leaf + size] = -1.0 if closed else rw
            refresh(leaf, leaf + 1)
            rows.append((line, base + leaf, take))
            need -= take
        if need:  # new pallets, full but the last
            m = -(-need // per)
            for j in range(m):
                take = per if j < m - 1 else need - per * (m - 1)
                cube_used.append(take * v)
                weight_used.append(take * u)
                tallest.append(low)
                room_c[opened + j + size] = cube_cap - take * v
                room_w[opened + j + size] = weight_cap - take * u
                rows.append((line, base + opened + j, take))
            refresh(opened, opened + m)
            opened += m
    built.group.extend([group] * opened)


def classify_units(
    packing: Packing, ship_date: date, *, rounding: Rounding = "exact"
) -> Classified:
    """Density and NMFC class of every handling unit, on the scale in force on
    ``ship_date`` (:func:`spareflow.transport.freight.classify`)."""
    n = packing.count
    return classify(
        packing.length_in,
        packing.width_in,
        packing.height_in,
        packing.weight_lb,
        np.full(n, np.datetime64(ship_date, "D")),
        today=ship_date,
        rounding=rounding,
    )


def _checked(
    group: ArrayLike,
    quantity: ArrayLike,
    unit_weight_lb: ArrayLike,
    length_in: ArrayLike,
    width_in: ArrayLike,
    height_in: ArrayLike,
) -> tuple[IntArray, NDArray[np.int64], FloatArray, FloatArray]:
    """The inputs as arrays, each value checked; the first bad one named by its line."""
    named = {
        "group": group,
        "quantity": quantity,
        "unit_weight_lb": unit_weight_lb,
        "length_in": length_in,
        "width_in": width_in,
        "height_in": height_in,
    }
    arrays: dict[str, FloatArray] = {}
    n = -1
    for name, raw in named.items():
        try:
            values = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(name, "numbers expected, one per line") from None
        if values.ndim != 1 or (n >= 0 and values.shape[0] != n):
            raise ParameterError(
                name, f"one value per line expected ({max(n, 0)} lines), got shape {values.shape}"
            )
        n = values.shape[0]
        arrays[name] = values
    whole = {"group": "a whole number", "quantity": "a whole number of units >= 1"}
    for name, values in arrays.items():
        if name in whole:
            bad = ~np.isfinite(values) | (values != np.round(values))
            if name == "quantity":
                bad |= values < 1
            expected = whole[name]
        else:
            bad = ~np.isfinite(values) | ~(values > 0)
            expected = "a finite number above zero"
        if bad.any():
            k = int(np.argmax(bad))
            raise ParameterError(name, f"line {k + 1}: {expected} expected, got {values[k]}")
    dims = np.stack([arrays["length_in"], arrays["width_in"], arrays["height_in"]], axis=1)
    exact = np.asarray(group)
    groups = exact.astype(np.intp) if exact.dtype.kind in "iu" else arrays["group"]
    return (
        groups.astype(np.intp),
        arrays["quantity"].astype(np.int64),
        arrays["unit_weight_lb"],
        dims,
    )
