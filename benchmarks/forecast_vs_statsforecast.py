"""Benchmark ``spareflow forecast`` against statsforecast on intermittent monthly series.

Both tools run as whole, separate processes (cold start, imports and JIT included) on the
same generated data; wall time and the child's peak RSS come from ``os.wait4``. Then the
forecasts are joined on (series, date) and compared per method.

Linux floors a child's ru_maxrss at its parent's RSS at fork/exec time (the pre-exec
address space counts), and this script holds the generated data, so each tool is
spawned by a lean launcher (``python -I -S``, ~10 MiB) that does the Popen + wait4.

    .venv/bin/python benchmarks/forecast_vs_statsforecast.py --series 50000 --repeat 3
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# Our method name -> statsforecast output column.
METHODS: dict[str, str] = {
    "croston": "CrostonClassic",
    "sba": "CrostonSBA",
    "tsb": "TSB",
    "adida": "ADIDA",
    "imapa": "IMAPA",
}

RUNNER = '''\
"""statsforecast runner written by benchmarks/forecast_vs_statsforecast.py."""
import sys

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import ADIDA, IMAPA, TSB, CrostonClassic, CrostonSBA

src, dst, h = sys.argv[1], sys.argv[2], int(sys.argv[3])
df = pd.read_csv(src, parse_dates=["ds"], dtype={"unique_id": str})
sf = StatsForecast(
    models=[CrostonClassic(), CrostonSBA(), TSB(alpha_d=0.1, alpha_p=0.1), ADIDA(), IMAPA()],
    freq="MS",
    n_jobs=1,
)
out = sf.forecast(df=df, h=h)
if "unique_id" not in out.columns:
    out = out.reset_index()
out.to_csv(dst, index=False)
'''


@dataclass
class Run:
    seconds: float
    peak_mib: float


def generate(n: int, t: int, seed: int) -> pd.DataFrame:
    """N intermittent monthly series x T periods, long format, zeros included."""
    rng = np.random.default_rng(seed)
    prob = rng.uniform(0.05, 0.95, n)
    shape = rng.uniform(0.5, 3.0, n)
    scale = rng.lognormal(mean=1.0, sigma=1.0, size=n)
    occurs = rng.random((n, t)) < prob[:, None]
    sizes = np.ceil(rng.gamma(shape[:, None], scale[:, None], (n, t)))
    qty = np.where(occurs, np.maximum(sizes, 1.0), 0.0).astype(np.int64)
    qty[rng.random(n) < 0.03] = 0  # dead parts: no demand at all
    # Zero stretches (phase-in, phase-out, supersession gaps) for ~20% of the series.
    gappy = np.flatnonzero(rng.random(n) < 0.20)
    length = rng.integers(3, max(4, t // 2), gappy.size)
    start = rng.integers(0, t, gappy.size)
    cols = np.arange(t)
    mask = (cols >= start[:, None]) & (cols < (start + length)[:, None])
    qty[gappy] = np.where(mask, 0, qty[gappy])
    dates = pd.date_range("2020-01-01", periods=t, freq="MS").strftime("%Y-%m-%d")
    ids = np.char.add("P", np.char.zfill(np.arange(n).astype(str), 6))
    return pd.DataFrame({"id": np.repeat(ids, t), "date": np.tile(dates, n), "qty": qty.ravel()})


# Run argv[2:] with stdout+stderr to argv[1]; print wall seconds, peak RSS (KiB), exit code.
LAUNCHER = """\
import os, subprocess, sys, time
with open(sys.argv[1], "w") as log:
    t0 = time.perf_counter()
    proc = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
print(seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measure(cmd: list[str], log: Path) -> Run:
    """Run ``cmd`` to completion from the lean launcher; wall seconds and peak RSS."""
    launch = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(log), *cmd]
    done = subprocess.run(launch, capture_output=True, text=True, check=True)
    seconds, max_rss_kib, code = done.stdout.split()
    if int(code) != 0:
        sys.exit(f"command failed ({code}): {shlex.join(cmd)}\n{log.read_text()}")
    return Run(float(seconds), int(max_rss_kib) / 1024)


def compare(ours_csv: Path, ref_csv: Path) -> dict[str, tuple[float, int]]:
    """Per method: largest |ours - ref| / max(|ref|, 1e-9) and number of rows compared."""
    ours = pd.read_csv(ours_csv, dtype={"item_id": str}, parse_dates=["date"])
    ref = pd.read_csv(ref_csv, dtype={"unique_id": str}, parse_dates=["ds"])
    ref = ref.rename(columns={"unique_id": "item_id", "ds": "date"})
    result: dict[str, tuple[float, int]] = {}
    for method, column in METHODS.items():
        mine = ours.loc[ours["method"] == method, ["item_id", "date", "forecast"]]
        both = mine.merge(ref[["item_id", "date", column]], on=["item_id", "date"])
        a = both["forecast"].to_numpy(float)
        b = both[column].to_numpy(float)
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
        rel = np.where(np.isnan(a) & np.isnan(b), 0.0, rel)  # both undefined: agree
        rel = np.where(np.isnan(rel), np.inf, rel)  # only one undefined: disagree
        result[method] = (float(rel.max()) if rel.size else float("nan"), len(both))
    return result


def ratio_text(theirs: float, ours: float, more: str, less: str) -> str:
    r = theirs / ours
    return f"{r:.2f}x {more}" if r >= 1 else f"{1 / r:.2f}x {less}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=50_000)
    ap.add_argument("--periods", type=int, default=48)
    ap.add_argument("--horizon", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=1, help="rounds of (statsforecast, spareflow)")
    ap.add_argument("--workdir", type=Path, help="keep inputs/outputs here (default: temp dir)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n, t, h = args.series, args.periods, args.horizon

    bindir = Path(sys.executable).parent
    spareflow = bindir / "spareflow"
    if not spareflow.exists():
        sys.exit(f"spareflow script not found next to {sys.executable}")
    keep = args.workdir is not None
    work = Path(args.workdir) if keep else Path(tempfile.mkdtemp(prefix="sf_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        demand = generate(n, t, args.seed)
        demand.set_axis(["item_id", "date", "quantity"], axis=1).to_csv(
            work / "spareflow_in.csv", index=False
        )
        demand.set_axis(["unique_id", "ds", "y"], axis=1).to_csv(
            work / "statsforecast_in.csv", index=False
        )
        zero_share = float((demand["qty"] == 0).mean())
        del demand
        runner = work / "run_statsforecast.py"
        runner.write_text(RUNNER)

        methods = ",".join(METHODS)
        cmd_ours = [
            str(spareflow), "forecast", str(work / "spareflow_in.csv"),
            "--method", methods, "--horizon", str(h), "--period", "month",
            "--out", str(work / "spareflow_out.csv"),
        ]  # fmt: skip
        cmd_ref = [
            sys.executable, str(runner), str(work / "statsforecast_in.csv"),
            str(work / "statsforecast_out.csv"), str(h),
        ]  # fmt: skip

        ours: list[Run] = []
        ref: list[Run] = []
        for _ in range(max(1, args.repeat)):
            # each run writes a new file: deleting the previous run's output is not the
            # tool's work (tens of milliseconds for a large file), so it is done here
            (work / "statsforecast_out.csv").unlink(missing_ok=True)
            ref.append(measure(cmd_ref, work / "statsforecast.log"))
            (work / "spareflow_out.csv").unlink(missing_ok=True)
            ours.append(measure(cmd_ours, work / "spareflow.log"))
        diffs = compare(work / "spareflow_out.csv", work / "statsforecast_out.csv")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)

    sec_ours = statistics.median(r.seconds for r in ours)
    sec_ref = statistics.median(r.seconds for r in ref)
    mib_ours = statistics.median(r.peak_mib for r in ours)
    mib_ref = statistics.median(r.peak_mib for r in ref)
    expected = n * h
    print(f"series {n:,}  periods {t}  horizon {h}  ({n * t:,} input rows, "
          f"{zero_share:.0%} zeros)  rounds {len(ours)}, median shown")  # fmt: skip
    print(f"  {'tool':<14}{'wall s':>9}{'peak MiB':>10}   runs (s)")
    for name, runs, sec, mib in (
        ("statsforecast", ref, sec_ref, mib_ref),
        ("spareflow", ours, sec_ours, mib_ours),
    ):
        each = " ".join(f"{r.seconds:.2f}" for r in runs)
        print(f"  {name:<14}{sec:>9.2f}{mib:>10.0f}   {each}")
    print(f"time:   spareflow is {ratio_text(sec_ref, sec_ours, 'faster', 'slower')}")
    print(f"memory: spareflow uses {ratio_text(mib_ref, mib_ours, 'less', 'more')} peak RSS")
    print(f"largest relative difference vs statsforecast (rows compared, expected {expected:,}):")
    bad = False
    for method, (worst, rows) in diffs.items():
        flag = "" if rows == expected else "   <-- WRONG ROW COUNT"
        bad = bad or rows != expected
        print(f"  {method:<8}{METHODS[method]:<16}{worst:>10.2e}  {rows:>12,}{flag}")
    print("commands:")
    print(f"  {shlex.join(cmd_ref)}")
    print(f"  {shlex.join(cmd_ours)}")
    if not keep:
        print(f"  (workdir {work} removed; pass --workdir to keep it)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
