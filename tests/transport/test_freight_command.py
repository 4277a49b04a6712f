"""``spareflow freight-class`` as a user runs it: the design.md contract, scale by ship
date, rounding, and bad rows named."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cli_runner import spareflow

UNITS = """unit_id,length_in,width_in,height_in,weight_lb,ship_date
A,48,40,48,400,2025-08-01
B,48,40,30,1500,2025-07-18
C,48,40,30,1500,2025-07-19
D,48,48,48,512,
E,48,40,46.375,615,2026-01-05
"""


def test_classes_by_ship_date_with_the_contract_columns(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text(UNITS)
    run = spareflow(
        ["freight-class", "units.csv", "--out", "classes.csv", "--today", "2026-11-25"], tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert "5 handling units classified" in run.stderr
    out = pl.read_csv(tmp_path / "classes.csv", schema_overrides={"freight_class": pl.String})
    assert out.columns[:4] == ["unit_id", "cubic_feet", "density_pcf", "freight_class"]
    assert out["freight_class"].to_list() == ["125", "60", "55", "100", "92.5"]
    assert out["scale_id"].to_list() == [
        "nmfc_13sub_2025_1", "nmfc_11sub_2017", "nmfc_13sub_2025_1", "nmfc_13sub_2025_1",
        "nmfc_13sub_2025_1",
    ]  # fmt: skip
    assert out["cubic_feet"].to_list()[:2] == [53.3333, 33.3333]
    assert out["density_pcf"].to_list()[3] == 8.0


def test_rounding_to_the_nearest_inch_moves_a_unit_across_a_break(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text(UNITS)
    run = spareflow(
        ["freight-class", "units.csv", "--out", "c.parquet", "--rounding", "nearest"], tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert pl.read_parquet(tmp_path / "c.parquet")["freight_class"][4] == "85"


def test_bad_rows_and_options_are_named_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text(
        "unit_id,length_in,width_in,height_in,weight_lb,ship_date\n"
        "A,48,40,0,400,2025-08-01\nB,x,40,30,1500,2025-08-01\nB,48,40,30,1500,2017-01-01\n"
    )
    run = spareflow(["freight-class", "bad.csv", "--out", "o.csv"], tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "bad.csv, row 2, column 'height_in': must be above zero" in run.stderr
    assert "bad.csv, row 3, column 'length_in': not a number" in run.stderr
    assert not (tmp_path / "o.csv").exists()
    (tmp_path / "old.csv").write_text(
        "unit_id,length_in,width_in,height_in,weight_lb,ship_date\nA,48,40,30,1500,2017-01-01\n"
    )
    run = spareflow(["freight-class", "old.csv", "--out", "o.csv"], tmp_path)
    assert run.returncode == 2
    assert "old.csv, row 2, column 'ship_date': before 2017-08-05" in run.stderr
    run = spareflow(["freight-class", "old.csv", "--out", "o.csv", "--rounding", "up"], tmp_path)
    assert run.returncode == 2 and "--rounding" in run.stderr
