"""``spareflow final-buy`` as a subprocess: quantities against closed forms, each item's
own horizon, the cost curve, and bad rows refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats
from tests.test_cli import run

from spareflow.reliability.lifetime_buy import final_buy


def test_final_buy_command(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "item_id": ["VALVE", "PUMP", "SEAL"],
            "failures_per_year": [12.0, 3.0, 40.0],
            "years": [5.0, 10.0, 2.0],
            "unit_cost": [500.0, 4000.0, 20.0],
            "shortage_cost": [2000.0, 50000.0, 200.0],
            "repair_share": [0.5, 0.8, 0.0],
            "holding_rate": [0.0, 0.0, 0.0],
        }
    ).write_csv(tmp_path / "eol.csv")
    out, curve = tmp_path / "buy.csv", tmp_path / "curve.parquet"
    result = run(
        "final-buy", tmp_path / "eol.csv", "--out", out, "--curve", curve,
        "--service-level", "0.9", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    buy = pl.read_csv(out)
    assert buy["item_id"].to_list() == ["VALVE", "PUMP", "SEAL"]
    total = np.array([12 * 0.5 * 5, 3 * 0.2 * 10, 40 * 2.0])
    np.testing.assert_allclose(buy["expected_condemnations"], total, rtol=1e-9)
    np.testing.assert_array_equal(buy["quantity_for_service"], stats.poisson.ppf(0.9, total))
    # no holding cost: the least-cost buy is the newsvendor fractile p / (p + c)
    fractile = np.array([2000 / 2500, 50000 / 54000, 200 / 220])
    np.testing.assert_array_equal(buy["quantity_least_cost"], stats.poisson.ppf(fractile, total))
    costs = pl.read_parquet(curve)
    assert set(costs["item_id"]) == {"VALVE", "PUMP", "SEAL"}
    valve = costs.filter(pl.col("item_id") == "VALVE")
    assert (
        int(valve["quantity"][int(valve["total_cost"].arg_min())]) == buy["quantity_least_cost"][0]
    )


def test_each_item_keeps_its_own_horizon() -> None:
    """Items of different remaining lives in one call equal separate calls."""
    monthly = np.full((2, 36), 0.5)
    both = final_buy(monthly, np.array([100.0, 100.0]), np.array([900.0, 900.0]),
                     life=np.array([36, 12]))  # fmt: skip
    short = final_buy(monthly[1:, :12], np.array([100.0]), np.array([900.0]))
    np.testing.assert_allclose(both.total[1, : short.total.shape[1]], short.total[0], rtol=1e-9)
    assert both.quantity_least_cost[1] == short.quantity_least_cost[0]


def test_bad_rows_are_refused(tmp_path: Path) -> None:
    pl.DataFrame(
        {"item_id": ["A", "B"], "failures_per_year": [1.0, 2.0], "years": [3.0, 3.0],
         "unit_cost": [1.0, 1.0], "shortage_cost": [5.0, 5.0], "repair_share": [0.2, 1.5]}
    ).write_csv(tmp_path / "eol.csv")  # fmt: skip
    out = tmp_path / "buy.csv"
    result = run("final-buy", tmp_path / "eol.csv", "--out", out, cwd=tmp_path)
    assert result.returncode == 2
    assert "eol.csv, row 3, column 'repair_share'" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("level", ["0", "1.2"])
def test_service_level_is_checked(tmp_path: Path, level: str) -> None:
    result = run(
        "final-buy", "x.csv", "--out", tmp_path / "b.csv", "--service-level", level, cwd=tmp_path
    )
    assert result.returncode == 2 and "--service-level" in result.stderr
