"""Life records for ``spareflow reliability fit``: a table item_id, time, kind (failure or
suspension), or a planning dataset folder whose removals and assets give them (see
``plan.installed``). Validated like every table: faults name file, row and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from spareflow.data.load import load_dataset, load_table
from spareflow.data.schema import Column, Kind, Table
from spareflow.errors import InputError, NotFound

LIFE_RECORDS = Table(
    "lives",
    (
        Column("item_id", Kind.ID),
        Column("time", Kind.NONNEG),
        Column("kind", Kind.ID),
    ),
)

KINDS = ("failure", "suspension")


def load_lives(path: str | Path, as_of: date | None = None, max_faults: int = 50) -> pl.DataFrame:
    """Life records (item_id, hours, failed) from a table or a dataset folder."""
    p = Path(path)
    if p.is_dir():
        from spareflow.plan.installed import life_records, positions

        dataset = load_dataset(p, max_faults)
        day = as_of or date.today()
        pos = positions(dataset, day)
        if pos is None or dataset.get("removals") is None:
            raise NotFound(f"{p}: a dataset folder needs assets, bill_of_positions and removals")
        records = life_records(dataset, pos, day)
        return records.select("item_id", "hours", "failed").filter(pl.col("hours") > 0)
    table, log = load_table(p, LIFE_RECORDS, max_faults)
    frame = table.with_row_index("_row", offset=2)
    kind = pl.col("kind").str.to_lowercase()
    bad_kind = frame.filter(~kind.is_in(KINDS)).select("_row", "kind")
    if bad_kind.height:
        log.add_rows(p.name, bad_kind, "kind", "must be failure or suspension", "kind")
    bad_time = frame.filter(~(pl.col("time") > 0)).select("_row", pl.col("time").cast(pl.String))
    if bad_time.height:
        log.add_rows(p.name, bad_time, "time", "must be a positive time", "time")
    if log.total:
        raise InputError(log.faults, log.truncated)
    return frame.select(
        "item_id",
        pl.col("time").cast(pl.Float64).alias("hours"),
        (kind == "failure").alias("failed"),
    )
