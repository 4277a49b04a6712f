"""Clock times of a planning day (HH:MM, 00:00 to 24:00) as minutes and back: one rule for
the stops file, the command options and the routes written."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from spareflow.transport.routing import RoutePlan

#: A clock time of the planning day, 00:00 to 24:00.
CLOCK = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$|^24:00$"


def minutes_of(text: str) -> int:
    """'08:30' -> 510; ValueError unless ``text`` is a clock time (``CLOCK``)."""
    text = text.strip()
    if not re.fullmatch(CLOCK, text):
        raise ValueError(f"not a time like 08:30: {text!r}")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def clock_text(minutes: float) -> str:
    """510 -> '08:30' (to the nearest minute)."""
    whole = round(float(minutes))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def clock_minutes(column: str) -> pl.Expr:
    """A column of HH:MM as minutes of the day (null where it is not a clock time)."""
    parts = pl.col(column).str.strip_chars().str.split(":")
    hours = parts.list.get(0, null_on_oob=True).cast(pl.Int64, strict=False)
    minutes = parts.list.get(1, null_on_oob=True).cast(pl.Int64, strict=False)
    return hours * 60 + minutes


def route_table(plan: RoutePlan) -> pl.DataFrame:
    """The routes written (``spareflow route``, the demo): one row per stop with its van,
    its place in the van's sequence, planned arrival, service start and departure as
    clock times, and the load on board after it."""
    return pl.DataFrame(
        [
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
    )
