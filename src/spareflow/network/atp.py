"""Available-to-promise: cumulative ATP with look-ahead, and promising order lines.

Buckets 0..T-1 (days or weeks, the caller's choice); quantities in stock units. For each
item-site (row) the net position after bucket s is

    net[s] = on_hand + receipts[0..s] - committed[0..s]

and the cumulative ATP with look-ahead in bucket t, the quantity that can still be
promised for delivery in t without breaking any later commitment, is

    atp[t] = max(0, min over s >= t of net[s])

(Vollmann, Berry, Whybark & Jacobs, *Manufacturing Planning and Control for Supply Chain
Management*, 5th ed., McGraw-Hill 2005, master production scheduling, "available to
promise"; APICS Dictionary, cumulative ATP with look-ahead). It never falls as t grows; a
promise of q in bucket b is feasible exactly when atp[b] >= q; it lowers net[s] by q for
every s >= b.

Promising (:func:`promise`) takes the lines in priority order (smaller first, then input
order); each consumes ATP before the next is looked at, so no quantity is promised twice.
A line wants ``quantity`` of its item-site ``row`` delivered in ``bucket`` (or later).
Its candidate sources, each one item-site row that ships the whole quantity:

* own: the line's row, lead 0, cost 0;
* supersession: the superseding item at the same site (``superseded_by``), and its
  successor, down the chain (A -> B -> C), lead 0, cost 0;
* lateral: every lane into the line's row (:class:`Laterals`): the goods leave the other
  item-site in bucket b (consuming its ATP there) and arrive in b + lead_buckets, at
  cost_per_unit per unit. Lanes into a superseding row are not followed.

A source can serve the line if some ship bucket b >= 0 has atp[b] >= quantity with an
arrival b + lead in [bucket, T-1]; it ships as late as that allows (ATP only grows), so
the arrival is the earliest it can give. The promise is the source with the earliest
arrival; ties go to own, then supersession (nearest in the chain first), then the
cheapest lane (then the lower lane index).

No single source in the horizon: the own row gives what it can promise in the requested
bucket, min(quantity, atp[bucket]), and the rest is short (kind :data:`NONE` when that is
0). Lines are never split across sources; re-promise the short part (after expediting, or
with a longer horizon) when that is wanted.

The ATP rows are numpy over buckets and candidates; lines are taken one at a time, as
promising is sequential by nature (each line changes what the next can get).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

NONE = -1  # nothing promised
OWN = 0  # the line's own item-site
SUPERSESSION = 1  # the superseding item at the same site
LATERAL = 2  # the same item at another site, over a lane

EPSILON = 1e-9  # ATP within this of the quantity covers it (float sums)


@dataclass(frozen=True)
class OrderLines:
    """L order lines: each wants ``quantity`` (units, > 0) of item-site ``row`` in
    ``bucket``; smaller ``priority`` is promised first (equal priority: input order)."""

    row: IntArray
    quantity: FloatArray
    bucket: IntArray
    priority: IntArray


@dataclass(frozen=True)
class Laterals:
    """Lanes between item-sites of the same item: goods of ``from_row`` shipped in bucket b
    arrive at ``to_row`` in b + ``lead_buckets``, at ``cost_per_unit`` (currency per
    unit)."""

    from_row: IntArray
    to_row: IntArray
    lead_buckets: IntArray
    cost_per_unit: FloatArray


@dataclass(frozen=True)
class Promises:
    """Per line: the promised quantity and what is short; where it arrives from (item-site
    ``source``, ``kind`` OWN / SUPERSESSION / LATERAL / NONE, ``lane`` index for LATERAL
    else -1); the ``ship`` bucket (where the source's ATP is consumed) and the ``arrival``
    bucket at the line's site (-1 for NONE); ``cost`` = quantity x the lane's
    cost_per_unit. Per item-site and bucket: ``consumed``, the ATP the promises take (add
    it to the commitments to persist them), and ``atp``, the cumulative ATP left."""

    quantity: FloatArray
    short: FloatArray
    source: IntArray
    kind: IntArray
    lane: IntArray
    ship: IntArray
    arrival: IntArray
    cost: FloatArray
    consumed: FloatArray
    atp: FloatArray


def cumulative_atp(on_hand: FloatArray, receipts: FloatArray, committed: FloatArray) -> FloatArray:
    """Cumulative ATP with look-ahead, shape (item-sites, T): ``on_hand`` (N,) at the
    start of bucket 0, scheduled ``receipts`` and ``committed`` demand (N, T), all in
    units. Vollmann et al. (2005)."""
    on_hand, receipts, committed = _positions(on_hand, receipts, committed)
    return _atp(_net(on_hand, receipts, committed))


def promise(
    on_hand: FloatArray,
    receipts: FloatArray,
    committed: FloatArray,
    lines: OrderLines,
    laterals: Laterals | None = None,
    superseded_by: IntArray | None = None,
) -> Promises:
    """Promise order lines against the cumulative ATP of the item-sites (module docstring
    for the rule). ``superseded_by[r]`` is the item-site of the item that supersedes row
    r's item at the same site, or -1. ParameterError names the field and the line
    (1-based), lane or item-site at fault, and refuses supersession cycles."""
    on_hand, receipts, committed = _positions(on_hand, receipts, committed)
    n, t_max = receipts.shape
    row, quantity, bucket, priority = _lines(lines, n, t_max)
    lane_from, lane_to, lane_lead, lane_cost = _laterals(laterals, n)
    successor = _supersession(superseded_by, n)

    # lanes grouped by destination, cheapest (then lowest index) first
    lane_order = np.lexsort((np.arange(lane_to.size), lane_cost, lane_to))
    lane_bounds = np.searchsorted(lane_to[lane_order], np.arange(n + 1))
    buckets = np.arange(t_max)

    net = _net(on_hand, receipts, committed)
    atp = _atp(net)
    consumed = np.zeros((n, t_max))
    size = row.size
    out_qty = np.zeros(size)
    out_source = np.full(size, -1, dtype=np.intp)
    out_kind = np.full(size, NONE, dtype=np.intp)
    out_lane = np.full(size, -1, dtype=np.intp)
    out_ship = np.full(size, -1, dtype=np.intp)
    out_arrival = np.full(size, -1, dtype=np.intp)
    out_cost = np.zeros(size)

    for k in np.lexsort((np.arange(size), priority)):
        r, q, b = int(row[k]), float(quantity[k]), int(bucket[k])
        chain = _chain(successor, r)
        lanes = lane_order[lane_bounds[r] : lane_bounds[r + 1]]
        rows = np.concatenate([[r], chain, lane_from[lanes]]).astype(np.intp)
        lead = np.concatenate([np.zeros(1 + chain.size, dtype=np.intp), lane_lead[lanes]])
        arrive = buckets[None, :] + lead[:, None]  # candidates x ship buckets
        can = (atp[rows] >= q - EPSILON) & (arrive >= b) & (arrive < t_max)
        first = np.argmax(can, axis=1)
        arrival = np.where(can.any(axis=1), first + lead, t_max)
        best = int(np.argmin(arrival))  # ties: the earlier candidate (own, chain, cheapest)
        if arrival[best] < t_max:
            source, ship, take = int(rows[best]), int(first[best]), q
            if best == 0:
                kind = OWN
            elif best <= chain.size:
                kind = SUPERSESSION
            else:
                kind = LATERAL
                lane = int(lanes[best - 1 - chain.size])
                out_lane[k] = lane
                out_cost[k] = q * float(lane_cost[lane])
            out_arrival[k] = int(arrival[best])
        else:  # partial: what the own row can promise in the requested bucket
            source, ship, take, kind = r, b, min(q, float(atp[r, b])), OWN
            if take <= 0.0:
                continue
            out_arrival[k] = b
        out_qty[k], out_source[k], out_kind[k], out_ship[k] = take, source, kind, ship
        consumed[source, ship] += take
        net[source, ship:] -= take
        atp[source] = _atp(net[source])

    return Promises(
        quantity=out_qty,
        short=np.asarray(quantity - out_qty, dtype=np.float64),
        source=out_source,
        kind=out_kind,
        lane=out_lane,
        ship=out_ship,
        arrival=out_arrival,
        cost=out_cost,
        consumed=consumed,
        atp=atp,
    )


def _net(on_hand: FloatArray, receipts: FloatArray, committed: FloatArray) -> FloatArray:
    """Net position after each bucket, (N, T)."""
    return np.asarray(on_hand[..., None] + np.cumsum(receipts - committed, axis=-1))


def _atp(net: FloatArray) -> FloatArray:
    """max(0, min over s >= t of net[s]) along the last axis."""
    ahead = np.minimum.accumulate(net[..., ::-1], axis=-1)[..., ::-1]
    return np.asarray(np.maximum(ahead, 0.0), dtype=np.float64)


def _chain(successor: IntArray, row: int) -> IntArray:
    """The superseding rows of ``row``, nearest first (acyclic: checked at the boundary)."""
    out: list[int] = []
    nxt = int(successor[row])
    while nxt >= 0:
        out.append(nxt)
        nxt = int(successor[nxt])
    return np.array(out, dtype=np.intp)


def _positions(
    on_hand: FloatArray, receipts: FloatArray, committed: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    on_hand = np.asarray(on_hand, dtype=np.float64)
    receipts = np.asarray(receipts, dtype=np.float64)
    committed = np.asarray(committed, dtype=np.float64)
    if on_hand.ndim != 1:
        raise ParameterError("on_hand", f"one value per item-site expected, got {on_hand.shape}")
    n = on_hand.size
    for name, values in (("receipts", receipts), ("committed", committed)):
        if values.ndim != 2 or values.shape[0] != n or values.shape[1] < 1:
            raise ParameterError(name, f"shape ({n}, buckets >= 1) expected, got {values.shape}")
    if receipts.shape != committed.shape:
        raise ParameterError(
            "committed", f"shape {receipts.shape} (as receipts) expected, got {committed.shape}"
        )
    if not np.all(np.isfinite(on_hand)):
        k = int(np.argmax(~np.isfinite(on_hand)))
        raise ParameterError("on_hand", f"item-site {k}: must be finite, got {on_hand[k]}")
    for name, values in (("receipts", receipts), ("committed", committed)):
        bad = ~np.isfinite(values) | (values < 0)
        if np.any(bad):
            k, t = (int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
            raise ParameterError(
                name, f"item-site {k}, bucket {t}: must be finite and >= 0, got {values[k, t]}"
            )
    return on_hand, receipts, committed


def _lines(
    lines: OrderLines, n: int, t_max: int
) -> tuple[IntArray, FloatArray, IntArray, IntArray]:
    fields = ("row", "quantity", "bucket", "priority")
    sizes = {np.shape(getattr(lines, f)) for f in fields}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise ParameterError("lines", f"{', '.join(fields)} need one value per line")
    row = np.asarray(lines.row)
    quantity = np.asarray(lines.quantity, dtype=np.float64)
    bucket = np.asarray(lines.bucket)
    priority = np.asarray(lines.priority)
    for name, values in (("row", row), ("bucket", bucket), ("priority", priority)):
        if values.size and not np.issubdtype(values.dtype, np.integer):
            raise ParameterError(name, f"whole numbers expected, got dtype {values.dtype}")
    checks = (
        ("row", row, (row < 0) | (row >= n), f"is not an item-site (0..{n - 1})"),
        ("quantity", quantity, ~np.isfinite(quantity) | (quantity <= 0), "must be > 0"),
        ("bucket", bucket, (bucket < 0) | (bucket >= t_max), f"is not a bucket (0..{t_max - 1})"),
    )
    for name, got, bad, what in checks:
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ParameterError(name, f"line {k + 1}: {name} {got[k]} {what}")
    return row.astype(np.intp), quantity, bucket.astype(np.intp), priority.astype(np.intp)


def _laterals(laterals: Laterals | None, n: int) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    if laterals is None:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, empty, np.zeros(0)
    fields = ("from_row", "to_row", "lead_buckets", "cost_per_unit")
    sizes = {np.shape(getattr(laterals, f)) for f in fields}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise ParameterError("laterals", f"{', '.join(fields)} need one value per lane")
    origin = np.asarray(laterals.from_row).astype(np.intp)
    target = np.asarray(laterals.to_row).astype(np.intp)
    lead = np.asarray(laterals.lead_buckets).astype(np.intp)
    cost = np.asarray(laterals.cost_per_unit, dtype=np.float64)
    checks = (
        ("from_row", origin, (origin < 0) | (origin >= n), "is not an item-site"),
        ("to_row", target, (target < 0) | (target >= n), "is not an item-site"),
        ("to_row", target, target == origin, "equals from_row"),
        ("lead_buckets", lead, lead < 0, "must be >= 0"),
        ("cost_per_unit", cost, ~np.isfinite(cost) | (cost < 0), "must be finite and >= 0"),
    )
    for name, values, bad, what in checks:
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ParameterError(name, f"lane index {k}: {name} {values[k]} {what}")
    return origin, target, lead, cost


def _supersession(superseded_by: IntArray | None, n: int) -> IntArray:
    """The successor of each row (-1: none), refusing rows out of range and cycles."""
    if superseded_by is None:
        return np.full(n, -1, dtype=np.intp)
    successor = np.asarray(superseded_by).astype(np.intp)
    if successor.shape != (n,):
        raise ParameterError(
            "superseded_by", f"one value per item-site ({n}) expected, got {successor.shape}"
        )
    bad = (successor < -1) | (successor >= n) | (successor == np.arange(n))
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ParameterError(
            "superseded_by", f"item-site {k}: {successor[k]} is not another item-site or -1"
        )
    walker = successor.copy()  # after n steps every acyclic chain has ended
    for _ in range(n):
        alive = walker >= 0
        if not alive.any():
            return successor
        walker[alive] = successor[walker[alive]]
    k = int(np.argmax(walker >= 0))
    raise ParameterError("superseded_by", f"item-site {k} leads into a supersession cycle")
