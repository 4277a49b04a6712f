"""Shipments from released orders: consolidate orders on the same lane whose ship windows
meet, within one trailer, and keep a consolidation only where it costs less than
shipping each order alone.

Orders are grouped by lane; within a lane, the classic greedy interval stabbing: sort by
the last day an order may ship, open a shipment on the first such day, and add every
later order that can ship that day (ready by then) while the load fits a trailer (weight
and floor positions). The stabbing is one sort and a linear sweep; pricing is vectorised
(``rating.rate_ltl`` over all shipment lines at once). A consolidated shipment that would
cost more than its orders shipped alone is split back (heavier mixed loads can lose a
deficit-weight advantage, or cross into a capacity rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

IntArray = NDArray[np.intp]
FloatArray = NDArray[np.float64]

#: Prices shipments given as lines: (shipment of each line, lane of each line, class of
#: each line, weight of each line, number of shipments) -> price per shipment.
Pricer = Callable[[IntArray, IntArray, IntArray, FloatArray, int], FloatArray]


@dataclass(frozen=True)
class Orders:
    """Released orders ready to ship, one row each (a single freight class per order;
    split an order by class into rows with the same ``order`` number otherwise)."""

    lane: IntArray
    ready_day: IntArray  # the first day it may ship
    due_day: IntArray  # the last day it may ship
    weight_lb: FloatArray
    floor_positions: FloatArray  # pallet positions it takes (48 x 40)
    freight_class: IntArray  # index in rating.CLASSES


@dataclass(frozen=True)
class Consolidation:
    shipment: IntArray  # per order: its shipment
    ship_day: IntArray  # per shipment
    lane: IntArray  # per shipment
    price: FloatArray  # per shipment
    alone_price: FloatArray  # per order, shipped by itself
    saving: float  # sum alone - sum consolidated
    consolidation_rate: float  # orders per shipment


def consolidate(
    orders: Orders,
    price: Pricer,
    max_weight_lb: float = 45_000.0,
    max_floor_positions: float = 26.0,
) -> Consolidation:
    """Shipments per lane and common ship day, each priced, never dearer than alone."""
    n = orders.lane.shape[0]
    _check(orders, n, max_weight_lb, max_floor_positions)
    alone = price(
        np.arange(n), orders.lane, orders.freight_class, orders.weight_lb.astype(np.float64), n
    )
    shipment = np.full(n, -1, dtype=np.intp)
    days: list[int] = []
    order = np.lexsort((orders.ready_day, orders.due_day, orders.lane))
    current, day, weight, positions, lane = -1, 0, 0.0, 0.0, -1
    for k in order:  # greedy stabbing, one linear sweep after the sort
        fits = (
            current >= 0
            and orders.lane[k] == lane
            and orders.ready_day[k] <= day
            and weight + orders.weight_lb[k] <= max_weight_lb
            and positions + orders.floor_positions[k] <= max_floor_positions
        )
        if not fits:
            current += 1
            lane, day = int(orders.lane[k]), int(orders.due_day[k])
            weight, positions = 0.0, 0.0
            days.append(day)
        shipment[k] = current
        weight += float(orders.weight_lb[k])
        positions += float(orders.floor_positions[k])
    count = current + 1
    priced = price(shipment, orders.lane, orders.freight_class, orders.weight_lb, count)
    alone_sum = np.bincount(shipment, weights=alone, minlength=count)
    dearer = priced > alone_sum + 1e-9
    day_of = np.array(days, dtype=np.int64)
    if dearer.any():  # split those back: each order its own shipment on its due day
        split = np.flatnonzero(dearer[shipment])
        shipment[split] = count + np.arange(split.size)
        day_of = np.concatenate([day_of, orders.due_day[split]])
        used, shipment = np.unique(shipment, return_inverse=True)  # number them 0..
        day_of, count = day_of[used], used.size
        priced = price(shipment, orders.lane, orders.freight_class, orders.weight_lb, count)
    lane_of = np.zeros(count, dtype=np.intp)
    lane_of[shipment] = orders.lane
    total = float(priced.sum())
    return Consolidation(
        shipment=shipment,
        ship_day=day_of.astype(np.intp),
        lane=lane_of,
        price=priced,
        alone_price=alone,
        saving=float(alone.sum()) - total,
        consolidation_rate=n / count if count else 0.0,
    )


def _check(orders: Orders, n: int, max_weight_lb: float, max_floor_positions: float) -> None:
    for name in ("ready_day", "due_day", "weight_lb", "floor_positions", "freight_class"):
        if np.asarray(getattr(orders, name)).shape != (n,):
            raise ParameterError(name, f"one value per order ({n})")
    late = orders.due_day < orders.ready_day
    if late.any():
        k = int(np.argmax(late))
        raise ParameterError("due_day", f"order {k + 1}: due before it is ready")
    heavy = (orders.weight_lb > max_weight_lb) | (orders.floor_positions > max_floor_positions)
    if heavy.any():
        k = int(np.argmax(heavy))
        raise ParameterError("weight_lb", f"order {k + 1}: more than one trailer; split it")
    if np.any(orders.weight_lb <= 0):
        k = int(np.argmax(orders.weight_lb <= 0))
        raise ParameterError("weight_lb", f"order {k + 1}: must be above zero")
