"""Bulk import of a planning dataset into the store, in one transaction: all or nothing.

What goes where:

- items (unit cost rounded to 0.0001; ``replaced_by`` a one-way supersession), sites
  with their ``{site}/STOCK`` location and parent, suppliers as partners (role supplier,
  lead time the median of their sourcing rows), assets with a part position per
  bill-of-positions row of their model (``item_id``, or ``parent_item_id/item_id``);
- the ledger, ending exactly at the stock table: per item-site an ``import`` move
  VIRTUAL/ADJUSTMENT -> ``{site}/STOCK`` of on_hand plus all demand at the earliest demand
  date (midnight UTC; the import time without demand), then an ``issue`` move
  ``{site}/STOCK`` -> VIRTUAL/CUSTOMER per demand row at its date, for the item the row
  names in the file (not the successor the loader carries superseded history over to);
  zero-quantity rows are skipped and counted; no stock table means nothing on hand;
- stock ``on_order``: one confirmed purchase order per site and supplier; where
  ``supplier_id`` names a site of the dataset (a warehouse resupplying a service site)
  the stock is on its way from that site: a shipped transfer order, whose source's
  opening balance includes what it shipped.

Not imported, having no place in the store: backorders, sourcing parameters other than
the supplier, targets, removals, repair, telemetry.

Moves and balances are computed in polars (balances as the sums of the moves, as
:func:`spareflow.services.ledger.post` leaves them) and sent in bulk: each value goes
through its column's own bind processor, once per distinct value, then executemany
(SQLite) or COPY (PostgreSQL). Orders go through :mod:`spareflow.services.orders`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import polars as pl
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from spareflow.data.load import Dataset, find_table, load_dataset, read_table
from spareflow.data.schema import TABLES
from spareflow.data.validate import FaultLog
from spareflow.errors import Conflict, Fault, InputError, ParameterError
from spareflow.services import orders
from spareflow.services.master import default_location_id
from spareflow.store import models
from spareflow.store.dialect import bulk_insert
from spareflow.store.session import unit_of_work
from spareflow.store.types import utcnow

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` for stages load, items, sites, partners, assets, moves,
balances, orders: each reported at 0 and at its total, moves also after every chunk."""

_NOTE = "open quantity at bulk import"
_CHUNK = 50_000  # moves per bulk statement (and per progress report)
# the store's column widths, checked up front (PostgreSQL would refuse longer text)
_WIDTHS = {
    "items": {"item_id": 64, "description": 200, "criticality": 32},
    "sites": {"site_id": 64, "name": 200, "kind": 32},
    "sourcing": {"supplier_id": 64},
    "demand": {"order_id": 100},
    "assets": {"asset_id": 64, "model": 64},
}
_MOVE_COLUMNS = (  # noqa: SIM905
    "item_id quantity from_location_id to_location_id from_status to_status lot serial reason "
    "reference moved_at recorded_at username"
).split()
_FIXED = ("serviceable", "serviceable", "", "")  # a move's from/to status, lot, serial
Rows = list[dict[str, Any]]
Lines = dict[tuple[str, str], list[orders.LineIn]]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """Rows written per table, demand rows skipped for a zero quantity, seconds taken."""

    items: int
    sites: int
    locations: int
    partners: int
    assets: int
    asset_positions: int
    moves: int
    issue_moves: int
    zero_demand_rows: int
    balances: int
    orders: int
    order_lines: int
    elapsed_seconds: float

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


@dataclass(frozen=True)
class _Plan:
    """Everything to write, checked: master rows by stage and model, moves, orders."""

    master: list[tuple[str, Any, Rows]]  # (stage, model, rows) in the order to insert
    successors: Rows  # {b_id: item, b_to: the item replacing it}
    parents: Rows  # {b_id: site, b_to: its parent site}
    moves: pl.DataFrame  # item_id, from/to_location_id, reason, reference, day, q (0.001s)
    purchases: Lines  # (site, supplier) -> lines
    transfers: Lines  # (site, source site) -> lines
    zero_demand: int


def import_dataset(
    factory: sessionmaker[Session],
    folder: str | Path,
    username: str,
    *,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the planning dataset in ``folder``, all or nothing, as ``username``.

    Raises InputError (one fault per bad row: file, row, column, value) for what the
    loader or the store refuses, and Conflict naming up to 5 item, site or asset ids the
    store already holds; either way before anything is written.
    """
    started = time.perf_counter()
    report: Progress = progress or (lambda stage, done, total: None)
    if not isinstance(username, str) or not 0 < len(username) <= 64:
        raise ParameterError("username", f"1 to 64 characters, got {username!r}")
    report("load", 0, 1)
    plan = _prepare(load_dataset(folder))
    report("load", 1, 1)
    with unit_of_work(factory) as session:
        _refuse_clashes(session, plan)
        counts = _write(session, plan, username, report)
    return ImportSummary(**counts, elapsed_seconds=round(time.perf_counter() - started, 3))


# --- checking and computing (no store) ------------------------------------------------------


def _prepare(dataset: Dataset) -> _Plan:
    root = Path(dataset.source)
    files = {n: (find_table(root, n) or Path(f"{n}.csv")).name for n in (*TABLES, "stock")}
    log = FaultLog()
    for name, widths in _WIDTHS.items():
        frame = dataset.get(name)
        for column, width in widths.items():
            if frame is not None and column in frame.columns:
                too_long = pl.col(column).str.len_chars() > width
                _fault(log, files[name], frame, too_long, column, f"over {width} characters")
    items, sites = dataset["items"], dataset["sites"]
    for column, limit in (("latitude", 90), ("longitude", 180)):
        if column in sites.columns:
            outside = pl.col(column).abs() > limit
            _fault(log, files["sites"], sites, outside, column, f"outside ±{limit}")
    site_ids = set(sites["site_id"].to_list())
    demand = _demand(dataset, root, files["demand"], site_ids, log)
    stock = _stock(dataset.get("stock"), files["stock"], log)
    assets, positions = _assets(dataset, files, log)
    sourcing = dataset.get("sourcing")
    purchases, transfers, shipped = _open_orders(stock, sourcing, site_ids, files["stock"], log)
    if log.total:
        raise InputError(log.faults, log.truncated)
    cost = pl.col("unit_cost").round(4).cast(pl.Decimal(scale=4))
    item_columns = "item_id unit_cost description criticality repairable unit_weight_kg"
    item_columns += " unit_volume_m3"
    item_rows = _records(items.with_columns(cost), item_columns, description="", repairable=False)
    locations = [
        {
            "location_id": default_location_id(s),
            "site_id": s,
            "kind": "internal",
            "name": f"{s} stock",
        }
        for s in sites["site_id"]
    ]
    site_rows = _records(sites, "site_id name kind latitude longitude", name="")
    issues = demand.filter(pl.col("q") > 0)
    return _Plan(
        master=[
            ("items", models.Item, item_rows),
            ("sites", models.Site, site_rows),
            ("sites", models.Location, locations),
            ("partners", models.Partner, _suppliers(sourcing, site_ids)),
            ("assets", models.Asset, assets),
            ("assets", models.AssetPosition, positions),
        ],
        successors=_links(items, "item_id", "replaced_by"),
        parents=_links(sites, "site_id", "parent_site_id"),
        moves=_moves(issues, stock, shipped),
        purchases=purchases,
        transfers=transfers,
        zero_demand=demand.height - issues.height,
    )


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``_row``, the row number as a spreadsheet shows it (header = 1)."""
    return frame if "_row" in frame.columns else frame.with_row_index("_row", offset=2)


def _fault(
    log: FaultLog,
    file: str,
    frame: pl.DataFrame,
    bad: pl.Expr | pl.Series,
    column: str,
    message: str,
    shown: str | None = "",
) -> None:
    """A fault per row of ``frame`` where ``bad`` holds, showing ``shown`` (default:
    ``column``; None shows no value)."""
    rows = _numbered(frame).filter(bad)
    log.add_rows(file, rows, column, message, column if shown == "" else shown)


def _records(frame: pl.DataFrame, names: str, **fills: Any) -> Rows:
    """Rows of those of ``names`` that ``frame`` has, nulls replaced as ``fills`` says
    (absent columns take the store's defaults)."""
    present = [n for n in names.split() if n in frame.columns]
    return frame.select(
        pl.col(n).fill_null(fills[n]) if n in fills else n for n in present
    ).to_dicts()


def _links(frame: pl.DataFrame, key: str, target: str) -> Rows:
    if target not in frame.columns:
        return []
    linked = frame.filter(pl.col(target).is_not_null())
    return linked.select(b_id=pl.col(key), b_to=pl.col(target)).to_dicts()


def _scaled(frame: pl.DataFrame, column: str, file: str, log: FaultLog) -> pl.Series:
    """``column`` in thousandths as Int64 (null as 0); more than 3 decimal places faults."""
    value = frame.get_column(column).fill_null(0.0) * 1000
    whole = value.round(0)
    _fault(log, file, frame, (value - whole).abs() > 1e-6, column, "more than 3 decimal places")
    return whole.cast(pl.Int64)


def _fill_sites(frame: pl.DataFrame, site_ids: set[str], file: str, log: FaultLog) -> pl.DataFrame:
    """Demand rows without a site_id go to the dataset's only site; with several sites
    each is a fault. (The loader refuses such rows today; this keeps the rule here.)"""
    if "site_id" not in frame.columns:
        frame = frame.with_columns(site_id=pl.lit(None, pl.String))
    missing = frame.get_column("site_id").is_null()
    if len(site_ids) == 1:
        return frame.with_columns(pl.col("site_id").fill_null(next(iter(site_ids))))
    message = f"no site_id, and the dataset has {len(site_ids)} sites"
    _fault(log, file, frame, missing, "site_id", message, None)
    return frame


def _demand(
    dataset: Dataset, root: Path, file: str, site_ids: set[str], log: FaultLog
) -> pl.DataFrame:
    """item_id, site_id, day, q (thousandths), reference, _row: one row per demand row."""
    frame = dataset["demand"]
    if dataset.carried_over:  # record the item the row names, not its successor
        path = find_table(root, "demand")
        again = None if path is None else read_table(path, TABLES["demand"], FaultLog())
        if again is None or again.frame.height != frame.height:
            raise InputError([Fault(file, "changed while being imported; import again")])
        frame = frame.with_columns(again.frame.get_column("item_id"))
    frame = _fill_sites(_numbered(frame), site_ids, file, log)
    reference = pl.col("order_id") if "order_id" in frame.columns else pl.lit(None)
    q = _scaled(frame, "quantity", file, log)
    reference = reference.cast(pl.String).fill_null("")
    return frame.select("item_id", "site_id", "_row", day="date", q=q, reference=reference)


def _stock(frame: pl.DataFrame | None, file: str, log: FaultLog) -> pl.DataFrame:
    """item_id, site_id, _row, on_hand and on_order in thousandths (no stock table: none)."""
    if frame is None:
        frame = pl.DataFrame(schema={"item_id": pl.String, "site_id": pl.String})
    frame = _numbered(frame)
    amounts = {
        name: _scaled(frame, name, file, log) if name in frame.columns else pl.lit(0, pl.Int64)
        for name in ("on_hand", "on_order")
    }
    return frame.select("item_id", "site_id", "_row", **amounts)


def _suppliers(sourcing: pl.DataFrame | None, site_ids: set[str]) -> Rows:
    if sourcing is None or "supplier_id" not in sourcing.columns:
        return []
    supplier = pl.col("supplier_id")
    grouped = (
        sourcing.filter(supplier.is_not_null() & (supplier != "") & ~supplier.is_in(site_ids))
        .group_by("supplier_id")
        .agg(pl.col("lead_time_days").median())
        .sort("supplier_id")
    )
    return [
        {"partner_id": p, "roles": ["supplier"], "lead_time_days": days}
        for p, days in grouped.iter_rows()
    ]


def _assets(dataset: Dataset, files: dict[str, str], log: FaultLog) -> tuple[Rows, Rows]:
    frame, bill = dataset.get("assets"), dataset.get("bill_of_positions")
    if frame is None:
        return [], []
    use = "utilisation_hours_per_day"
    if use in frame.columns:
        _fault(log, files["assets"], frame, pl.col(use) > 24, use, "at most 24 hours a day")
    assets = _records(frame, f"asset_id site_id model install_date operating_hours {use}")
    if bill is None:
        return assets, []
    file = files["bill_of_positions"]
    parent = pl.col("parent_item_id") if "parent_item_id" in bill.columns else pl.lit(None)
    under = pl.concat_str(parent.cast(pl.String), pl.lit("/"), pl.col("item_id"))
    bill = _numbered(bill).with_columns(
        q=_scaled(bill, "quantity_per_asset", file, log),
        position=pl.when(parent.is_null()).then(pl.col("item_id")).otherwise(under),
    )
    for bad, column, message in (
        (pl.col("q") <= 0, "quantity_per_asset", "must be > 0 for a part position"),
        (pl.col("position").str.len_chars() > 64, "item_id", "position over 64 characters"),
        (pl.struct("model", "position").is_duplicated(), "item_id", "position repeated"),
    ):
        _fault(log, file, bill, bad, column, message, "position")
    fitted = frame.select("asset_id", "model").join(bill, on="model").sort("asset_id", "_row")
    quantity = pl.col("quantity_per_asset").cast(pl.Decimal(scale=3))
    return assets, fitted.select("asset_id", "position", "item_id", quantity=quantity).to_dicts()


def _open_orders(
    stock: pl.DataFrame, sourcing: pl.DataFrame | None, sites: set[str], file: str, log: FaultLog
) -> tuple[Lines, Lines, pl.DataFrame]:
    """Purchase and transfer order lines per (site, supplier or source site), and what
    each source site ships per item (item_id, site_id, shipped)."""
    keys = ["item_id", "site_id"]
    open_ = stock.filter(pl.col("on_order") > 0)
    if sourcing is not None and "supplier_id" in sourcing.columns:
        open_ = open_.join(sourcing.select(*keys, "supplier_id"), on=keys, how="left")
    else:
        open_ = open_.with_columns(supplier_id=pl.lit(None, pl.String))
    supplier = pl.col("supplier_id")
    none, itself = supplier.is_null() | (supplier == ""), supplier == pl.col("site_id")
    _fault(log, file, open_, none, "on_order", "open, but sourcing names no supplier_id")
    _fault(log, file, open_, itself, "on_order", "open, but the supplier_id is the site itself")
    purchases: Lines = {}
    transfers: Lines = {}
    ordered = open_.sort("site_id", "supplier_id", "item_id")
    for site, source, item, q in ordered.select(
        "site_id", "supplier_id", "item_id", "on_order"
    ).rows():
        into = transfers if source in sites else purchases
        into.setdefault((site, source), []).append(orders.LineIn(item, _decimal(q)))
    from_sites = open_.filter(supplier.is_in(sites))
    shipped = from_sites.group_by("item_id", site_id=supplier).agg(shipped=pl.col("on_order").sum())
    return purchases, transfers, shipped


def _moves(issues: pl.DataFrame, stock: pl.DataFrame, shipped: pl.DataFrame) -> pl.DataFrame:
    """Opening and issue moves in time order (an opening before the issues of its day)."""
    keys = ["item_id", "site_id"]
    totals = issues.group_by(keys).agg(demand=pl.col("q").sum(), day=pl.col("day").min())
    pairs = (
        stock.select(*keys, "on_hand")
        .join(totals, on=keys, how="full", coalesce=True)
        .join(shipped, on=keys, how="full", coalesce=True)
        .with_columns(pl.col("on_hand", "demand", "shipped").fill_null(0))
    )
    at_site = pl.col("site_id") + "/STOCK"
    opening = pairs.select(
        "item_id",
        "day",
        from_location_id=pl.lit("VIRTUAL/ADJUSTMENT"),
        to_location_id=at_site,
        reason=pl.lit("import"),
        reference=pl.lit("opening balance"),
        q=pl.col("on_hand") + pl.col("demand") + pl.col("shipped"),
        _kind=pl.lit(0, pl.Int64),
        _row=pl.lit(0, pl.Int64),
    ).filter(pl.col("q") > 0)
    issue = issues.select(
        "item_id",
        "day",
        from_location_id=at_site,
        to_location_id=pl.lit("VIRTUAL/CUSTOMER"),
        reason=pl.lit("issue"),
        reference="reference",
        q="q",
        _kind=pl.lit(1, pl.Int64),
        _row=pl.col("_row").cast(pl.Int64),
    )
    both = pl.concat([opening, issue])
    order = ["day", "_kind", "_row", "item_id", "to_location_id"]
    return both.sort(order, nulls_last=True).drop("_kind", "_row")


def _balances(moves: pl.DataFrame) -> pl.DataFrame:
    """Per item and location: what came in minus what went out (every key a move touched)."""
    inbound = moves.select("item_id", location_id="to_location_id", q="q")
    outbound = moves.select("item_id", location_id="from_location_id", q=-pl.col("q"))
    both = pl.concat([inbound, outbound]).group_by("item_id", "location_id").agg(pl.col("q").sum())
    return both.sort("item_id", "location_id")


def _decimal(scaled: int) -> Decimal:
    return Decimal(int(scaled)).scaleb(-3)


# --- writing --------------------------------------------------------------------------------


def _refuse_clashes(session: Session, plan: _Plan) -> None:
    """Conflict naming up to 5 item, site or asset ids already in the store."""
    clashes: list[str] = []
    rows = {model: rows for _, model, rows in plan.master}
    for what, column in (
        ("item", models.Item.item_id),
        ("site", models.Site.site_id),
        ("asset", models.Asset.asset_id),
    ):
        for chunk in _chunks(sorted(r[column.key] for r in rows[column.class_])):
            found = session.scalars(select(column).where(column.in_(chunk)).order_by(column))
            clashes += [f"{what} {i}" for i in found]
    if clashes:
        more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        raise Conflict(
            f"the store already holds {', '.join(clashes[:5])}{more}; "
            "a dataset imports only into a store holding none of its ids",
            f"{clashes[0].split()[0]}_id",
        )


def _write(session: Session, plan: _Plan, username: str, report: Progress) -> dict[str, int]:
    now = utcnow()
    connection = session.connection()
    counts: dict[str, int] = {}
    for stage, model, rows in plan.master:
        if model is models.Partner:  # suppliers the store knows already are kept as they are
            ids = [r["partner_id"] for r in rows]
            known = {p for c in _chunks(ids) for p in session.scalars(_partners_in(c))}
            rows = [r for r in rows if r["partner_id"] not in known]
        report(stage, 0, len(rows))
        if rows:
            connection.execute(_table(model).insert(), rows)
        report(stage, len(rows), len(rows))
        counts[model.__tablename__] = len(rows)
    successor = {"replaced_by": bindparam("b_to"), "interchangeability": "one-way"}
    for model, rows, values in (  # references, once every row they may name exists
        (models.Item, plan.successors, successor),
        (models.Site, plan.parents, {"parent_site_id": bindparam("b_to")}),
    ):
        table = _table(model)
        key = table.primary_key.columns.values()[0]
        if rows:
            connection.execute(update(table).where(key == bindparam("b_id")).values(values), rows)
    moves = plan.moves
    days: dict[date | None, datetime] = {
        day: datetime(day.year, day.month, day.day, tzinfo=UTC)
        for day in moves.get_column("day").drop_nulls().unique()
    }
    days[None] = now  # openings of item-sites without demand
    report("moves", 0, moves.height)
    for start in range(0, moves.height, _CHUNK):
        part = moves.slice(start, _CHUNK).select(
            "item_id", "q", "from_location_id", "to_location_id", "reason", "reference", "day"
        )
        batch = [
            (item, _decimal(q), src, dst, *_FIXED, why, ref, days[day], now, username)
            for item, q, src, dst, why, ref, day in part.rows()
        ]
        bulk_insert(connection, _table(models.Move), _MOVE_COLUMNS, batch)
        report("moves", start + len(batch), moves.height)
    balances = [(i, loc, "", "", _FIXED[0], _decimal(q)) for i, loc, q in _balances(moves).rows()]
    report("balances", 0, len(balances))
    columns = ("item_id", "location_id", "lot", "serial", "status", "quantity")
    bulk_insert(connection, _table(models.Balance), columns, balances)
    report("balances", len(balances), len(balances))
    shipped, lines = _place_orders(session, plan, username, report)
    return counts | {
        "moves": moves.height + shipped,
        "issue_moves": moves.filter(pl.col("reason") == "issue").height,
        "zero_demand_rows": plan.zero_demand,
        "balances": len(balances),
        "orders": len(plan.purchases) + len(plan.transfers),
        "order_lines": lines,
    }


def _place_orders(
    session: Session, plan: _Plan, username: str, report: Progress
) -> tuple[int, int]:
    """Confirmed purchase orders and shipped transfer orders: (moves posted, lines)."""
    todo = [("purchase", key, lines) for key, lines in plan.purchases.items()]
    todo += [("transfer", key, lines) for key, lines in plan.transfers.items()]
    report("orders", 0, len(todo))
    shipped = total = 0
    for done, (kind, (site, other), lines) in enumerate(todo, start=1):
        where: dict[str, Any] = {"partner_id" if kind == "purchase" else "source_site_id": other}
        view = orders.create(session, kind, site, lines, username, note=_NOTE, **where)
        for action in ("confirm",) if kind == "purchase" else ("release", "ship"):
            orders.act(session, view.order.order_id, action, username)
        shipped += len(lines) if kind == "transfer" else 0
        total += len(lines)
        report("orders", done, len(todo))
    return shipped, total


def _partners_in(ids: Sequence[str]) -> Any:
    return select(models.Partner.partner_id).where(models.Partner.partner_id.in_(ids))


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


__all__ = ["ImportSummary", "Progress", "import_dataset"]
