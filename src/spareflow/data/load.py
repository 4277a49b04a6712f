"""Read a planning dataset (a folder of CSV, Parquet or Excel tables) or a demand table.

Everything is validated once, here, and every fault is reported together (up to a cap):
missing columns, unparseable values, negative quantities, unknown ids, duplicate keys,
empty files. Engines downstream trust what this module returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from spareflow.data.clock import CLOCK, clock_minutes
from spareflow.data.fastpath import clean_demand_matrix
from spareflow.data.periods import DemandMatrix, Period, demand_matrix
from spareflow.data.schema import (
    HANDLING_UNITS,
    POLICY_PARAMS,
    PROMISE_LINES,
    RATE_LINES,
    REQUIRED_TABLES,
    STANDALONE_DEMAND,
    STOPS,
    SUFFIXES,
    TABLES,
    Kind,
    Table,
)
from spareflow.data.validate import (
    FaultLog,
    Parsed,
    check_key,
    check_reference,
    parse_table,
)
from spareflow.errors import Fault, InputError, NotFound

_DTYPES = {
    Kind.ID: pl.String,
    Kind.TEXT: pl.String,
    Kind.NUMBER: pl.Float64,
    Kind.NONNEG: pl.Float64,
    Kind.SHARE: pl.Float64,
    Kind.DATE: pl.String,  # parsed by the validator's explicit formats, never guessed
    Kind.BOOL: pl.Boolean,
    Kind.TIME: pl.String,
}


@dataclass(frozen=True)
class Dataset:
    """Validated tables of a planning dataset, by name; absent optional tables are missing.

    ``carried_over`` lists (predecessor, successor) item pairs whose demand history was
    moved to the successor (supersession).
    """

    tables: dict[str, pl.DataFrame]
    source: str
    carried_over: tuple[tuple[str, str], ...] = ()

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    def get(self, name: str) -> pl.DataFrame | None:
        return self.tables.get(name)


def _read_raw(path: Path, table: Table, typed: bool) -> pl.DataFrame:
    """The file as a frame: typed per the schema (fast, strict) or every column as text."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix == ".xlsx":
        return pl.read_excel(path, infer_schema_length=0)
    if typed:
        overrides = {c.name: _DTYPES[c.kind] for c in table.columns}
        header = pl.read_csv(path, n_rows=0).columns
        return pl.read_csv(
            path, schema_overrides={k: v for k, v in overrides.items() if k in header}
        )
    return pl.read_csv(path, infer_schema=False)


def read_table(
    path: Path, table: Table, log: FaultLog, ids: dict[str, pl.Series] | None = None
) -> Parsed | None:
    """Read and parse one table file; faults go to ``log``; None if it cannot be read.

    ``ids``: parsed ids of the target tables of reference columns (see
    :func:`~spareflow.data.validate.parse_table`).
    """
    name = path.name
    if not path.is_file():
        log.add(Fault(str(path), "file not found"))
        return None
    if path.stat().st_size == 0:
        log.add(Fault(name, "file is empty (expected a header row and data)"))
        return None
    try:
        try:
            raw = _read_raw(path, table, typed=True)
        except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
            raw = _read_raw(path, table, typed=False)  # slow path: find each bad row
    except pl.exceptions.NoDataError:
        log.add(Fault(name, "file is empty (expected a header row and data)"))
        return None
    except Exception as exc:  # a corrupt file: name it, never a traceback
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        kind = path.suffix.lstrip(".")
        log.add(Fault(name, f"cannot be read as {kind}: {exc.__class__.__name__}: {first_line}"))
        return None
    raw = raw.rename({c: c.strip() for c in raw.columns if c != c.strip()})
    if raw.height == 0:
        log.add(Fault(name, "has a header but no data rows"))
        return None
    parsed = parse_table(raw, table, name, log, ids)
    if parsed.complete:
        check_key(parsed.frame, table, name, log)  # reported alongside any other fault
    return parsed


def find_table(folder: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``folder`` (first of .parquet, .csv, .xlsx)."""
    for suffix in SUFFIXES:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def load_dataset(folder: str | Path, max_faults: int = 50) -> Dataset:
    """Load and validate every table present in ``folder``; raise InputError with all faults."""
    root = Path(folder)
    if not root.is_dir():
        if root.is_file():
            raise NotFound(
                f"{root}: expected a dataset folder, got a file "
                "(use a folder with items, sites and demand tables)"
            )
        raise NotFound(f"{root}: no such folder")
    log = FaultLog(cap=max_faults)
    frames: dict[str, pl.DataFrame] = {}
    files: dict[str, str] = {}
    parsed: dict[str, Parsed] = {}
    for name, table in TABLES.items():
        path = find_table(root, name)
        if path is None:
            if name in REQUIRED_TABLES:
                looked = ", ".join(name + s for s in SUFFIXES)
                message = f"required table '{name}' not found in {root} (looked for {looked})"
                log.add(Fault(f"{name}.csv", message))
            continue
        result = read_table(path, table, log, _parsed_ids(table, parsed))
        if result is not None:
            parsed[name] = result
            frames[name] = result.frame
            files[name] = path.name
    _check_references(parsed, files, log)  # reported alongside any other fault
    carried: tuple[tuple[str, str], ...] = ()
    if log.total == 0 and "items" in frames:
        frames, carried = _carry_over(frames, files["items"], log)
    if log.total:
        raise InputError(log.faults, log.truncated)
    return Dataset(frames, str(root), carried)


_ID_COLUMN = {"items": "item_id", "sites": "site_id"}


def _parsed_ids(table: Table, parsed: dict[str, Parsed]) -> dict[str, pl.Series]:
    """For each reference column of ``table``: the ids of its target table, if that
    table was read complete (so its ids are parsed: stripped, never empty)."""
    ids: dict[str, pl.Series] = {}
    for column, target in table.references.items():
        found = parsed.get(target)
        if found is not None and found.complete:
            ids[column] = found.frame.get_column(_ID_COLUMN[target])
    return ids


def _check_references(parsed: dict[str, Parsed], files: dict[str, str], log: FaultLog) -> None:
    """Reference columns not already proven while parsing, checked against the ids of
    the items and sites tables (as read, complete or not)."""
    ids = {
        target: parsed[target].frame.get_column(column)
        for target, column in _ID_COLUMN.items()
        if target in parsed and column in parsed[target].frame.columns
    }
    for name, table in parsed.items():
        if not table.complete:
            continue
        for column, target in TABLES[name].references.items():
            target_ids = ids.get(target)
            if target_ids is not None and column not in table.known:
                check_reference(table.frame, column, target_ids, target, files[name], log)


def _carry_over(
    frames: dict[str, pl.DataFrame], items_file: str, log: FaultLog
) -> tuple[dict[str, pl.DataFrame], tuple[tuple[str, str], ...]]:
    """Move each superseded item's demand to its final successor (following chains)."""
    items = frames["items"]
    if "replaced_by" not in items.columns:
        return frames, ()
    links = (
        items.select("item_id", "replaced_by")
        .with_row_index("_row", offset=2)
        .filter(pl.col("replaced_by").is_not_null())
    )
    if links.height == 0:
        return frames, ()
    successor = dict(zip(links["item_id"].to_list(), links["replaced_by"].to_list(), strict=True))
    rows = dict(zip(links["item_id"].to_list(), links["_row"].to_list(), strict=True))
    final: dict[str, str] = {}
    for item in successor:
        seen = [item]
        nxt = successor[item]
        while nxt in successor:
            if nxt in seen:
                chain = " -> ".join([*seen, nxt])
                log.add(
                    Fault(
                        items_file,
                        f"supersession loop: {chain}",
                        rows[item],
                        "replaced_by",
                        successor[item],
                    )
                )
                break
            seen.append(nxt)
            nxt = successor[nxt]
        final[item] = nxt
    if log.total or "demand" not in frames:
        return frames, tuple(sorted(final.items()))
    out = dict(frames)
    out["demand"] = _replace_items(frames["demand"], final)
    return out, tuple(sorted(final.items()))


def _replace_items(demand: pl.DataFrame, final: dict[str, str]) -> pl.DataFrame:
    """``demand`` with each item id in ``final`` replaced by its value, rows in place.

    Only the rows of superseded items (a few percent) are looked up and rewritten: one
    membership test per row, no join and no copy of the other columns. The new column
    keeps the chunks of the old one, so the frame stays aligned (no copies later).
    """
    column = demand.get_column("item_id")
    old = pl.Series(list(final), dtype=pl.String)
    rows = column.is_in(old.implode()).arg_true().to_numpy()
    if not rows.size:
        return demand
    moved = column.gather(pl.Series(rows)).replace(old, pl.Series(list(final.values())))
    chunks = column.get_chunks()
    starts = np.cumsum([0] + [c.len() for c in chunks])
    bounds = np.searchsorted(rows, starts)  # rows of each chunk: bounds[i] .. bounds[i+1]
    pieces = []
    for i, chunk in enumerate(chunks):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        if hi > lo:
            chunk = chunk.clone()  # scatter writes in place: never into the frame read
            chunk.scatter(rows[lo:hi] - starts[i], moved.slice(lo, hi - lo))
        pieces.append(chunk)
    return demand.with_columns(pl.concat(pieces, rechunk=False))


def demand_path(path: str | Path) -> Path:
    """The demand table file: ``path`` itself, or the demand table in folder ``path``."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"{p}: file not found")
    if p.is_dir():
        found = find_table(p, "demand")
        if found is None:
            raise NotFound(
                f"{p}: no demand table (demand.csv, demand.parquet or demand.xlsx) in this folder"
            )
        p = found
    _check_suffix(p)
    return p


def _check_suffix(p: Path) -> None:
    if p.suffix.lower() not in SUFFIXES:
        raise NotFound(f"{p}: unsupported file type '{p.suffix}' (use .csv, .parquet or .xlsx)")


def load_demand_table(path: str | Path, max_faults: int = 50) -> pl.DataFrame:
    """A demand table on its own (item_id, date, quantity, optional site_id), validated."""
    p = demand_path(path)
    log = FaultLog(cap=max_faults)
    parsed = read_table(p, STANDALONE_DEMAND, log)
    if log.total or parsed is None:
        raise InputError(log.faults, log.truncated)
    return parsed.frame


def load_demand_matrix(path: str | Path, period: Period, max_faults: int = 50) -> DemandMatrix:
    """A demand table straight into its (series, periods) matrix.

    A clean CSV takes the fast path (:mod:`spareflow.data.fastpath`: a third of the memory
    and time); anything else is read, validated and reported by :func:`load_demand_table`.
    """
    p = demand_path(path)
    matrix = clean_demand_matrix(p, period)
    if matrix is not None:
        return matrix
    return demand_matrix(load_demand_table(p, max_faults), period)


def load_table(
    path: str | Path, table: Table, max_faults: int = 50
) -> tuple[pl.DataFrame, FaultLog]:
    """One table file read and validated against ``table``: the typed frame and the
    fault log (empty; add the caller's own checks to it). Raises NotFound for a missing
    file and InputError naming every fault."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"{p}: file not found")
    _check_suffix(p)
    log = FaultLog(cap=max_faults)
    parsed = read_table(p, table, log)
    if parsed is None or not parsed.complete or log.total:
        raise InputError(log.faults, log.truncated)
    return parsed.frame, log


#: A row check of a single table: rows where the expression holds are faults in column.
RowCheck = tuple[pl.Expr, str, str]


def load_checked_table(
    path: str | Path,
    table: Table,
    checks: Callable[[pl.DataFrame], list[RowCheck]],
    max_faults: int = 50,
) -> pl.DataFrame:
    """One table read and validated against ``table``, then against ``checks`` (given the
    parsed frame, the rows that are wrong: expression, column, message); every fault
    names its file, row and column. Raises NotFound or InputError."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"{p}: file not found")
    _check_suffix(p)
    log = FaultLog(cap=max_faults)
    parsed = read_table(p, table, log)
    frame = None if parsed is None else parsed.frame
    if parsed is not None and parsed.complete and frame is not None:
        _check_rows(frame, checks(frame), p.name, log)
    if log.total or frame is None:
        raise InputError(log.faults, log.truncated)
    return frame


def _check_rows(frame: pl.DataFrame, checks: list[RowCheck], file: str, log: FaultLog) -> None:
    """One fault per row where a check's expression holds, naming file, row and column."""
    numbered = frame.with_row_index("_row", offset=2)
    for bad, column, message in checks:
        rows = numbered.filter(bad.fill_null(False)).select("_row", pl.col(column).cast(pl.String))
        if rows.height:
            log.add_rows(file, rows, column, message, column)


def load_policy_params(path: str | Path, max_faults: int = 50) -> pl.DataFrame:
    """The table of ``spareflow policy`` (item_id, policy sS or rQ, demand_mean,
    lead_time, holding_cost, stockout_cost, fixed_cost), validated: besides the usual
    checks, policy must be sS or rQ, holding and stockout costs positive, and an sS lead
    time a whole number of periods."""

    def checks(_frame: pl.DataFrame) -> list[RowCheck]:
        whole = pl.col("lead_time") != pl.col("lead_time").round()
        return [
            (~pl.col("policy").is_in(["sS", "rQ"]), "policy", "must be sS or rQ"),
            (pl.col("holding_cost") <= 0, "holding_cost", "must be positive"),
            (pl.col("stockout_cost") <= 0, "stockout_cost", "must be positive"),
            (
                (pl.col("policy") == "sS") & whole,
                "lead_time",
                "an sS lead time must be a whole number of periods",
            ),
        ]

    return load_checked_table(path, POLICY_PARAMS, checks, max_faults)


def load_handling_units(path: str | Path, max_faults: int = 50) -> pl.DataFrame:
    """Handling units to classify (see ``HANDLING_UNITS``), validated: besides the usual
    checks, every dimension and the weight above zero and no ship date before the first
    density scale on file."""
    from spareflow.transport.freight import SCALES

    first = min(scale.effective_from for scale in SCALES)

    def checks(frame: pl.DataFrame) -> list[RowCheck]:
        out: list[RowCheck] = [
            (pl.col(c) <= 0, c, "must be above zero")
            for c in ("length_in", "width_in", "height_in", "weight_lb")
        ]
        if "ship_date" in frame.columns:
            early = pl.col("ship_date").cast(pl.Date) < first
            out.append(
                (early, "ship_date", f"before {first.isoformat()}, the first density scale on file")
            )
        return out

    return load_checked_table(path, HANDLING_UNITS, checks, max_faults)


_DIMENSIONS = ("length_in", "width_in", "height_in")


def load_rate_lines(path: str | Path, max_faults: int = 50) -> pl.DataFrame:
    """Freight lines to rate (see ``RATE_LINES``), validated: weight, and dimensions where
    given, above zero; ``freight_class`` an NMFC class (returned as written in
    ``rating.CLASSES``: 85.0 -> "85", null where blank); then, on the clean values, a
    class or all three dimensions on every line, no ship date needing a density class
    before the first scale on file, and one lane and one distance (``miles``) per
    shipment. Lanes, classes and accessorials are checked against the tariff by the
    caller."""
    from spareflow.transport.freight import SCALES
    from spareflow.transport.rating import CLASSES

    first = min(scale.effective_from for scale in SCALES)
    text = pl.col("freight_class").cast(pl.String).str.strip_chars()
    canonical = text.cast(pl.Float64, strict=False).replace_strict(
        {float(c): c for c in CLASSES}, default=None, return_dtype=pl.String
    )

    def checks(frame: pl.DataFrame) -> list[RowCheck]:
        out: list[RowCheck] = [
            (pl.col(c) <= 0, c, "must be above zero")
            for c in ("weight_lb", *_DIMENSIONS)
            if c in frame.columns
        ]
        if "freight_class" in frame.columns:
            named = ", ".join(CLASSES)
            out.append(
                (
                    (text != "") & canonical.is_null(),
                    "freight_class",
                    f"not an NMFC class ({named})",
                )
            )
        return out

    frame = load_checked_table(path, RATE_LINES, checks, max_faults)
    if "freight_class" in frame.columns:
        frame = frame.with_columns(canonical.alias("freight_class"))
    log = FaultLog(cap=max_faults)
    file = Path(path).name
    _check_rows(frame, _shipment_checks(frame, file, first, log), file, log)
    if log.total:
        raise InputError(log.faults, log.truncated)
    return frame


def _shipment_checks(frame: pl.DataFrame, file: str, first: date, log: FaultLog) -> list[RowCheck]:
    """Checks of rate lines with clean values: a class or the dimensions to find it, a
    ship date on a density scale where one is needed, one lane and one distance per
    shipment."""
    columns = frame.columns
    no_class = (
        pl.col("freight_class").is_null() if "freight_class" in columns else pl.lit(value=True)
    )
    absent = [d for d in _DIMENSIONS if d not in columns]
    out: list[RowCheck] = []
    if not absent:
        out += [
            (
                no_class & pl.col(d).is_null(),
                d,
                "missing value: no freight_class on this row, so its class comes from density",
            )
            for d in _DIMENSIONS
        ]
    elif "freight_class" in columns:
        out.append(
            (
                no_class,
                "freight_class",
                f"missing value: no {', '.join(absent)} column to find a class from density",
            )
        )
    else:
        log.add(
            Fault(
                file,
                "needs a freight_class column, or length_in, width_in and height_in "
                f"(class from density); columns found: {', '.join(columns)}",
            )
        )
    if "ship_date" in columns:
        early = no_class & (pl.col("ship_date").cast(pl.Date) < first)
        out.append(
            (early, "ship_date", f"before {first.isoformat()}, the first density scale on file")
        )
    lane = pl.col("lane")
    out.append(
        (
            lane != lane.first().over("shipment_id"),
            "lane",
            "lines of one shipment on two lanes: its first line is on another lane",
        )
    )
    if "miles" in columns:
        miles = pl.col("miles")
        out.append(
            (
                miles.ne_missing(miles.first().over("shipment_id")),
                "miles",
                "one distance per shipment: its first line has other miles",
            )
        )
    return out


def load_promise_lines(path: str | Path, max_faults: int = 50) -> pl.DataFrame:
    """Order lines to promise (see ``PROMISE_LINES``), validated: quantity above zero,
    priority a whole number from 1 to 9."""

    def checks(frame: pl.DataFrame) -> list[RowCheck]:
        out: list[RowCheck] = [(pl.col("quantity") <= 0, "quantity", "must be above zero")]
        if "priority" in frame.columns:
            p = pl.col("priority")
            out.append(((p != p.round()) | (p < 1) | (p > 9), "priority", "a whole number 1 to 9"))
        return out

    return load_checked_table(path, PROMISE_LINES, checks, max_faults)


def load_stops(path: str | Path, max_faults: int = 50) -> pl.DataFrame:
    """Stops to route (see ``STOPS``), validated: latitudes within +-90, longitudes
    within +-180, windows HH:MM that do not close before they open."""

    def checks(frame: pl.DataFrame) -> list[RowCheck]:
        well_formed = [
            (~pl.col(c).str.strip_chars().str.contains(CLOCK), c, "a time like 08:30")
            for c in ("window_open", "window_close")
        ]
        return [
            (pl.col("lat").abs() > 90, "lat", "a latitude within -90 and 90"),
            (pl.col("lon").abs() > 180, "lon", "a longitude within -180 and 180"),
            *well_formed,
            (
                clock_minutes("window_close") < clock_minutes("window_open"),
                "window_close",
                "closes before the window opens",
            ),
        ]

    return load_checked_table(path, STOPS, checks, max_faults)
