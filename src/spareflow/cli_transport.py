"""Transport commands of the ``spareflow`` CLI: freight classes (more to come: rating,
shipments, routes). Registered on the main app by ``spareflow.cli``; same rules: one line
per user error on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from spareflow.cli_ops import fail
from spareflow.errors import ParameterError, SpareflowError


def freight_class(
    units: Annotated[
        Path,
        typer.Argument(
            metavar="UNITS",
            help="Handling units: unit_id, length_in, width_in, height_in, weight_lb, "
            "optional ship_date (CSV, Parquet or Excel).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Table to write (.csv, .parquet or .xlsx).")],
    rounding: Annotated[
        str,
        typer.Option(help="Dimensions as measured (exact), up to the inch (ceil), or nearest."),
    ] = "exact",
    today: Annotated[
        str | None,
        typer.Option(help="The date for units without a ship_date (default: today)."),
    ] = None,
) -> None:
    """NMFC density class of every handling unit: the 13-sub scale of Docket 2025-1 for
    units shipped from 19 July 2025, the 11-sub scale before (exact at every break)."""
    try:
        import numpy as np
        import polars as pl

        from spareflow.data.load import load_handling_units
        from spareflow.data.write import check_table_path, write_table
        from spareflow.transport.freight import ROUNDINGS, classify

        if rounding not in ROUNDINGS:
            raise ParameterError("--rounding", f"one of {', '.join(ROUNDINGS)}, got {rounding!r}")
        try:
            on = date.fromisoformat(today) if today else None
        except ValueError:
            raise ParameterError("--today", f"an ISO date like 2026-11-25, got {today!r}") from None
        check_table_path(out)
        frame = load_handling_units(units)
        ship = (
            frame["ship_date"].cast(pl.Date).to_numpy().astype("datetime64[D]")
            if "ship_date" in frame.columns
            else None
        )
        length, width, height, weight = (
            frame[c].to_numpy() for c in ("length_in", "width_in", "height_in", "weight_lb")
        )
        result = classify(
            length,
            width,
            height,
            weight,
            ship,
            today=on,
            rounding=rounding,
        )
        table = pl.DataFrame(
            {
                "unit_id": frame["unit_id"],
                "cubic_feet": np.round(result.cubic_feet, 4),
                "density_pcf": np.round(result.density_pcf, 4),
                "freight_class": result.freight_class,
                "scale_id": result.scale_id,
            }
        )
        write_table(table, out)
    except SpareflowError as exc:
        raise fail(exc) from None
    counts = table.group_by("freight_class").len().sort("len", descending=True)
    summary = ", ".join(f"class {c}: {n:,}" for c, n in counts.iter_rows())
    print(f"{table.height:,} handling units classified ({summary}); wrote {out}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command(name="freight-class")(freight_class)
