"""Discrete-event simulation of a depot-and-bases repair network (LRUs and their SRUs),
with optional lateral and emergency shipments: the check of METRIC and VARI-METRIC.

Events (SimPy, one environment per replication): removals at each base and item arrive
as a Poisson stream; a removal takes a serviceable unit from the base's shelf or, if
there is none, waits (a backorder: a hole in some unit of equipment). The failed unit is
repaired at the base (share ``r``, taking the base repair time) or sent to the depot,
which repairs it (depot repair time) and, at the same moment the removal happened, the
base asks the depot for a replacement: the depot ships one at once if it has one, else
the request waits its turn (first come, first served), and the unit arrives after the
order-and-ship time. Every arriving unit fills the oldest backorder at its base first.

Two indentures: an LRU repair (at a base or the depot) needs one of its SRUs at most (the
one whose failure removed it), SRU k with the chance that makes its removals match its
rate there (SRU removals / LRU repairs); it takes that SRU from the location's shelf or
waits for it (an SRU backorder holding the LRU), then takes its repair time; the failed
SRU is repaired like an LRU (at the base with its share, else at the depot, the base
asking the depot for one). At the depot
SRU requests from bases and from the depot's own repairs are served first come, first
served.

Options beyond the METRIC assumptions (where the theory is no longer exact):

* ``lateral_days``: a base with a backorder and no unit on the way soon borrows from
  the base with the most units on its shelf (if any has one), arriving after
  ``lateral_days``; the borrower's next replenishment goes back to the lender.
* ``emergency_days``: the depot ships a replacement for a removal that became a
  backorder by the emergency mode, arriving after ``emergency_days`` instead of the
  order-and-ship time.

Repair times are exponential with the given means (``repair_distribution="exponential"``)
or fixed (``"fixed"``); by Palm's theorem the steady state of the pipelines does not
depend on that choice when there are no laterals. Transit times are fixed.

Measured per replication after a warm-up: time-average backorders per item and
location, fill rates (share of removals served from the shelf at once), and per base the
time-average share of the fleet that is up, with holes placed at random over the
``N Z`` positions of each item (a unit is up when none of its positions has a hole:
``prod_i C(NZ_i - Z_i, B_i) / C(NZ_i, B_i)`` at each moment). Units: days.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import simpy
from numpy.typing import NDArray
from scipy import stats

from spareflow.errors import ParameterError
from spareflow.multiechelon.network import RepairNetwork

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RepairSimulation:
    """Means over replications and the half-widths of their confidence intervals.

    ``base_backorders`` / ``base_fill_rate``: (items, bases); ``depot_backorders``:
    (items,); ``availability``: (bases,); ``*_ci``: the same shapes (half-widths at
    ``level``); ``lateral_shipments`` and ``emergency_shipments`` per year.
    """

    base_backorders: F64
    base_backorders_ci: F64
    base_fill_rate: F64
    base_fill_rate_ci: F64
    depot_backorders: F64
    depot_backorders_ci: F64
    availability: F64
    availability_ci: F64
    lateral_shipments: float
    emergency_shipments: float
    replications: int
    level: float


def simulate_network(
    network: RepairNetwork,
    depot_stock: I64,
    base_stock: I64,
    days: float = 20_000.0,
    warmup: float = 1_000.0,
    replications: int = 5,
    seed: int = 0,
    repair_distribution: Literal["exponential", "fixed"] = "exponential",
    lateral_days: float | None = None,
    emergency_days: float | None = None,
    level: float = 0.95,
) -> RepairSimulation:
    """Simulate ``replications`` independent runs of ``days`` after ``warmup`` days."""
    network.check()
    _check_indentures(network)
    if replications < 2:
        raise ParameterError("replications", "at least 2 are needed for a confidence interval")
    if repair_distribution not in ("exponential", "fixed"):
        raise ParameterError("repair_distribution", "must be exponential or fixed")
    runs = [
        _Run(
            network,
            np.asarray(depot_stock, dtype=np.int64),
            np.asarray(base_stock, dtype=np.int64),
            np.random.default_rng([seed, k]),
            repair_distribution,
            lateral_days,
            emergency_days,
        ).run(warmup, days)
        for k in range(replications)
    ]
    t = float(stats.t.ppf(0.5 + level / 2.0, replications - 1))

    def summary(values: list[F64]) -> tuple[F64, F64]:
        a = np.stack(values)
        return a.mean(axis=0), t * a.std(axis=0, ddof=1) / np.sqrt(replications)

    bb, bb_ci = summary([r[0] for r in runs])
    fr, fr_ci = summary([r[1] for r in runs])
    db, db_ci = summary([r[2] for r in runs])
    av, av_ci = summary([r[3] for r in runs])
    per_year = 365.0 / days
    return RepairSimulation(
        bb, bb_ci, fr, fr_ci, db, db_ci, av, av_ci,
        float(np.mean([r[4] for r in runs])) * per_year,
        float(np.mean([r[5] for r in runs])) * per_year,
        replications, level,
    )  # fmt: skip


def _check_indentures(net: RepairNetwork) -> None:
    """An LRU repair needs one SRU at most (the one whose failure removed it: Sherbrooke
    2004, ch. 5), so its SRUs' removals together cannot outnumber its repairs, at each
    base and at the depot."""
    sru = np.flatnonzero(~net.is_lru)
    if sru.size == 0:
        return
    n, j = net.items, net.bases
    parent = net.parent[sru]
    at_bases = np.zeros((n, j))
    np.add.at(at_bases, parent, net.demand[sru])
    at_depot = np.zeros(n)
    np.add.at(at_depot, parent, net.removed_at_depot[sru])
    base_repairs = net.repair_share * net.demand
    over = np.argwhere(at_bases > base_repairs * (1.0 + 1e-9))
    if over.size:
        i, b = over[0]
        raise ParameterError(
            "network",
            f"item row {i}: its SRUs' removals at base {b} exceed its repairs there",
        )
    over_depot = np.flatnonzero(at_depot > net.depot_demand * (1.0 + 1e-9))
    if over_depot.size:
        raise ParameterError(
            "network",
            f"item row {over_depot[0]}: its SRUs' depot removals exceed its depot repairs",
        )


class _Run:
    """One replication: the state of every shelf and queue, and the time integrals."""

    def __init__(
        self,
        net: RepairNetwork,
        depot_stock: I64,
        base_stock: I64,
        rng: np.random.Generator,
        repair_distribution: str,
        lateral_days: float | None,
        emergency_days: float | None,
    ) -> None:
        self.net = net
        self.rng = rng
        self.fixed = repair_distribution == "fixed"
        self.lateral_days = lateral_days
        self.emergency_days = emergency_days
        n, j = net.items, net.bases
        self.env = simpy.Environment()
        self.depot_shelf = depot_stock.copy()
        # base requests (base, urgent, None) and depot repairs waiting for an SRU (-1, ...)
        self.depot_queue: list[deque[tuple[int, bool, Callable[[], None] | None]]] = [
            deque() for _ in range(n)
        ]
        self.shelf = base_stock.copy()
        # backorders in order: None for a removal, the LRU repair to resume for an SRU
        self.waiting: list[list[deque[Callable[[], None] | None]]] = [
            [deque() for _ in range(j)] for _ in range(n)
        ]
        self.children = [np.flatnonzero(net.parent == i) for i in range(n)]
        lru_base = net.repair_share * net.demand
        lru_depot = net.depot_demand
        # chance an LRU repair needs each of its SRUs, at each base and at the depot
        self.need_base = np.zeros((n, j))
        self.need_depot = np.zeros(n)
        for k in np.flatnonzero(~net.is_lru):
            i = int(net.parent[k])
            self.need_base[k] = np.divide(
                net.demand[k], lru_base[i], out=np.zeros(j), where=lru_base[i] > 0
            )
            if lru_depot[i] > 0:
                self.need_depot[k] = net.removed_at_depot[k] / lru_depot[i]
        self.owed: list[list[deque[int]]] = [[deque() for _ in range(j)] for _ in range(n)]
        self.backorders = np.zeros((n, j), dtype=np.int64)
        self.depot_backorders = np.zeros(n, dtype=np.int64)
        # time integrals (reset at the end of the warm-up)
        self.start = 0.0
        self.last = np.zeros((n, j))
        self.area = np.zeros((n, j))
        self.depot_last = np.zeros(n)
        self.depot_area = np.zeros(n)
        self.demands = np.zeros((n, j))
        self.filled = np.zeros((n, j))
        self.positions = net.fleet_size[None, :] * net.quantity_per_unit[:, None]
        self.up = np.ones((n, j))  # share of units without a hole of item i, per base
        self.up_last = np.zeros(j)
        self.up_area = np.zeros(j)
        self.laterals = 0
        self.emergencies = 0

    # ------------------------------------------------------------------ bookkeeping

    def _touch(self, i: int, b: int) -> None:
        now = self.env.now
        self.area[i, b] += self.backorders[i, b] * (now - self.last[i, b])
        self.last[i, b] = now
        self.up_area[b] += float(np.prod(self.up[:, b])) * (now - self.up_last[b])
        self.up_last[b] = now

    def _set_backorders(self, i: int, b: int, change: int) -> None:
        self._touch(i, b)
        self.backorders[i, b] += change
        if self.net.parent[i] >= 0:
            return  # an SRU is not installed on the equipment: no hole of its own
        k = int(self.backorders[i, b])
        npos, z = self.positions[i, b], self.net.quantity_per_unit[i]
        # C(NZ - Z, k) / C(NZ, k) = prod_{m<k} (NZ - Z - m) / (NZ - m)
        m = np.arange(k)
        self.up[i, b] = float(np.prod(np.clip((npos - z - m) / (npos - m), 0.0, 1.0)))

    def _touch_depot(self, i: int, change: int) -> None:
        now = self.env.now
        self.depot_area[i] += self.depot_backorders[i] * (now - self.depot_last[i])
        self.depot_last[i] = now
        self.depot_backorders[i] += change

    def _after(self, delay: float, action: object, *args: object) -> None:
        event = self.env.timeout(delay)
        event.callbacks.append(lambda _e: action(*args))  # type: ignore[operator]

    def _repair_time(self, mean: float) -> float:
        return mean if self.fixed else float(self.rng.exponential(mean)) if mean > 0 else 0.0

    # ------------------------------------------------------------------ processes

    def _removals(self, i: int, b: int) -> object:
        rate = self.net.demand[i, b]
        while True:
            yield self.env.timeout(self.rng.exponential(1.0 / rate))
            self._removal(i, b)

    def _removal(self, i: int, b: int, then: Callable[[], None] | None = None) -> None:
        """A unit of item i is needed at base b: an LRU removed from the equipment, or an
        SRU for an LRU repair (``then`` resumes that repair once the SRU is in hand)."""
        if self.env.now >= self.start:
            self.demands[i, b] += 1
        short = self.shelf[i, b] == 0
        if short:
            self.waiting[i][b].append(then)
            self._set_backorders(i, b, +1)
        else:
            self.shelf[i, b] -= 1
            if self.env.now >= self.start:
                self.filled[i, b] += 1
            if then is not None:
                then()
        if self.rng.random() < self.net.repair_share[i, b]:
            self._base_repair(i, b)
        else:
            self._depot_repair(i)
            self._request(i, b, urgent=bool(short))
        if short and then is None and self.lateral_days is not None:
            self._borrow(i, b)

    def _base_repair(self, i: int, b: int) -> None:
        """Repair at the base: first the SRUs it needs, then the repair time."""

        def repair() -> None:
            self._after(self._repair_time(self.net.base_repair_days[i, b]), self._arrive, i, b)

        needs = self._one_sru(i, self.need_base[:, b])
        self._with_srus(needs, repair, lambda k, go: self._removal(k, b, go))

    def _depot_repair(self, i: int) -> None:
        """Repair at the depot: first the SRUs it needs from the depot's shelf, then the
        repair time; the repaired unit goes to the depot's shelf or its oldest request."""

        def repair() -> None:
            self._after(self._repair_time(self.net.depot_repair_days[i]), self._depot_in, i)

        needs = self._one_sru(i, self.need_depot)
        self._with_srus(needs, repair, self._depot_sru)

    def _one_sru(self, i: int, chance: F64) -> list[int]:
        """The SRU (at most one) an LRU repair needs: SRU k with its chance."""
        kids = self.children[i]
        if kids.size == 0:
            return []
        u = self.rng.random()
        edge = np.cumsum(chance[kids])
        pick = int(np.searchsorted(edge, u, side="right"))
        return [int(kids[pick])] if pick < kids.size else []

    def _with_srus(
        self,
        needs: list[int],
        repair: Callable[[], None],
        take: Callable[[int, Callable[[], None]], None],
    ) -> None:
        if not needs:
            repair()
            return
        left = [len(needs)]

        def one_in() -> None:
            left[0] -= 1
            if left[0] == 0:
                repair()

        for k in needs:
            take(k, one_in)

    def _depot_sru(self, k: int, then: Callable[[], None]) -> None:
        """An SRU for a depot repair: from the depot's shelf or in line (first come,
        first served with the bases' requests); its failed unit is repaired there."""
        if self.depot_shelf[k] > 0:
            self.depot_shelf[k] -= 1
            then()
        else:
            self.depot_queue[k].append((-1, False, then))
            self._touch_depot(k, +1)
        self._depot_repair(k)

    def _request(self, i: int, b: int, urgent: bool) -> None:
        if self.depot_shelf[i] > 0:
            self.depot_shelf[i] -= 1
            self._ship(i, b, urgent)
        else:
            self.depot_queue[i].append((b, urgent, None))
            self._touch_depot(i, +1)

    def _ship(self, i: int, b: int, urgent: bool) -> None:
        transit = self.net.order_ship_days[i, b]
        if urgent and self.emergency_days is not None and self.emergency_days < transit:
            transit = self.emergency_days
            self.emergencies += 1
        self._after(transit, self._arrive, i, b)

    def _depot_in(self, i: int) -> None:
        if self.depot_queue[i]:
            b, urgent, then = self.depot_queue[i].popleft()
            self._touch_depot(i, -1)
            if then is not None:
                then()  # a depot repair waiting for this SRU
            else:
                self._ship(i, b, urgent)
        else:
            self.depot_shelf[i] += 1

    def _arrive(self, i: int, b: int) -> None:
        owed = self.owed[i][b]
        if owed:  # pay back a lateral loan first
            lender = owed.popleft()
            self._after(float(self.lateral_days or 0.0), self._arrive, i, lender)
            return
        self._put(i, b)

    def _put(self, i: int, b: int) -> None:
        if self.waiting[i][b]:
            then = self.waiting[i][b].popleft()
            self._set_backorders(i, b, -1)
            if then is not None:
                then()  # an LRU repair waiting for this SRU
        else:
            self.shelf[i, b] += 1

    def _borrow(self, i: int, b: int) -> None:
        shelf = self.shelf[i].copy()
        shelf[b] = 0
        lender = int(np.argmax(shelf))
        if shelf[lender] <= 0:
            return
        self.shelf[i, lender] -= 1
        self.owed[i][b].append(lender)
        self.laterals += 1
        self._after(float(self.lateral_days or 0.0), self._put, i, b)

    # ------------------------------------------------------------------ run

    def run(self, warmup: float, days: float) -> tuple[F64, F64, F64, F64, int, int]:
        n, j = self.net.items, self.net.bases
        for lru in np.flatnonzero(self.net.is_lru).tolist():
            for b in range(j):
                if self.net.demand[lru, b] > 0:
                    self.env.process(self._removals(lru, b))  # type: ignore[arg-type]
        self.env.run(until=warmup)
        self.start = warmup
        for i in range(n):
            for b in range(j):
                self._touch(i, b)
            self._touch_depot(i, 0)
        self.area[:] = 0.0
        self.depot_area[:] = 0.0
        self.up_area[:] = 0.0
        self.laterals = self.emergencies = 0
        self.env.run(until=warmup + days)
        for i in range(n):
            for b in range(j):
                self._touch(i, b)
            self._touch_depot(i, 0)
        fill = np.divide(self.filled, self.demands, out=np.ones((n, j)), where=self.demands > 0)
        return (
            self.area / days,
            fill,
            self.depot_area / days,
            self.up_area / days,
            self.laterals,
            self.emergencies,
        )
