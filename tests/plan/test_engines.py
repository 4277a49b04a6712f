"""Where a plan runs: threads in this process or a Dask cluster give the same plan; the
partition size changes nothing a planner sees; bad engine options are user errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.test_cli import assert_user_error, run

from spareflow.data.demo import generate_dataset
from spareflow.data.load import Dataset, load_dataset
from spareflow.data.write import write_dataset
from spareflow.errors import ParameterError
from spareflow.plan import engine
from spareflow.plan.engine import DaskEngine, LocalEngine, make_engine
from spareflow.plan.stock import PlanParams, StockPlan, stock_plan


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    folder = tmp_path_factory.mktemp("engines") / "ds"
    write_dataset(generate_dataset(items=150, sites=3, seed=5), folder, "csv")
    return load_dataset(folder)


def _plan(ds: Dataset, runner: engine.Engine, **kw: object) -> StockPlan:
    return stock_plan(ds, PlanParams(simulate_days=0, **kw), engine=runner)  # type: ignore[arg-type]


def test_local_engine_keeps_order_and_reports_progress() -> None:
    seen: list[tuple[int, int]] = []
    active = []
    lock = threading.Lock()
    current = [0]

    def slow_square(x: int) -> int:
        with lock:
            current[0] += 1
            active.append(current[0])
        time.sleep(0.01 * (x % 3))
        with lock:
            current[0] -= 1
        return x * x

    out = LocalEngine(threads=2).map(slow_square, list(range(9)), lambda d, t: seen.append((d, t)))
    assert out == [x * x for x in range(9)]
    assert seen[0] == (0, 9) and seen[-1] == (9, 9) and len(seen) == 10
    assert max(active) <= 2  # never more parts in flight than threads


def test_partition_size_changes_nothing_a_planner_sees(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _plan(dataset, LocalEngine(threads=1))
    monkeypatch.setattr(engine, "PARTITION_ROWS", 50)
    split = _plan(dataset, LocalEngine(threads=2))
    a, b = whole.table, split.table
    assert a.height == b.height > 300
    for c in ("reorder_point", "order_quantity", "order_now", "method", "demand_family"):
        assert (a[c] == b[c]).all(), c
    for c in ("forecast_per_period", "expected_fill_rate", "expected_on_hand", "safety_stock"):
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=1e-7, atol=1e-9)
    # the same curve (points sampled from it may differ where a ratio sits on a bin edge)
    cw, cs = whole.extras["_curve"], split.extras["_curve"]
    at = np.interp(cw["investment"], cs["investment"], cs["fill_rate"])  # type: ignore[index]
    np.testing.assert_allclose(at, cw["fill_rate"], atol=2e-3)  # type: ignore[index]
    # the plan-wide choices do not depend on the split
    ca, cb = whole.demand.backtest.coverage, split.demand.backtest.coverage
    np.testing.assert_array_equal(ca, cb)


def test_dask_engine_gives_the_same_plan(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "PARTITION_ROWS", 64)
    local = LocalEngine()
    dask = DaskEngine("local")
    try:
        assert len(dask.client.scheduler_info()["workers"]) >= 1
        for kw in ({}, {"budget": 25_000.0, "criticality_weights": (("high", 4.0),)}):
            a = _plan(dataset, local, **kw)
            b = _plan(dataset, dask, **kw)
            assert_frame_equal(a.table, b.table)
            assert a.extras["_curve"] == b.extras["_curve"]
            assert_frame_equal(a.demand.accuracy(), b.demand.accuracy())
    finally:
        dask.close()


def test_unreachable_scheduler_is_a_user_error() -> None:
    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler"):
        DaskEngine("tcp://127.0.0.1:9", timeout=1.0)


def test_engine_options(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="unknown engine"):
        make_engine("spark")
    with pytest.raises(ParameterError, match="only goes with --engine dask"):
        make_engine("local", "tcp://127.0.0.1:8786")
    folder = tmp_path / "ds"
    write_dataset(generate_dataset(items=20, sites=2, seed=1), folder, "csv")
    lines = assert_user_error(
        run("plan", folder, "--out", "o", "--scheduler", "local", cwd=tmp_path)
    )
    assert "--scheduler" in lines[0]
    assert not (tmp_path / "o").exists()


def test_plan_command_on_dask(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    write_dataset(generate_dataset(items=30, sites=2, seed=2), folder, "csv")
    result = run(
        "plan", folder, "--out", "out", "--engine", "dask", "--scheduler", "local", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    local = run("plan", folder, "--out", "out2", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    assert_frame_equal(
        pl.read_parquet(tmp_path / "out" / "plan.parquet"),
        pl.read_parquet(tmp_path / "out2" / "plan.parquet"),
    )
