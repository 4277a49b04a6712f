"""Steps shared by everything that rates freight lines given one per row (``spareflow
rate``, ``POST /rate``): shipments numbered by first appearance, lane names as tariff
indices, and the truckload price of the shipments whose distance is known. Each caller
reports faults its own way (file and row, or the request's field)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spareflow.transport.freight import CUBIC_INCHES_PER_FOOT, Rounding, round_dimensions
from spareflow.transport.modes import FtlTariff, ftl_price
from spareflow.transport.rating import ClassRateTariff

IntArray = NDArray[np.intp]
FloatArray = NDArray[np.float64]


def number_shipments(ids: ArrayLike) -> tuple[IntArray, IntArray]:
    """Per line its shipment's number (0, 1, ... by first appearance of its id), and per
    shipment its first line."""
    names = np.asarray(ids).astype(str)
    _, first_seen, inverse = np.unique(names, return_index=True, return_inverse=True)
    order = np.argsort(first_seen)
    number = np.empty_like(order)
    number[order] = np.arange(order.size)
    return number[inverse].astype(np.intp), first_seen[order].astype(np.intp)


def lane_index(tariff: ClassRateTariff, names: ArrayLike) -> tuple[IntArray, NDArray[np.bool_]]:
    """Each lane name's position in ``tariff.lanes`` and whether it is one (where not,
    the position is meaningless)."""
    wanted = np.asarray(names).astype(str)
    by_name = np.argsort(np.array(tariff.lanes))
    sorted_lanes = np.array(tariff.lanes)[by_name]
    at = np.clip(np.searchsorted(sorted_lanes, wanted), 0, sorted_lanes.size - 1)
    return by_name[at].astype(np.intp), sorted_lanes[at] == wanted


def cubic_feet(
    shipment: IntArray, sides: list[FloatArray], rounding: Rounding, shipments: int
) -> FloatArray:
    """Per shipment the cube of its lines (ft3), each side rounded as the carrier does;
    a line without dimensions (NaN) adds none."""
    inches = [np.nan_to_num(round_dimensions(side, rounding)) for side in sides]
    cube = inches[0] * inches[1] * inches[2] / CUBIC_INCHES_PER_FOOT
    out: FloatArray = np.bincount(shipment, weights=cube, minlength=shipments).astype(np.float64)
    return out


def truckload(
    miles: FloatArray,
    weight_lb: FloatArray,
    floor_positions: FloatArray,
    cubic_feet: FloatArray,
    ftl: FtlTariff,
) -> FloatArray:
    """Per shipment the truckload price; infinity where ``miles`` is NaN (no distance,
    no truckload price) or the load does not fit one trailer."""
    priced = np.isfinite(miles)
    out = np.full(miles.shape, np.inf)
    out[priced] = ftl_price(
        miles[priced], weight_lb[priced], floor_positions[priced], cubic_feet[priced], ftl
    )
    return out


__all__ = ["cubic_feet", "lane_index", "number_shipments", "truckload"]
