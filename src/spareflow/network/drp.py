"""Distribution requirements planning: time-phased gross-to-net through every echelon.

Item-sites form a forest per item: each one is resupplied by its ``source`` item-site
(the same item at the upstream site, over a lane) or, with source -1, by an outside
supplier. Each bucket (day or week) of each item-site:

    available  = projected on hand of the last bucket + scheduled receipts - gross
    net        = safety stock - available, where positive
    planned receipt = the lot that covers ``net`` (below), else 0
    projected on hand = available + planned receipt

A planned receipt in bucket t is released ``lead_time`` buckets earlier; a release that
would fall before bucket 0 is past due (it is released in bucket 0 and flagged). The
releases of an item-site are gross requirements (dependent demand) of its source in the
release bucket, so the echelons are planned from the service sites up.

Split sourcing (:class:`SourceSplit`): an item-site may instead be resupplied over several
edges, each with a share of every planned receipt and its own lead time (a primary
supplier for 70 %, a second one for 30 %; a DC for most, the factory for the rest). The
shares are split by cumulative rounding, so whole-unit lots stay whole units on every
edge and the edges' quantities add up to the lot exactly.

Lot sizing, per item-site: the net requirement of ``periods_of_supply`` buckets (1:
lot-for-lot; more: period order quantity, the net requirements of the next buckets too),
at least ``min_lot``, rounded up to a multiple of ``lot_multiple`` (a fixed order
quantity Q is min_lot = lot_multiple = Q).

Vectorised: one pass over the buckets per echelon, every item-site of the echelon at
once (arrays item-sites x buckets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class SourceSplit:
    """Edges resupplying item-sites in shares: edge e brings ``share[e]`` of each planned
    receipt of item-site ``child[e]`` from ``parent[e]`` (an item-site, or -1 for an
    outside supplier), released ``lead_time[e]`` buckets ahead. An item-site named here is
    resupplied by its edges only (its ``source`` and ``lead_time`` are ignored); its
    shares must add up to 1."""

    child: IntArray
    parent: IntArray
    share: FloatArray
    lead_time: IntArray


@dataclass(frozen=True)
class DrpInput:
    """The item-sites (N) over the buckets (T). ``gross`` is the independent demand:
    forecast, customer orders and work orders (their split, for pegging, in ``demand``)."""

    gross: FloatArray  # N x T
    on_hand: FloatArray  # N
    scheduled_receipts: FloatArray  # N x T
    safety_stock: FloatArray  # N
    lead_time: IntArray  # N, buckets from release to receipt
    source: IntArray  # N, the item-site that resupplies it, -1 for an outside supplier
    periods_of_supply: IntArray  # N, >= 1
    min_lot: FloatArray  # N, >= 0
    lot_multiple: FloatArray  # N, >= 0 (0: any quantity)
    split: SourceSplit | None = None  # item-sites resupplied over several edges

    @classmethod
    def lot_for_lot(
        cls,
        gross: FloatArray,
        on_hand: FloatArray,
        source: IntArray,
        lead_time: IntArray,
        safety_stock: FloatArray | None = None,
        scheduled_receipts: FloatArray | None = None,
    ) -> DrpInput:
        n = gross.shape[0]
        return cls(
            gross=gross,
            on_hand=on_hand,
            scheduled_receipts=np.zeros_like(gross)
            if scheduled_receipts is None
            else scheduled_receipts,
            safety_stock=np.zeros(n) if safety_stock is None else safety_stock,
            lead_time=lead_time,
            source=source,
            periods_of_supply=np.ones(n, dtype=np.int64),
            min_lot=np.zeros(n),
            lot_multiple=np.zeros(n),
        )


@dataclass(frozen=True)
class DrpPlan:
    """Per item-site and bucket: dependent demand (the releases of the item-sites it
    supplies), planned receipts and releases, projected on hand; per item-site the
    quantity past due (releases that should have happened before bucket 0) and its
    echelon (0: supplied from outside)."""

    dependent_demand: FloatArray
    planned_receipts: FloatArray
    planned_releases: FloatArray
    projected_on_hand: FloatArray
    past_due: FloatArray
    echelon: IntArray
    edges: SourceSplit  # every resupply edge (one per item-site unless split)
    edge_receipts: FloatArray  # E x T: each edge's part of its child's planned receipts
    edge_releases: FloatArray  # E x T: each edge's releases
    edge_past_due: FloatArray  # E


def echelons(source: IntArray) -> IntArray:
    """Each item-site's distance from its outside supplier (0 for the top), refusing
    sources that are out of range or form a cycle."""
    n = source.shape[0]
    return edge_echelons(np.arange(n, dtype=np.int64), np.asarray(source, dtype=np.int64), n)


def edge_echelons(child: IntArray, parent: IntArray, n: int) -> IntArray:
    """Each item-site's echelon over resupply edges: 0 without an upstream item-site,
    else one more than its highest parent (the longest path from the top), refusing
    parents out of range and cycles."""
    bad = (parent < -1) | (parent >= n)
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ParameterError(
            "source", f"item-site {child[k]}: source {parent[k]} is not an item-site"
        )
    inner = parent >= 0
    c, p = child[inner], parent[inner]
    level = np.zeros(n, dtype=np.int64)
    for _ in range(n + 1):  # each pass settles one more echelon
        lifted = level.copy()
        np.maximum.at(lifted, c, level[p] + 1)
        if np.array_equal(lifted, level):
            return level
        level = lifted
    k = int(np.argmax(level))
    raise ParameterError("source", f"item-site {k} is resupplied in a cycle")


def resupply_edges(data: DrpInput) -> SourceSplit:
    """Every edge of the network, sorted by child: one per item-site (its ``source``,
    share 1) unless ``split`` names it; split shares checked."""
    n = data.gross.shape[0]
    single = np.ones(n, dtype=bool)
    parts: list[SourceSplit] = []
    if data.split is not None:
        split = data.split
        fields = ("child", "parent", "share", "lead_time")
        if len({len(np.asarray(getattr(split, f))) for f in fields}) != 1:
            raise ParameterError("split", f"{', '.join(fields)} need one value per edge")
        child = np.asarray(split.child, dtype=np.int64)
        if np.any((child < 0) | (child >= n)):
            k = int(np.argmax((child < 0) | (child >= n)))
            raise ParameterError("split", f"edge {k}: child {child[k]} is not an item-site")
        share = np.asarray(split.share, dtype=np.float64)
        if np.any(~np.isfinite(share) | (share <= 0) | (share > 1)):
            k = int(np.argmax(~np.isfinite(share) | (share <= 0) | (share > 1)))
            raise ParameterError("split", f"edge {k}: share must be in (0, 1], got {share[k]}")
        total = np.bincount(child, weights=share, minlength=n)
        off = (total > 0) & (np.abs(total - 1.0) > 1e-9)
        if np.any(off):
            k = int(np.argmax(off))
            raise ParameterError("split", f"item-site {k}: shares add up to {total[k]:g}, not 1")
        lead = np.asarray(split.lead_time, dtype=np.int64)
        if np.any(lead < 0):
            k = int(np.argmax(lead < 0))
            raise ParameterError("split", f"edge {k}: lead_time must be >= 0, got {lead[k]}")
        single[child] = False
        parts.append(SourceSplit(child, np.asarray(split.parent, dtype=np.int64), share, lead))
    ids = np.flatnonzero(single)
    parts.append(
        SourceSplit(
            ids,
            np.asarray(data.source, dtype=np.int64)[ids],
            np.ones(ids.size),
            np.asarray(data.lead_time, dtype=np.int64)[ids],
        )
    )
    child = np.concatenate([e.child for e in parts])
    order = np.argsort(child, kind="stable")
    return SourceSplit(
        child[order],
        np.concatenate([e.parent for e in parts])[order],
        np.concatenate([e.share for e in parts])[order],
        np.concatenate([e.lead_time for e in parts])[order],
    )


def plan(data: DrpInput) -> DrpPlan:
    """Plan every echelon, from the lowest (service sites) to the top.

    Internally the item-sites are sorted by echelon, so each echelon is one contiguous
    block, and the arrays are bucket-major (buckets x item-sites), so each bucket's pass
    reads contiguous memory."""
    gross_in = np.asarray(data.gross, dtype=np.float64)
    n, t_max = gross_in.shape
    _check(data, n, t_max)
    edges = resupply_edges(data)
    level = edge_echelons(edges.child, edges.parent, n)
    order = np.argsort(level, kind="stable")
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    # edges in sorted coordinates, grouped by the echelon of their child
    e_child = position[edges.child]
    e_parent = np.where(edges.parent >= 0, position[np.maximum(edges.parent, 0)], -1)
    e_order = np.argsort(e_child, kind="stable")
    e_sorted_child = e_child[e_order]
    gross = np.ascontiguousarray(gross_in[order].T)
    scheduled = np.ascontiguousarray(np.asarray(data.scheduled_receipts, dtype=np.float64)[order].T)
    dependent = np.zeros((t_max, n))
    receipts = np.zeros((t_max, n))
    projected = np.zeros((t_max, n))
    edge_releases = np.zeros((t_max, edges.child.size))
    edge_receipts = np.zeros((t_max, edges.child.size))
    edge_past_due = np.zeros(edges.child.size)
    sorted_level = level[order]
    for echelon in range(int(level.max(initial=0)), -1, -1):
        lo, hi = np.searchsorted(sorted_level, [echelon, echelon + 1])
        if lo == hi:
            continue
        block = slice(int(lo), int(hi))
        rec, proj = _net(
            gross[:, block] + dependent[:, block],
            data.on_hand[order[block]],
            scheduled[:, block],
            data.safety_stock[order[block]],
            data.periods_of_supply[order[block]],
            data.min_lot[order[block]],
            data.lot_multiple[order[block]],
        )
        receipts[:, block], projected[:, block] = rec, proj
        e_lo, e_hi = np.searchsorted(e_sorted_child, [lo, hi])
        ids = e_order[e_lo:e_hi]  # the block's edges, by child
        shares = _split(rec[:, e_child[ids] - lo], edges.child[ids], edges.share[ids])
        rel, late = _offset(shares, edges.lead_time[ids])
        edge_receipts[:, ids], edge_releases[:, ids], edge_past_due[ids] = shares, rel, late
        parents = e_parent[ids]
        supplied = parents >= 0
        if supplied.any():  # the block's releases are their sources' demand, bucket by bucket
            first, last = int(parents[supplied].min()), int(parents[supplied].max()) + 1
            width = last - first
            flat = (np.arange(t_max)[:, None] * width + (parents[supplied] - first)).ravel()
            dependent[:, first:last] += np.bincount(
                flat, weights=rel[:, supplied].ravel(), minlength=t_max * width
            ).reshape(t_max, width)

    def back(matrix: FloatArray) -> FloatArray:  # buckets x sorted -> item-sites x buckets
        out = np.empty((n, t_max))
        out[order] = matrix.T
        return out

    releases = np.zeros((n, t_max))
    np.add.at(releases, edges.child, edge_releases.T)
    return DrpPlan(
        back(dependent),
        back(receipts),
        releases,
        back(projected),
        np.bincount(edges.child, weights=edge_past_due, minlength=n).astype(np.float64),
        level,
        edges,
        np.ascontiguousarray(edge_receipts.T),
        np.ascontiguousarray(edge_releases.T),
        edge_past_due,
    )


def _split(receipts: FloatArray, child: IntArray, share: FloatArray) -> FloatArray:
    """Each edge's part of its child's receipts (buckets x edges, edges sorted by child):
    cumulative rounding, so whole-unit lots give whole units adding up to the lot."""
    if np.all(share == 1.0):
        return receipts
    starts = np.r_[True, child[1:] != child[:-1]]
    group = np.cumsum(starts) - 1
    cumulative = np.cumsum(share)
    before = np.r_[0.0, cumulative][np.flatnonzero(starts)][group]
    upto = cumulative - before  # cumulative share within the child, up to and with this edge
    last = np.r_[child[1:] != child[:-1], True]
    whole = np.floor(receipts * np.where(last, 1.0, upto) + 1e-9)
    upper = np.where(last, receipts, whole)
    lower_share = upto - share
    lower = np.where(starts, 0.0, np.floor(receipts * lower_share + 1e-9))
    return np.asarray(upper - lower, dtype=np.float64)


def _net(
    gross: FloatArray,
    on_hand: FloatArray,
    scheduled: FloatArray,
    safety: FloatArray,
    periods: IntArray,
    min_lot: FloatArray,
    multiple: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Gross-to-net with lot sizing for a block of item-sites (buckets x item-sites):
    planned receipts and projected on hand, one pass over the buckets."""
    t_max, n = gross.shape
    # net change of the buckets after t up to t + periods - 1 (the POQ look-ahead)
    cumulative = np.zeros((t_max + 1, n))
    np.cumsum(gross - scheduled, axis=0, out=cumulative[1:])
    columns = np.arange(n)
    look_ahead = periods > 1
    rounds = multiple > 0
    receipts = np.zeros((t_max, n))
    projected = np.zeros((t_max, n))
    pab = on_hand.astype(np.float64).copy()
    for t in range(t_max):
        available = pab + scheduled[t] - gross[t]
        need = safety - available
        short = need > 1e-9
        if short.any():
            lot = need.copy()
            if look_ahead.any():
                ahead = np.minimum(t + periods, t_max)
                lot += np.maximum(cumulative[ahead, columns] - cumulative[t + 1], 0.0)
            np.maximum(lot, min_lot, out=lot)
            if rounds.any():
                with np.errstate(invalid="ignore", divide="ignore"):
                    lot = np.where(rounds, np.ceil(lot / multiple - 1e-9) * multiple, lot)
            receipts[t] = np.where(short, lot, 0.0)
        pab = available + receipts[t]
        projected[t] = pab
    return receipts, projected


def _offset(receipts: FloatArray, lead_time: IntArray) -> tuple[FloatArray, FloatArray]:
    """Releases (buckets x item-sites): each receipt ``lead_time`` buckets earlier; what
    would fall before bucket 0 is released in bucket 0 and counted past due."""
    t_max, n = receipts.shape
    buckets, columns = np.nonzero(receipts)
    amounts = receipts[buckets, columns]
    when = buckets - lead_time[columns]
    late = when < 0
    releases: FloatArray = (
        np.bincount(np.maximum(when, 0) * n + columns, weights=amounts, minlength=t_max * n)
        .reshape(t_max, n)
        .astype(np.float64)
    )
    past_due = np.bincount(columns[late], weights=amounts[late], minlength=n)
    return releases, past_due.astype(np.float64)


def _check(data: DrpInput, n: int, t_max: int) -> None:
    for name in ("gross", "scheduled_receipts"):
        values = np.asarray(getattr(data, name))
        if values.shape != (n, t_max):
            raise ParameterError(name, f"shape {(n, t_max)} expected, got {values.shape}")
        if np.any(values < 0) or not np.all(np.isfinite(values)):
            raise ParameterError(name, "must be finite and >= 0")
    for name in (
        "on_hand", "safety_stock", "lead_time", "source", "periods_of_supply", "min_lot",
        "lot_multiple",
    ):  # fmt: skip
        values = np.asarray(getattr(data, name))
        if values.shape != (n,):
            raise ParameterError(name, f"one value per item-site ({n}), got {values.shape}")
    for name in ("safety_stock", "lead_time", "min_lot", "lot_multiple"):
        values = np.asarray(getattr(data, name))
        if np.any(values < 0):
            k = int(np.argmax(values < 0))
            raise ParameterError(name, f"item-site {k}: must be >= 0, got {values[k]}")
    if np.any(data.periods_of_supply < 1):
        k = int(np.argmax(data.periods_of_supply < 1))
        raise ParameterError("periods_of_supply", f"item-site {k}: must be >= 1")
