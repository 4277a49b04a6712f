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


def _hours(text: str, option: str) -> tuple[float, float]:
    """'06:00-20:00' as minutes of the day."""
    from spareflow.data.clock import minutes_of

    try:
        start, end = (minutes_of(part) for part in text.split("-"))
    except ValueError:
        raise ParameterError(option, f"hours like 06:00-20:00, got {text!r}") from None
    if end <= start:
        raise ParameterError(option, f"hours like 06:00-20:00, closing after opening, got {text!r}")
    return float(start), float(end)


def route(
    stops: Annotated[
        Path,
        typer.Argument(
            metavar="STOPS",
            help="Stops: stop_id, lat, lon, delivery, window_open, window_close (HH:MM), "
            "optional pickup and service_minutes (CSV, Parquet or Excel).",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Routes table to write (.csv, .parquet or .xlsx).")
    ],
    depot: Annotated[str, typer.Option(help="The depot as LAT,LON in degrees.")],
    vehicles: Annotated[int, typer.Option(help="Vehicles available.", min=1)],
    capacity: Annotated[float, typer.Option(help="What a vehicle carries (the loads' unit).")],
    speed: Annotated[float, typer.Option(help="Average speed, km/h.")] = 50.0,
    detour: Annotated[
        float, typer.Option(help="Road distance over straight-line distance (1.0 or more).")
    ] = 1.25,
    depot_hours: Annotated[
        str, typer.Option("--depot-hours", help="When vans may leave and must be back.")
    ] = "06:00-20:00",
    seconds: Annotated[float, typer.Option(help="Search time, seconds.", min=0.1)] = 5.0,
    seed: Annotated[int, typer.Option(help="Search seed.")] = 0,
) -> None:
    """Pickup and delivery routes from one depot with vehicle capacities and time
    windows (PyVRP): each van's stops with planned arrival, service start, departure and
    load on board. Refuses to write a plan that breaks a window or a capacity."""
    try:
        import numpy as np
        import polars as pl

        from spareflow.data.clock import clock_minutes, clock_text
        from spareflow.data.load import load_stops
        from spareflow.data.write import check_table_path, write_table
        from spareflow.transport.routing import RoutingProblem, solve

        try:
            lat, lon = (float(x) for x in depot.split(","))
        except ValueError:
            raise ParameterError("--depot", f"LAT,LON in degrees, got {depot!r}") from None
        opens, closes = _hours(depot_hours, "--depot-hours")
        check_table_path(out)
        frame = load_stops(stops)
        n = frame.height

        def column(name: str, default: float) -> np.ndarray:
            if name in frame.columns:
                return frame[name].fill_null(default).to_numpy().astype(np.float64)
            return np.full(n, default)

        windows = frame.select(
            clock_minutes("window_open").alias("o"), clock_minutes("window_close").alias("c")
        )
        problem = RoutingProblem(
            depot_lat=lat,
            depot_lon=lon,
            stop_ids=tuple(frame["stop_id"].to_list()),
            lat=column("lat", 0.0),
            lon=column("lon", 0.0),
            delivery=column("delivery", 0.0),
            pickup=column("pickup", 0.0),
            window_open=windows["o"].to_numpy().astype(np.float64),
            window_close=windows["c"].to_numpy().astype(np.float64),
            service_minutes=column("service_minutes", 10.0),
            vehicles=vehicles,
            capacity=capacity,
            speed_kmh=speed,
            detour_factor=detour,
            depot_open=opens,
            depot_close=closes,
        )
        plan = solve(problem, seconds=seconds, seed=seed)
        if not plan.feasible:
            raise ParameterError(
                "--vehicles",
                f"no plan found in {seconds:g} s keeps every window and capacity with "
                f"{vehicles} vehicles of {capacity:g}; add vehicles, capacity or time",
            )
        rows = [
            {
                "vehicle": r.vehicle + 1,
                "sequence": k + 1,
                "stop_id": stop.stop_id,
                "arrival": clock_text(stop.arrival),
                "service_start": clock_text(stop.service_start),
                "departure": clock_text(stop.departure),
                "load_after": stop.load_after,
            }
            for r in plan.routes
            for k, stop in enumerate(r.stops)
        ]
        write_table(pl.DataFrame(rows), out)
    except SpareflowError as exc:
        raise fail(exc) from None
    used = sum(1 for r in plan.routes if r.stops)
    print(
        f"{n:,} stops on {used} routes, {plan.distance_km:,.1f} km, every window and "
        f"capacity kept; wrote {out}",
        file=sys.stderr,
    )


def register(app: typer.Typer) -> None:
    app.command(name="freight-class")(freight_class)
    app.command(name="route")(route)
