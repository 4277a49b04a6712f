"""``spareflow pdm`` as a subprocess: train on run-to-failure engines, score engines cut
before failure, rank them and turn their risk into part demand per site."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.test_cli import run

# ../shared beside the project root, or the workplace's copy (a clean clone's ../ may lack it)
_WHERE = [Path(__file__).resolve().parents[3] / "shared", Path("/work/shared")]
FD001 = next(
    (p / "data/cmapss/train_FD001.txt" for p in _WHERE if (p / "data/cmapss").is_dir()),
    _WHERE[-1] / "data/cmapss/train_FD001.txt",
)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not FD001.is_file():
        pytest.skip(f"C-MAPSS FD001 not found at {FD001} (shared data absent)")
    from spareflow.reliability.cmapss import read_cmapss

    tel = read_cmapss(FD001)
    root = tmp_path_factory.mktemp("pdm")
    train = tel.filter(pl.col("asset_id") <= 80)
    rng = np.random.default_rng(0)
    life = tel.filter(pl.col("asset_id") > 80).group_by("asset_id").agg(pl.col("time").max())
    cut = life.with_columns(
        cut=pl.Series(rng.integers(40, life["time"].to_numpy() - 5)), true_rul=None
    ).with_columns(true_rul=pl.col("time") - pl.col("cut"))
    current = tel.join(cut.select("asset_id", "cut"), on="asset_id").filter(
        pl.col("time") <= pl.col("cut")
    )
    train.write_parquet(root / "train.parquet")
    current.drop("cut").write_csv(root / "now.csv")
    cut.select("asset_id", "true_rul").write_csv(root / "truth.csv")
    pl.DataFrame(
        {"asset_id": cut["asset_id"], "site_id": np.where(cut["asset_id"] % 2 == 0, "EAST", "WEST")}
    ).write_csv(root / "assets.csv")
    return root


def test_pdm_ranks_engines_and_predicts_their_life(folders: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        "pdm", folders / "now.csv", "--train", folders / "train.parquet", "--out", out,
        "--horizon", "30", "--assets", folders / "assets.csv", cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rul = pl.read_csv(out / "rul.csv")
    assert rul.height == 20 and rul["rank"].to_list() == list(range(1, 21))
    assert (rul["failure_probability"].diff().drop_nulls() <= 1e-12).all()
    truth = pl.read_csv(folders / "truth.csv").with_columns(pl.col("true_rul").clip(0, 125))
    both = rul.join(truth, on="asset_id")
    error = float(np.sqrt(((both["rul"] - both["true_rul"]) ** 2).mean()))
    assert error < 25.0  # 20 unseen engines: a small sample of the CV's ~10 cycles
    demand = pl.read_csv(out / "part_demand.csv")
    assert set(demand["site_id"]) == {"EAST", "WEST"}
    assert demand["mean"].sum() == pytest.approx(rul["failure_probability"].sum(), rel=1e-9)
    assert "Assets at risk" in (out / "report.html").read_text()


def test_bad_telemetry_times_are_refused(tmp_path: Path) -> None:
    pl.DataFrame(
        {"asset_id": ["A", "A"], "time": ["1", "yesterday"], "variable": "t", "value": [1.0, 2.0]}
    ).write_csv(tmp_path / "now.csv")
    out = tmp_path / "out"
    result = run(
        "pdm", tmp_path / "now.csv", "--train", tmp_path / "now.csv", "--out", out, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "now.csv, row 3, column 'time'" in result.stderr
    assert not out.exists()


def test_bad_assets_table_is_refused(tmp_path: Path) -> None:
    """--assets is validated like every table: a duplicate asset is named by row."""
    pl.DataFrame(
        {"asset_id": ["A", "A"], "time": ["1", "2"], "variable": "t", "value": [1.0, 2.0]}
    ).write_csv(tmp_path / "now.csv")
    pl.DataFrame({"asset_id": ["A", "A"], "site_id": ["S1", "S2"]}).write_csv(
        tmp_path / "assets.csv"
    )
    out = tmp_path / "out"
    result = run(
        "pdm", tmp_path / "now.csv", "--train", tmp_path / "now.csv", "--out", out,
        "--assets", tmp_path / "assets.csv", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "assets.csv, row 3" in result.stderr and "duplicate" in result.stderr
    assert not out.exists()
