"""``spareflow orders act`` and ``spareflow shipments build`` as a user runs them on a
SQLite store: DRP's draft transfers released, then built into shipments, rated and
recorded once; bad options refused in one line, nothing recorded."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from cli_runner import sqlite_store as spareflow

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated store, LTL lanes from the DC to its service sites priced on two
    tariff lanes, and the DRP's orders released as drafts."""
    cwd = tmp_path_factory.mktemp("shipping")
    for args, stdin in [
        (["generate", "--items", "40", "--sites", "3", "--out", "data"], None),
        (["user", "add", "root", "--role", "admin", "--password-stdin"], PASSWORD + "\n"),
        (["db", "import", "data", "--user", "root"], None),
    ]:
        done = spareflow(args, cwd, stdin)
        assert done.returncode == 0, done.stderr
    sites = pl.read_csv(cwd / "data" / "sites.csv")
    dc = sites.filter(pl.col("parent_site_id").is_null())["site_id"][0]
    services = sites.filter(pl.col("parent_site_id").is_not_null())["site_id"].to_list()
    (cwd / "network").mkdir()
    pl.DataFrame(
        {
            "lane_id": [f"{dc}-{s}" for s in services],
            "origin_site_id": [dc] * len(services),
            "destination_site_id": services,
            "mode": ["ltl"] * len(services),
            "transit_days": [2.0] * len(services),
            "tariff_lane": ["Z2-Z3", "Z2-Z4"][: len(services)],
        }
    ).write_csv(cwd / "network" / "lanes.csv")
    pl.DataFrame(
        {"site_id": services, "source_site_id": [dc] * len(services),
         "lane_id": [f"{dc}-{s}" for s in services]}
    ).write_csv(cwd / "network" / "sourcing_rules.csv")  # fmt: skip
    supplier = pl.read_csv(cwd / "data" / "sourcing.csv")["supplier_id"].drop_nulls()[0]
    for args in (
        ["network", "load", "network"],
        ["drp", "--out", "drp", "--user", "root", "--release", "--default-supplier", supplier],
    ):
        done = spareflow(args, cwd)
        assert done.returncode == 0, done.stderr
    return cwd


def test_released_transfers_ship_once(store: Path) -> None:
    dry = spareflow(["shipments", "build", "--out", "none", "--date", "2026-11-26"], store)
    assert dry.returncode == 0, dry.stderr
    assert "0 orders ship in 0 shipments" in dry.stdout  # drafts do not ship
    assert pl.read_csv(store / "none" / "shipments.csv").columns[0] == "shipment_id"

    released = spareflow(
        ["orders", "act", "release", "--kind", "transfer", "--status", "draft", "--user", "root"],
        store,
    )
    assert released.returncode == 0, released.stderr
    numbers = [line.split()[0] for line in released.stdout.splitlines()]
    assert numbers and all(line.endswith("transfer released") for line in
                           released.stdout.splitlines())  # fmt: skip

    args = ["shipments", "build", "--out", "ship", "--date", "2026-11-26"]
    done = spareflow([*args, "--dry-run"], store)
    assert done.returncode == 0, done.stderr
    assert "would ship" in done.stdout and "SAMPLE tariff" in done.stderr
    done = spareflow(args, store)
    assert done.returncode == 0, done.stderr
    summary = json.loads((store / "ship" / "summary.json").read_text())
    shipments = pl.read_csv(store / "ship" / "shipments.csv")
    carried = pl.read_csv(store / "ship" / "shipment_orders.csv")
    units = pl.read_csv(store / "ship" / "handling_units.csv")
    assert sorted(carried["number"].to_list()) == sorted(numbers)
    assert summary["orders"] == len(numbers) and summary["shipments"] == shipments.height
    assert summary["consolidated_cost"] == pytest.approx(shipments["freight_cost"].sum(), abs=0.01)
    assert summary["alone_cost"] == pytest.approx(carried["alone_cost"].sum(), abs=0.01)
    assert summary["saving"] >= 0
    assert set(units["shipment_id"]) == set(shipments["shipment_id"])
    assert (shipments["weight_kg"] > 0).all()
    again = spareflow([*args[:3], "again", *args[4:]], store)
    assert "0 orders ship in 0 shipments" in again.stdout  # recorded once


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["shipments", "build", "--out", "x", "--date", "soon"], "--date: an ISO date"),
        (["shipments", "build", "--out", "x", "--window-days", "90"], "window_days: a whole"),
        (["shipments", "build", "--out", "x", "--tariff", "nope.json"], "nope.json: file not"),
        (["shipments", "build", "--out", "x", "--site", "NOWHERE"], "site 'NOWHERE' does not"),
        (["orders", "act", "release", "--user", "root"], "NUMBER: name orders, or give both"),
        (["orders", "act", "release", "NOPE", "--user", "root"], "no order 'NOPE'"),
        (["orders", "act", "fly", "--kind", "transfer", "--status", "released", "--user", "root"],
         "ACTION: one of"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line(store: Path, args: list[str], message: str) -> None:
    done = spareflow(args, store)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr
    assert "Traceback" not in done.stderr
