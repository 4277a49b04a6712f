"""Transport commands of the ``spareflow`` CLI: freight classes, LTL rating with the
cheapest mode, routes. Registered on the main app by ``spareflow.cli``; same rules: one
line per user error on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from spareflow.cli_ops import fail
from spareflow.errors import ParameterError, SpareflowError
from spareflow.transport import FTL_MINIMUM, FTL_RATE_PER_MILE

if TYPE_CHECKING:
    import numpy as np
    import polars as pl
    from numpy.typing import NDArray

    from spareflow.data.validate import FaultLog
    from spareflow.transport.freight import Rounding
    from spareflow.transport.modes import FtlTariff
    from spareflow.transport.rating import ClassRateTariff


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


def rate(
    lines: Annotated[
        Path,
        typer.Argument(
            metavar="LINES",
            help="Freight lines: shipment_id, lane, weight_lb, and freight_class or "
            "length_in, width_in, height_in; optional ship_date, accessorials (names "
            "separated by ';'), miles (CSV, Parquet or Excel).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="One row per shipment (.csv, .parquet or .xlsx)."),
    ],
    tariff: Annotated[
        Path | None,
        typer.Option(
            help="Class-rate tariff (JSON); default: the shipped sample (invented rates)."
        ),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(help="The date for lines without a ship_date (default: today)."),
    ] = None,
    rounding: Annotated[
        str,
        typer.Option(help="Dimensions as measured (exact), up to the inch (ceil), or nearest."),
    ] = "exact",
    ftl_rate_per_mile: Annotated[
        float,
        typer.Option(
            "--ftl-rate-per-mile",
            help="Truckload price per mile, fuel included (the default is illustrative).",
        ),
    ] = FTL_RATE_PER_MILE,
    ftl_minimum: Annotated[
        float,
        typer.Option(
            "--ftl-minimum", help="Truckload minimum charge per load (the default is illustrative)."
        ),
    ] = FTL_MINIMUM,
) -> None:
    """LTL charge of every shipment from a class-rate tariff (deficit weight, mixed classes,
    discount, minimum charges, FAK, fuel, accessorials once per shipment) and, for
    shipments with miles, the full-truckload price and the cheaper of the two modes."""
    try:
        import numpy as np

        from spareflow.data.load import load_rate_lines
        from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
        from spareflow.data.write import check_table_path, write_table
        from spareflow.transport.freight import ROUNDINGS
        from spareflow.transport.modes import FtlTariff

        if rounding not in ROUNDINGS:
            raise ParameterError("--rounding", f"one of {', '.join(ROUNDINGS)}, got {rounding!r}")
        try:
            on = date.fromisoformat(today) if today else date.today()
        except ValueError:
            raise ParameterError("--today", f"an ISO date like 2026-11-25, got {today!r}") from None
        if not (np.isfinite(ftl_rate_per_mile) and ftl_rate_per_mile > 0):
            raise ParameterError("--ftl-rate-per-mile", f"above zero, got {ftl_rate_per_mile}")
        if not (np.isfinite(ftl_minimum) and ftl_minimum >= 0):
            raise ParameterError("--ftl-minimum", f"zero or more, got {ftl_minimum}")
        check_table_path(out)
        rates = load_tariff(tariff or SAMPLE_TARIFF)
        frame = load_rate_lines(lines)
        table = _rate_table(
            frame,
            rates,
            lines.name,
            on,
            rounding,
            FtlTariff(rate_per_mile=ftl_rate_per_mile, minimum_charge=ftl_minimum),
        )
        write_table(table, out)
    except SpareflowError as exc:
        raise fail(exc) from None
    if rates.sample:
        print("note: the SAMPLE tariff's rates are invented; pass --tariff for real ones",
              file=sys.stderr)  # fmt: skip
    modes = table.group_by("cheapest_mode").len().sort("cheapest_mode")
    cheapest = ", ".join(f"{m}: {n:,}" for m, n in modes.iter_rows())
    print(
        f"{table.height:,} shipments ({frame.height:,} lines) rated, LTL total "
        f"{table['total'].sum():,.2f}; cheapest mode {cheapest}; wrote {out}",
        file=sys.stderr,
    )


def _rate_table(
    frame: pl.DataFrame,
    tariff: ClassRateTariff,
    file: str,
    today: date,
    rounding: Rounding,
    ftl: FtlTariff,
) -> pl.DataFrame:
    """One row per shipment (in order of first appearance) of the lines in ``frame``
    (validated by ``load_rate_lines``). Unknown lanes, classes with no rate on their lane
    and accessorials not in the tariff are faults naming ``file``, row and column."""
    import numpy as np
    import polars as pl

    from spareflow.data.validate import FaultLog
    from spareflow.errors import Fault, InputError
    from spareflow.transport.modes import cheapest_mode
    from spareflow.transport.quote import cubic_feet, lane_index, number_shipments, truckload
    from spareflow.transport.rating import CLASSES, class_index, rate_ltl

    def floats(name: str) -> NDArray[np.float64]:
        if name not in frame.columns:
            return np.full(frame.height, np.nan)
        return frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()

    weight = floats("weight_lb")
    sides = [floats(c) for c in ("length_in", "width_in", "height_in")]
    ids = frame["shipment_id"].to_numpy().astype(str)
    shipment, first = number_shipments(ids)  # each shipment's first line
    shipments = first.size
    classes, derived = _line_classes(frame, weight, sides, today, rounding)

    # lanes and classes as tariff indices (the rated class after FAK), all lines at once
    lane_names = frame["lane"].to_numpy().astype(str)
    lane, known_lane = lane_index(tariff, lane_names)
    freight_class = class_index(classes, tariff.fak)
    no_rate = known_lane & np.isnan(tariff.rates[lane, freight_class, :]).any(axis=1)

    log = FaultLog()
    shown = ", ".join(tariff.lanes[:5]) + (", ..." if len(tariff.lanes) > 5 else "")
    for k in np.flatnonzero(~known_lane)[: log.cap]:
        message = f"not a lane of the tariff ({len(tariff.lanes)} lanes: {shown})"
        log.add(Fault(file, message, int(k) + 2, "lane", str(lane_names[k])))
    for k in np.flatnonzero(no_rate)[: log.cap]:
        how = " (class from density)" if derived[k] else ""
        mapped = CLASSES[freight_class[k]]
        fak = f" (rated as {mapped}, FAK)" if mapped != classes[k] else ""
        message = f"no rate for class {classes[k]}{how}{fak} on lane {lane_names[k]}"
        log.add(Fault(file, message, int(k) + 2, "freight_class", str(classes[k])))
    charged = _accessorials(frame, shipment, shipments, tariff, file, log)
    if log.total:
        raise InputError(log.faults, log.truncated)

    rated = rate_ltl(tariff, shipment, lane, freight_class, weight, charged)
    lines = np.bincount(shipment, minlength=shipments)
    prices = {"ltl": rated.total}
    table: dict[str, object] = {
        "shipment_id": ids[first],
        "lane": lane_names[first],
        "lines": lines,
        "weight_lb": rated.weight_lb,
        "billed_weight_lb": rated.billed_weight_lb,
        **{
            name: np.round(getattr(rated, name), 2)
            for name in ("gross", "net_linehaul", "fuel", "accessorials", "total")
        },
        "minimum_applied": rated.floor_applied,
    }
    if "miles" in frame.columns:
        # a line is a handling unit on the floor; lines without dimensions add no cube
        ftl_total = truckload(
            floats("miles")[first],
            rated.weight_lb,
            lines.astype(np.float64),
            cubic_feet(shipment, sides, rounding, shipments),
            ftl,
        )  # infinity without miles, or where the load does not fit one trailer
        prices["ftl"] = ftl_total
        shown_ftl = np.where(np.isfinite(ftl_total), np.round(ftl_total, 2), np.nan)
        table["ftl_total"] = pl.Series(shown_ftl).fill_nan(None)
    mode, price = cheapest_mode(prices)
    table["cheapest_mode"] = mode
    table["cheapest_total"] = np.round(price, 2)
    return pl.DataFrame(table)


def _line_classes(
    frame: pl.DataFrame,
    weight: NDArray[np.float64],
    sides: list[NDArray[np.float64]],
    today: date,
    rounding: Rounding,
) -> tuple[NDArray[np.str_], NDArray[np.bool_]]:
    """Each line's class, as given or (where blank) from its density on the scale in
    force on its ship_date (``today`` without one); and where it came from density."""
    import numpy as np
    import polars as pl

    from spareflow.transport.freight import SCALES, classify

    given = (
        frame["freight_class"].fill_null("").to_numpy().astype(str)
        if "freight_class" in frame.columns
        else np.full(frame.height, "")
    )
    derived = given == ""
    if not derived.any():
        return given, derived
    ship = (
        frame["ship_date"].cast(pl.Date).to_numpy().astype("datetime64[D]")[derived]
        if "ship_date" in frame.columns
        else None
    )
    start = min(scale.effective_from for scale in SCALES)
    if today < start and (ship is None or np.isnat(ship).any()):
        raise ParameterError(
            "--today",
            f"{today.isoformat()} is before {start.isoformat()}, the first density scale on "
            "file, and lines without a ship_date or freight_class need it",
        )
    length, width, height = (side[derived] for side in sides)
    found = classify(length, width, height, weight[derived], ship, today=today, rounding=rounding)
    classes = given.astype(object)
    classes[derived] = found.freight_class
    return classes.astype(str), derived


def _accessorials(
    frame: pl.DataFrame,
    shipment: NDArray[np.intp],
    shipments: int,
    tariff: ClassRateTariff,
    file: str,
    log: FaultLog,
) -> list[list[str]]:
    """Per shipment, the union of its lines' accessorials (names separated by ";");
    names not in the tariff go to ``log``, naming file, row and column."""
    import polars as pl

    from spareflow.errors import Fault

    charged: list[list[str]] = [[] for _ in range(shipments)]
    if "accessorials" not in frame.columns:
        return charged
    names = (
        frame.select(
            pl.int_range(pl.len()).alias("line"),
            pl.Series("shipment", shipment),
            pl.col("accessorials").cast(pl.String).str.split(";").alias("name"),
        )
        .explode("name")
        .with_columns(pl.col("name").str.strip_chars())
        .filter(pl.col("name").str.len_bytes() > 0)
    )
    unknown = names.filter(~pl.col("name").is_in(list(tariff.accessorials)))
    offered = ", ".join(sorted(tariff.accessorials)) or "none"
    for k, _, name in unknown.head(log.cap).iter_rows():
        log.add(
            Fault(
                file, f"not an accessorial of the tariff ({offered})", k + 2, "accessorials", name
            )
        )
    union = names.unique(["shipment", "name"], maintain_order=True)
    for s, name in union.select("shipment", "name").iter_rows():
        charged[s].append(name)
    return charged


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

        from spareflow.data.clock import clock_minutes, route_table
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
        write_table(route_table(plan), out)
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
    app.command(name="rate")(rate)
    app.command(name="route")(route)
