"""Stock levels per item and location of a repair network for an availability target or a
budget: Sherbrooke's marginal analysis over METRIC / VARI-METRIC.

The objective is the fleet's expected availability. Per base j, ``A_j = exp(-sum_i d_ij)``
with ``d_ij = -Z_i log(1 - EBO_ij / (N_j Z_i))`` (see :mod:`.metric`), so the loss
``L = sum_j w_j sum_i d_ij`` (``w_j = N_j / sum N``, the base's share of the fleet) is a
sum over items, and ``exp(-L)`` is the fleet-weighted geometric mean of the bases'
availabilities: equal to the availability with one base, and a lower bound on the
fleet's mean availability with several (so a target met on it is met). Sherbrooke
(2004), *Optimal Inventory Modeling of Systems*, 2nd ed., ch. 2-5.

Per item (one indenture) the best split of a total of S units between depot and bases
is found exactly: for each depot level s0 the bases' losses are convex in their own
levels, so the best base allocation of t units takes the t largest base gains (marginal
analysis within the item, Sherbrooke 2004, sec. 3.4); the item's curve is the least
loss over s0 + t = S. All items' curves then go to the system greedy on concave hulls
(:func:`spareflow.stock.optimise.efficient_curve`: Fox 1966, Everett 1963). Items are
processed in blocks, vectorised over items, depot levels, bases and base levels.

An LRU with SRUs (two indentures) is one family: its members interact (an SRU
backorder holds an LRU in repair), so its curve is built by greedy steps over all its
members and locations, each step evaluated by VARI-METRIC (or METRIC), all candidates
at once (Sherbrooke 2004, ch. 5). Units: currency, units of stock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from spareflow.errors import ParameterError
from spareflow.multiechelon.metric import MetricResult, Model, evaluate, excess
from spareflow.multiechelon.network import RepairNetwork
from spareflow.stock.distributions import Family, IntervalDemand, interval_pmf
from spareflow.stock.optimise import Curve, efficient_curve, point_for_budget, steps_at

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Pipeline mass beyond the stock levels considered (per location).
TAIL = 1e-7
#: Items per block of the vectorised item curves.
BLOCK = 512
#: Most greedy steps of one family's curve (two indentures).
FAMILY_STEPS = 400
#: Curves built when every base must meet the availability target (reweighting rounds).
PER_BASE_ROUNDS = 5

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Allocation:
    """Stock levels and what they buy: ``depot_stock`` (items,), ``base_stock``
    (items, bases), their ``investment`` (currency), the model's evaluation, and whether
    the availability target (if any) is met."""

    depot_stock: I64
    base_stock: I64
    investment: float
    result: MetricResult
    target_met: bool


@dataclass(frozen=True, slots=True)
class AvailabilityCurve:
    """The efficient curve of investment (currency) against the availability bound
    ``exp(-loss)`` (see the module doc), with the per-unit curve of
    :mod:`spareflow.stock.optimise` behind it."""

    curve: Curve
    base_loss: float
    unit_cost: F64
    plan: object = None  # how points turn back into stock levels (see availability_along)

    @property
    def investment(self) -> F64:
        return self.curve.investment

    @property
    def availability(self) -> F64:
        return np.asarray(np.exp(-(self.base_loss - self.curve.benefit)))


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to turn curve steps back into stock levels."""

    curve: AvailabilityCurve
    single: I64  # rows of one-indenture items (curve items 0..len-1)
    best_depot: I64  # (len(single), totals): best depot level per total stock
    families: list[I64]  # rows of each family (LRU first), curve items after single
    moves: list[I64]  # per family, the (row, location) flat index of each greedy step
    weights: F64  # the bases' weights in the loss


def optimise(
    network: RepairNetwork,
    model: Model = "vari-metric",
    availability: float | None = None,
    budget: float | None = None,
    progress: Progress | None = None,
    per_base: bool = False,
) -> tuple[Allocation, AvailabilityCurve]:
    """Least-investment stock levels for ``availability`` (0..1) or the most
    availability for ``budget`` (currency); exactly one of the two.

    The target applies to the fleet (the fleet-weighted geometric mean of the bases'
    availabilities), or with ``per_base`` to every base: then the bases' weights in the
    loss are raised for bases below the target and lowered for those above (a Lagrangian
    reweighting, ``PER_BASE_ROUNDS`` curves), and the cheapest allocation found whose
    every base meets the target is returned; if no round's does, the last curve is
    followed until the worst base meets it."""
    if (availability is None) == (budget is None):
        raise ParameterError("target", "give exactly one of availability or budget")
    if availability is not None and not 0.0 < availability < 1.0:
        raise ParameterError("availability", f"must be between 0 and 1 (got {availability!r})")
    if per_base and availability is None:
        raise ParameterError("per_base", "goes with an availability target")
    network.check()
    weights = fleet_weights(network)
    if not per_base:
        plan = _build(network, model, progress, weights)
        if budget is not None:
            point = point_for_budget(plan.curve.curve, float(budget))
        else:
            assert availability is not None
            point = _point_for_bound(plan.curve, availability)
        alloc = _allocation(network, model, plan, point)
        if availability is not None:
            met = bool(_fleet_bound(network, alloc.result) >= availability - 1e-12)
            alloc = replace(alloc, target_met=met)
        return alloc, plan.curve
    assert availability is not None
    best: tuple[Allocation, AvailabilityCurve] | None = None
    plan = _build(network, model, progress, weights)
    for _ in range(PER_BASE_ROUNDS):
        alloc = _allocation(network, model, plan, _point_for_bound(plan.curve, availability))
        if alloc.result.availability.min() >= availability - 1e-12 and (
            best is None or alloc.investment < best[0].investment
        ):
            best = (replace(alloc, target_met=True), plan.curve)
        ratio = np.log(np.maximum(alloc.result.availability, 1e-300)) / np.log(availability)
        weights = weights * np.clip(ratio, 0.25, 4.0)
        weights = weights / weights.sum()
        plan = _build(network, model, None, weights)
    if best is not None:
        return best
    # follow the last curve until the worst base meets the target (monotone along it)
    lo, hi = _point_for_bound(plan.curve, availability), plan.curve.curve.n_segments
    top = _allocation(network, model, plan, hi)
    if top.result.availability.min() < availability - 1e-12:
        return replace(top, target_met=False), plan.curve
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _allocation(network, model, plan, mid).result.availability.min() >= availability - 1e-12:
            hi = mid
        else:
            lo = mid
    return replace(_allocation(network, model, plan, hi), target_met=True), plan.curve


def _point_for_bound(curve: AvailabilityCurve, availability: float) -> int:
    """Cheapest curve point whose bound exp(-loss) reaches ``availability`` (the last
    point when none does)."""
    want = curve.base_loss + np.log(availability)  # benefit needed
    point = int(np.searchsorted(curve.curve.benefit, want, side="left"))
    return min(point, curve.curve.benefit.size - 1)


def _allocation(network: RepairNetwork, model: Model, plan: _Plan, point: int) -> Allocation:
    s0, sb = _levels(network, model, plan, steps_at(plan.curve.curve, point))
    result = evaluate(network, s0, sb, model)
    investment = float((network.unit_cost * (s0 + sb.sum(axis=1))).sum())
    return Allocation(s0, sb, investment, result, True)


def availability_along(
    network: RepairNetwork,
    model: Model,
    curve: AvailabilityCurve,
    points: I64,
) -> tuple[F64, F64]:
    """Investment (points,) and each base's availability (points, bases) at curve
    ``points``: the stock levels of each point evaluated by ``model``."""
    plan = curve.plan
    if not isinstance(plan, _Plan):
        raise ParameterError("curve", "comes from optimise() of this network")
    money = np.zeros(len(points))
    avail = np.zeros((len(points), network.bases))
    for k, point in enumerate(np.asarray(points, dtype=np.int64)):
        s0, sb = _levels(network, model, plan, steps_at(curve.curve, int(point)))
        money[k] = float((network.unit_cost * (s0 + sb.sum(axis=1))).sum())
        avail[k] = evaluate(network, s0, sb, model).availability
    return money, avail


def fleet_weights(network: RepairNetwork) -> F64:
    """Each base's share of the fleet, N_j / sum N."""
    return np.asarray(network.fleet_size / network.fleet_size.sum())


def _fleet_bound(network: RepairNetwork, result: MetricResult) -> float:
    """exp(-loss): the fleet-weighted geometric mean of the bases' availabilities."""
    w = fleet_weights(network)
    with np.errstate(divide="ignore"):
        return float(np.exp((w * np.log(result.availability)).sum()))


def _loss(network: RepairNetwork, rows: I64, ebo: F64, weights: F64 | None = None) -> F64:
    """w_j d_ij for items ``rows`` and base backorders ``ebo`` (rows, ..., bases);
    ``weights`` w_j default to the bases' fleet shares."""
    z = network.quantity_per_unit[rows].reshape((-1,) + (1,) * (ebo.ndim - 1))
    share = ebo / (network.fleet_size * z)  # EBO / (N Z), then -Z w log(1 - share)
    np.minimum(share, 1.0 - 1e-300, out=share)
    np.negative(share, out=share)
    np.log1p(share, out=share)
    share *= -z
    share *= fleet_weights(network) if weights is None else weights
    return share


def _build(network: RepairNetwork, model: Model, progress: Progress | None, weights: F64) -> _Plan:
    lru = network.is_lru
    has_child = np.zeros(network.items, dtype=bool)
    has_child[network.parent[~lru]] = True
    single = np.flatnonzero(lru & ~has_child)
    # blocks of like depot pipelines: each block's depot levels reach only as far as its
    # own items need
    pipeline = network.depot_demand[single] * network.depot_repair_days[single]
    single = single[np.argsort(pipeline, kind="stable")]
    heads = np.flatnonzero(has_child)
    families = [np.concatenate(([h], np.flatnonzero(network.parent == h))) for h in heads]
    total = len(single) + len(families)
    gains: list[F64] = []
    costs: list[F64] = []
    best_depot: list[I64] = []
    loss0 = 0.0
    done = 0
    for start in range(0, len(single), BLOCK):
        rows = single[start : start + BLOCK]
        best, depot = _item_curves(network, rows, model, weights)
        loss0 += float(best[:, 0].sum())
        g = best[:, :-1] - best[:, 1:]
        gains.append(g)
        costs.append(np.broadcast_to(network.unit_cost[rows, None], g.shape))
        best_depot.append(depot)
        done += rows.size
        if progress is not None:
            progress(done, total)
    moves: list[I64] = []
    for rows in families:
        g, c, mv, first = _family_curve(network, rows, model, weights)
        loss0 += first
        gains.append(g[None, :])
        costs.append(c[None, :])
        moves.append(mv)
        done += 1
        if progress is not None:
            progress(done, total)
    width = max((g.shape[1] for g in gains), default=1)
    gain = np.full((total, width), np.nan)
    cost = np.ones((total, width))
    row = 0
    for g, c in zip(gains, costs, strict=True):
        gain[row : row + g.shape[0], : g.shape[1]] = g
        cost[row : row + g.shape[0], : g.shape[1]] = c
        row += g.shape[0]
    gain = np.where(np.isnan(gain), np.nan, np.maximum(gain, 0.0))
    curve = AvailabilityCurve(efficient_curve(gain, cost), loss0, network.unit_cost)
    depot_width = max((d.shape[1] for d in best_depot), default=1)
    depot_all = np.zeros((len(single), depot_width), dtype=np.int64)
    row = 0
    for d in best_depot:
        depot_all[row : row + d.shape[0], : d.shape[1]] = d
        # beyond an item's own totals its last best split stands
        depot_all[row : row + d.shape[0], d.shape[1] :] = d[:, -1:]
        row += d.shape[0]
    plan = _Plan(curve, single, depot_all, families, moves, weights)
    object.__setattr__(curve, "plan", plan)  # the curve keeps the way back to levels
    return plan


def _ranges(network: RepairNetwork, rows: I64) -> tuple[int, int]:
    """Depot and base levels worth considering for a block: up to the TAIL quantile of
    the depot pipeline and of the longest base pipeline (depot empty)."""
    m0 = network.depot_demand[rows] * network.depot_repair_days[rows]
    k0 = int(stats.poisson.isf(TAIL, m0.max(initial=0.0))) + 1
    worst = network.demand[rows] * (
        network.base_cycle_days[rows]
        + (1.0 - network.repair_share[rows]) * network.depot_repair_days[rows, None]
    )
    kb = int(stats.poisson.isf(TAIL, worst.max(initial=0.0))) + 2
    return max(k0, 1), max(kb, 2)


def _base_losses(
    network: RepairNetwork, rows: I64, depot_levels: I64, model: Model, kb: int, weights: F64
) -> F64:
    """w_j d_ij at every base level 0..kb for each depot level: (rows, s0s, bases, kb+1)."""
    m0 = network.depot_demand[rows]
    mu0 = m0 * network.depot_repair_days[rows]
    s0 = np.asarray(depot_levels, dtype=np.int64)
    d = excess(
        np.broadcast_to(mu0[:, None], (rows.size, s0.size)),
        np.broadcast_to(mu0[:, None], (rows.size, s0.size)),
        np.broadcast_to(s0[None, :], (rows.size, s0.size)),
        model,
    )
    demand = network.demand[rows]
    f = np.divide(
        (1.0 - network.repair_share[rows]) * demand,
        m0[:, None],
        out=np.zeros_like(demand),
        where=m0[:, None] > 0,
    )[:, None, :]
    local = (demand * network.base_cycle_days[rows])[:, None, :]
    ebo0 = d.backorders[:, :, None]
    mean = local + f * ebo0
    if model == "vari-metric":
        var = local + f * (1.0 - f) * ebo0 + f**2 * d.backorder_variance[:, :, None]
        nb = var > mean * (1.0 + 1e-9)
    else:
        var = mean
        nb = np.zeros(mean.shape, dtype=bool)
    var = np.where(nb, var, mean)
    fam = np.where(mean <= 0.0, Family.ZERO, np.where(nb, Family.NEGBIN, Family.POISSON))
    flat = IntervalDemand(fam.ravel().astype(np.int8), mean.ravel(), var.ravel())
    ebo = _backorders_by_level(interval_pmf(flat, kb), flat.mean).reshape((*mean.shape, kb + 1))
    return _loss(network, rows, np.moveaxis(ebo, -1, -2), weights).swapaxes(-1, -2)


def _backorders_by_level(pmf: F64, mean: F64) -> F64:
    """E[(X - s)+] for s = 0..K from the pmf over 0..K (items, K + 1), in place:
    ``EBO(s) = E[X] - sum_{y<s} P(X > y)`` (each unit of stock removes the chance that
    demand exceeds it; Sherbrooke 2004, sec. 2.4)."""
    np.cumsum(pmf, axis=1, out=pmf)  # P(X <= y)
    np.subtract(1.0, pmf, out=pmf)  # P(X > y)
    np.cumsum(pmf, axis=1, out=pmf)  # sum_{y' <= y} P(X > y')
    pmf[:, 1:] = mean[:, None] - pmf[:, :-1]
    pmf[:, 0] = mean
    return np.maximum(pmf, 0.0, out=pmf)


def _item_curves(
    network: RepairNetwork, rows: I64, model: Model, weights: F64 | None = None
) -> tuple[F64, I64]:
    """Per item the least loss at each total stock S = 0..k0 + bases * kb, and the depot
    level that achieves it: (rows, totals) each."""
    k0, kb = _ranges(network, rows)
    levels = np.arange(k0 + 1)
    w = fleet_weights(network) if weights is None else weights
    losses = _base_losses(network, rows, levels, model, kb, w)  # (n, k0+1, J, kb+1)
    n, _, j, _ = losses.shape
    start = losses[..., 0].sum(axis=2)  # all bases empty, (n, k0+1)
    g = losses[..., :-1] - losses[..., 1:]  # base gains, decreasing in the base level
    g = -np.sort(-g.reshape(n, k0 + 1, j * kb), axis=2)
    within = np.concatenate(
        (start[..., None], start[..., None] - np.cumsum(g, axis=2)), axis=2
    )  # (n, k0+1, t = 0..J kb)
    totals = k0 + j * kb + 1
    best = np.full((n, totals), np.inf)
    depot = np.zeros((n, totals), dtype=np.int64)
    for s0 in range(k0 + 1):  # least loss over s0 + t = S, one depot level at a time
        span = slice(s0, s0 + j * kb + 1)
        better = within[:, s0] < best[:, span]
        best[:, span] = np.where(better, within[:, s0], best[:, span])
        depot[:, span] = np.where(better, s0, depot[:, span])
    best = np.minimum.accumulate(best, axis=1)  # guard rounding: never worse with more
    return best, depot


def _base_split(
    network: RepairNetwork, rows: I64, depot: I64, units: I64, model: Model, weights: F64
) -> I64:
    """Base levels (rows, bases) taking the ``units`` largest base gains of each item at
    its depot level ``depot``."""
    _, kb = _ranges(network, rows)  # the block's range, as its curves had
    out = np.zeros((rows.size, network.bases), dtype=np.int64)
    for s0 in np.unique(depot):
        sel = np.flatnonzero(depot == s0)
        losses = _base_losses(network, rows[sel], np.array([s0]), model, kb, weights)[:, 0]
        g = losses[..., :-1] - losses[..., 1:]  # (m, J, kb)
        m, j, _ = g.shape
        order = np.argsort(-g.reshape(m, j * kb), axis=1, kind="stable")
        take = np.arange(j * kb)[None, :] < units[sel, None]
        base_of = order // kb
        counts = np.zeros((m, j), dtype=np.int64)
        np.add.at(counts, (np.repeat(np.arange(m), j * kb)[take.ravel()], base_of[take]), 1)
        out[sel] = counts
    return out


def _levels(network: RepairNetwork, model: Model, plan: _Plan, steps: I64) -> tuple[I64, I64]:
    s0 = np.zeros(network.items, dtype=np.int64)
    sb = np.zeros((network.items, network.bases), dtype=np.int64)
    ns = plan.single.size
    if ns:
        total = steps[:ns]
        width = plan.best_depot.shape[1]
        depot = plan.best_depot[np.arange(ns), np.minimum(total, width - 1)]
        units = np.maximum(total - depot, 0)
        for start in range(0, ns, BLOCK):
            blk = slice(start, start + BLOCK)
            rows = plan.single[blk]
            s0[rows] = depot[blk]
            sb[rows] = _base_split(network, rows, depot[blk], units[blk], model, plan.weights)
    for f, (rows, moves) in enumerate(zip(plan.families, plan.moves, strict=True)):
        taken = moves[: steps[ns + f]]
        loc = network.bases + 1
        for mv in taken:
            r, where = rows[mv // loc], mv % loc
            if where == 0:
                s0[r] += 1
            else:
                sb[r, where - 1] += 1
    return s0, sb


def _family_curve(
    network: RepairNetwork, rows: I64, model: Model, weights: F64
) -> tuple[F64, F64, I64, float]:
    """Greedy curve of one LRU and its SRUs: at each step the unit (member, location)
    with the most loss reduction per currency. Returns step gains, step costs, the
    chosen (member * (bases + 1) + location) per step, and the loss with no stock."""
    fam = network.take(rows)
    j = network.bases
    loc = j + 1
    cand = fam.items * loc
    copies = _tile(fam, cand)
    s0 = np.zeros(fam.items, dtype=np.int64)
    sb = np.zeros((fam.items, j), dtype=np.int64)
    bump = np.zeros((cand, fam.items, loc), dtype=np.int64)
    bump.reshape(cand, cand)[np.arange(cand), np.arange(cand)] = 1
    current = _family_loss(fam, s0, sb, model, weights)
    first = current
    gains, costs, moves = [], [], []
    unit = np.repeat(fam.unit_cost, loc)
    for _ in range(FAMILY_STEPS):
        levels = np.concatenate((s0[:, None], sb), axis=1)[None] + bump  # (cand, items, loc)
        res = evaluate(
            copies,
            levels[:, :, 0].reshape(-1),
            levels[:, :, 1:].reshape(-1, j),
            model,
        )
        ebo = res.base.backorders.reshape(cand, fam.items, j)[:, 0]
        loss = _loss(network, rows[:1], ebo[None], weights)[0].sum(axis=1)
        ratio = (current - loss) / unit
        best = int(np.argmax(ratio))
        if not ratio[best] > 1e-12 / unit[best]:
            break
        gains.append(current - loss[best])
        costs.append(unit[best])
        moves.append(best)
        member, where = divmod(best, loc)
        if where == 0:
            s0[member] += 1
        else:
            sb[member, where - 1] += 1
        current = float(loss[best])
    return (
        np.asarray(gains, dtype=np.float64),
        np.asarray(costs, dtype=np.float64),
        np.asarray(moves, dtype=np.int64),
        first,
    )


def _family_loss(fam: RepairNetwork, s0: I64, sb: I64, model: Model, weights: F64) -> float:
    res = evaluate(fam, s0, sb, model)
    return float(_loss(fam, np.array([0]), res.base.backorders[:1], weights).sum())


def _tile(fam: RepairNetwork, copies: int) -> RepairNetwork:
    """``copies`` independent copies of a family network (parents remapped per copy)."""
    n = fam.items
    offset = np.repeat(np.arange(copies) * n, n)
    parent = np.tile(fam.parent, copies)
    parent = np.where(parent >= 0, parent + offset, -1)

    def rep(a: F64) -> F64:
        return np.tile(a, (copies,) + (1,) * (a.ndim - 1))

    return RepairNetwork(
        rep(fam.unit_cost),
        parent,
        rep(fam.quantity_per_unit),
        rep(fam.demand),
        rep(fam.repair_share),
        rep(fam.base_repair_days),
        rep(fam.order_ship_days),
        rep(fam.depot_repair_days),
        fam.fleet_size,
        rep(fam.removed_at_depot),
    )
