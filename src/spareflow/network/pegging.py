"""Pegging: which supply covers which demand, first come first served, per item-site.

Demands (customer order lines, work-order parts, the releases of the item-sites a site
resupplies, the forecast, the safety stock) and supplies (on hand, scheduled receipts,
planned orders) of each item-site are put in their order (bucket, then rank) and laid
end to end; each stretch where one demand meets one supply is a peg. A demand no supply
reaches is pegged short (supply -1); a supply left over is pegged to nothing (demand -1),
the excess of a lot size.

Vectorised across item-sites: each item-site's demands and supplies are padded to the
same length and laid after the previous item-site's, so one sort of every boundary and
two binary searches find every peg at once. Quantities are counted in micro-units
(int64) so boundaries compare exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SCALE = 1_000_000  # micro-units


@dataclass(frozen=True)
class Pegs:
    """One row per peg: the item-site (key), the demand and supply (indices into the
    inputs; -1 for none) and the quantity."""

    key: IntArray
    demand: IntArray
    supply: IntArray
    quantity: FloatArray


def peg(
    demand_key: IntArray,
    demand_order: FloatArray,
    demand_quantity: FloatArray,
    supply_key: IntArray,
    supply_order: FloatArray,
    supply_quantity: FloatArray,
) -> Pegs:
    """Peg demands to supplies per key, each in ascending ``order`` (ties keep the
    inputs' order)."""
    d_key, d_qty = _checked("demand", demand_key, demand_order, demand_quantity)
    s_key, s_qty = _checked("supply", supply_key, supply_order, supply_quantity)
    keys = int(max(d_key.max(initial=-1), s_key.max(initial=-1))) + 1
    d_sorted = np.lexsort((np.arange(d_key.size), demand_order, d_key))
    s_sorted = np.lexsort((np.arange(s_key.size), supply_order, s_key))
    d_total = np.bincount(d_key, weights=d_qty, minlength=keys).astype(np.int64)
    s_total = np.bincount(s_key, weights=s_qty, minlength=keys).astype(np.int64)
    span = np.maximum(d_total, s_total)
    d_ends, d_index = _laid(d_key[d_sorted], d_qty[d_sorted], d_sorted, span - d_total)
    s_ends, s_index = _laid(s_key[s_sorted], s_qty[s_sorted], s_sorted, span - s_total)
    bounds = np.union1d(d_ends, s_ends)
    bounds = bounds[bounds > 0]
    lengths = np.diff(np.r_[0, bounds])
    d_at = d_index[np.searchsorted(d_ends, bounds, side="left")]
    s_at = s_index[np.searchsorted(s_ends, bounds, side="left")]
    key_ends = np.cumsum(span)
    key = np.searchsorted(key_ends, bounds, side="left")
    real = (d_at >= 0) | (s_at >= 0)
    return Pegs(
        key[real].astype(np.int64),
        d_at[real],
        s_at[real],
        lengths[real].astype(np.float64) / SCALE,
    )


def _checked(
    name: str, key: IntArray, order: FloatArray, quantity: FloatArray
) -> tuple[IntArray, IntArray]:
    key = np.asarray(key, dtype=np.int64)
    quantity = np.asarray(quantity, dtype=np.float64)
    if not key.shape == np.shape(order) == quantity.shape:
        raise ParameterError(name, "key, order and quantity need one value per row")
    bad = (key < 0) | ~np.isfinite(quantity) | (quantity < 0)
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ParameterError(name, f"row {k}: key must be >= 0 and quantity finite >= 0")
    return key, np.rint(quantity * SCALE).astype(np.int64)


def _laid(
    key: IntArray, quantity: IntArray, index: IntArray, filler: IntArray
) -> tuple[IntArray, IntArray]:
    """The end of each row laid end to end, each key closed by a filler row (index -1)
    that brings it to the common span."""
    keys = filler.size
    last_of_key = np.searchsorted(key, np.arange(keys), side="right")  # rows before filler k
    at = last_of_key + np.arange(keys)  # where filler k goes in the merged sequence
    merged = np.empty(key.size + keys, dtype=np.int64)
    merged_index = np.empty(key.size + keys, dtype=np.int64)
    is_filler = np.zeros(key.size + keys, dtype=bool)
    is_filler[at] = True
    merged[is_filler] = filler
    merged[~is_filler] = quantity
    merged_index[is_filler] = -1
    merged_index[~is_filler] = index
    return np.cumsum(merged), merged_index
