"""Condition telemetry for ``spareflow pdm``: the long table asset_id, time, variable,
value (time: a number of cycles or hours, or an ISO 8601 timestamp), validated row by
row; a C-MAPSS text file (``.txt``) is read as such."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from spareflow.data.load import load_table
from spareflow.data.schema import TELEMETRY, Column, Kind, Table
from spareflow.errors import InputError
from spareflow.reliability.cmapss import read_cmapss


def load_telemetry(path: str | Path, max_faults: int = 50) -> pl.DataFrame:
    """The telemetry of ``path`` (CSV, Parquet, Excel or C-MAPSS text)."""
    p = Path(path)
    if p.suffix.lower() == ".txt" and p.is_file():
        return read_cmapss(p)
    frame, log = load_table(p, TELEMETRY, max_faults)
    time = frame["time"]
    if time.dtype == pl.String:
        number = time.str.strip_chars().cast(pl.Float64, strict=False)
        stamp = time.str.to_datetime(strict=False, time_zone="UTC")
        bad = (
            frame.with_row_index("_row", offset=2)
            .filter(number.is_null() & stamp.is_null())
            .select("_row", "time")
        )
        if bad.height:
            log.add_rows(p.name, bad, "time", "not a number nor an ISO 8601 timestamp", "time")
            raise InputError(log.faults, log.truncated)
        if number.null_count() == 0:
            frame = frame.with_columns(time=number)
    return frame.select("asset_id", "time", "variable", pl.col("value").cast(pl.Float64))


ASSET_SITES = Table(
    "assets",
    (
        Column("asset_id", Kind.ID),
        Column("site_id", Kind.ID),
        Column("quantity", Kind.NONNEG, False),
    ),
    key=("asset_id",),
)


def load_asset_sites(path: str | Path, max_faults: int = 50) -> pl.DataFrame:
    """asset_id, site_id and optional quantity (units of the part per failure)."""
    frame, _ = load_table(path, ASSET_SITES, max_faults)
    return frame.with_columns(pl.col("asset_id", "site_id").cast(pl.String))
