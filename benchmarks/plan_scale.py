"""How ``spareflow plan`` scales: generate a planning dataset of about N item-sites x 36
months as Parquet, then plan it in this process, printing the time of each stage and
the peak memory. This is ``spareflow plan`` without the command line: load, plan and write
the plan, ERP rules, summary and report into ``--workdir``/plan.

    .venv/bin/python benchmarks/plan_scale.py [--item-sites 1000000] [--workdir DIR]

The demo generator makes about 2.6 item-sites per item at 3 sites, so the item count is
N / 2.6; a dataset already in ``--workdir`` is reused. The generator writes order lines
(about 66 per item-site over 36 months); with ``--grain month`` (the default) the demand
table is first summed to one row per item-site and month with demand, the consumption
history an ERP exports (about 17 rows per item-site). ``--grain line`` keeps the order
lines. The dataset is generated in a child process, so its memory is not counted.
The plan simulates itself as ``spareflow plan`` does by default (a seeded sample of at most
6,000 item-sites, 3,650 days x 5 replications); ``--simulate-days 0`` skips it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def generate(items: int, folder: Path, grain: str) -> None:
    """The demo dataset of ``items`` items at 3 sites as Parquet in ``folder``."""
    import polars as pl

    from spareflow.data.demo import generate_dataset
    from spareflow.data.write import write_dataset

    tables = generate_dataset(items=items, sites=3, seed=1)
    if grain == "month":
        tables["demand"] = (
            tables["demand"]
            .lazy()
            .with_columns(pl.col("date").dt.truncate("1mo"))
            .group_by("item_id", "site_id", "date")
            .agg(pl.col("quantity").sum())
            .sort("date", "item_id", "site_id")
            .collect()
        )
    write_dataset(tables, folder, "parquet")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--item-sites", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--simulate-days", type=int, default=3650)  # PlanParams' default
    parser.add_argument("--grain", choices=("month", "line"), default="month")
    args = parser.parse_args()

    from spareflow.data.load import load_dataset
    from spareflow.job import run_plan
    from spareflow.plan.stock import PlanParams

    work = args.workdir or Path(tempfile.mkdtemp(prefix="spareflow-scale-"))
    folder = work / "dataset"
    if (folder / "demand.parquet").exists():
        print(f"reusing the dataset in {folder}", flush=True)
    else:
        t0 = time.perf_counter()
        items = max(1, round(args.item_sites / 2.6))
        ctx = multiprocessing.get_context("spawn")
        child = ctx.Process(target=generate, args=(items, folder, args.grain))
        child.start()
        child.join()
        if child.exitcode != 0:
            return 1
        print(f"generate + write Parquet: {time.perf_counter() - t0:7.1f} s", flush=True)

    stages: dict[str, float] = {}
    ended = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        stages.setdefault(stage, now)
        if done >= total:
            ended[0] = now
            print(f"  {stage:<10} {now - stages[stage]:7.1f} s", flush=True)

    start = time.perf_counter()
    dataset = load_dataset(folder)
    print(f"  load       {time.perf_counter() - start:7.1f} s", flush=True)
    params = PlanParams(simulate_days=args.simulate_days)
    out = work / "plan"
    plan, _ = run_plan(dataset, out, params, progress=progress)
    total = time.perf_counter() - start
    print(
        f"  write      {time.perf_counter() - ended[0]:7.1f} s  (plan, ERP rules, summary, report)"
    )
    print(
        f"plan of {plan.table.height:,} item-sites: {total:.1f} s, peak memory {peak_gib():.2f} GiB"
    )
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
