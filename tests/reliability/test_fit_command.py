"""``spareflow reliability fit`` as a subprocess: per-item Weibull fits equal to
lifelines' on censored records, and bad records refused with their row named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.test_cli import run


def records(seed: int = 2) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for item, (shape, scale, n) in {"PUMP": (1.8, 4000.0, 60), "VALVE": (0.9, 900.0, 40)}.items():
        life = scale * rng.weibull(shape, n)
        cut = rng.uniform(0.2, 2.0, n) * scale
        for t, c in zip(life, cut, strict=True):
            rows.append(
                {"item_id": item, "time": min(t, c), "kind": "failure" if t <= c else "suspension"}
            )
    rows.append({"item_id": "SEAL", "time": 100.0, "kind": "suspension"})  # never failed
    return pl.DataFrame(rows)


def test_fit_equals_lifelines(tmp_path: Path) -> None:
    lifelines = pytest.importorskip("lifelines")
    frame = records()
    frame.write_csv(tmp_path / "lives.csv")
    result = run(
        "reliability", "fit", tmp_path / "lives.csv", "--out", tmp_path / "fit.csv",
        "--report", tmp_path / "lives.html", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    fit = pl.read_csv(tmp_path / "fit.csv")
    assert fit["item_id"].to_list() == ["PUMP", "VALVE", "SEAL"]
    for item in ("PUMP", "VALVE"):
        part = frame.filter(pl.col("item_id") == item)
        ref = lifelines.WeibullFitter().fit(
            part["time"].to_numpy(), (part["kind"] == "failure").to_numpy()
        )
        row = fit.filter(pl.col("item_id") == item)
        assert row["life_model"][0] == "weibull"
        assert row["shape"][0] == pytest.approx(ref.rho_, rel=1e-4)
        assert row["scale"][0] == pytest.approx(ref.lambda_, rel=1e-4)
        assert row["shape_lower"][0] < row["shape"][0] < row["shape_upper"][0]
    assert "Weibull probability plot" in (tmp_path / "lives.html").read_text()
    seal = fit.filter(pl.col("item_id") == "SEAL")
    assert seal["life_model"][0] == "none" and seal["shape"][0] is None


def test_bad_records_are_refused(tmp_path: Path) -> None:
    frame = records().with_columns(
        kind=pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("broken")).otherwise("kind"),
        time=pl.when(pl.int_range(pl.len()) == 5).then(0.0).otherwise("time"),
    )
    frame.write_csv(tmp_path / "lives.csv")
    out = tmp_path / "fit.csv"
    result = run("reliability", "fit", tmp_path / "lives.csv", "--out", out, cwd=tmp_path)
    assert result.returncode == 2
    assert "lives.csv, row 5, column 'kind': must be failure or suspension" in result.stderr
    assert "lives.csv, row 7, column 'time': must be a positive time" in result.stderr
    assert not out.exists()


def test_plotting_positions_with_a_suspension() -> None:
    """Johnson's adjusted ranks: 1, then (5 - 1) / (1 + 2) = 4/3 more, then (5 - 7/3) / 2
    more; Bernard's median ranks (j - 0.3) / (n + 0.4)."""
    from spareflow.report.repair import plotting_positions

    t, f = plotting_positions(np.array([300.0, 100.0, 400.0, 200.0]), np.array([1, 1, 1, 0], bool))
    np.testing.assert_allclose(t, [100.0, 300.0, 400.0])
    ranks = np.array([1.0, 7.0 / 3.0, 11.0 / 3.0])
    np.testing.assert_allclose(f, (ranks - 0.3) / 4.4)
