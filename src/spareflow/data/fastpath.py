"""The fast path from a clean demand file to a DemandMatrix.

A large demand export is usually clean. This path reads only the columns the matrix
needs, with ids as categorical codes (4 bytes a row instead of a string), proves the data
clean with a few whole-column checks and aggregates the codes straight into the matrix.
It never reports a fault: on anything unusual (an unparseable value, a blank, a negative
or non-finite quantity, an id with surrounding spaces, a missing column) it returns None
and the caller takes the validating path, which names every fault. Both paths give the
same matrix; the tests hold them to that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from spareflow.data.periods import DemandMatrix, Period, period_index_expr
from spareflow.data.schema import Column, Kind
from spareflow.data.validate import parse_expr

I64 = NDArray[np.int64]


def clean_demand_matrix(path: Path, period: Period) -> DemandMatrix | None:
    """The DemandMatrix of a CSV demand table (item_id, date, quantity[, site_id]), or
    None when the file is not provably clean (the validating path then explains why)."""
    if path.suffix.lower() != ".csv" or not path.is_file() or path.stat().st_size == 0:
        return None
    try:
        header = list(pl.read_csv(path, n_rows=0).columns)
    except Exception:  # the validating path names what is wrong with the file
        return None
    if any(c != c.strip() for c in header) or len(set(header)) != len(header):
        return None
    if not {"item_id", "date", "quantity"} <= set(header):
        return None
    keys = ("item_id", "site_id") if "site_id" in header else ("item_id",)
    # ids and dates as categorical codes: each distinct text is kept (and parsed) once
    categories = {k: pl.Categories.random() for k in (*keys, "date")}
    dtypes: dict[str, pl.DataType] = {k: pl.Categorical(c) for k, c in categories.items()}
    dtypes["quantity"] = pl.Float64()
    try:
        frame = pl.read_csv(path, columns=[*keys, "date", "quantity"], schema_overrides=dtypes)
    except Exception:
        return None
    if frame.height == 0 or not _clean(frame):
        return None
    labels = {k: categories[k].to_series() for k in keys}
    if not all(_tidy_labels(v) for v in labels.values()):
        return None
    label_period = _label_periods(categories["date"].to_series(), period)
    if label_period is None:
        return None

    # one array at a time, in place where possible: this path exists to be lean
    pidx = label_period[frame.get_column("date").to_physical().to_numpy()]
    quantity = frame.get_column("quantity").to_numpy()
    physical = [frame.get_column(k).to_physical().to_numpy() for k in keys]
    del frame
    combined: NDArray[np.integer] = physical[0]
    for p in physical[1:]:
        combined = combined.astype(np.int64) * (int(p.max(initial=0)) + 1) + p
    codes, first_rows = first_appearance_codes(combined)
    key_frame = pl.DataFrame(
        {
            k: labels[k].gather(p[first_rows].astype(np.int64))
            for k, p in zip(keys, physical, strict=True)
        }
    )
    del combined, physical
    first, last = int(pidx.min()), int(pidx.max())
    n_periods, n_series = last - first + 1, first_rows.size
    codes *= n_periods  # codes become flat cell indices
    codes += pidx
    codes -= first
    del pidx
    values = np.bincount(codes, weights=quantity, minlength=n_series * n_periods).astype(
        np.float64, copy=False
    )
    return DemandMatrix(
        keys=key_frame, values=values.reshape(n_series, n_periods), period=period, first=first
    )


def _label_periods(labels: pl.Series, period: Period) -> NDArray[np.int64] | None:
    """Period index of each distinct date text, parsed exactly as the validating path
    parses dates (ISO 8601; a time of day is dropped); None if any does not parse."""
    if labels.null_count():
        return None
    dates = labels.to_frame("date").select(
        parse_expr(Column("date", Kind.DATE), pl.String()).alias("date")
    )
    if dates.get_column("date").null_count():
        return None
    index = dates.select(period_index_expr("date", period)).to_series().to_numpy()
    return np.asarray(index, dtype=np.int64)


def _clean(frame: pl.DataFrame) -> bool:
    """No blank, unparsed, negative or non-finite value anywhere."""
    quantity = pl.col("quantity")
    stats = frame.select(
        pl.sum_horizontal(pl.all().null_count()).alias("nulls"),
        quantity.min().alias("low"),
        quantity.is_finite().all().alias("finite"),
    ).row(0, named=True)
    return bool(stats["nulls"] == 0 and stats["finite"] and stats["low"] >= 0)


def _tidy_labels(labels: pl.Series) -> bool:
    """Every id label is non-blank with no surrounding spaces (the validating path strips
    and merges those, and reports blanks)."""
    if labels.null_count():
        return False
    stripped = labels.str.strip_chars()
    return bool((stripped == labels).all() and (stripped.str.len_bytes() > 0).all())


def first_appearance_codes(raw: NDArray[np.integer]) -> tuple[I64, I64]:
    """Dense codes 0..k-1 for the values of ``raw``, numbered in order of first appearance,
    and the row where each code first appears.

    Exports usually list each series' rows together: then the codes are the run numbers
    (one comparison per row, no sort).
    """
    change = np.empty(raw.size, dtype=bool)
    change[:1] = True
    np.not_equal(raw[1:], raw[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    if np.unique(raw[starts]).size == starts.size:
        codes = np.cumsum(change, dtype=np.int64)
        codes -= 1
        return codes, starts.astype(np.int64)
    _, first_rows, inverse = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(first_rows, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.ravel()].astype(np.int64), first_rows[order].astype(np.int64)
