"""The stock plan: the plan table contract of design.md, the order-now rule, target
resolution, the ERP reorder rules, and ``spareflow plan`` as a command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.test_cli import assert_ok, assert_user_error, listing, run

from spareflow.data.demo import generate_dataset
from spareflow.data.load import Dataset, load_dataset
from spareflow.data.write import write_dataset
from spareflow.plan.erp import erpnext_reorder, odoo_reordering_rules
from spareflow.plan.stock import (
    PlanParams,
    StockPlan,
    aggregate_fill_rate,
    daily_history,
    order_now,
    resolve_targets,
    stock_plan,
)

CONTRACT = [
    "item_id", "site_id", "policy", "review_period_days", "lead_time_days", "reorder_point",
    "order_up_to", "order_quantity", "expected_fill_rate", "unit_cost", "on_hand", "order_now",
]  # fmt: skip


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plan") / "ds"
    write_dataset(generate_dataset(items=120, sites=3, seed=11), folder, "csv")
    return folder


@pytest.fixture(scope="module")
def planned(small: Path) -> StockPlan:
    return stock_plan(load_dataset(small), PlanParams(simulate_days=0))


def test_plan_table_carries_the_contract(planned: StockPlan) -> None:
    t = planned.table
    for col in CONTRACT:
        assert col in t.columns, col
    assert t.select("item_id", "site_id").is_unique().all()
    assert set(t["policy"].unique()) <= {"base_stock", "rQ", "sS", "RS", "RsS"}
    assert (t["review_period_days"] == 0).all()  # continuous (daily) review
    assert (t["order_up_to"] == t["reorder_point"] + t["order_quantity"]).all()
    assert (t["order_quantity"] >= 1).all()
    # the least stock meeting each target: met everywhere (no budget)
    assert (t["expected_fill_rate"] >= t["target_fill_rate"] - 1e-9).all()


def test_order_now_follows_the_rule(planned: StockPlan) -> None:
    t = planned.table
    ip = t["inventory_position"].to_numpy()
    r = t["reorder_point"].to_numpy()
    q = t["order_quantity"].to_numpy()
    o = t["order_now"].to_numpy()
    np.testing.assert_allclose(ip, (t["on_hand"] + t["on_order"] - t["backorders"]).to_numpy())
    assert ((ip > r) == (o == 0)).all()
    placed = o > 0
    assert (o[placed] % q[placed] == 0).all()  # multiples of Q
    assert (ip[placed] + o[placed] > r[placed]).all()  # lifted above r
    assert (ip[placed] + o[placed] - q[placed] <= r[placed]).all()  # by the smallest multiple
    need = t.filter(pl.col("order_now") > 0)
    days = need.select((pl.col("need_date") - pl.lit(planned.as_of)).dt.total_days()).to_series()
    assert (days.to_numpy() == need["lead_time_days"].to_numpy()).all()


def test_order_now_by_hand() -> None:
    got = order_now(np.array([5.0, 3.0, -4.0, 2.0]), np.array([3, 3, 3, 3]), np.array([4, 4, 4, 1]))
    # above r: none; at r: one Q lifts to 7; -4: needs 8 > 7 -> 2Q = 8 lifts to 4; Q=1: 2 units
    assert got.tolist() == [0.0, 4.0, 8.0, 2.0]


def test_targets_most_specific_wins() -> None:
    facts = pl.DataFrame(
        {
            "item_id": ["A", "A", "B", "C", "D"],
            "site_id": ["S1", "S2", "S1", "S2", "S1"],
            "criticality": ["high", "high", "low", "high", None],
        }
    )
    targets = pl.DataFrame(
        {
            "item_id": ["A", "A", None, None],
            "site_id": ["S1", None, "S2", None],
            "criticality": [None, None, "high", "high"],
            "target_fill_rate": [0.99, 0.97, 0.93, 0.95],
        }
    )
    got = resolve_targets(facts, targets, 0.9).to_list()
    # A@S1 item+site; A@S2 item; B low: default; C high@S2 criticality+site; D: default
    assert got == [0.99, 0.97, 0.9, 0.93, 0.9]


def test_erp_rules_reproduce_the_policy(planned: StockPlan) -> None:
    t = planned.table
    odoo = odoo_reordering_rules(t)
    erpnext = erpnext_reorder(t)
    assert odoo.height == erpnext.height == t.height
    # Odoo orders max - position rounded up to the multiple when position < min
    for row, rule in zip(
        t.head(50).iter_rows(named=True), odoo.head(50).iter_rows(named=True), strict=True
    ):
        for position in (row["reorder_point"] - 3, row["reorder_point"], row["reorder_point"] + 1):
            if position < rule["product_min_qty"]:
                need = rule["product_max_qty"] - position
                qty = -(-need // rule["qty_multiple"]) * rule["qty_multiple"]
            else:
                qty = 0
            ours = order_now(
                np.array([float(position)]),
                np.array([row["reorder_point"]]),
                np.array([row["order_quantity"]]),
            )[0]
            assert qty == ours
    assert erpnext["warehouse_reorder_level"].to_list() == (t["reorder_point"] + 1).to_list()


def test_plan_command_writes_everything(small: Path, tmp_path: Path) -> None:
    result = run("plan", small, "--out", "out", "--csv", cwd=tmp_path)
    assert_ok(result)
    out = tmp_path / "out"
    for name in ("plan.parquet", "plan.csv", "summary.json", "report.html",
                 "erp/erpnext_item_reorder.csv", "erp/odoo_reordering_rules.csv"):  # fmt: skip
        assert (out / name).is_file(), name
    assert result.stdout.strip().splitlines()[-1].endswith("report.html")
    plan = pl.read_parquet(out / "plan.parquet")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["item_sites"] == plan.height
    for key in ("investment", "expected_fill_rate", "by_class", "by_site", "orders_now"):
        assert key in summary, key
    weights = plan["forecast_per_period"].to_numpy()
    expected = float((plan["expected_fill_rate"].to_numpy() * weights).sum() / weights.sum())
    assert summary["expected_fill_rate"] == pytest.approx(expected)
    assert summary["investment"] == pytest.approx(plan["inventory_value"].sum())


def test_plan_bad_options_write_nothing(small: Path, tmp_path: Path) -> None:
    for args in (
        ["--target", "1.5"],
        ["--budget", "-1"],
        ["--engine", "spark"],
        ["--period", "year"],
    ):
        lines = assert_user_error(run("plan", small, "--out", "o", *args, cwd=tmp_path))
        assert len(lines) == 1, lines
    lines = assert_user_error(run("plan", tmp_path / "missing", "--out", "o", cwd=tmp_path))
    assert "missing" in lines[0]
    assert listing(tmp_path) == []


def test_plan_without_optional_tables(small: Path, tmp_path: Path) -> None:
    ds = load_dataset(small)
    bare = Dataset({k: ds[k] for k in ("items", "sites", "demand")}, "bare")
    plan = stock_plan(bare, PlanParams(target=0.9, simulate_days=0))
    t = plan.table
    assert t["lead_time_assumed"].all()
    assert (t["on_hand"] == 0).all()
    assert (t["target_fill_rate"] == 0.9).all()


def test_budget_buys_the_best_weighted_fill_rate_within_it(small: Path) -> None:
    ds = load_dataset(small)
    free = stock_plan(ds, PlanParams(simulate_days=0))
    curve = free.extras["_curve"]
    inv = np.asarray(curve["investment"])  # type: ignore[index]
    fill = np.asarray(curve["fill_rate"])  # type: ignore[index]
    assert (np.diff(inv) >= -1e-6).all() and (np.diff(fill) >= -1e-12).all()
    value = float(free.table["inventory_value"].sum())
    previous = -1.0
    for share in (0.3, 0.7, 1.0):
        budget = share * value
        plan = stock_plan(ds, PlanParams(simulate_days=0, budget=budget))
        spent = float(plan.table["inventory_value"].sum())
        assert spent <= budget + 1e-6 * value
        got = aggregate_fill_rate(plan.table)
        assert got is not None and got >= previous
        previous = got
    # the system approach serves more demand than item-by-item targets for the same money
    assert previous >= aggregate_fill_rate(free.table)  # type: ignore[operator]


def test_criticality_weights_shift_service_to_critical_parts(small: Path) -> None:
    ds = load_dataset(small)
    value = float(stock_plan(ds, PlanParams(simulate_days=0)).table["inventory_value"].sum())
    plain = stock_plan(ds, PlanParams(simulate_days=0, budget=0.4 * value)).table
    weighted = stock_plan(
        ds,
        PlanParams(simulate_days=0, budget=0.4 * value, criticality_weights=(("high", 10.0),)),
    ).table
    crit = pl.read_csv(small / "items.csv").select("item_id", "criticality")

    def high_fill(t: pl.DataFrame) -> float:
        h = t.join(crit, on="item_id").filter(pl.col("criticality") == "high")
        w = h["forecast_per_period"].to_numpy()
        return float((h["expected_fill_rate"].to_numpy() * w).sum() / w.sum())

    assert high_fill(weighted) > high_fill(plain)


def test_plan_simulates_itself(small: Path) -> None:
    plan = stock_plan(load_dataset(small), PlanParams(simulate_days=2000, replications=4))
    expected = aggregate_fill_rate(plan.table)
    simulated = plan.extras["simulated_fill_rate"]
    assert expected is not None
    assert abs(simulated - expected) <= 0.02  # type: ignore[operator]
    assert "simulated_fill_rate" in plan.table.columns


def test_simulate_command_and_its_bad_input(small: Path, tmp_path: Path) -> None:
    assert_ok(run("plan", small, "--out", "out", cwd=tmp_path))
    result = run("simulate", "out", "--days", "400", "--replications", "2", cwd=tmp_path)
    assert_ok(result)
    sim = pl.read_parquet(tmp_path / "out" / "simulation.parquet")
    assert sim.height == pl.read_parquet(tmp_path / "out" / "plan.parquet").height
    assert "simulated fill rate:" in result.stdout
    lines = assert_user_error(run("simulate", "nowhere", cwd=tmp_path))
    assert "nowhere" in lines[0] and "no plan" in lines[0]
    pl.DataFrame({"item_id": ["A"]}).write_parquet(tmp_path / "bad.parquet")
    lines = assert_user_error(run("simulate", "bad.parquet", cwd=tmp_path))
    assert "bad.parquet" in lines[0] and "missing" in lines[0] and "reorder_point" in lines[0]
    lines = assert_user_error(run("simulate", "out", "--days", "1", cwd=tmp_path))
    assert "--days" in lines[0]


def test_simulate_against_bootstrapped_history(small: Path, tmp_path: Path) -> None:
    ds = load_dataset(small)
    plan = stock_plan(ds, PlanParams(simulate_days=0))
    history = daily_history(ds, plan.table)
    assert history.shape[0] == plan.table.height
    # each row's history is its item-site's demand (after supersession carry-over)
    monthly = plan.demand.forecast.matrix.values
    np.testing.assert_allclose(np.nansum(history, axis=1), np.nansum(monthly, axis=1))
    assert_ok(run("plan", small, "--out", "out", cwd=tmp_path))
    result = run(
        "simulate", "out", "--bootstrap", str(small), "--days", "1500", "--replications", "3",
        cwd=tmp_path,
    )  # fmt: skip
    assert_ok(result)
    sim = pl.read_parquet(tmp_path / "out" / "simulation.parquet")
    assert (sim["demand_model"] == "bootstrap").all()
    expected = aggregate_fill_rate(plan.table)
    simulated = float(result.stdout.split("simulated fill rate:")[1].split()[0])
    assert expected is not None and abs(simulated - expected) < 0.05, (simulated, expected)
    lines = assert_user_error(run("simulate", "out", "--bootstrap", "nowhere", cwd=tmp_path))
    assert "nowhere" in lines[0]


def test_large_plans_simulate_a_sample(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spareflow.plan.stock as stock

    monkeypatch.setattr(stock, "SIMULATE_ITEM_SITES", 120)  # the demo-sized plan: 312
    plan = stock_plan(load_dataset(small), PlanParams(simulate_days=2000, replications=3))
    t = plan.table
    assert t.height > 300
    # the rest are null (and so are simulated item-sites without demand: no fill rate)
    assert 100 < t.height - t["simulated_fill_rate"].null_count() <= 120
    about = plan.extras["simulation"]
    assert about["item_sites"] == 120 and about["sampled"] is True  # type: ignore[index]
    simulated = plan.extras["simulated_fill_rate"]
    expected = about["expected_fill_rate_of_simulated"]  # type: ignore[index]
    assert abs(simulated - expected) < 0.03, (simulated, expected)  # type: ignore[operator]
    # the same sample every run
    again = stock_plan(load_dataset(small), PlanParams(simulate_days=2000, replications=3))
    assert again.table["simulated_fill_rate"].equals(t["simulated_fill_rate"])
