"""Allocating scarce stock by priority class with fair shares, and lateral transshipments.

:func:`allocate`: a pool of free stock per item (the central warehouse's, say) serves
demands strictly by priority class (:data:`EQUIPMENT_DOWN` first, then
:data:`SERVICE_CONTRACT`, then :data:`REPLENISHMENT`; any further class after). A class
the remaining stock S cannot serve in full (class demand D > S) is shared between its
sites in proportion to their demand in the class, S x d_site / D: the fair-share
allocation of Eppen & Schrage (1981), "Centralized ordering policies in a multi-warehouse
system with lead times and random demand", TIMS Studies in the Management Sciences 16,
51-67; Silver, Pyke & Thomas, *Inventory and Production Management in Supply Chains*, 4th
ed., CRC Press 2017 (multi-echelon allocation). Classes after it get nothing.

With ``integer=True`` the shares are whole units by largest remainder (Hamilton's method):
each site gets floor(S x d_site / D), and the units left go one each to the sites with the
largest remainders; equal remainders go to the larger site demand, then the lower site
index. Computed in integers, so ties are exact. No site gets more than it asked
(S < D gives floor + 1 <= d_site) and all of S is handed out.

Within a site, its share fills that site's demands of the class in input order (the
site's own queue).

:func:`transshipments`: suggests lateral moves from sites with excess stock (above what
they must keep: the caller's figure) to the shortages. Shortages are served in priority
class order, then input order; an equipment-down shortage (class 0) takes the fastest
source (lowest transit days; then the lowest cost per unit), every other class the
cheapest (lowest cost per unit; then the fastest), then the lower lane index, then the
lower excess row. The cost per unit of a candidate move is cost_per_unit + fixed_cost / m,
with m the most it could move (the shortage still open, or the source's excess if less).
A shortage takes from its best source what it can, then the next, until covered; excess
taken is gone for every later shortage; a source without a lane to the site is never
used. This is a greedy heuristic, not an optimum (Paterson, Kiesmüller, Teunter &
Glazebrook (2011), "Inventory models with lateral transshipments: A review", EJOR 210(2),
125-136, survey the optimal policies).

Vectorised: :func:`allocate` in one pass over sorted arrays (no loop per item);
:func:`transshipments` loops over rounds, not shortages: round k serves the k-th shortage
of every item at once (items do not share excess), so the loop runs as many times as the
most shortages one item has, each round numpy over every (shortage, source, lane) pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

EQUIPMENT_DOWN = 0  # AOG, machine down
SERVICE_CONTRACT = 1
REPLENISHMENT = 2


@dataclass(frozen=True)
class Allocation:
    """Per demand: the ``allocated`` and ``short`` quantities (units, adding up to the
    demand); per item: the pool ``left_over``."""

    allocated: FloatArray
    short: FloatArray
    left_over: FloatArray


@dataclass(frozen=True)
class Lanes:
    """Lanes between sites: ``transit_days``, ``cost_per_unit`` (currency per unit) and an
    optional ``fixed_cost`` (currency per shipment; None for none)."""

    from_site: IntArray
    to_site: IntArray
    transit_days: FloatArray
    cost_per_unit: FloatArray
    fixed_cost: FloatArray | None = None


@dataclass(frozen=True)
class Transshipments:
    """One row per suggested move: the ``shortage`` row it serves, its item, sites, lane
    (index), quantity (units), transit days and cost (quantity x cost_per_unit +
    fixed_cost). Rows in the order the shortages were served, each shortage's best source
    first. ``uncovered``: per shortage row, what is still short; ``excess_left``: per
    excess row, what is left."""

    shortage: IntArray
    item: IntArray
    from_site: IntArray
    to_site: IntArray
    lane: IntArray
    quantity: FloatArray
    transit_days: FloatArray
    cost: FloatArray
    uncovered: FloatArray
    excess_left: FloatArray


def allocate(
    pool: FloatArray,
    item: IntArray,
    site: IntArray,
    quantity: FloatArray,
    priority: IntArray,
    *,
    integer: bool = False,
) -> Allocation:
    """Allocate ``pool`` (units per item) to the demands (``item``, ``site``, ``quantity``
    in units, ``priority`` class >= 0, 0 most urgent) by class with fair shares (module
    docstring). ``integer=True`` needs whole-number pool and quantities. ParameterError
    names the field and the item or demand index at fault."""
    pool, item, site, quantity, priority = _demands(pool, item, site, quantity, priority, integer)
    m = item.size
    allocated = np.zeros(m)
    if m == 0:
        return Allocation(allocated, allocated.copy(), pool.copy())
    order = np.lexsort((np.arange(m), site, priority, item))
    it, cl, st, qty = item[order], priority[order], site[order], quantity[order]

    # groups of (item, class, site), and of (item, class) over those
    new_site = np.r_[True, (it[1:] != it[:-1]) | (cl[1:] != cl[:-1]) | (st[1:] != st[:-1])]
    site_start = np.flatnonzero(new_site)
    site_demand = np.add.reduceat(qty, site_start)
    g_item, g_class, g_site = it[site_start], cl[site_start], st[site_start]
    new_class = np.r_[True, (g_item[1:] != g_item[:-1]) | (g_class[1:] != g_class[:-1])]
    class_start = np.flatnonzero(new_class)
    class_of_site = np.cumsum(new_class) - 1
    class_demand = np.add.reduceat(site_demand, class_start)
    c_item = g_item[class_start]

    # stock left when each class's turn comes: the pool less the classes before it
    before = np.cumsum(class_demand) - class_demand
    first_of_item = np.r_[True, c_item[1:] != c_item[:-1]]
    before -= np.maximum.accumulate(np.where(first_of_item, before, 0.0))
    served = np.minimum(np.maximum(pool[c_item] - before, 0.0), class_demand)

    if integer:
        share = _largest_remainder(served, class_demand, site_demand, class_of_site, g_site)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(class_demand > 0, served / class_demand, 0.0)
        share = np.minimum(ratio[class_of_site] * site_demand, site_demand)

    # each site's share fills its demands in input order
    group = np.cumsum(new_site) - 1
    cum_before = np.cumsum(qty) - qty
    filled_before = cum_before - cum_before[site_start][group]
    allocated[order] = np.clip(share[group] - filled_before, 0.0, qty)
    taken = np.bincount(item, weights=allocated, minlength=pool.size)
    return Allocation(
        allocated=allocated,
        short=np.asarray(quantity - allocated, dtype=np.float64),
        left_over=np.maximum(pool - taken, 0.0),
    )


def transshipments(
    item: IntArray,
    site: IntArray,
    short: FloatArray,
    priority: IntArray,
    excess_item: IntArray,
    excess_site: IntArray,
    excess: FloatArray,
    lanes: Lanes,
) -> Transshipments:
    """Suggest lateral moves for the shortages (``item``, ``site``, ``short`` in units,
    ``priority`` class; rows with short 0 are skipped, so :func:`allocate`'s demand arrays
    and ``short`` fit) from the ``excess`` (units) of ``excess_item`` at ``excess_site``
    over ``lanes``: greedy, by the rule in the module docstring. ParameterError names the
    field and the shortage, excess or lane index at fault."""
    item, site, short, priority = _shortages(item, site, short, priority)
    excess_item, excess_site, excess = _excess(excess_item, excess_site, excess)
    origin, target, days, unit_cost, fixed = _lanes(lanes)
    left = excess.copy()
    uncovered = short.copy()

    open_ = np.flatnonzero(short > 0)
    order = open_[np.lexsort((open_, priority[open_]))]  # service order
    service = np.empty(short.size, dtype=np.intp)
    service[order] = np.arange(order.size)
    # round k serves each item's k-th shortage in service order
    by_item = order[np.argsort(item[order], kind="stable")]
    starts = np.diff(item[by_item], prepend=-1) != 0
    rank = np.arange(by_item.size) - np.maximum.accumulate(
        np.where(starts, np.arange(by_item.size), 0)
    )
    by_round = by_item[np.argsort(rank, kind="stable")]
    round_bounds = np.searchsorted(np.sort(rank), np.arange(int(rank.max(initial=-1)) + 2))

    x_order = np.argsort(excess_item, kind="stable")
    x_sorted = excess_item[x_order]
    sites = int(np.concatenate([site, excess_site, origin, target]).max(initial=-1)) + 1
    lane_key = origin * sites + target
    l_order = np.argsort(lane_key, kind="stable")
    l_sorted = lane_key[l_order]

    parts: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    for k in range(round_bounds.size - 1):
        s = by_round[round_bounds[k] : round_bounds[k + 1]]  # one shortage per item
        # pairs (shortage, excess row of its item)
        lo = np.searchsorted(x_sorted, item[s], side="left")
        hi = np.searchsorted(x_sorted, item[s], side="right")
        owner, at = _expand(lo, hi)
        ps, px = s[owner], x_order[at]
        keep = left[px] > 0
        ps, px = ps[keep], px[keep]
        # triples (shortage, excess row, lane from the excess site to the shortage site)
        key = excess_site[px] * sites + site[ps]
        owner, at = _expand(
            np.searchsorted(l_sorted, key, side="left"),
            np.searchsorted(l_sorted, key, side="right"),
        )
        ps, px, pl = ps[owner], px[owner], l_order[at]
        if ps.size == 0:
            continue
        most = np.minimum(uncovered[ps], left[px])
        per_unit = unit_cost[pl] + fixed[pl] / most
        down = priority[ps] == EQUIPMENT_DOWN
        first = np.where(down, days[pl], per_unit)
        second = np.where(down, per_unit, days[pl])
        pick = np.lexsort((px, pl, second, first, service[ps]))
        ps, px, pl = ps[pick], px[pick], pl[pick]
        # one lane per (shortage, source): the best; then fill the shortage down the list
        _, best = np.unique(ps * excess.size + px, return_index=True)
        best.sort()
        ps, px, pl = ps[best], px[best], pl[best]
        head = np.r_[True, ps[1:] != ps[:-1]]
        cum = np.cumsum(left[px])
        taken_before = cum - left[px] - np.maximum.accumulate(np.where(head, cum - left[px], 0.0))
        take = np.clip(uncovered[ps] - taken_before, 0.0, left[px])
        moved = take > 0
        ps, px, pl, take = ps[moved], px[moved], pl[moved], take[moved]
        left[px] -= take  # each excess row at most once per round
        np.subtract.at(uncovered, ps, take)
        parts.append((ps, px, pl, take))

    if parts:
        ps = np.concatenate([p[0] for p in parts])
        px = np.concatenate([p[1] for p in parts])
        pl = np.concatenate([p[2] for p in parts])
        take = np.concatenate([p[3] for p in parts])
        final = np.argsort(service[ps], kind="stable")
        ps, px, pl, take = ps[final], px[final], pl[final], take[final]
    else:
        ps = px = pl = np.zeros(0, dtype=np.intp)
        take = np.zeros(0)
    return Transshipments(
        shortage=ps,
        item=item[ps],
        from_site=excess_site[px],
        to_site=site[ps],
        lane=pl,
        quantity=take,
        transit_days=days[pl],
        cost=np.asarray(take * unit_cost[pl] + fixed[pl], dtype=np.float64),
        uncovered=np.maximum(uncovered, 0.0),
        excess_left=np.maximum(left, 0.0),
    )


def _largest_remainder(
    served: FloatArray,
    class_demand: FloatArray,
    site_demand: FloatArray,
    class_of_site: IntArray,
    site: IntArray,
) -> FloatArray:
    """Whole-unit shares of ``served`` between the sites of each class, by largest
    remainder; ties to the larger site demand, then the lower site index."""
    total = np.rint(class_demand).astype(np.int64)[class_of_site]
    wanted = np.rint(site_demand).astype(np.int64)
    product = np.rint(served).astype(np.int64)[class_of_site] * wanted
    safe = np.maximum(total, 1)
    floor, remainder = product // safe, product % safe
    extra = np.rint(served).astype(np.int64) - np.bincount(
        class_of_site, weights=floor, minlength=served.size
    ).astype(np.int64)
    order = np.lexsort((site, -wanted, -remainder, class_of_site))
    start = np.searchsorted(class_of_site[order], class_of_site[order], side="left")
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size) - start
    return (floor + (position < extra[class_of_site])).astype(np.float64)


def _expand(lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges [lo, hi): the owner of each element and its position."""
    counts = hi - lo
    owner = np.repeat(np.arange(lo.size), counts)
    offset = np.cumsum(counts) - counts
    return owner.astype(np.intp), (lo[owner] + np.arange(owner.size) - offset[owner]).astype(
        np.intp
    )


def _same_length(fields: Mapping[str, NDArray[np.generic]], what: str) -> None:
    shapes = {np.shape(v) for v in fields.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ParameterError(what, f"{', '.join(fields)} need one value per {what} row")


def _indices(
    name: str, values: NDArray[np.generic], row: str, upper: int | None = None
) -> IntArray:
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise ParameterError(name, f"whole numbers expected, got dtype {values.dtype}")
    index = values.astype(np.intp)
    bad = index < 0 if upper is None else (index < 0) | (index >= upper)
    if np.any(bad):
        k = int(np.argmax(bad))
        limit = ">= 0" if upper is None else f"in 0..{upper - 1}"
        raise ParameterError(name, f"{row} index {k}: must be {limit}, got {index[k]}")
    return index


def _amounts(name: str, values: NDArray[np.generic], row: str, whole: bool = False) -> FloatArray:
    amount = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(amount) | (amount < 0)
    if whole:
        bad |= np.isfinite(amount) & (amount != np.round(amount))
    if np.any(bad):
        k = int(np.argmax(bad))
        what = "a whole number >= 0" if whole else "finite and >= 0"
        raise ParameterError(name, f"{row} index {k}: must be {what}, got {amount[k]}")
    return amount


def _demands(
    pool: FloatArray,
    item: IntArray,
    site: IntArray,
    quantity: FloatArray,
    priority: IntArray,
    integer: bool,
) -> tuple[FloatArray, IntArray, IntArray, FloatArray, IntArray]:
    pool_ = np.asarray(pool)
    if pool_.ndim != 1:
        raise ParameterError("pool", f"one value per item expected, got shape {pool_.shape}")
    arrays = {
        "item": np.asarray(item),
        "site": np.asarray(site),
        "quantity": np.asarray(quantity),
        "priority": np.asarray(priority),
    }
    _same_length(arrays, "demand")
    return (
        _amounts("pool", pool_, "item", integer),
        _indices("item", arrays["item"], "demand", pool_.size),
        _indices("site", arrays["site"], "demand"),
        _amounts("quantity", arrays["quantity"], "demand", integer),
        _indices("priority", arrays["priority"], "demand"),
    )


def _shortages(
    item: IntArray, site: IntArray, short: FloatArray, priority: IntArray
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    arrays = {
        "item": np.asarray(item),
        "site": np.asarray(site),
        "short": np.asarray(short),
        "priority": np.asarray(priority),
    }
    _same_length(arrays, "shortage")
    return (
        _indices("item", arrays["item"], "shortage"),
        _indices("site", arrays["site"], "shortage"),
        _amounts("short", arrays["short"], "shortage"),
        _indices("priority", arrays["priority"], "shortage"),
    )


def _excess(
    item: IntArray, site: IntArray, excess: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    arrays = {
        "excess_item": np.asarray(item),
        "excess_site": np.asarray(site),
        "excess": np.asarray(excess),
    }
    _same_length(arrays, "excess")
    return (
        _indices("excess_item", arrays["excess_item"], "excess"),
        _indices("excess_site", arrays["excess_site"], "excess"),
        _amounts("excess", arrays["excess"], "excess"),
    )


def _lanes(lanes: Lanes) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    arrays = {
        "from_site": np.asarray(lanes.from_site),
        "to_site": np.asarray(lanes.to_site),
        "transit_days": np.asarray(lanes.transit_days),
        "cost_per_unit": np.asarray(lanes.cost_per_unit),
    }
    if lanes.fixed_cost is not None:
        arrays["fixed_cost"] = np.asarray(lanes.fixed_cost)
    _same_length(arrays, "lane")
    origin = _indices("from_site", arrays["from_site"], "lane")
    target = _indices("to_site", arrays["to_site"], "lane")
    if np.any(origin == target):
        k = int(np.argmax(origin == target))
        raise ParameterError("to_site", f"lane index {k}: to_site equals from_site ({origin[k]})")
    fixed = (
        np.zeros(origin.size)
        if lanes.fixed_cost is None
        else _amounts("fixed_cost", arrays["fixed_cost"], "lane")
    )
    return (
        origin,
        target,
        _amounts("transit_days", arrays["transit_days"], "lane"),
        _amounts("cost_per_unit", arrays["cost_per_unit"], "lane"),
        fixed,
    )
