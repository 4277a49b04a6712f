"""``spareflow metric`` as a real subprocess: optimise and evaluate a generated network,
and refuse bad networks with the file, row and column named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.test_cli import run

from spareflow.data.demo_network import generate_network
from spareflow.data.network import load_network
from spareflow.multiechelon.metric import evaluate


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("network")
    for name, table in generate_network(items=15, bases=3, families=2).items():
        table.write_csv(root / f"{name}.csv")
    return root


def test_optimise_for_availability_writes_table_summary_and_curve(
    folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run("metric", folder, "--availability", "0.9", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "optimise" and summary["target_met"] is True
    assert set(summary["availability"]) == {"BASE-1", "BASE-2", "BASE-3"}
    table = pl.read_csv(out / "metric.csv")
    assert table.height == 19 * 4  # 15 LRUs + 4 SRUs, at the depot and 3 bases
    assert set(table.columns) >= {
        "item_id", "site_id", "stock_level", "pipeline_mean", "pipeline_variance",
        "expected_backorders", "fill_rate",
    }  # fmt: skip
    # the table's levels, evaluated again, give the summary's availability
    data = load_network(folder)
    levels = table.pivot(on="site_id", index="item_id", values="stock_level")
    levels = levels.sort(pl.col("item_id").replace_strict(data.item_ids, range(19)))
    s0 = levels["DEPOT"].to_numpy()
    sb = levels.select(data.base_ids).to_numpy()
    again = evaluate(data.network, s0, sb)
    for base, value in zip(data.base_ids, again.availability, strict=True):
        assert summary["availability"][base] == pytest.approx(value, rel=1e-12)
    investment = float((data.network.unit_cost * (s0 + sb.sum(axis=1))).sum())
    assert summary["investment"] == pytest.approx(investment)
    curve = pl.read_csv(out / "curve.csv")
    assert (curve["availability_bound"].diff().drop_nulls() >= -1e-12).all()
    page = (out / "report.html").read_text()
    assert "Equipment availability vs investment" in page and "BASE-3" in page
    assert "METRIC against VARI-METRIC at this stock" in page


def test_per_base_target(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("metric", folder, "--availability", "0.9", "--per-base", "--out", out)
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target_applies_to"] == "every base" and summary["target_met"]
    assert min(summary["availability"].values()) >= 0.9


def test_evaluate_a_stock_table_with_metric(folder: Path, tmp_path: Path) -> None:
    net = tmp_path / "net"
    net.mkdir()
    for f in folder.iterdir():
        (net / f.name).write_bytes(f.read_bytes())
    items = pl.read_csv(folder / "items.csv")["item_id"]
    pl.DataFrame({"item_id": items, "site_id": "BASE-1", "on_hand": 1}).write_csv(net / "stock.csv")
    out = tmp_path / "out"
    result = run("metric", net, "--model", "metric", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pl.read_csv(out / "metric.csv")
    at_base1 = table.filter(pl.col("site_id") == "BASE-1")
    assert (at_base1["stock_level"] == 1).all()
    assert (table.filter(pl.col("site_id") != "BASE-1")["stock_level"] == 0).all()
    # METRIC: Poisson pipelines, so the variance equals the mean
    np.testing.assert_allclose(table["pipeline_variance"], table["pipeline_mean"], rtol=1e-12)


def _share_too_big(t: pl.DataFrame) -> pl.DataFrame:
    return t.with_columns(repair_share=pl.lit(1.5))


def _no_depot(t: pl.DataFrame) -> pl.DataFrame:
    return t.with_columns(parent_site_id=pl.lit(None, pl.String))


def _no_depot_rows(t: pl.DataFrame) -> pl.DataFrame:
    return t.filter(pl.col("site_id") != "DEPOT")


def _unknown_site(t: pl.DataFrame) -> pl.DataFrame:
    second = pl.int_range(pl.len()) == 1
    return t.with_columns(site_id=pl.when(second).then(pl.lit("NOWHERE")).otherwise("site_id"))


def _lru_depot_demand(t: pl.DataFrame) -> pl.DataFrame:
    lru_at_depot = (pl.col("site_id") == "DEPOT") & pl.col("item_id").str.starts_with("LRU")
    return t.with_columns(
        demand_per_year=pl.when(lru_at_depot).then(3.0).otherwise("demand_per_year")
    )


BAD = [
    ("repair", _share_too_big, "repair.csv, row 2, column 'repair_share'"),
    ("sites", _no_depot, "exactly one depot"),
    ("repair", _no_depot_rows, "has no row at the depot"),
    ("repair", _unknown_site, "repair.csv, row 3, column 'site_id': unknown id, not in sites"),
    ("repair", _lru_depot_demand, "is an LRU: demand_per_year at the depot is only for an SRU"),
]


@pytest.mark.parametrize(("table", "edit", "message"), BAD)
def test_bad_networks_are_refused_naming_the_fault(
    folder: Path, tmp_path: Path, table: str, edit: object, message: str
) -> None:
    net = tmp_path / "net"
    net.mkdir()
    for f in folder.iterdir():
        (net / f.name).write_bytes(f.read_bytes())
    frame = pl.read_csv(net / f"{table}.csv")
    edit(frame).write_csv(net / f"{table}.csv")  # type: ignore[operator]
    out = tmp_path / "out"
    result = run("metric", net, "--availability", "0.9", "--out", out, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_options_are_checked(folder: Path, tmp_path: Path) -> None:
    result = run("metric", folder, "--out", tmp_path / "o", cwd=tmp_path)
    assert result.returncode == 2 and "give a target" in result.stderr
    result = run(
        "metric", folder, "--model", "x", "--budget", "1", "--out", tmp_path / "o", cwd=tmp_path
    )
    assert result.returncode == 2 and "--model" in result.stderr


def test_simulate_beside_the_model(tmp_path: Path) -> None:
    """--simulate-days puts the simulation (with its intervals) beside VARI-METRIC: on a
    one-indenture network the model's backorders and availability fall inside or near
    the simulation's 95 % intervals."""
    net = tmp_path / "net"
    net.mkdir()
    tables = generate_network(items=6, bases=2, families=0, seed=3)
    for name, table in tables.items():
        table.write_csv(net / f"{name}.csv")
    out = tmp_path / "out"
    result = run(
        "metric", net, "--availability", "0.9", "--simulate-days", "20000",
        "--replications", "6", "--out", out, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pl.read_csv(out / "metric.csv").filter(pl.col("echelon") == "base")
    gap = (table["expected_backorders"] - table["simulated_backorders"]).abs()
    inside = (gap <= table["simulated_backorders_ci"] * 1.5 + 1e-3).mean()
    assert inside >= 0.9
    summary = json.loads((out / "summary.json").read_text())
    for base, value in summary["availability"].items():
        sim = summary["simulation"]["availability"][base]
        ci = summary["simulation"]["availability_ci"][base]
        assert abs(value - sim) <= 2 * ci + 0.005


def test_simulate_two_indentures(folder: Path, tmp_path: Path) -> None:
    """The generated network's SRUs are removed in shares of their LRUs' repairs, so the
    simulation takes it whole."""
    out = tmp_path / "o"
    result = run(
        "metric", folder, "--availability", "0.9", "--simulate-days", "3000",
        "--replications", "2", "--out", out, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pl.read_csv(out / "metric.csv")
    assert (
        table.filter(pl.col("item_id").str.starts_with("SRU"))["simulated_backorders"]
        .is_not_null()
        .all()
    )


def test_model_comparison_shows_metric_running_low(folder: Path) -> None:
    """With depot stock short of its pipeline METRIC's base backorders run below
    VARI-METRIC's at every base (and equal them without depot stock)."""
    from spareflow.plan.repair import model_comparison

    data = load_network(folder)
    net = data.network
    mu0 = net.depot_demand * net.depot_repair_days
    sb = np.ones((net.items, net.bases), dtype=np.int64)
    short = model_comparison(data, np.floor(0.8 * mu0).astype(np.int64), sb, None)
    assert (short["metric_backorder_gap"] < 0).all()
    none = model_comparison(data, np.zeros(net.items, dtype=np.int64), sb, None)
    lru_only = net.is_lru.all()
    assert lru_only or (none["backorders_metric"] <= none["backorders_vari_metric"] + 1e-9).all()
