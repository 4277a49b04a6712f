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


def echelons(source: IntArray) -> IntArray:
    """Each item-site's distance from its outside supplier (0 for the top), refusing
    sources that are out of range or form a cycle."""
    n = source.shape[0]
    if np.any((source < -1) | (source >= n)):
        k = int(np.argmax((source < -1) | (source >= n)))
        raise ParameterError("source", f"item-site {k}: source {source[k]} is not an item-site")
    level = np.zeros(n, dtype=np.int64)
    parent = source.copy()
    for _ in range(n + 1):  # depth of the forest; each pass climbs one echelon
        climbing = parent >= 0
        if not climbing.any():
            return level
        level[climbing] += 1
        parent[climbing] = source[parent[climbing]]
    k = int(np.argmax(parent >= 0))
    raise ParameterError("source", f"item-site {k} is resupplied in a cycle")


def plan(data: DrpInput) -> DrpPlan:
    """Plan every echelon, from the lowest (service sites) to the top.

    Internally the item-sites are sorted by echelon, so each echelon is one contiguous
    block, and the arrays are bucket-major (buckets x item-sites), so each bucket's pass
    reads contiguous memory."""
    gross_in = np.asarray(data.gross, dtype=np.float64)
    n, t_max = gross_in.shape
    _check(data, n, t_max)
    level = echelons(data.source)
    order = np.argsort(level, kind="stable")
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    source = np.where(data.source[order] >= 0, position[np.maximum(data.source[order], 0)], -1)
    gross = np.ascontiguousarray(gross_in[order].T)
    scheduled = np.ascontiguousarray(np.asarray(data.scheduled_receipts, dtype=np.float64)[order].T)
    dependent = np.zeros((t_max, n))
    receipts = np.zeros((t_max, n))
    releases = np.zeros((t_max, n))
    projected = np.zeros((t_max, n))
    past_due = np.zeros(n)
    sorted_level = level[order]
    for echelon in range(int(level.max(initial=0)), -1, -1):
        lo, hi = np.searchsorted(sorted_level, [echelon, echelon + 1])
        block = slice(int(lo), int(hi))
        if lo == hi:
            continue
        rec, proj = _net(
            gross[:, block] + dependent[:, block],
            data.on_hand[order[block]],
            scheduled[:, block],
            data.safety_stock[order[block]],
            data.periods_of_supply[order[block]],
            data.min_lot[order[block]],
            data.lot_multiple[order[block]],
        )
        rel, late = _offset(rec, data.lead_time[order[block]])
        receipts[:, block], projected[:, block], releases[:, block] = rec, proj, rel
        past_due[block] = late
        parents = source[block]
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

    unsorted_past_due = np.empty(n)
    unsorted_past_due[order] = past_due
    return DrpPlan(
        back(dependent), back(receipts), back(releases), back(projected), unsorted_past_due, level
    )


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
