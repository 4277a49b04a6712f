"""Plan runs: a stock plan computed from the store, kept in it, its orders drafted later.

A run exports the store, plans it (``plan_bridge.plan_from_store``), and stores the plan's
item-site lines and summary in one transaction. Drafting turns the run's orders to place
now into draft purchase and transfer orders once; a second draft of the same run is
refused, so a retried click cannot order twice.
"""

from __future__ import annotations

import math
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import Conflict, NotFound
from spareflow.plan.outputs import stock_summary
from spareflow.plan.stock import PlanParams
from spareflow.services import plan_bridge
from spareflow.services.orders import OrderView
from spareflow.store.models import PlanRun, PlanRunLine
from spareflow.store.types import utcnow

LINE_COLUMNS = (
    "item_id",
    "site_id",
    "policy",
    "review_period_days",
    "lead_time_days",
    "reorder_point",
    "order_up_to",
    "order_quantity",
    "expected_fill_rate",
    "unit_cost",
    "on_hand",
    "order_now",
)


def run(
    factory: sessionmaker[Session],
    session: Session,
    username: str,
    params: PlanParams,
    *,
    as_of: datetime | None = None,
) -> PlanRun:
    """Plan the store (read through ``factory``) and keep the result in ``session``'s
    transaction; the run's id names it from then on."""
    with tempfile.TemporaryDirectory(prefix="spareflow-run-") as tmp:
        result = plan_bridge.plan_from_store(factory, Path(tmp), params, as_of=as_of)
    table = result.plan.table
    summary = _jsonable(stock_summary(result.plan))
    options = {
        "target": params.target,
        "budget": params.budget,
        "period": params.period,
        "horizon": params.horizon,
        "as_of": result.export.as_of.isoformat(),
    }
    rows = table.select(
        [
            pl.col(c).cast(pl.Float64) if c not in ("item_id", "site_id", "policy") else pl.col(c)
            for c in LINE_COLUMNS
        ]
    ).to_dicts()
    record = PlanRun(created_by=username, options=options, summary=summary, item_sites=table.height)
    session.add(record)
    session.flush()
    if rows:
        session.execute(insert(PlanRunLine), [{"run_id": record.run_id, **row} for row in rows])
    return record


def get(session: Session, run_id: int) -> PlanRun:
    record = session.get(PlanRun, run_id)
    if record is None:
        raise NotFound(f"plan run {run_id} does not exist")
    return record


def lines_query(run_id: int, site_ids: list[str] | None, only_orders: bool) -> Any:
    query = (
        select(PlanRunLine)
        .where(PlanRunLine.run_id == run_id)
        .order_by(PlanRunLine.site_id, PlanRunLine.item_id)
    )
    if site_ids is not None:
        query = query.where(PlanRunLine.site_id.in_(site_ids))
    if only_orders:
        query = query.where(PlanRunLine.order_now > 0)
    return query


def draft(
    session: Session,
    run_id: int,
    username: str,
    *,
    site_ids: list[str] | None = None,
    default_supplier: str | None = None,
) -> list[OrderView]:
    """Draft the run's orders to place now of ``site_ids`` (default: every site of the
    run); each site's orders are drafted once, so a retried click cannot order twice."""
    record = session.get(PlanRun, run_id, with_for_update=True)
    if record is None:
        raise NotFound(f"plan run {run_id} does not exist")
    done = set(record.drafted_sites or [])
    run_sites = set(
        session.scalars(select(PlanRunLine.site_id).where(PlanRunLine.run_id == run_id).distinct())
    )
    wanted = run_sites if site_ids is None else run_sites & set(site_ids)
    todo = sorted(wanted - done)
    if wanted and not todo:
        raise Conflict(
            f"plan run {run_id}: the orders of {', '.join(sorted(wanted))} were drafted "
            f"already (last at {record.drafted_at.isoformat() if record.drafted_at else '?'} "
            f"by {record.drafted_by}); run a new plan to order again",
            "run_id",
        )
    lines = list(session.scalars(lines_query(run_id, todo, only_orders=True)))
    frame = pl.DataFrame(
        [{c: getattr(line, c) for c in LINE_COLUMNS} for line in lines],
        schema={
            c: (pl.String if c in ("item_id", "site_id", "policy") else pl.Float64)
            for c in LINE_COLUMNS
        },
    )
    made = plan_bridge.draft_orders(session, frame, username, default_supplier=default_supplier)
    record.drafted_sites = sorted(done | set(todo))
    record.drafted_at = utcnow()
    record.drafted_by = username
    session.flush()
    return made


def scoped_summary(summary: dict[str, Any], site_ids: list[str] | None) -> dict[str, Any]:
    """A run's summary as a user of ``site_ids`` may see it (None: everything): the
    figures per site of their sites only, without totals that include other sites."""
    if site_ids is None:
        return summary
    keep = set(site_ids)
    by_site = [row for row in summary.get("by_site", []) if row.get("site_id") in keep]
    return {"as_of": summary.get("as_of"), "by_site": by_site}


def _jsonable(value: Any) -> Any:
    """The summary as plain JSON types (numpy scalars and dates made portable)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # 0/0 fill rates of item-sites without demand: JSON null
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
