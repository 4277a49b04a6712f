"""Atomic output: write to a temporary file beside the target, then rename over it.

A failed or interrupted run leaves the previous file (or none), never a half-written one.
The format follows the suffix: .csv, .parquet or .xlsx (tables); any suffix for text.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from spareflow.errors import ParameterError

TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")

#: Rows of a table written in parts that may wait for the writer thread (a few tens of
#: MB): enough for the caller to compute the next block while the last ones are written.
MAX_WAITING_ROWS = 2_000_000


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; rename it to ``target`` on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
    try:
        yield tmp_path
        tmp_path.replace(target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _open_new(tmp: Path) -> BinaryIO:
    """Open the (new, empty) temporary file for writing without truncating it: on ext4 a
    truncating open makes close() flush the whole file to disk (auto_da_alloc), which
    costs tens of milliseconds per 100 MB and is not needed before the rename."""
    return tmp.open("r+b", buffering=0)


def check_table_path(path: str | Path, option: str = "--out") -> Path:
    """Validate an output table path's suffix before any work is done."""
    p = Path(path)
    if p.suffix.lower() not in TABLE_SUFFIXES:
        raise ParameterError(option, f"{p}: use a file ending in {', '.join(TABLE_SUFFIXES)}")
    return p


def write_table(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` atomically in the format its suffix names."""
    target = check_table_path(path)
    suffix = target.suffix.lower()
    try:
        with atomic_path(target) as tmp:
            if suffix == ".csv":
                with _open_new(tmp) as handle:
                    _csv_ready(frame).write_csv(handle)
            elif suffix == ".parquet":
                frame.write_parquet(tmp)
            else:
                frame.write_excel(tmp)
    except OSError as exc:
        raise ParameterError(
            "--out", f"{target}: cannot write here ({exc.strerror or exc})"
        ) from exc
    return target


def write_table_parts(parts: Iterable[pl.DataFrame], path: str | Path) -> Path:
    """Write consecutive blocks of one table atomically as a single file.

    CSV is written block by block on a writer thread while the caller's iterator makes the
    next block (computing and writing overlap; at most MAX_WAITING_ROWS rows wait).
    Parquet and Excel gather the blocks first. A failure leaves no partial file.
    """
    target = check_table_path(path)
    if target.suffix.lower() != ".csv":
        return write_table(pl.concat(list(parts)), target)
    try:
        with (
            atomic_path(target) as tmp,
            _open_new(tmp) as handle,
            ThreadPoolExecutor(1, thread_name_prefix="spareflow-csv") as writer,
        ):
            pending: deque[tuple[Future[None], int]] = deque()
            waiting_rows = 0
            for k, part in enumerate(parts):
                ready = _csv_ready(part)
                job = writer.submit(ready.write_csv, handle, include_header=k == 0)
                pending.append((job, ready.height))
                waiting_rows += ready.height
                while pending and (waiting_rows > MAX_WAITING_ROWS or pending[0][0].done()):
                    done, rows = pending.popleft()
                    done.result()  # re-raises a failed write here
                    waiting_rows -= rows
            for job, _ in pending:
                job.result()
    except OSError as exc:
        raise ParameterError(
            "--out", f"{target}: cannot write here ({exc.strerror or exc})"
        ) from exc
    return target


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Date columns with few distinct values become categorical text: the same CSV,
    written several times faster (each distinct date is formatted once)."""
    swaps = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date and frame.height > 10_000:
            column = frame.get_column(name)
            if column.null_count():
                continue
            days = column.to_physical().to_numpy()
            low = int(days.min())
            span = int(days.max()) - low + 1
            if span * 100 > frame.height:
                continue
            present = np.zeros(span, dtype=bool)
            offset = days - low
            present[offset] = True
            distinct = np.flatnonzero(present) + low
            code = np.cumsum(present, dtype=np.uint32) - 1
            labels = pl.Series(distinct.astype(np.int32)).cast(pl.Date).cast(pl.String)
            enum = pl.Enum(labels.to_list())
            swaps.append(pl.Series(name, labels, dtype=enum).gather(code[offset]))
    return frame.with_columns(swaps) if swaps else frame


def write_text(text: str, path: str | Path) -> Path:
    """Write text (UTF-8) atomically."""
    target = Path(path)
    try:
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ParameterError(
            "--out", f"{target}: cannot write here ({exc.strerror or exc})"
        ) from exc
    return target


def write_dataset(
    tables: dict[str, pl.DataFrame], folder: str | Path, fmt: str = "csv"
) -> list[Path]:
    """Write each table as ``folder/NAME.fmt`` atomically; returns the paths written."""
    if fmt not in ("csv", "parquet", "xlsx"):
        raise ParameterError("--format", f"must be csv, parquet or xlsx, got {fmt!r}")
    root = Path(folder)
    return [write_table(frame, root / f"{name}.{fmt}") for name, frame in tables.items()]
