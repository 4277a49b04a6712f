"""``spareflow policy PARAMS --out OUT``: the command contract, stockpyl as the oracle, and
one error line per fault for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from stockpyl.rq import r_q_poisson_exact
from stockpyl.ss import s_s_discrete_exact
from tests.test_cli import assert_ok, assert_user_error, listing, run


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_policy_command_equals_stockpyl(suffix: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    n = 16
    params = pl.DataFrame(
        {
            "item_id": [f"I{i}" for i in range(n)],
            "policy": ["sS", "rQ"] * (n // 2),
            "demand_mean": rng.uniform(0.5, 12.0, n).round(2),
            "lead_time": [0.0, 2.0] * (n // 2),
            "holding_cost": rng.uniform(0.2, 3.0, n).round(2),
            "stockout_cost": rng.uniform(2.0, 50.0, n).round(2),
            "fixed_cost": rng.uniform(1.0, 100.0, n).round(2),
        }
    )
    src = tmp_path / f"params.{suffix}"
    if suffix == "csv":
        params.write_csv(src)
    else:
        params.write_parquet(src)
    assert_ok(run("policy", src, "--out", "out.csv", cwd=tmp_path))
    out = pl.read_csv(tmp_path / "out.csv")
    assert out.columns == [
        "item_id", "policy", "reorder_point", "order_up_to", "order_quantity", "expected_cost"
    ]  # fmt: skip
    for p, o in zip(params.iter_rows(named=True), out.iter_rows(named=True), strict=True):
        assert o["item_id"] == p["item_id"]
        h, b, k, m = p["holding_cost"], p["stockout_cost"], p["fixed_cost"], p["demand_mean"]
        if p["policy"] == "sS":
            s, big, cost = s_s_discrete_exact(h, b, k, True, m)
            assert (o["reorder_point"], o["order_up_to"]) == (s, big)
            assert o["order_quantity"] is None
        else:
            r, q, cost = r_q_poisson_exact(h, b, k, m, p["lead_time"])
            assert (o["reorder_point"], o["order_quantity"]) == (r, q)
            assert o["order_up_to"] is None
        assert o["expected_cost"] == pytest.approx(cost, rel=1e-6)


def test_policy_command_bad_rows(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "item_id,policy,demand_mean,lead_time,holding_cost,stockout_cost,fixed_cost\n"
        "A,sQ,6,0,1,4,5\nB,sS,5,0.5,1,2,3\nC,rQ,-2,3,0,10,50\nC,rQ,2,3,1,10,50\n"
    )
    lines = assert_user_error(run("policy", "p.csv", "--out", "o.csv", cwd=tmp_path))
    text = "\n".join(lines)
    assert "row 2, column 'policy'" in text
    assert "row 3, column 'lead_time'" in text
    assert "row 4, column 'demand_mean'" in text
    assert "row 4, column 'holding_cost'" in text
    assert "duplicate key" in text
    assert listing(tmp_path) == ["p.csv"]
