"""A repair network of one depot and its bases, as arrays the METRIC engines read.

Items are line-replaceable units (LRUs) or shop-replaceable units (SRUs) of one LRU
(two indentures). At base ``j`` an item is removed at ``demand[i, j]`` units per day
(for an SRU: per day of LRU repairs at that base that need it); a share
``repair_share[i, j]`` is repaired at the base in ``base_repair_days[i, j]``, the rest
goes to the depot, which repairs it in ``depot_repair_days[i]`` and ships a serviceable
unit back in ``order_ship_days[i, j]`` (the base's order-and-ship time). Each base
operates ``fleet_size[j]`` units of equipment with ``quantity_per_unit[i]`` of each LRU
installed (Sherbrooke 2004, *Optimal Inventory Modeling of Systems*, 2nd ed., ch. 3-5).
An SRU is also removed at the depot, ``depot_removals[i]`` per day, during the depot's
repairs of its LRU (0 for LRUs).
Units: days, units per day, currency per unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RepairNetwork:
    """Items (rows) x bases (columns) of one depot's repair network (see module doc).

    ``parent[i]``: row of the LRU that SRU ``i`` belongs to, or -1 for an LRU.
    """

    unit_cost: F64
    parent: I64
    quantity_per_unit: F64
    demand: F64
    repair_share: F64
    base_repair_days: F64
    order_ship_days: F64
    depot_repair_days: F64
    fleet_size: F64
    depot_removals: F64 | None = None

    @property
    def items(self) -> int:
        return int(self.unit_cost.shape[0])

    @property
    def bases(self) -> int:
        return int(self.fleet_size.shape[0])

    @property
    def is_lru(self) -> NDArray[np.bool_]:
        return np.asarray(self.parent < 0)

    @property
    def depot_demand(self) -> F64:
        """Units per day the depot repairs: sum over bases of (1 - r) m, plus an SRU's
        removals in the depot's repairs of its LRU."""
        from_bases = ((1.0 - self.repair_share) * self.demand).sum(axis=1)
        return np.asarray(from_bases + self.removed_at_depot)

    @property
    def removed_at_depot(self) -> F64:
        """``depot_removals``, zeros when not given (units per day, items,)."""
        if self.depot_removals is None:
            return np.zeros(self.items)
        return np.asarray(self.depot_removals, dtype=np.float64)

    @property
    def base_cycle_days(self) -> F64:
        """Mean resupply time at each base with the depot never short (days): r T + (1 - r) O."""
        r = self.repair_share
        return np.asarray(r * self.base_repair_days + (1.0 - r) * self.order_ship_days)

    def take(self, rows: I64) -> RepairNetwork:
        """The network of ``rows`` only (their parents must be among them or be -1)."""
        rows = np.asarray(rows, dtype=np.int64)
        remap = np.full(self.items, -1, dtype=np.int64)
        remap[rows] = np.arange(rows.size)
        parent = np.where(self.parent[rows] >= 0, remap[np.maximum(self.parent[rows], 0)], -1)
        return RepairNetwork(
            self.unit_cost[rows],
            parent,
            self.quantity_per_unit[rows],
            self.demand[rows],
            self.repair_share[rows],
            self.base_repair_days[rows],
            self.order_ship_days[rows],
            self.depot_repair_days[rows],
            self.fleet_size,
            None if self.depot_removals is None else self.depot_removals[rows],
        )

    def check(self) -> None:
        """Raise :class:`ParameterError` naming the first item or base that is invalid."""
        n, j = self.items, self.bases
        for name in ("demand", "repair_share", "base_repair_days", "order_ship_days"):
            shape = getattr(self, name).shape
            if shape != (n, j):
                raise ParameterError(
                    "network", f"{name} must be items x bases ({n} x {j}), got {shape}"
                )
        for name in ("unit_cost", "parent", "quantity_per_unit", "depot_repair_days"):
            if getattr(self, name).shape != (n,):
                raise ParameterError("network", f"{name} must have one value per item ({n})")
        _nonnegative("demand", self.demand)
        _nonnegative("base_repair_days", self.base_repair_days)
        _nonnegative("order_ship_days", self.order_ship_days)
        _nonnegative("depot_repair_days", self.depot_repair_days)
        _nonnegative("depot_removals", self.removed_at_depot)
        if self.removed_at_depot.shape != (n,):
            raise ParameterError("depot_removals", f"must have one value per item ({n})")
        bad = np.flatnonzero(~((self.repair_share >= 0) & (self.repair_share <= 1)).all(axis=1))
        if bad.size:
            raise ParameterError("network", f"item row {bad[0]}: repair_share must be within 0..1")
        bad = np.flatnonzero(~(self.unit_cost > 0))
        if bad.size:
            raise ParameterError("network", f"item row {bad[0]}: unit_cost must be > 0")
        bad = np.flatnonzero(~(self.fleet_size > 0))
        if bad.size:
            raise ParameterError("network", f"base {bad[0]}: fleet_size must be > 0")
        lru = self.is_lru
        bad = np.flatnonzero(lru & ~(self.quantity_per_unit > 0))
        if bad.size:
            raise ParameterError(
                "network", f"item row {bad[0]}: quantity_per_unit must be > 0 for an LRU"
            )
        bad = np.flatnonzero(lru & (self.removed_at_depot > 0))
        if bad.size:
            raise ParameterError(
                "depot_removals", f"item row {bad[0]}: only an SRU is removed at the depot"
            )
        sru = np.flatnonzero(~lru)
        if sru.size:
            p = self.parent[sru]
            if ((p < 0) | (p >= n)).any() or not lru[p].all():
                row = sru[~(((p >= 0) & (p < n)) & lru[np.clip(p, 0, n - 1)])][0]
                raise ParameterError(
                    "network", f"item row {row}: its parent must be an LRU (two indentures at most)"
                )


def _nonnegative(name: str, values: F64) -> None:
    bad = np.argwhere(~(values >= 0))
    if bad.size:
        where = ", ".join(str(int(k)) for k in bad[0])
        raise ParameterError("network", f"{name} at [{where}] must be a number >= 0")
