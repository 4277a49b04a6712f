"""``spareflow network load|show`` and ``spareflow drp`` as a user runs them on a SQLite
store: a generated dataset imported, a network folder loaded (and a bad one refused with
file, row and column, nothing kept), a DRP run written and released."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from cli_runner import sqlite_store as spareflow

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("network")
    for args, stdin in [
        (["generate", "--items", "12", "--sites", "3", "--out", "data"], None),
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
            "lane_id": [f"{dc}-{s}" for s in services] + [f"{dc}-{services[0]}-AIR"],
            "origin_site_id": [dc] * (len(services) + 1),
            "destination_site_id": [*services, services[0]],
            "mode": ["ltl"] * len(services) + ["air"],
            "transit_days": [10.0] * len(services) + [1.0],
            "cost_per_kg": [0.4] * len(services) + [3.5],
        }
    ).write_csv(cwd / "network" / "lanes.csv")
    pl.DataFrame(
        {"site_id": services, "source_site_id": [dc] * len(services),
         "lane_id": [f"{dc}-{s}" for s in services]}
    ).write_csv(cwd / "network" / "sourcing_rules.csv")  # fmt: skip
    return cwd


def test_a_bad_network_folder_is_refused_whole(store: Path) -> None:
    bad = store / "bad"
    bad.mkdir(exist_ok=True)
    (bad / "lanes.csv").write_text(
        "lane_id,origin_site_id,destination_site_id,mode,transit_days\n"
        "OK,DC01,S02,ltl,3\n"
        "L2,DC01,S02,rail,3\n"
        "L3,DC01,NOWHERE,ltl,3\n"
        "L4,DC01,S02,ltl,-2\n"
    )
    done = spareflow(["network", "load", "bad"], store)
    assert done.returncode == 2
    assert "lanes.csv, row 5, column 'transit_days': negative value" in done.stderr
    assert "Traceback" not in done.stderr
    (bad / "lanes.csv").write_text(
        "lane_id,origin_site_id,destination_site_id,mode,transit_days\n"
        "OK,DC01,S02,ltl,3\n"
        "L2,DC01,S02,rail,3\n"
        "L3,DC01,NOWHERE,ltl,3\n"
    )
    done = spareflow(["network", "load", "bad"], store)
    assert done.returncode == 2
    assert "lanes.csv, row 3, column 'mode': one of parcel, ltl, ftl, air, ocean" in done.stderr
    assert "lanes.csv, row 4: site 'NOWHERE' does not exist" in done.stderr
    shown = spareflow(["network", "show"], store)
    assert "lane OK" not in shown.stdout  # the good row was not kept either


def test_network_then_drp_then_release(store: Path) -> None:
    done = spareflow(["network", "load", "network"], store)
    assert done.returncode == 0, done.stderr
    assert "3 lanes and 2 sourcing rules added" in done.stdout
    shown = spareflow(["network", "show", "--out", "rules.csv"], store)
    assert "via DC01-S02" in shown.stdout
    assert pl.read_csv(store / "rules.csv").height == 2
    done = spareflow(["drp", "--out", "drp", "--user", "root", "--horizon", "12"], store)
    assert done.returncode == 0, done.stderr
    summary = json.loads((store / "drp" / "summary.json").read_text())
    assert summary["echelons"] == 2 and summary["horizon"] == 12
    planned = pl.read_csv(store / "drp" / "planned_orders.csv")
    assert planned.height == summary["planned_orders"] > 0
    transfers = planned.filter(pl.col("kind") == "transfer")
    assert set(transfers["lane_id"].drop_nulls()) <= {"DC01-S02", "DC01-S03"}
    assert (planned["quantity"] % 1 == 0).all()  # pieces: whole units
    records = pl.read_parquet(store / "drp" / "records.parquet")
    assert records.height == summary["item_sites"] * 12
    pegging = pl.read_csv(store / "drp" / "pegging.csv")
    # every planned quantity is pegged somewhere (to a demand or left over)
    pegged = pegging.filter(pl.col("supply_kind") == "planned_order")["quantity"].sum()
    assert pegged == pytest.approx(planned["quantity"].sum(), abs=1e-3)
    sourcing = pl.read_csv(store / "data" / "sourcing.csv")
    supplier = sourcing.filter(pl.col("supplier_id").str.starts_with("SUP"))["supplier_id"][0]
    done = spareflow(["drp", "--out", "drp2", "--user", "root", "--release",
                      "--default-supplier", supplier], store)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "draft orders released" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket", "month"], "bucket: day or week, got 'month'"),
        (["--start", "tomorrow"], "--start: a date YYYY-MM-DD, got 'tomorrow'"),
        (["--user", "nobody"], "--user: no user 'nobody'"),
    ],
)
def test_bad_drp_options(store: Path, args: list[str], message: str) -> None:
    base = ["drp", "--out", "x", "--user", "root"]
    done = spareflow(base + args if "--user" not in args else ["drp", "--out", "x", *args], store)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_promise_and_allocate(store: Path) -> None:
    stock = pl.read_csv(store / "data" / "stock.csv").filter(pl.col("on_hand") >= 2)
    item, site = stock.select("item_id", "site_id").row(0)
    (store / "lines.csv").write_text(
        "line_id,item_id,site_id,quantity,priority\n"
        f"L1,{item},{site},1,2\n"
        f"L2,{item},{site},1000000,5\n"
    )
    done = spareflow(["promise", "lines.csv", "--out", "promised.csv"], store)
    assert done.returncode == 0, done.stderr
    promised = pl.read_csv(store / "promised.csv")
    assert promised["line_id"].to_list() == ["L1", "L2"]
    # every line: promised + short = asked; a million is short of whatever the site has
    assert (promised["quantity"] + promised["short"] == promised["requested"]).all()
    assert promised["short"][1] > 0
    assert "2 lines: " in done.stdout

    done = spareflow(["allocate", "--site", site, "--out", "alloc"], store)
    assert done.returncode == 0, done.stderr
    summary = json.loads((store / "alloc" / "summary.json").read_text())
    demands = pl.read_csv(store / "alloc" / "allocation.csv")
    assert summary["demands"] == demands.height
    if demands.height:
        assert (demands["allocated"] + demands["short"] == demands["quantity"]).all()
        assert summary["allocated"] == pytest.approx(demands["allocated"].sum())
    assert (store / "alloc" / "transshipments.csv").exists()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("item_id,site_id,quantity\nNOPE,S02,1\n", "lines.csv, row 2: item 'NOPE' does not exist"),
        ("item_id,site_id,quantity\nX,S02,0\n", "row 2, column 'quantity': must be above zero"),
        ("item_id,site_id,quantity,priority\nX,S02,1,12\n", "column 'priority': a whole number"),
        ("item_id,site_id,quantity,wanted\nX,S02,1,2001-01-01\n",
         "lines.csv, row 2, column 'wanted': 2001-01-01 is outside the horizon"),
    ],
)  # fmt: skip
def test_bad_promise_lines(store: Path, lines: str, message: str) -> None:
    item = pl.read_csv(store / "data" / "items.csv")["item_id"][0]
    (store / "lines.csv").write_text(lines.replace("X,", f"{item},"))
    done = spareflow(["promise", "lines.csv", "--out", "p.csv"], store)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    done = spareflow(["allocate", "--site", "NOWHERE", "--out", "a"], store)
    assert done.returncode == 2 and "site 'NOWHERE' does not exist" in done.stderr
