"""Service targets to policies: per item-site the least stock that meets a fill rate.

Each item-site gets a continuous-review (r, Q) policy, reviewed every day:

1. the order quantity Q is the economic order quantity sqrt(2 K D / h) (Harris 1913;
   K: cost per order, D: demand per year, h = holding rate x unit cost per unit per
   year), rounded up to the supplier's lot size and at least the minimum order quantity;
   Q = 1 makes it the base-stock policy (S - 1, S) with S = r + 1;
2. the reorder point r is the smallest integer (r >= -1) whose long-run unit fill rate
   (``stock.service.rq``) reaches the target: the fill rate rises with r (the tests
   check it), so the least r is the least-cost r for that Q (Axsäter 2015, sec. 5.12).

Units: demand per day, lead times in days, costs in currency (per year for holding).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spareflow.stock.distributions import IntervalDemand, fit_interval_demand
from spareflow.stock.service import Horizon, Service, horizon, rq

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Defaults for sourcing facts a dataset does not give.
DEFAULT_ORDER_COST = 50.0  # currency per order
DEFAULT_HOLDING_RATE = 0.25  # share of unit cost per year
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True, slots=True)
class StockInputs:
    """Per item-site facts (arrays shaped (items,)). Demand per day; days; currency."""

    mean_per_day: F64
    variance_per_day: F64
    intermittent: NDArray[np.bool_]
    lead_time_days: I64
    unit_cost: F64
    target_fill_rate: F64
    lead_time_sd_days: F64 | None = None
    order_cost: F64 | None = None
    holding_rate: F64 | None = None
    moq: F64 | None = None
    lot_size: F64 | None = None

    def __len__(self) -> int:
        return int(self.mean_per_day.shape[0])

    def take(self, rows: I64) -> StockInputs:
        def pick(a: NDArray[np.generic] | None) -> NDArray[np.generic] | None:
            return None if a is None else a[rows]

        return StockInputs(
            self.mean_per_day[rows],
            self.variance_per_day[rows],
            self.intermittent[rows],
            self.lead_time_days[rows],
            self.unit_cost[rows],
            self.target_fill_rate[rows],
            pick(self.lead_time_sd_days),  # type: ignore[arg-type]
            pick(self.order_cost),  # type: ignore[arg-type]
            pick(self.holding_rate),  # type: ignore[arg-type]
            pick(self.moq),  # type: ignore[arg-type]
            pick(self.lot_size),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """The chosen policy and its expected service per item-site (arrays (items,)).

    ``policy``: ``rQ`` or ``base_stock`` (Q = 1). ``safety_stock``: reorder point minus
    the mean demand over the lead time and the review day (units; can be negative).
    ``order_up_to``: r + Q, the most the inventory position reaches (the ERP "max").
    """

    policy: NDArray[np.str_]
    reorder_point: I64
    order_quantity: I64
    order_up_to: I64
    safety_stock: F64
    lead_time_demand: F64
    service: Service


def order_quantity(inputs: StockInputs) -> I64:
    """EOQ rounded up to the lot size and at least the MOQ (units, >= 1)."""
    n = len(inputs)
    k = _or(inputs.order_cost, DEFAULT_ORDER_COST, n)
    rate = _or(inputs.holding_rate, DEFAULT_HOLDING_RATE, n)
    h = np.maximum(rate * np.asarray(inputs.unit_cost, dtype=np.float64), 1e-9)
    annual = np.maximum(np.nan_to_num(inputs.mean_per_day), 0.0) * DAYS_PER_YEAR
    q = np.sqrt(2.0 * k * annual / h)
    lot = np.maximum(_or(inputs.lot_size, 1.0, n), 1.0)
    q = np.ceil(np.maximum(q, 1.0) / lot - 1e-9) * lot
    q = np.maximum(q, _or(inputs.moq, 1.0, n))
    q = np.ceil(q / lot - 1e-9) * lot  # a MOQ off the lot grid rounds up to a lot
    return np.maximum(q, 1.0).astype(np.int64)


def _or(values: F64 | None, default: float, n: int) -> F64:
    if values is None:
        return np.full(n, default)
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v), v, default)


def demand_horizon(inputs: StockInputs) -> Horizon:
    """Demand tables over each item-site's lead time and lead time + 1 day."""
    sd = inputs.lead_time_sd_days
    return horizon(
        inputs.mean_per_day,
        inputs.variance_per_day,
        inputs.intermittent,
        inputs.lead_time_days,
        review_period=1,
        lead_time_variance=None if sd is None else np.nan_to_num(np.asarray(sd)) ** 2,
        lean=True,
    )


def fill_rate_by_reorder_point(h: Horizon, quantity: I64, reorder_points: I64) -> F64:
    """Fill rate of (r, Q) for every r in ``reorder_points`` (items, G), all at once."""
    r = np.asarray(reorder_points, dtype=np.int64)
    q = np.asarray(quantity, dtype=np.int64)[:, None]
    end, lead = h.cycle_end, h.lead
    lo, hi = r + 1, r + q + 1
    loss = (end.loss2_at(lo) - end.loss2_at(hi)) - (lead.loss2_at(lo) - lead.loss2_at(hi))
    den = (q * h.per_review[:, None]).astype(np.float64)
    fill = 1.0 - np.divide(loss, den, out=np.zeros_like(loss), where=den > 0)
    return np.clip(fill, 0.0, 1.0)


def least_reorder_point(h: Horizon, quantity: I64, target: F64) -> I64:
    """The smallest r >= -1 whose (r, Q) fill rate reaches ``target``, per item: a
    bisection over r for all items at once (the fill rate never falls as r rises)."""
    width = h.cycle_end.loss2.shape[1]
    goal = np.asarray(target, dtype=np.float64) - 1e-12
    lo = np.full(goal.shape, -2, dtype=np.int64)  # fill(lo) < goal (r = -2: sentinel)
    hi = np.full(goal.shape, width, dtype=np.int64)  # fill(hi) >= goal (or the end)
    while True:
        open_ = hi - lo > 1
        if not open_.any():
            break
        mid = (lo + hi) // 2
        ok = fill_rate_by_reorder_point(h, quantity, mid[:, None])[:, 0] >= goal
        hi = np.where(open_ & ok, mid, hi)
        lo = np.where(open_ & ~ok, mid, lo)
    return hi


def _banded(
    inputs: StockInputs, block: int, cells: int
) -> Iterator[tuple[I64, StockInputs, Horizon]]:
    """Blocks of items with like support (each block's tables only as wide as its own
    items need): the rows, their inputs and their demand tables."""
    width = _support(inputs)
    order = np.argsort(width, kind="stable")
    for span in _blocks(width[order], block, cells):
        rows = order[span]
        sub = inputs.take(rows)
        yield rows, sub, demand_horizon(sub)


def policies_for_targets(
    inputs: StockInputs,
    block: int = 2_000,
    cells: int = 2_000_000,
    reorder_points: I64 | None = None,
) -> Policy:
    """The least-stock (r, Q) policy meeting each item-site's target fill rate, or, with
    ``reorder_points``, the (r, Q) policies with those reorder points and their service.

    Items are processed in blocks of like support (the demand tables are (items,
    units)): at most ``block`` items and about ``cells`` table cells per block.
    """
    return policies_with_grid(inputs, 0, 0, block, cells, reorder_points).policy


@dataclass(frozen=True, slots=True)
class PolicyGrid:
    """Policies and, per item-site, their fill rate and expected on hand (units) at the
    reorder points ``-1 + stride * k``, k = 0..steps (arrays (items, steps + 1))."""

    policy: Policy
    stride: I64
    fill_rate: F64
    on_hand: F64


def policies_with_grid(
    inputs: StockInputs,
    steps: int,
    headroom: int,
    block: int = 2_000,
    cells: int = 2_000_000,
    reorder_points: I64 | None = None,
) -> PolicyGrid:
    """:func:`policies_for_targets` and, from the same demand tables, the service on a
    grid of ``steps`` equal steps from r = -1 to past the chosen r by ``headroom``."""
    n = len(inputs)
    q_all = order_quantity(inputs)
    parts: list[Policy] = []
    order: list[I64] = []
    stride = np.ones(n, dtype=np.int64)
    fill_grid = np.zeros((n, steps + 1))
    on_hand_grid = np.zeros((n, steps + 1))
    for rows, sub, h in _banded(inputs, block, cells):
        q = q_all[rows]
        if reorder_points is None:
            r = least_reorder_point(h, q, np.asarray(sub.target_fill_rate, dtype=np.float64))
        else:
            r = np.asarray(reorder_points, dtype=np.int64)[rows]
        svc = rq(r, q, h)
        ltd = h.cycle_end.mean
        order.append(rows)
        parts.append(
            Policy(
                policy=np.where(q == 1, "base_stock", "rQ").astype(str),
                reorder_point=r,
                order_quantity=q,
                order_up_to=r + q,
                safety_stock=r - ltd,
                lead_time_demand=ltd,
                service=svc,
            )
        )
        if steps > 0:
            span = np.maximum(r + 1 + headroom, 1)
            st = np.maximum(1, -(-span // steps))
            levels = -1 + st[:, None] * np.arange(steps + 1)[None, :]
            stride[rows] = st
            fill_grid[rows], on_hand_grid[rows] = _grid_service(h, q, levels)
    merged = concat_policies(parts) if parts else concat_policies([_empty()])
    flat = np.concatenate(order) if order else np.zeros(0, dtype=np.int64)
    back = np.empty_like(flat)
    back[flat] = np.arange(flat.size)
    return PolicyGrid(_take(merged, back), stride, fill_grid, on_hand_grid)


def _grid_service(h: Horizon, quantity: I64, levels: I64) -> tuple[F64, F64]:
    """Fill rate and expected on hand of (r, Q) at reorder points ``levels`` (items, G)."""
    q = np.asarray(quantity, dtype=np.int64)[:, None]
    fill = fill_rate_by_reorder_point(h, quantity, levels)
    end = h.cycle_end
    lo, hi = levels + 1, levels + q + 1
    backorders = (end.loss2_at(lo) - end.loss2_at(hi)) / q
    return fill, levels + (q + 1) / 2.0 - end.mean[:, None] + backorders


def service_on_grid(
    inputs: StockInputs, levels: I64, block: int = 2_000, cells: int = 2_000_000
) -> tuple[F64, F64]:
    """Unit fill rate and expected on hand (units) of (r, Q) for every reorder point in
    ``levels`` (items, G), Q the order quantity of :func:`order_quantity`."""
    q_all = order_quantity(inputs)
    lv = np.asarray(levels, dtype=np.int64)
    fill = np.empty(lv.shape)
    on_hand = np.empty(lv.shape)
    for rows, _, h in _banded(inputs, block, cells):
        fill[rows], on_hand[rows] = _grid_service(h, q_all[rows], lv[rows])
    return fill, on_hand


def _empty() -> Policy:
    z = np.zeros(0)
    zi = np.zeros(0, dtype=np.int64)
    return Policy(np.zeros(0, dtype=str), zi, zi, zi, z, z, Service(z, z, z, z))


def _blocks(sorted_width: I64, block: int, cells: int) -> list[slice]:
    """Consecutive slices of items sorted by table width: at most ``block`` items, and
    no more than ``cells`` cells (items x widest) unless a single item is wider."""
    out: list[slice] = []
    n = sorted_width.shape[0]
    start = 0
    while start < n:
        # the widest item of a block is its last one (sorted): largest count that fits
        fits = np.arange(1, min(block, n - start) + 1) * (sorted_width[start : start + block] + 2)
        count = max(int(np.searchsorted(fits, cells, side="right")), 1)
        out.append(slice(start, start + count))
        start += count
    if not out:
        out.append(slice(0, 0))
    return out


def protection_demand(inputs: StockInputs) -> IntervalDemand:
    """Demand over each item-site's protection interval: lead time plus the review day
    (its family decides the tables' width and the simulation's demand model)."""
    sd = inputs.lead_time_sd_days
    return fit_interval_demand(
        inputs.mean_per_day,
        inputs.variance_per_day,
        np.asarray(inputs.lead_time_days, dtype=np.float64) + 1.0,
        inputs.intermittent,
        None if sd is None else np.nan_to_num(np.asarray(sd)) ** 2,
    )


def _support(inputs: StockInputs) -> I64:
    return protection_demand(inputs).support()


def _take(p: Policy, rows: I64) -> Policy:
    return Policy(
        policy=p.policy[rows],
        reorder_point=p.reorder_point[rows],
        order_quantity=p.order_quantity[rows],
        order_up_to=p.order_up_to[rows],
        safety_stock=p.safety_stock[rows],
        lead_time_demand=p.lead_time_demand[rows],
        service=Service(
            fill_rate=p.service.fill_rate[rows],
            ready_rate=p.service.ready_rate[rows],
            backorders=p.service.backorders[rows],
            on_hand=p.service.on_hand[rows],
        ),
    )


def concat_policies(parts: list[Policy]) -> Policy:
    """The policies of consecutive parts as one (rows in order)."""

    def cat(arrays: list[NDArray[Any]]) -> NDArray[Any]:
        return np.concatenate(arrays)

    return Policy(
        policy=cat([p.policy for p in parts]),
        reorder_point=cat([p.reorder_point for p in parts]),
        order_quantity=cat([p.order_quantity for p in parts]),
        order_up_to=cat([p.order_up_to for p in parts]),
        safety_stock=cat([p.safety_stock for p in parts]),
        lead_time_demand=cat([p.lead_time_demand for p in parts]),
        service=Service(
            fill_rate=cat([p.service.fill_rate for p in parts]),
            ready_rate=cat([p.service.ready_rate for p in parts]),
            backorders=cat([p.service.backorders for p in parts]),
            on_hand=cat([p.service.on_hand for p in parts]),
        ),
    )
