"""Order promising on the store: what can be promised when, and from where.

:func:`promise` answers order lines (item, site, quantity, wanted date) with the
cumulative ATP of :mod:`spareflow.network.atp` in daily buckets from today:

* supply: serviceable on hand at each site (reserved included, its orders being
  commitments) and scheduled receipts (open purchase and inbound transfer lines) by due
  date; committed: customer orders not yet shipped, transfers out not yet shipped and
  work-order parts not yet issued (:mod:`spareflow.services.drp_inputs`);
* sources: the site itself; the items superseding the line's item (``Item.replaced_by``,
  down the chain) at the same site; the same item at other sites over active site-to-
  site lanes into the line's site, at the lane's transit days (rounded up to whole days)
  and cost per unit (plus cost per kg times the item's unit weight where known).

A caller scoped to sites passes ``site_ids``: other sites are then neither sources nor
suggested senders, so nothing of them is revealed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.errors import NotFound, ParameterError
from spareflow.network.atp import LATERAL, NONE, OWN, Laterals, OrderLines
from spareflow.network.atp import promise as atp_promise
from spareflow.services import drp_inputs
from spareflow.services.plan_export import frame_of
from spareflow.store.models import Item, Lane, Site
from spareflow.store.types import utcnow

KINDS = {OWN: "own", 1: "supersession", LATERAL: "lateral", NONE: "none"}
MAX_HORIZON_DAYS = 730


@dataclass(frozen=True, slots=True)
class LineRequest:
    item_id: str
    site_id: str
    quantity: float
    wanted: date | None = None  # None: today
    priority: int = 5


@dataclass(frozen=True, slots=True)
class Promise:
    """The answer to one line: ``quantity`` promised for ``promised_date`` from ``source_item_id``
    at ``source_site_id`` (``kind`` own, supersession, lateral or none), ``short`` what
    cannot be promised in the horizon; a lateral's ``lane_id``, ``ship_date`` and ``cost``."""

    line: int
    item_id: str
    site_id: str
    requested: float
    quantity: float
    short: float
    kind: str
    promised_date: date | None
    source_item_id: str | None
    source_site_id: str | None
    lane_id: str | None
    ship_date: date | None
    cost: float

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


def promise(
    session: Session,
    lines: list[LineRequest],
    *,
    horizon_days: int = 90,
    today: date | None = None,
    site_ids: list[str] | None = None,
) -> list[Promise]:
    """Promise ``lines`` in priority order (then as given), each taking what it is
    promised before the next is looked at (module docstring for supply and sources)."""
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ParameterError("horizon_days", f"1 to {MAX_HORIZON_DAYS}, got {horizon_days}")
    if not lines:
        raise ParameterError("lines", "give at least one line")
    start = today or utcnow().date()
    _check_lines(session, lines, start, horizon_days, site_ids)

    items = _superseding(session, {line.item_id for line in lines})
    lanes = site_lanes(session, site_ids)
    sites = sorted(
        {line.site_id for line in lines}
        | set(lanes["origin_site_id"].to_list())
        | set(lanes["destination_site_id"].to_list())
    )
    keys = pl.DataFrame(
        [(i, s) for i in sorted(items) for s in sites],
        schema={"item_id": pl.String, "site_id": pl.String},
        orient="row",
    ).with_row_index("k")
    n, t_max = keys.height, horizon_days
    store = drp_inputs.read(session, start, 1, t_max, 1)
    index = keys.with_columns(pl.col("k").cast(pl.Int64))
    on_hand = drp_inputs.by_item_site(index, store.on_hand, "on_hand")
    receipts = drp_inputs.by_bucket(index, store.receipts, t_max)
    committed = drp_inputs.by_bucket(index, store.orders, t_max)

    row_of = {(i, s): int(r) for r, i, s in keys.iter_rows()}
    successor = np.full(n, -1, dtype=np.intp)
    for item, replaced_by in items.items():
        if replaced_by is not None:
            for s in sites:
                successor[row_of[(item, s)]] = row_of[(replaced_by, s)]
    lane_rows = _lane_rows(session, lanes, keys)
    request = OrderLines(
        row=np.array([row_of[(x.item_id, x.site_id)] for x in lines], dtype=np.intp),
        quantity=np.array([x.quantity for x in lines], dtype=np.float64),
        bucket=np.array([((x.wanted or start) - start).days for x in lines], dtype=np.intp),
        priority=np.array([x.priority for x in lines], dtype=np.intp),
    )
    laterals = Laterals(
        from_row=lane_rows["from_row"].to_numpy().astype(np.intp),
        to_row=lane_rows["to_row"].to_numpy().astype(np.intp),
        lead_buckets=lane_rows["lead"].to_numpy().astype(np.intp),
        cost_per_unit=lane_rows["cost_per_unit"].to_numpy().astype(np.float64),
    )
    got = atp_promise(on_hand, receipts, committed, request, laterals, successor)
    item_of, site_of = keys["item_id"].to_list(), keys["site_id"].to_list()
    lane_ids = lane_rows["lane_id"].to_list()
    out = []
    for k, line in enumerate(lines):
        kind = int(got.kind[k])
        source = int(got.source[k])
        promised = kind != NONE
        out.append(
            Promise(
                line=k + 1,
                item_id=line.item_id,
                site_id=line.site_id,
                requested=line.quantity,
                quantity=float(got.quantity[k]),
                short=float(got.short[k]),
                kind=KINDS[kind],
                promised_date=start + timedelta(days=int(got.arrival[k])) if promised else None,
                source_item_id=item_of[source] if promised else None,
                source_site_id=site_of[source] if promised else None,
                lane_id=lane_ids[int(got.lane[k])] if kind == LATERAL else None,
                ship_date=start + timedelta(days=int(got.ship[k])) if promised else None,
                cost=round(float(got.cost[k]), 2),
            )
        )
    return out


def _check_lines(
    session: Session,
    lines: list[LineRequest],
    start: date,
    horizon_days: int,
    site_ids: list[str] | None,
) -> None:
    """Every line's item and site exist (and the site is the caller's), its quantity is
    above zero and its date in the horizon; the first bad line is named."""
    items = set(
        session.scalars(select(Item.item_id).where(Item.item_id.in_({x.item_id for x in lines})))
    )
    sites = set(
        session.scalars(select(Site.site_id).where(Site.site_id.in_({x.site_id for x in lines})))
    )
    if site_ids is not None:
        sites &= set(site_ids)
    last = start + timedelta(days=horizon_days - 1)
    for n, line in enumerate(lines, start=1):
        where = f"lines[{n}]"
        if line.item_id not in items:
            raise NotFound(f"{where}: item {line.item_id!r} does not exist")
        if line.site_id not in sites:
            raise NotFound(f"{where}: site {line.site_id!r} does not exist")
        if not (math.isfinite(line.quantity) and line.quantity > 0):
            raise ParameterError(f"{where}.quantity", f"must be above zero, got {line.quantity}")
        wanted = line.wanted or start
        if not start <= wanted <= last:
            raise ParameterError(
                f"{where}.wanted",
                f"{wanted.isoformat()} is outside the horizon {start.isoformat()} to "
                f"{last.isoformat()}",
            )


def _superseding(session: Session, items: set[str]) -> dict[str, str | None]:
    """The items and every item superseding them, with the next one of each."""
    found: dict[str, str | None] = {}
    todo = set(items)
    while todo:
        rows = session.execute(
            select(Item.item_id, Item.replaced_by).where(Item.item_id.in_(sorted(todo)))
        ).all()
        found.update(dict(rows))
        todo = {r for _, r in rows if r is not None and r not in found}
    return found


def site_lanes(session: Session, site_ids: list[str] | None) -> pl.DataFrame:
    """Active site-to-site lanes (both ends among ``site_ids`` when given)."""
    query = select(
        Lane.lane_id,
        Lane.origin_site_id,
        Lane.destination_site_id,
        Lane.transit_days,
        Lane.cost_per_unit,
        Lane.cost_per_kg,
        Lane.cost_per_shipment,
    ).where(Lane.origin_site_id.is_not(None), Lane.active.is_(True))
    if site_ids is not None:
        query = query.where(
            Lane.origin_site_id.in_(site_ids), Lane.destination_site_id.in_(site_ids)
        )
    return frame_of(
        session,
        query.order_by(Lane.lane_id),
        "lane_id origin_site_id destination_site_id transit_days:float cost_per_unit:float "
        "cost_per_kg:float cost_per_shipment:float",
    )


def _lane_rows(session: Session, lanes: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Every lane for every item: from the item's row at the origin to its row at the
    destination, whole days of transit, cost per unit with the weight's share."""
    weight = frame_of(
        session, select(Item.item_id, Item.unit_weight_kg), "item_id unit_weight_kg:float"
    )
    rows = keys.select(pl.col("k").alias("row"), "item_id", "site_id")
    return (
        lanes.join(rows.select("item_id").unique(), how="cross")
        .join(weight, on="item_id", how="left")
        .join(
            rows.rename({"row": "from_row", "site_id": "origin_site_id"}),
            on=["item_id", "origin_site_id"],
        )
        .join(
            rows.rename({"row": "to_row", "site_id": "destination_site_id"}),
            on=["item_id", "destination_site_id"],
        )
        .with_columns(
            drp_inputs.whole_buckets(pl.col("transit_days"), 1).alias("lead"),
            (
                pl.col("cost_per_unit")
                + pl.col("cost_per_kg") * pl.col("unit_weight_kg").fill_null(0.0)
            ).alias("cost_per_unit"),
        )
        .sort("lane_id", "item_id")
    )
