"""Plan and operations meet: the store planned (via :mod:`plan_export`), the plan's orders
as drafts.

:func:`draft_orders` turns a plan's orders to place now into draft purchase and transfer
orders; :func:`plan_from_store` is ``spareflow plan`` on the store.

For the CLI (SpareflowError exits 2 as usual):

* ``spareflow plan --from-store --out DIR [--as-of DATE] [plan options]`` (exactly one of
  DATASET and --from-store): ``plan_from_store(session_factory(make_engine()), out,
  params, as_of=..., dataset_dir=out / "dataset", progress=..., engine=runner)`` with
  ``params`` and ``runner`` built as today; print ``result.paths``. The dataset kept beside
  the plan records what was planned.
* ``spareflow orders draft PLAN --user NAME [--default-supplier ID] [--dry-run]`` (PLAN a
  plan folder or table): ``--dry-run`` prints :func:`orders_to_place`; else ``with
  unit_of_work(factory) as s: draft_orders(s, plan, user, default_supplier=...)``, one
  line per order: number, kind, site, partner or source site, lines.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import NotFound, ParameterError
from spareflow.job import Progress, run_plan
from spareflow.plan.engine import Engine
from spareflow.plan.stock import PlanParams, StockPlan
from spareflow.services import orders
from spareflow.services.orders import LineIn, OrderView
from spareflow.services.plan_export import (
    DEFAULT_TRANSFER_LEAD_TIME_DAYS,
    KEYS,
    ExportSummary,
    dialect_of,
    export_dataset,
    frame_of,
    last_suppliers,
)
from spareflow.store.models import (
    Site,
)
from spareflow.store.types import QUANTITY_PLACES, utcnow

#: Policies ordering up to order_up_to (design.md); rQ orders multiples of order_quantity.
UP_TO_POLICIES = ("sS", "RsS", "RS", "base_stock")


@dataclass(frozen=True)
class StorePlan:
    """A plan of the store: the plan, the files written and the export it was made from."""

    plan: StockPlan
    paths: dict[str, Path]
    export: ExportSummary


# --- from the plan to draft orders ---------------------------------------------------------------


def _number(plan: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64) if name in plan.columns else pl.lit(0.0)


def orders_to_place(plan: pl.DataFrame, *, source: str = "plan") -> pl.DataFrame:
    """The plan's rows that order now, with ``quantity`` (units, > 0). ``source`` names the
    plan in error messages (its file, for a plan read from one).

    A numeric ``order_now`` is the quantity (the plan computed it). Otherwise (boolean
    ``order_now`` gating the rows, or none) the quantity follows design.md: with the
    inventory position p = on_hand + on_order - backorders at or below reorder_point r,
    order_up_to - p for sS, RsS, RS and base_stock, and for rQ the smallest multiple of
    order_quantity Q lifting p above r: (floor((r - p) / Q) + 1) * Q."""
    gate = plan.schema.get("order_now")
    sized = gate is not None and gate.is_numeric()
    sizing = ["policy", "reorder_point", "order_up_to", "order_quantity", "on_hand"]
    missing = [c for c in KEYS + ([] if sized else sizing) if c not in plan.columns]
    if missing:
        raise ParameterError(source, f"missing columns: {', '.join(missing)}")
    quantity = pl.col("order_now").cast(pl.Float64)
    if not sized:
        p = _number(plan, "on_hand") + _number(plan, "on_order") - _number(plan, "backorders")
        r, s, q = (_number(plan, c) for c in ("reorder_point", "order_up_to", "order_quantity"))
        lot = (((r - p) / q).floor() + 1) * q
        quantity = (
            pl.when(p > r)
            .then(0.0)
            .when(pl.col("policy") == "rQ")
            .then(pl.when(q > 0).then(lot))
            .when(pl.col("policy").is_in(UP_TO_POLICIES))
            .then(s - p)
        )
        if gate == pl.Boolean:
            quantity = pl.when(pl.col("order_now")).then(quantity).otherwise(0.0)
    rows = plan.with_columns(quantity.round(QUANTITY_PLACES).alias("quantity"))
    bad = rows.filter(pl.col("quantity").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise ParameterError(
            source,
            f"item {row['item_id']} at site {row['site_id']}: cannot size the order "
            f"(policy {row.get('policy')!r}, order_quantity {row.get('order_quantity')!r}); "
            f"policies: rQ (order_quantity > 0), {', '.join(UP_TO_POLICIES)}",
        )
    twice = rows.filter(pl.struct(KEYS).is_duplicated())
    if twice.height:
        item, site = twice["item_id"][0], twice["site_id"][0]
        raise ParameterError(source, f"item {item} at site {site} has more than one row")
    return rows.filter(pl.col("quantity") > 0)


def draft_orders(
    session: Session,
    plan: pl.DataFrame,
    username: str,
    *,
    default_supplier: str | None = None,
    source: str = "plan",
) -> list[OrderView]:
    """Draft orders for the plan's orders to place now (:func:`orders_to_place`), one per
    receiving site and source, lines by item: a transfer from the parent site where the
    site has one, else a purchase from the item's supplier (the plan's ``supplier_id``
    where it has one, else as in the exported sourcing, else ``default_supplier``). Lines
    are due today + ``lead_time_days`` where the plan gives it. All in the caller's
    transaction, all or nothing; ParameterError naming item and site when a purchase has
    no supplier, NotFound for an unknown item, site or partner."""
    rows = orders_to_place(plan, source=source)
    if rows.height == 0:
        return []
    parents = frame_of(session, select(Site.site_id, Site.parent_site_id), "site_id source_site_id")
    unknown = rows.join(parents, on="site_id", how="anti")
    if unknown.height:
        raise NotFound(f"site {unknown['site_id'][0]!r} does not exist")
    rows = rows.join(parents, on="site_id", how="left")
    stored = last_suppliers(session).rename({"supplier_id": "_stored"})
    rows = rows.join(stored, on=KEYS, how="left")
    given = pl.col("supplier_id") if "supplier_id" in rows.columns else pl.lit(None, pl.String)
    rows = rows.with_columns(
        pl.when(pl.col("source_site_id").is_null())
        .then(pl.coalesce(given.cast(pl.String), "_stored", pl.lit(default_supplier, pl.String)))
        .alias("_supplier")
    )
    orphans = rows.filter(pl.col("source_site_id").is_null() & pl.col("_supplier").is_null())
    if orphans.height:
        pairs = [f"item {i} at site {s}" for i, s in orphans.select(KEYS).head(5).iter_rows()]
        more = f" and {orphans.height - 5} more" if orphans.height > 5 else ""
        raise ParameterError(
            "default_supplier",
            f"no supplier known for {', '.join(pairs)}{more} (no purchase order for the item "
            "at the site, no supplier_id in the plan); give a default supplier",
        )
    lead = pl.col("lead_time_days") if "lead_time_days" in rows.columns else pl.lit(None)
    today = utcnow().date()
    rows = rows.with_columns(lead.cast(pl.Float64).fill_nan(None).alias("_lead")).sort(
        "site_id", "source_site_id", "_supplier", "item_id", nulls_last=True
    )
    views: list[OrderView] = []
    with session.begin_nested():  # a refused line leaves no order behind
        groups = rows.partition_by(["site_id", "source_site_id", "_supplier"], maintain_order=True)
        for group in groups:
            site, parent, supplier = group.select("site_id", "source_site_id", "_supplier").row(0)
            lines = [
                LineIn(item, Decimal(str(q)), due_date=_due(today, days))
                for item, q, days in group.select("item_id", "quantity", "_lead").iter_rows()
            ]
            note = f"drafted from the plan: {len(lines)} line(s)"
            kind, origin = (
                ("transfer", {"source_site_id": parent})
                if parent is not None
                else ("purchase", {"partner_id": supplier})
            )
            views.append(orders.create(session, kind, site, lines, username, note=note, **origin))
    return views


def _due(today: date, days: float | None) -> date | None:
    return None if days is None else today + timedelta(days=round(days))


# --- the plan of the store -------------------------------------------------------------------


def plan_from_store(
    factory: sessionmaker[Session],
    out: str | Path,
    params: PlanParams = PlanParams(),
    *,
    as_of: datetime | None = None,
    dataset_dir: Path | None = None,
    csv: bool = False,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> StorePlan:
    """``spareflow plan`` on the store: export it (one read transaction, a consistent
    snapshot), load and validate the dataset as any dataset folder, and run
    :func:`spareflow.job.run_plan` into ``out``.

    ``as_of`` (default: the start of the current ``params.period``, UTC) ends the demand
    history, so that every period of it is complete. ``dataset_dir``: where to keep the
    exported dataset (default: a temporary folder, removed afterwards)."""
    from spareflow.data.load import load_dataset
    from spareflow.data.periods import period_index, period_start

    if as_of is None:
        today = utcnow().date()
        start = period_start(period_index(today, params.period), params.period)
        as_of = datetime(start.year, start.month, start.day, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="spareflow-store-") as tmp:
        folder = Path(dataset_dir) if dataset_dir is not None else Path(tmp)
        with factory() as session:
            if dialect_of(session) == "postgresql":  # every query sees the same snapshot
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            try:
                summary = export_dataset(session, folder, as_of=as_of)
            finally:
                session.rollback()
        dataset = load_dataset(folder)
        plan, paths = run_plan(dataset, out, params, csv=csv, progress=progress, engine=engine)
    return StorePlan(plan=plan, paths=paths, export=summary)


__all__ = [
    "DEFAULT_TRANSFER_LEAD_TIME_DAYS",
    "ExportSummary",
    "StorePlan",
    "draft_orders",
    "export_dataset",
    "last_suppliers",
    "orders_to_place",
    "plan_from_store",
]
