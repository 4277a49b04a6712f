"""The ``spareflow`` command line run as a real subprocess: outputs, exit codes, messages.

User errors must exit with code 2, print one ``error:`` line per fault on stderr, never a
traceback, and write nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from spareflow.data.load import load_dataset
from spareflow.demand.methods import AUTO_CANDIDATES

TABLES = ["demand", "items", "sites", "sourcing", "stock", "targets"]
CLASSES = {"smooth", "erratic", "intermittent", "lumpy", "none"}


def run(*args: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "spareflow.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr


def assert_user_error(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Exit 2, no traceback; returns the ``error:`` lines of stderr."""
    assert result.returncode == 2, f"exit {result.returncode}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout
    return [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("gen")
    result = run("generate", "--items", "30", "--sites", "2", "--out", "ds", cwd=work)
    assert_ok(result)
    assert "wrote 6 tables to ds" in result.stdout
    return work / "ds"


@pytest.fixture(scope="module")
def series_count(dataset: Path) -> int:
    """Item-sites the planner sees: demanded (after supersession), stocked or sourced."""
    ds = load_dataset(dataset)
    pairs = pl.concat([ds[t].select("item_id", "site_id") for t in ("demand", "stock", "sourcing")])
    return pairs.unique().height


@pytest.fixture(scope="module")
def demand_series(dataset: Path) -> int:
    """Series of demand.csv read alone (no supersession, no stock)."""
    return pl.read_csv(dataset / "demand.csv").select("item_id", "site_id").unique().height


# ---------------------------------------------------------------------------------------
# generate


def test_generate_writes_the_dataset(dataset: Path) -> None:
    assert sorted(p.name for p in dataset.iterdir()) == [f"{t}.csv" for t in TABLES]
    items = pl.read_csv(dataset / "items.csv")
    sites = pl.read_csv(dataset / "sites.csv")
    assert items.height == 30
    assert sites["site_id"].to_list() == ["DC01", "S02"]
    demand = pl.read_csv(dataset / "demand.csv", try_parse_dates=True)
    assert demand.columns[:4] == ["item_id", "site_id", "date", "quantity"]
    assert demand.height > 100
    assert set(demand["site_id"].unique()) <= {"DC01", "S02"}
    load_dataset(dataset)  # what generate writes is valid


def test_generate_parquet_format(tmp_path: Path) -> None:
    result = run(
        "generate",
        "--items",
        "10",
        "--sites",
        "2",
        "--format",
        "parquet",
        "--out",
        "pq",
        cwd=tmp_path,
    )
    assert_ok(result)
    assert sorted(p.name for p in (tmp_path / "pq").iterdir()) == [f"{t}.parquet" for t in TABLES]
    assert pl.read_parquet(tmp_path / "pq" / "items.parquet").height == 10


def test_generate_bad_format_writes_nothing(tmp_path: Path) -> None:
    lines = assert_user_error(
        run("generate", "--items", "5", "--format", "json", "--out", "x", cwd=tmp_path)
    )
    assert len(lines) == 1
    assert "--format" in lines[0]
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------------------
# classify


def test_classify_prints_classes(dataset: Path, series_count: int) -> None:
    result = run("classify", dataset, cwd=dataset.parent)
    assert_ok(result)
    assert f"{series_count} series" in result.stdout
    assert "demand class" in result.stdout
    assert any(c in result.stdout for c in CLASSES)
    assert "ABC: " in result.stdout
    assert "XYZ: " in result.stdout


def test_classify_out_one_row_per_item_site(
    dataset: Path, series_count: int, tmp_path: Path
) -> None:
    result = run("classify", dataset, "--out", "classes.csv", cwd=tmp_path)
    assert_ok(result)
    assert f"wrote {series_count} series to classes.csv" in result.stdout
    classes = pl.read_csv(tmp_path / "classes.csv")
    assert classes.height == series_count
    assert classes.select("item_id", "site_id").unique().height == series_count
    for col in ("item_id", "site_id", "adi", "cv2", "demand_class", "xyz", "abc", "unit_cost"):
        assert col in classes.columns
    assert set(classes["demand_class"].unique()) <= CLASSES
    assert set(classes["abc"].unique()) <= {"A", "B", "C"}
    assert set(classes["xyz"].unique()) <= {"X", "Y", "Z"}
    # ADI >= 1 wherever demand occurred; periods are the 36 demo months (or fewer from introduction)
    assert classes.filter(pl.col("demand_class") != "none")["adi"].min() >= 1.0
    assert classes["periods"].max() == 36


def test_classify_demand_table_alone(dataset: Path, demand_series: int, tmp_path: Path) -> None:
    result = run(
        "classify", dataset / "demand.csv", "--period", "week", "--out", "c.parquet", cwd=tmp_path
    )
    assert_ok(result)
    classes = pl.read_parquet(tmp_path / "c.parquet")
    assert classes.height == demand_series
    assert "abc" not in classes.columns  # no unit costs without an items table


# ---------------------------------------------------------------------------------------
# forecast


def test_forecast_long_table_csv(dataset: Path, demand_series: int, tmp_path: Path) -> None:
    result = run(
        "forecast",
        dataset / "demand.csv",
        "--method",
        "croston,sba",
        "--horizon",
        "3",
        "--out",
        "f.csv",
        cwd=tmp_path,
    )
    assert_ok(result)
    f = pl.read_csv(tmp_path / "f.csv", try_parse_dates=True)
    assert f.columns == ["item_id", "site_id", "step", "date", "method", "forecast"]
    assert f.height == demand_series * 2 * 3
    assert f.select("item_id", "site_id").unique().height == demand_series
    assert sorted(f["step"].unique().to_list()) == [1, 2, 3]
    assert set(f["method"].unique()) == {"croston", "sba"}
    last = pl.read_csv(dataset / "demand.csv", try_parse_dates=True)["date"].max()
    assert isinstance(last, date)
    y, m = last.year, last.month
    expected_dates = [date(y + (m + k - 1) // 12, (m + k - 1) % 12 + 1, 1) for k in (1, 2, 3)]
    assert sorted(f["date"].unique().to_list()) == expected_dates
    assert f.filter(pl.col("step") == 1)["date"].unique().to_list() == [expected_dates[0]]
    assert f["forecast"].min() >= 0
    # SBA is Croston times 0.95, series by series
    wide = f.filter(pl.col("step") == 1).pivot(
        "method", index=["item_id", "site_id"], values="forecast"
    )
    assert wide["sba"].to_list() == pytest.approx((wide["croston"] * 0.95).to_list())


def test_forecast_parquet_same_as_csv(dataset: Path, tmp_path: Path) -> None:
    args = ("forecast", dataset / "demand.csv", "--method", "croston,sba", "--horizon", "3")
    assert_ok(run(*args, "--out", "f.csv", cwd=tmp_path))
    assert_ok(run(*args, "--out", "f.parquet", cwd=tmp_path))
    a = pl.read_csv(tmp_path / "f.csv", try_parse_dates=True)
    b = pl.read_parquet(tmp_path / "f.parquet")
    assert b.columns == a.columns
    b = b.with_columns(pl.col("item_id", "site_id", "method").cast(pl.String))
    assert b.select("item_id", "site_id", "step", "date", "method").equals(
        a.select("item_id", "site_id", pl.col("step").cast(b["step"].dtype), "date", "method")
    )
    assert b["forecast"].to_list() == pytest.approx(a["forecast"].to_list())


def test_forecast_hand_computed(tmp_path: Path) -> None:
    rows = ["item_id,date,quantity"]
    rows += [f"X,2024-{m:02d}-15,4" for m in range(1, 13)]  # 4 every month
    rows += ["Y,2024-03-02,6", "Y,2024-09-30,6"]  # Jan..Dec: 0 0 6 0 0 0 0 0 6 0 0 0
    (tmp_path / "tiny.csv").write_text("\n".join(rows) + "\n")
    result = run(
        "forecast",
        "tiny.csv",
        "--method",
        "croston,sba,naive",
        "--horizon",
        "2",
        "--out",
        "t.csv",
        cwd=tmp_path,
    )
    assert_ok(result)
    assert "wrote 2 series x 3 methods x 2 steps to t.csv" in result.stderr
    t = pl.read_csv(tmp_path / "t.csv", try_parse_dates=True)
    assert t.columns == ["item_id", "step", "date", "method", "forecast"]  # no site_id column
    got = {(r["item_id"], r["method"], r["step"]): r["forecast"] for r in t.iter_rows(named=True)}
    assert t["date"].unique().sort().to_list() == [date(2025, 1, 1), date(2025, 2, 1)]
    for step in (1, 2):
        assert got[("X", "croston", step)] == pytest.approx(4.0)
        assert got[("X", "sba", step)] == pytest.approx(3.8)
        assert got[("X", "naive", step)] == pytest.approx(4.0)
        # Y is zero-filled from January: first interval 3, then 6; p = 3 + 0.1 * (6 - 3)
        assert got[("Y", "croston", step)] == pytest.approx(6 / 3.3)
        assert got[("Y", "sba", step)] == pytest.approx(0.95 * 6 / 3.3)
        assert got[("Y", "naive", step)] == 0.0


def test_forecast_weekly_dates_are_mondays(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("item_id,date,quantity\nX,2024-12-01,1\nX,2024-12-15,2\n")
    result = run(
        "forecast",
        "d.csv",
        "--method",
        "croston",
        "--horizon",
        "2",
        "--period",
        "week",
        "--out",
        "w.csv",
        cwd=tmp_path,
    )
    assert_ok(result)
    w = pl.read_csv(tmp_path / "w.csv", try_parse_dates=True)
    # 15 Dec 2024 is a Sunday: its week starts Mon 9 Dec; the forecast starts the next week
    assert w["date"].to_list() == [date(2024, 12, 16), date(2024, 12, 23)]


def test_forecast_auto_adds_auto_method(dataset: Path, demand_series: int, tmp_path: Path) -> None:
    result = run(
        "forecast",
        dataset / "demand.csv",
        "--method",
        "auto,sba",
        "--horizon",
        "2",
        "--out",
        "a.parquet",
        cwd=tmp_path,
    )
    assert_ok(result)
    a = pl.read_parquet(tmp_path / "a.parquet")
    assert a.columns == ["item_id", "site_id", "step", "date", "method", "forecast", "auto_method"]
    assert a.height == demand_series * 2 * 2
    auto = a.filter(pl.col("method").cast(pl.String) == "auto")
    assert auto["auto_method"].null_count() == 0
    for label in auto["auto_method"].unique().to_list():
        assert set(label.split("+")) <= set(AUTO_CANDIDATES)
    # one choice per series, the same at every step
    assert (
        auto.group_by("item_id", "site_id")
        .agg(pl.col("auto_method").n_unique())["auto_method"]
        .max()
        == 1
    )
    assert (
        a.filter(pl.col("method").cast(pl.String) == "sba")["auto_method"].null_count()
        == demand_series * 2
    )


def test_forecast_quantiles_add_columns(dataset: Path, demand_series: int, tmp_path: Path) -> None:
    result = run(
        "forecast",
        dataset / "demand.csv",
        "--method",
        "sba",
        "--horizon",
        "2",
        "--quantiles",
        "0.5,0.9",
        "--out",
        "q.csv",
        cwd=tmp_path,
    )
    assert_ok(result)
    q = pl.read_csv(tmp_path / "q.csv")
    assert q.columns == [
        "item_id",
        "site_id",
        "step",
        "date",
        "method",
        "forecast",
        "variance",
        "q50",
        "q90",
    ]
    assert q.height == demand_series * 2
    assert (q["variance"] >= 0).all()
    assert (q["q50"] <= q["q90"]).all()
    assert (q["q90"] >= 0).all()
    assert (q.filter(pl.col("forecast") > 1)["q90"] > 0).all()


# ---------------------------------------------------------------------------------------
# bad input through the CLI


BAD_DEMAND = (
    "item_id,site_id,date,quantity\n"
    "A,S1,2024-01-03,1\n"
    "B,S2,yesterday,2\n"
    "C,S1,2024-02-05,-3\n"
    "D,S1,2024-02-05,abc\n"
)


@pytest.mark.parametrize("out", ["o.csv", "o.parquet"])
def test_forecast_bad_rows(out: str, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text(BAD_DEMAND)
    lines = assert_user_error(run("forecast", "bad.csv", "--out", out, cwd=tmp_path))
    assert len(lines) == 3, lines
    assert "error: bad.csv, row 3, column 'date': not a date" in "\n".join(lines)
    assert any(
        ln.startswith("error: bad.csv, row 4, column 'quantity': negative value") for ln in lines
    )
    assert any(
        ln.startswith("error: bad.csv, row 5, column 'quantity': not a number") for ln in lines
    )
    assert not (tmp_path / out).exists()
    assert listing(tmp_path) == ["bad.csv"]


def test_classify_bad_dataset_writes_nothing(dataset: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("items.csv", "sites.csv"):
        (bad / name).write_bytes((dataset / name).read_bytes())
    item = pl.read_csv(dataset / "items.csv")["item_id"][0]
    (bad / "demand.csv").write_text(
        "item_id,site_id,date,quantity\n"
        f"{item},DC01,2024-01-03,1\n"
        f"{item},S99,2024-01-04,1\n"
        f"NOPE,DC01,2024-01-05,1\n"
    )
    lines = assert_user_error(run("classify", "bad", "--out", "c.csv", cwd=tmp_path))
    assert sorted(lines) == [
        "error: demand.csv, row 3, column 'site_id': unknown id, not in sites (got 'S99')",
        "error: demand.csv, row 4, column 'item_id': unknown id, not in items (got 'NOPE')",
    ]
    assert not (tmp_path / "c.csv").exists()


def test_many_faults_are_capped(tmp_path: Path) -> None:
    rows = "".join(f"A,2024-01-{d:02d},-1\n" for d in range(1, 29)) * 3  # 84 bad rows
    (tmp_path / "d.csv").write_text("item_id,date,quantity\n" + rows)
    result = run("forecast", "d.csv", "--out", "o.csv", cwd=tmp_path)
    lines = assert_user_error(result)
    assert len(lines) == 51
    assert lines[-1] == "error: ... and 34 more faults not shown"
    assert not (tmp_path / "o.csv").exists()


BAD_OPTIONS = [
    pytest.param(["--method", "foo"], "method", id="unknown-method"),
    pytest.param(["--method", "croston,prophet"], "prophet", id="unknown-method-in-list"),
    pytest.param(["--horizon", "0"], "horizon", id="horizon-0"),
    pytest.param(["--horizon", "-3"], "horizon", id="horizon-negative"),
    pytest.param(["--period", "year"], "period", id="period-year"),
    pytest.param(["--alpha-d", "0"], "alpha-d", id="alpha-d-0"),
    pytest.param(["--alpha-d", "1.5"], "alpha-d", id="alpha-d-above-1"),
    pytest.param(["--alpha-p", "0"], "alpha-p", id="alpha-p-0"),
    pytest.param(["--quantiles", "0.5,1.5"], "quantiles", id="quantile-above-1"),
    pytest.param(["--quantiles", "a,b"], "quantiles", id="quantile-not-number"),
    pytest.param(["--window", "0"], "window", id="window-0"),
]


@pytest.mark.parametrize(("options", "named"), BAD_OPTIONS)
def test_forecast_bad_options(
    options: list[str], named: str, dataset: Path, tmp_path: Path
) -> None:
    result = run("forecast", dataset / "demand.csv", *options, "--out", "o.csv", cwd=tmp_path)
    lines = assert_user_error(result)
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert listing(tmp_path) == []


def test_forecast_out_with_wrong_suffix(dataset: Path, tmp_path: Path) -> None:
    result = run("forecast", dataset / "demand.csv", "--out", "x.txt", cwd=tmp_path)
    lines = assert_user_error(result)
    assert lines == ["error: --out: x.txt: use a file ending in .csv, .parquet, .xlsx"]
    assert listing(tmp_path) == []


def test_classify_out_with_wrong_suffix(dataset: Path, tmp_path: Path) -> None:
    lines = assert_user_error(run("classify", dataset, "--out", "x.txt", cwd=tmp_path))
    assert lines == ["error: --out: x.txt: use a file ending in .csv, .parquet, .xlsx"]
    assert listing(tmp_path) == []


def test_option_of_wrong_type_is_a_usage_error(dataset: Path, tmp_path: Path) -> None:
    result = run(
        "forecast", dataset / "demand.csv", "--horizon", "three", "--out", "o.csv", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--horizon" in result.stderr
    assert listing(tmp_path) == []


def test_forecast_missing_input_file(tmp_path: Path) -> None:
    lines = assert_user_error(run("forecast", "missing.csv", "--out", "o.csv", cwd=tmp_path))
    assert len(lines) == 1
    assert "missing.csv" in lines[0]
    assert "not found" in lines[0]
    assert listing(tmp_path) == []


def test_forecast_unsupported_input_suffix(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("item_id,date,quantity\nA,2024-01-01,1\n")
    lines = assert_user_error(run("forecast", "d.txt", "--out", "o.csv", cwd=tmp_path))
    assert len(lines) == 1
    assert "unsupported file type '.txt'" in lines[0]
    assert listing(tmp_path) == ["d.txt"]


def test_classify_missing_folder(tmp_path: Path) -> None:
    lines = assert_user_error(run("classify", "nowhere", "--out", "c.csv", cwd=tmp_path))
    assert len(lines) == 1
    assert "nowhere" in lines[0]
    assert listing(tmp_path) == []


def test_forecast_out_parent_is_a_file(dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = run(
        "forecast",
        dataset / "demand.csv",
        "--method",
        "sba",
        "--horizon",
        "1",
        "--out",
        "afile/o.csv",
        cwd=tmp_path,
    )
    lines = assert_user_error(result)
    assert len(lines) == 1
    assert "afile" in lines[0]


def test_forecast_blank_site_ids(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(
        "item_id,site_id,date,quantity\nA,S1,2024-01-03,1\nB,,2024-01-10,2\nA,S1,2024-02-05,3\nB,,2024-03-01,4\n"
    )
    result = run(
        "forecast", "d.csv", "--method", "sba", "--horizon", "1", "--out", "o.csv", cwd=tmp_path
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 2)


# ---------------------------------------------------------------------------------------
# demo


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("demo")
    result = run("demo", "--out", "out", "--items", "60", "--sites", "2", cwd=work)
    assert_ok(result)
    return work / "out"


def test_demo_writes_outputs(demo_out: Path) -> None:
    for name in ("forecast.parquet", "summary.json", "report.html"):
        assert (demo_out / name).is_file(), name
    assert not [p for p in demo_out.rglob("*") if p.name.endswith(".tmp")]


def test_demo_summary(demo_out: Path) -> None:
    summary = json.loads((demo_out / "summary.json").read_text())
    for key in ("item_sites", "items", "sites", "demand_classes", "accuracy", "horizon", "period"):
        assert key in summary, key
    assert all(k == k.lower() and " " not in k for k in summary)  # snake_case
    assert summary["items"] <= 60
    assert summary["sites"] == 2
    assert summary["period"] == "month"
    assert sum(summary["demand_classes"].values()) == summary["item_sites"]
    assert set(summary["demand_classes"]) <= CLASSES
    assert summary["accuracy"], "accuracy must list methods"
    for row in summary["accuracy"]:
        assert {"method", "rmsse", "mae", "bias"} <= set(row)
        assert row["demand_class"] == "all"
        assert row["series"] == summary["item_sites"]
    forecast = pl.read_parquet(demo_out / "forecast.parquet")
    assert forecast.select("item_id", "site_id").unique().height == summary["item_sites"]
    for col in ("item_id", "site_id", "step", "date", "method", "forecast"):
        assert col in forecast.columns
    assert forecast["step"].max() == summary["horizon"]


def test_demo_runs_the_operations_side_on_sqlite(demo_out: Path) -> None:
    """The demo imports its dataset into a SQLite store, drafts the plan's orders there and
    measures its KPIs; the store's ledger balances and its on hand is the stock file's."""
    from spareflow.services import ledger
    from spareflow.store.models import Order
    from spareflow.store.session import make_engine, session_factory, unit_of_work

    ops = json.loads((demo_out / "operations.json").read_text())
    plan = pl.read_parquet(demo_out / "plan.parquet")
    ordering = plan.filter(pl.col("order_now") > 0)
    assert ops["drafted"]["lines"] == ordering.height
    assert ops["imported"]["items"] <= 60 and ops["imported"]["sites"] == 2
    assert ops["kpis"]["inventory"]["value_end"] is not None
    assert "reconstructed, not observed" in ops["note"]
    stock = pl.read_csv(demo_out / "dataset" / "stock.csv")
    engine = make_engine(f"sqlite:///{demo_out / 'spareflow.db'}")
    with unit_of_work(session_factory(engine)) as s:
        assert ledger.reconcile(s) == []
        held = {(lv.item_id, lv.site_id): lv.on_hand for lv in ledger.stock_levels(s)}
        drafts = (  # the plan's drafts (the day of coordination's DRP makes its own)
            s.query(Order).filter(Order.status == "draft", Order.note.not_like("DRP run%")).count()
        )
    engine.dispose()
    assert drafts == ops["drafted"]["orders"]
    for row in stock.filter(pl.col("on_hand") > 0).iter_rows(named=True):
        assert held[(row["item_id"], row["site_id"])] == row["on_hand"]


def test_demo_runs_a_day_of_coordination(demo_out: Path) -> None:
    """DRP on the demo network, its transfers released and built into rated shipments,
    a feasible van route, and a tracker's trip through the broker raising alerts (or a
    note saying no broker was reachable)."""
    from store_backends import mqtt_reachable

    day = json.loads((demo_out / "coordination" / "coordination.json").read_text())
    assert [lane["lane_id"] for lane in day["network"]["lanes"]] == ["DC01-S02"]
    assert day["drp"]["planned_orders"] > 0 and day["drp"]["transfers_released"] > 0
    built = day["shipments"]
    shipments = pl.read_csv(demo_out / "coordination" / "shipments.csv")
    assert built["shipments"] == shipments.height > 0
    assert built["consolidated_cost"] == pytest.approx(shipments["freight_cost"].sum(), abs=0.01)
    assert built["saving"] == pytest.approx(
        built["alone_cost"] - built["consolidated_cost"], abs=0.01
    )
    assert built["saving"] >= 0 and built["sample_tariff"] is True
    assert day["route"]["feasible"] and day["route"]["stops"] == 30
    route = pl.read_csv(demo_out / "coordination" / "route.csv")
    assert sorted(route["stop_id"].to_list()) == sorted(set(route["stop_id"].to_list()))
    assert route.height == 30
    tracking = day["tracking"]
    if mqtt_reachable() is None:
        kinds = [e["kind"] for e in tracking["events"]]
        assert kinds == ["planned", "departed", "temperature_excursion",
                         "temperature_recovered", "arrived"]  # fmt: skip
        assert (tracking["stored"], tracking["duplicates"]) == (6, 1)
        assert tracking["status"] == "arrived"
    else:
        assert "no MQTT broker reachable" in tracking["note"]


def test_demo_report_self_contained(demo_out: Path) -> None:
    html = (demo_out / "report.html").read_text(encoding="utf-8")
    assert (demo_out / "report.html").stat().st_size > 100_000
    assert "plotly" in html.lower()
    assert '<script src="http' not in html
    assert "<script src='http" not in html
    assert html.lstrip().lower().startswith("<!doctype html")
