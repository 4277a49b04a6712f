"""``spareflow route`` as a user runs it: a feasible plan written, an infeasible one
refused, bad rows and options named."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cli_runner import spareflow
from spareflow.data.clock import clock_text
from spareflow.data.demo_routes import routing_day


def write_stops(folder: Path, stops: int = 30) -> None:
    day = routing_day(stops, vehicles=8)
    pl.DataFrame(
        {
            "stop_id": day.stop_ids,
            "lat": day.lat,
            "lon": day.lon,
            "delivery": day.delivery,
            "pickup": day.pickup,
            "window_open": [clock_text(m) for m in day.window_open],
            "window_close": [clock_text(m) for m in day.window_close],
        }
    ).write_csv(folder / "stops.csv")


ROUTE = ["route", "stops.csv", "--depot", "52.09,5.12", "--capacity", "1500", "--seconds", "1"]


def test_routes_are_written_with_times_inside_every_window(tmp_path: Path) -> None:
    write_stops(tmp_path)
    run = spareflow([*ROUTE, "--vehicles", "8", "--out", "routes.csv"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert "every window and capacity kept" in run.stderr
    routes = pl.read_csv(tmp_path / "routes.csv")
    assert routes.columns == [
        "vehicle", "sequence", "stop_id", "arrival", "service_start", "departure", "load_after",
    ]  # fmt: skip
    stops = pl.read_csv(tmp_path / "stops.csv")
    assert sorted(routes["stop_id"].to_list()) == sorted(stops["stop_id"].to_list())
    joined = routes.join(stops, on="stop_id")
    # HH:MM strings of the same day compare in time order
    assert (joined["service_start"] >= joined["window_open"]).all()
    assert (joined["service_start"] <= joined["window_close"]).all()
    assert (joined["load_after"] <= 1500).all()


def test_an_infeasible_day_is_refused_and_nothing_written(tmp_path: Path) -> None:
    write_stops(tmp_path)
    run = spareflow([*ROUTE, "--vehicles", "1", "--out", "routes.csv"], tmp_path)
    assert run.returncode == 2 and "add vehicles, capacity or time" in run.stderr
    assert not (tmp_path / "routes.csv").exists()


def test_bad_rows_and_options_are_named(tmp_path: Path) -> None:
    (tmp_path / "stops.csv").write_text(
        "stop_id,lat,lon,delivery,window_open,window_close\n"
        "A,95,5.1,10,08:00,10:00\nB,52.1,5.1,10,8h,10:00\nC,52.1,5.1,10,11:00,10:00\n"
    )
    run = spareflow([*ROUTE, "--vehicles", "2", "--out", "r.csv"], tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "stops.csv, row 2, column 'lat': a latitude within -90 and 90" in run.stderr
    assert "stops.csv, row 3, column 'window_open': a time like 08:30" in run.stderr
    assert "stops.csv, row 4, column 'window_close': closes before the window opens" in run.stderr
    write_stops(tmp_path, 3)
    run = spareflow(
        [*ROUTE[:2], "--depot", "north", "--vehicles", "2", "--capacity", "9", "--out", "r.csv"],
        tmp_path,
    )
    assert run.returncode == 2 and "--depot: LAT,LON" in run.stderr
    run = spareflow(
        [*ROUTE, "--vehicles", "2", "--depot-hours", "20-6", "--out", "r.csv"], tmp_path
    )
    assert run.returncode == 2 and "--depot-hours" in run.stderr
