"""NASA C-MAPSS turbofan run-to-failure files read into the long telemetry format.

The format (Saxena, Goebel, Simon & Eklund, "Damage Propagation Modeling for Aircraft
Engine Run-to-Failure Simulation", PHM08, 2008): plain text, one line per engine per
cycle, 26 whitespace-separated numbers, no header: unit number, cycle, operational
settings 1-3, sensors 1-21. Lines are numbered from 1 in faults (there is no header).

The result is the ``telemetry`` table of the planning dataset: ``asset_id`` (the unit
number), ``time`` (the cycle), ``variable`` (``op_setting_1``..``3``,
``sensor_1``..``21``) and ``value``, sorted by asset, time and variable in file order.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from spareflow.errors import Fault, InputError, NotFound

#: The 24 measured variables, in file order (columns 3 to 26).
VARIABLES: tuple[str, ...] = (
    *(f"op_setting_{i}" for i in range(1, 4)),
    *(f"sensor_{i}" for i in range(1, 22)),
)
#: All 26 columns, in file order.
COLUMNS: tuple[str, ...] = ("unit", "cycle", *VARIABLES)
_FAULT_CAP = 50

__all__ = ["COLUMNS", "VARIABLES", "parse_cmapss", "read_cmapss"]


def read_cmapss(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a C-MAPSS file (``train_FD001.txt`` and the like) as long telemetry.

    Raises NotFound when the file does not exist and InputError (one Fault per bad
    line or cell, naming the file, line and column) when its content is malformed.
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise NotFound(f"{p}: file not found") from None
    return parse_cmapss(text, file=p.name)


def parse_cmapss(text: str, file: str = "<cmapss>") -> pl.DataFrame:
    """Parse C-MAPSS text (see the module docstring) into long telemetry.

    Checks: 26 fields per non-blank line, every field a finite number, unit and cycle
    positive integers, no (unit, cycle) twice. Raises InputError with every fault found
    (up to 50; the rest counted).
    """
    faults: list[Fault] = []
    extra = 0

    def add(fault: Fault) -> None:
        nonlocal extra
        if len(faults) < _FAULT_CAP:
            faults.append(fault)
        else:
            extra += 1

    rows: list[list[str]] = []
    line_no: list[int] = []
    for i, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(COLUMNS):
            n = len(fields)
            column = COLUMNS[n] if n < len(COLUMNS) else f"field {len(COLUMNS) + 1}"
            add(
                Fault(
                    file,
                    f"expected {len(COLUMNS)} whitespace-separated numbers, found {n}",
                    i,
                    column,
                    line.strip()[:80],
                )
            )
            continue
        rows.append(fields)
        line_no.append(i)
    if not rows and not faults:
        add(Fault(file, f"no data (expected lines of {len(COLUMNS)} numbers)"))
    if faults:
        raise InputError(faults, extra)

    cells = np.array(rows, dtype=str)
    lines = np.array(line_no, dtype=np.int64)
    try:
        values = cells.astype(np.float64)
        bad = ~np.isfinite(values)
    except ValueError:  # find the cells that are not numbers, only on this error path
        values = np.full(cells.shape, np.nan)
        bad = np.zeros(cells.shape, dtype=bool)
        for (r, c), cell in np.ndenumerate(cells):
            try:
                values[r, c] = float(cell)
            except ValueError:
                bad[r, c] = True
        bad |= ~np.isfinite(values)
    for r, c in np.argwhere(bad):
        add(Fault(file, "not a finite number", int(lines[r]), COLUMNS[c], str(cells[r, c])))
    ids = values[:, :2]
    with np.errstate(invalid="ignore"):
        not_int = ~bad[:, :2] & ((ids != np.round(ids)) | (ids < 1))
    for r, c in np.argwhere(not_int):
        add(Fault(file, "must be a positive integer", int(lines[r]), COLUMNS[c], str(cells[r, c])))
    if faults:
        raise InputError(faults, extra)

    wide = pl.DataFrame(
        {
            "asset_id": ids[:, 0].astype(np.int64),
            "time": ids[:, 1].astype(np.int64),
            **{name: values[:, j + 2] for j, name in enumerate(VARIABLES)},
        }
    )
    twice = np.flatnonzero(wide.select(pl.struct("asset_id", "time").is_first_distinct().not_()))
    for r in twice:
        add(
            Fault(
                file,
                "unit and cycle repeat an earlier line",
                int(lines[r]),
                "cycle",
                f"unit {cells[r, 0]}, cycle {cells[r, 1]}",
            )
        )
    if faults:
        raise InputError(faults, extra)
    return (
        wide.unpivot(index=["asset_id", "time"], variable_name="variable", value_name="value")
        .sort("asset_id", "time", maintain_order=True)
        .with_columns(pl.col("variable").cast(pl.String))
    )
