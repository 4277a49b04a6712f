"""Row-level validation: parse each column by its kind and collect every fault.

Each check is one vectorised polars expression over the whole column; only the rows that
fail are turned into :class:`~spareflow.errors.Fault` lines (file, row, column, value).
Row numbers are as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from spareflow.data.schema import Column, Kind, Table
from spareflow.errors import Fault

#: Date layouts accepted (ISO 8601); a time of day is allowed and dropped.
_DATE_FORMATS = ("%Y-%m-%d",)
_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%z")
_TRUE = ("true", "yes", "y", "t", "1")
_FALSE = ("false", "no", "n", "f", "0")
_FIRST_DATA_ROW = 2


@dataclass
class FaultLog:
    """Faults collected across files, up to ``cap`` kept; the rest only counted."""

    cap: int = 50
    faults: list[Fault] = field(default_factory=list)
    total: int = 0

    def add(self, fault: Fault) -> None:
        self.total += 1
        if len(self.faults) < self.cap:
            self.faults.append(fault)

    def add_rows(
        self, file: str, rows: pl.DataFrame, column: str | None, message: str, value_col: str | None
    ) -> None:
        """One fault per row of ``rows`` (which has ``_row`` and optionally ``value_col``)."""
        room = max(self.cap - len(self.faults), 0)
        self.total += rows.height
        for rec in rows.head(room).iter_rows(named=True):
            value = rec.get(value_col) if value_col else None
            self.faults.append(
                Fault(file, message, rec["_row"], column, None if value is None else str(value))
            )

    @property
    def truncated(self) -> int:
        return self.total - len(self.faults)


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String).str.strip_chars()


def parse_expr(col: Column, dtype: pl.DataType) -> pl.Expr:
    """Expression turning the raw column into its typed value (null where it fails)."""
    name = col.name
    if col.kind in (Kind.ID, Kind.TEXT):
        expr = _text(name)
        if col.kind is Kind.TEXT:
            return expr
        return pl.when(expr.str.len_bytes() == 0).then(None).otherwise(expr)
    if col.kind in (Kind.NUMBER, Kind.NONNEG, Kind.SHARE):
        if dtype.is_numeric():
            return pl.col(name).cast(pl.Float64)
        return _text(name).cast(pl.Float64, strict=False)
    if col.kind is Kind.DATE:
        if dtype == pl.Date:
            return pl.col(name)
        if isinstance(dtype, pl.Datetime):
            return pl.col(name).dt.date()
        text = _text(name)
        parts = [text.str.to_date(f, strict=False) for f in _DATE_FORMATS]
        parts += [text.str.to_datetime(f, strict=False).dt.date() for f in _DATETIME_FORMATS]
        return pl.coalesce(parts)
    if col.kind is Kind.BOOL:
        if dtype == pl.Boolean:
            return pl.col(name)
        low = _text(name).str.to_lowercase()
        return (
            pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
        )
    return _text(name)  # TIME: kept as text here, parsed by the engine that uses it


_WHAT = {
    Kind.NUMBER: "not a number",
    Kind.NONNEG: "not a number",
    Kind.SHARE: "not a number",
    Kind.DATE: "not a date (expected YYYY-MM-DD)",
    Kind.BOOL: "not a yes/no value (expected true/false)",
}


@dataclass(frozen=True)
class Parsed:
    """A table after :func:`parse_table`.

    ``complete``: every required column was there, so values were parsed and checked
    (otherwise ``frame`` is the raw frame). ``known``: reference columns already proven
    to hold only ids of their target table, so their reference check is done.
    """

    frame: pl.DataFrame
    complete: bool
    known: frozenset[str] = frozenset()


def parse_table(
    raw: pl.DataFrame,
    table: Table,
    file: str,
    log: FaultLog,
    ids: Mapping[str, pl.Series] | None = None,
) -> Parsed:
    """Check columns, parse values and return the typed frame (unknown columns kept).

    Faults go to ``log``; the returned frame is only meaningful when none were added.
    Columns already of the right type (a typed CSV read, Parquet) are checked, not parsed;
    one query first proves most of them clean (see :func:`ready_columns`) and only the
    rest are parsed and checked value by value. ``ids``: for reference columns, the
    parsed ids of their (complete) target table, which lets that proof cover the
    reference check too.
    """
    present = set(raw.columns)
    missing = [c for c in table.required if c not in present]
    for name in missing:
        found = ", ".join(raw.columns) or "none"
        log.add(Fault(file, f"missing required column '{name}' (columns found: {found})"))
    if table.one_of and not present.intersection(table.one_of):
        log.add(Fault(file, f"needs at least one of the columns {', '.join(table.one_of)}"))
    if missing:
        return Parsed(raw, complete=False)
    known = [c for c in table.columns if c.name in present]
    ids = {k: v for k, v in (ids or {}).items() if k in table.references}
    ready = ready_columns(raw, known, ids)
    proven = frozenset(k for k in ids if k in ready)
    todo = [c for c in known if c.name not in ready]
    if not todo:
        return Parsed(raw, complete=True, known=proven)
    frame = raw.with_row_index("_row", offset=_FIRST_DATA_ROW)
    parsed = frame.with_columns([parse_expr(c, raw.schema[c.name]).alias(c.name) for c in todo])
    for c in todo:
        _check_column(frame, parsed, c, file, log)
    return Parsed(parsed.drop("_row"), complete=True, known=proven)


def ready_columns(
    raw: pl.DataFrame, columns: Sequence[Column], ids: Mapping[str, pl.Series]
) -> set[str]:
    """Names of the columns that need no parsing and hold no fault, proven by one
    multi-threaded query of whole-column aggregates.

    A column qualifies when it already has its parsed type and (for text) no value
    starts or ends with a space or is empty, so :func:`parse_expr` would leave it as it
    is and :func:`_check_column` would find nothing. The proof may fail on clean data
    (e.g. text ending in a non-ASCII letter); such columns just take the slow path.
    """
    exprs = []
    for col in columns:
        expr = _ready_expr(col, raw.schema[col.name], ids.get(col.name))
        if expr is not None:
            exprs.append(expr.fill_null(False).alias(col.name))
    if not exprs:
        return set()
    row = raw.lazy().select(exprs).collect().row(0, named=True)
    return {name for name, ok in row.items() if ok}


def _ready_expr(col: Column, dtype: pl.DataType, ids: pl.Series | None) -> pl.Expr | None:
    """Boolean aggregate that is True only if ``col`` is parsed already and fault-free;
    None when its type alone rules that out."""
    value = pl.col(col.name)
    checks: list[pl.Expr] = []
    if col.required:
        checks.append(value.null_count() == 0)
    if col.kind in (Kind.ID, Kind.TEXT, Kind.TIME):
        if dtype != pl.String:
            return None
        if col.kind is Kind.ID and ids is not None and ids.dtype == pl.String:
            # every value is one of the target's ids, which are stripped and non-empty
            checks.append(_known(value, ids).fill_null(not col.required).all())
        else:
            checks.append(_trimmed(value))
    elif col.kind in (Kind.NUMBER, Kind.NONNEG, Kind.SHARE):
        if dtype != pl.Float64:
            return None
        checks.append(value.is_finite().all())
        if col.kind is Kind.NONNEG:
            checks.append((value >= 0).all())
        if col.kind is Kind.SHARE:
            checks.append(value.is_between(0, 1).all())
    elif (col.kind is Kind.DATE and dtype != pl.Date) or (
        col.kind is Kind.BOOL and dtype != pl.Boolean
    ):
        return None
    return pl.all_horizontal(checks) if checks else pl.lit(True)


def _known(value: pl.Expr, ids: pl.Series) -> pl.Expr:
    """Per row: is the value one of ``ids`` (null for a null value)? A handful of ids
    (sites) are compared directly, which is four times faster than hashing each row."""
    distinct = ids.drop_nulls().unique(maintain_order=True)
    if 0 < distinct.len() <= _FEW_IDS:
        return pl.any_horizontal([value == pl.lit(v, pl.String) for v in distinct])
    return value.is_in(ids.implode())


_FEW_IDS = 8


def _trimmed(value: pl.Expr) -> pl.Expr:
    """True if no text starts or ends with whitespace and none is empty (True when
    there is no text at all).

    The start is bounded by whole-column min and max: every text is then between ``!``
    and U+0085, so starts with neither ASCII white space (all below ``!``) nor any other
    (U+0085 and above), and is not empty. This may reject clean text (starting with
    a non-ASCII letter); the caller then parses it. The end is matched exactly: ``\\s``
    is the white space :meth:`~polars.Expr.str.strip_chars` strips.
    """
    return pl.all_horizontal(
        value.min() >= "!",
        value.max() < "\x85",
        value.str.contains(r"\s\z").not_().all(),
    ).fill_null(True)


def _check_column(
    raw: pl.DataFrame, parsed: pl.DataFrame, col: Column, file: str, log: FaultLog
) -> None:
    """Add a fault for each row whose value is missing, unparseable or out of range."""
    name = col.name
    original = raw.get_column(name)
    value = parsed.get_column(name)
    if col.kind is Kind.ID:
        blank = value.is_null()  # parsing stripped it and made empty text null
    elif original.dtype == pl.String:
        blank = original.is_null() | (original.str.strip_chars().str.len_bytes() == 0)
    else:
        blank = original.is_null()
    checks: list[tuple[pl.Series, str]] = []
    if col.required:
        checks.append((blank, "missing value"))
    if col.kind in _WHAT:
        checks.append((~blank & value.is_null(), _WHAT[col.kind]))
    if col.kind in (Kind.NUMBER, Kind.NONNEG, Kind.SHARE):
        checks.append((value.is_nan() | value.is_infinite(), "not a finite number"))
        if col.kind is Kind.NONNEG:
            checks.append((value.is_finite() & (value < 0), "negative value not allowed"))
        if col.kind is Kind.SHARE:
            checks.append(
                (value.is_finite() & ((value < 0) | (value > 1)), "must be a share between 0 and 1")
            )
    for mask, message in checks:
        mask = mask.fill_null(False)
        if mask.any():
            rows = raw.filter(mask).select("_row", pl.col(name).cast(pl.String).alias("_value"))
            show = None if message == "missing value" else "_value"
            log.add_rows(file, rows, name, message, show)


def check_key(frame: pl.DataFrame, table: Table, file: str, log: FaultLog) -> None:
    """Every repeat of a key after its first row is a fault naming both rows."""
    key = [k for k in table.key if k in frame.columns]
    if not key:
        return
    dups = (
        frame.lazy()
        .select(key)
        .with_row_index("_row", offset=_FIRST_DATA_ROW)
        .filter(pl.struct(key).is_duplicated())
        .with_columns(pl.col("_row").min().over(key).alias("_first"))
        .filter(pl.col("_row") != pl.col("_first"))
        .collect()
    )
    if not dups.height:
        return
    label = ", ".join(key)
    room = max(log.cap - len(log.faults), 0)
    log.total += dups.height
    for rec in dups.head(room).iter_rows(named=True):
        value = "/".join("" if rec[k] is None else str(rec[k]) for k in key)
        log.faults.append(
            Fault(
                file,
                f"duplicate key ({label}); first seen at row {rec['_first']}",
                rec["_row"],
                key[0],
                value,
            )
        )


def check_reference(
    frame: pl.DataFrame, column: str, ids: pl.Series, target: str, file: str, log: FaultLog
) -> None:
    """Each non-empty ``column`` value must be one of ``ids`` (the ids of table ``target``)."""
    if column not in frame.columns:
        return
    bad = (
        frame.lazy()
        .select(column)
        .with_row_index("_row", offset=_FIRST_DATA_ROW)
        .filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(ids.implode()))
        .collect()
    )
    if bad.height:
        log.add_rows(file, bad, column, f"unknown id, not in {target}", column)
