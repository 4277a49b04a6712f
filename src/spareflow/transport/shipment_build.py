"""Shipments from released order lines: pack each order into handling units, class them
by density, consolidate orders that share a lane and a ship day, and price the result
with an LTL class-rate tariff.

Steps:

1. :func:`spareflow.transport.packing.pack` puts each order's lines on pallets (or ships
   an oversize unit by itself); an order is a packing group, so orders never share a
   handling unit.
2. :func:`spareflow.transport.packing.classify_units` gives every handling unit its
   density and NMFC class on the scale in force on ``ship_date``.
3. The units of each order are summed per freight class into (order, class) rows: gross
   weight and floor positions. A pallet takes one floor position (48 x 40 in); a loose
   unit takes ceil(length x width / (48 x 40)), its footprint in pallet positions.
4. :func:`spareflow.transport.consolidation.consolidate` groups the orders into
   shipments, priced by :func:`ltl_pricer` (``rating.rate_ltl(...).total``).

Orders split by class. ``consolidate`` does not know which rows belong to one order: it
would treat an order's class rows as separate orders, so the trailer limits could put
them in different shipments, the split-back of a dearer consolidation would ship each
row alone, and the "alone" price would rate each row as its own shipment (several
minimum charges for one order). So consolidation runs on one row per order (its lane,
window, total weight and floor positions), and the pricer it is given expands each
order into its (order, class) rows before calling ``rate_ltl``: every shipment, and
every order alone, is rated with its true mixed classes (each class at its own rate, in
the weight group of the whole shipment; reference section 8.4). The class on the order
row is its heaviest class; the pricer does not use it. An order therefore always lands
in exactly one shipment.

Facts and sources: ../shared/reference/freight.md (sections 4 and 8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spareflow.errors import ParameterError
from spareflow.transport.consolidation import Orders, Pricer, consolidate
from spareflow.transport.freight import Rounding
from spareflow.transport.packing import STANDARD_PALLET, Packing, PalletSpec, classify_units, pack
from spareflow.transport.rating import CLASSES, ClassRateTariff, class_index, rate_ltl

IntArray = NDArray[np.intp]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class OrderLines:
    """Released order lines, one value per line. An order's lines share its lane (index
    in the tariff's lanes) and its window (``ready_day``: first day it may ship,
    ``due_day``: last); ``quantity`` whole units of ``unit_weight_lb`` (lb) and
    ``length_in`` x ``width_in`` x ``height_in`` (in) each."""

    order: ArrayLike
    lane: ArrayLike
    ready_day: ArrayLike
    due_day: ArrayLike
    quantity: ArrayLike
    unit_weight_lb: ArrayLike
    length_in: ArrayLike
    width_in: ArrayLike
    height_in: ArrayLike


@dataclass(frozen=True)
class ClassRows:
    """The (order, freight class) rows: ``order`` (index in ``Shipments.order_id``), the
    NMFC class as classified and as rated (after FAK, index in ``rating.CLASSES``), gross
    weight (lb) and floor positions of that order's units of that class."""

    order: IntArray
    freight_class: NDArray[np.str_]
    rated_class: IntArray
    weight_lb: FloatArray
    floor_positions: FloatArray


@dataclass(frozen=True)
class Shipments:
    """Orders (ascending id) and the shipment each is in; per shipment its lane, ship
    day, gross weight (lb), handling units and price; per handling unit (numbered as in
    ``packing``) its shipment, NMFC class and density (pcf); the cost of shipping every
    order alone and consolidated, the saving (alone - consolidated, never below zero)
    and the consolidation rate (orders per shipment)."""

    order_id: IntArray
    order_shipment: IntArray
    order_alone_price: FloatArray
    shipment_lane: IntArray
    shipment_ship_day: IntArray
    shipment_weight_lb: FloatArray
    shipment_units: IntArray
    shipment_price: FloatArray
    packing: Packing
    unit_shipment: IntArray
    unit_class: NDArray[np.str_]
    unit_density_pcf: FloatArray
    rows: ClassRows
    alone_cost: float
    consolidated_cost: float
    saving: float
    consolidation_rate: float


def ltl_pricer(tariff: ClassRateTariff) -> Pricer:
    """A consolidation :data:`~spareflow.transport.consolidation.Pricer` from a class-rate
    tariff: lines (shipment, lane index, rated class index, weight in lb) priced as
    ``rate_ltl(tariff, ...).total`` per shipment, in the tariff's currency; a shipment
    with no lines costs 0."""

    def price(
        shipment: IntArray,
        lane: IntArray,
        freight_class: IntArray,
        weight_lb: FloatArray,
        count: int,
    ) -> FloatArray:
        out = np.zeros(count, dtype=np.float64)
        if np.asarray(shipment).size:
            total = rate_ltl(tariff, shipment, lane, freight_class, weight_lb).total
            out[: total.size] = total
        return out

    return price


def build_shipments(
    lines: OrderLines,
    tariff: ClassRateTariff,
    ship_date: date,
    *,
    pallet: PalletSpec = STANDARD_PALLET,
    max_weight_lb: float = 45_000.0,
    max_floor_positions: float = 26.0,
    rounding: Rounding = "exact",
) -> Shipments:
    """Pack, class, consolidate and price released order lines (module docstring).

    ``ship_date`` picks the NMFC density scale and ``rounding`` the carrier's rule for
    measured dimensions (:func:`spareflow.transport.freight.round_dimensions`);
    ``max_weight_lb`` and
    ``max_floor_positions`` are one trailer. ParameterError names the field and the
    1-based line of the first bad value (an order that fits no trailer: its first line).
    """
    order, lane, ready, due = _order_columns(lines, len(tariff.lanes))
    packing = pack(
        order,
        lines.quantity,
        lines.unit_weight_lb,
        lines.length_in,
        lines.width_in,
        lines.height_in,
        pallet,
    )
    order_id, first_line = np.unique(order, return_index=True)
    first_line = first_line.astype(np.intp)
    n_orders = order_id.size
    classified = classify_units(packing, ship_date, rounding=rounding)
    unit_order = np.searchsorted(order_id, packing.group).astype(np.intp)
    floor = np.where(
        packing.loose,
        np.ceil(packing.length_in * packing.width_in / pallet.footprint_in2 - 1e-9),
        1.0,
    )

    # (order, class) rows
    position = {c: i for i, c in enumerate(CLASSES)}
    actual = np.array([position[c] for c in classified.freight_class.tolist()], dtype=np.intp)
    key, row_of_unit = np.unique(unit_order * len(CLASSES) + actual, return_inverse=True)
    row_order = (key // len(CLASSES)).astype(np.intp)
    row_class = np.array([CLASSES[int(c)] for c in key % len(CLASSES)], dtype=np.str_)
    rated = class_index(row_class, tariff.fak)
    row_weight = _sums(row_of_unit, packing.weight_lb, key.size)
    row_floor = _sums(row_of_unit, floor, key.size)
    rows = ClassRows(row_order, row_class, rated, row_weight, row_floor)
    _check_rates(rows, lane[first_line], tariff, order_id, packing, row_of_unit)

    orders = Orders(
        lane=lane[first_line],
        ready_day=ready[first_line],
        due_day=due[first_line],
        weight_lb=_sums(row_order, row_weight, n_orders),
        floor_positions=_sums(row_order, row_floor, n_orders),
        freight_class=_heaviest_class(rows, n_orders),
    )
    _check_trailer(orders, order_id, first_line, max_weight_lb, max_floor_positions)
    result = consolidate(
        orders,
        _per_order(ltl_pricer(tariff), rows),
        max_weight_lb=max_weight_lb,
        max_floor_positions=max_floor_positions,
    )
    count = result.price.size
    unit_shipment = result.shipment[unit_order].astype(np.intp)
    consolidated = float(result.price.sum())
    alone = float(result.alone_price.sum())
    return Shipments(
        order_id=order_id.astype(np.intp),
        order_shipment=result.shipment.astype(np.intp),
        order_alone_price=result.alone_price.astype(np.float64),
        shipment_lane=result.lane.astype(np.intp),
        shipment_ship_day=result.ship_day.astype(np.intp),
        shipment_weight_lb=_sums(unit_shipment, packing.weight_lb, count),
        shipment_units=np.bincount(unit_shipment, minlength=count).astype(np.intp),
        shipment_price=result.price.astype(np.float64),
        packing=packing,
        unit_shipment=unit_shipment,
        unit_class=classified.freight_class,
        unit_density_pcf=classified.density_pcf,
        rows=rows,
        alone_cost=alone,
        consolidated_cost=consolidated,
        saving=result.saving,
        consolidation_rate=result.consolidation_rate,
    )


def _sums(index: IntArray, values: FloatArray, count: int) -> FloatArray:
    """Sum of ``values`` by ``index`` (0..count-1)."""
    out: FloatArray = np.bincount(index, weights=values, minlength=count).astype(np.float64)
    return out


def _per_order(price: Pricer, rows: ClassRows) -> Pricer:
    """A Pricer over order rows that rates each order's (order, class) rows: a row takes
    its order's shipment and lane; the order row's own class and weight are not used."""

    def priced(
        shipment: IntArray,
        lane: IntArray,
        freight_class: IntArray,
        weight_lb: FloatArray,
        count: int,
    ) -> FloatArray:
        return price(
            shipment[rows.order], lane[rows.order], rows.rated_class, rows.weight_lb, count
        )

    return priced


def _heaviest_class(rows: ClassRows, n_orders: int) -> IntArray:
    """Per order, the rated class of its heaviest (order, class) row."""
    by_weight = np.lexsort((-rows.weight_lb, rows.order))  # heaviest first in an order
    _, first = np.unique(rows.order[by_weight], return_index=True)
    out = np.zeros(n_orders, dtype=np.intp)
    out[rows.order[by_weight][first]] = rows.rated_class[by_weight][first]
    return out


def _order_columns(
    lines: OrderLines, n_lanes: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Order, lane, ready and due day of every line, checked: whole numbers, a lane of
    the tariff, due no earlier than ready, and one lane and window per order."""
    names = ("order", "lane", "ready_day", "due_day")
    columns: list[IntArray] = []
    n = -1
    for name in names:
        try:
            values = np.asarray(getattr(lines, name), dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(name, "whole numbers expected, one per line") from None
        if values.ndim != 1 or (n >= 0 and values.shape[0] != n):
            raise ParameterError(
                name, f"one value per line expected ({max(n, 0)} lines), got shape {values.shape}"
            )
        n = values.shape[0]
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            k = int(np.argmax(bad))
            raise ParameterError(name, f"line {k + 1}: a whole number expected, got {values[k]}")
        raw = np.asarray(getattr(lines, name))
        columns.append(raw.astype(np.intp) if raw.dtype.kind in "iu" else values.astype(np.intp))
    order, lane, ready, due = columns
    bad_lane = (lane < 0) | (lane >= n_lanes)
    if bad_lane.any():
        k = int(np.argmax(bad_lane))
        raise ParameterError(
            "lane", f"line {k + 1}: lane {lane[k]} is not in the tariff (0..{n_lanes - 1})"
        )
    late = due < ready
    if late.any():
        k = int(np.argmax(late))
        raise ParameterError(
            "due_day", f"line {k + 1}: due day {due[k]} is before the ready day {ready[k]}"
        )
    _, first, of = np.unique(order, return_index=True, return_inverse=True)
    for name, column in (("lane", lane), ("ready_day", ready), ("due_day", due)):
        differs = column != column[first[of]]
        if differs.any():
            k = int(np.argmax(differs))
            head = int(first[of[k]])
            raise ParameterError(
                name,
                f"line {k + 1}: order {order[k]} has {name} {column[head]} on line "
                f"{head + 1}, {column[k]} here; one {name} per order",
            )
    return order, lane, ready, due


def _check_rates(
    rows: ClassRows,
    row_lane: IntArray,
    tariff: ClassRateTariff,
    order_id: IntArray,
    packing: Packing,
    row_of_unit: IntArray,
) -> None:
    """Every (order, class) row has a rate on its order's lane; else name a line."""
    lane = row_lane[rows.order]
    missing = np.isnan(tariff.rates[lane, rows.rated_class, :]).any(axis=1)
    if missing.any():
        r = int(np.argmax(missing))
        units = np.flatnonzero(row_of_unit == r)
        line = int(packing.line[np.isin(packing.unit, units)].min())
        raise ParameterError(
            "freight_class",
            f"line {line + 1}: order {order_id[rows.order[r]]} packs to class "
            f"{rows.freight_class[r]}, which has no rate on lane {tariff.lanes[lane[r]]}",
        )


def _check_trailer(
    orders: Orders,
    order_id: IntArray,
    first_line: IntArray,
    max_weight_lb: float,
    max_floor_positions: float,
) -> None:
    """Every order fits one trailer; else name its first line."""
    over = (orders.weight_lb > max_weight_lb) | (orders.floor_positions > max_floor_positions)
    if over.any():
        k = int(np.argmax(over))
        raise ParameterError(
            "quantity",
            f"line {first_line[k] + 1}: order {order_id[k]} packs to "
            f"{orders.weight_lb[k]:,.0f} lb on {math.ceil(orders.floor_positions[k])} floor "
            f"positions, more than one trailer ({max_weight_lb:,.0f} lb, "
            f"{max_floor_positions:g} positions); split it",
        )
