"""Row-level validation: parse each column by its kind and collect every fault.

Each check is one vectorised polars expression over the whole column; only the rows that
fail are turned into :class:`~spareflow.errors.Fault` lines (file, row, column, value).
Row numbers are as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

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


def parse_table(raw: pl.DataFrame, table: Table, file: str, log: FaultLog) -> pl.DataFrame:
    """Check columns, parse values and return the typed frame (unknown columns kept).

    Faults go to ``log``; the returned frame is only meaningful when none were added.
    Columns already of the right type (a typed CSV read, Parquet) are checked, not parsed.
    """
    present = set(raw.columns)
    missing = [c for c in table.required if c not in present]
    for name in missing:
        found = ", ".join(raw.columns) or "none"
        log.add(Fault(file, f"missing required column '{name}' (columns found: {found})"))
    if table.one_of and not present.intersection(table.one_of):
        log.add(Fault(file, f"needs at least one of the columns {', '.join(table.one_of)}"))
    if missing:
        return raw
    frame = raw.with_row_index("_row", offset=_FIRST_DATA_ROW)
    known = [c for c in table.columns if c.name in present]
    parsed = frame.with_columns([parse_expr(c, raw.schema[c.name]).alias(c.name) for c in known])
    for c in known:
        _check_column(frame, parsed, c, file, log)
    return parsed


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
    if not key or "_row" not in frame.columns:
        return
    first = pl.col("_row").min().over(key)
    dups = frame.filter(pl.struct(key).is_duplicated()).with_columns(first.alias("_first"))
    dups = dups.filter(pl.col("_row") != pl.col("_first"))
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
    if column not in frame.columns or "_row" not in frame.columns:
        return
    bad = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(ids.implode()))
    if bad.height:
        log.add_rows(
            file, bad.select("_row", column), column, f"unknown id, not in {target}", column
        )
