"""Remaining-useful-life accuracy on NASA C-MAPSS FD001 (100 run-to-failure engines):
the gradient-boosting model of ``spareflow.reliability.pdm`` against its baselines (the
fleet-mean life minus age; a ridge regression on the same features), by cross-validation
over engines.

    .venv/bin/python benchmarks/pdm_cmapss.py [--data FILE] [--folds 5] [--seeds 0]

Engines are dealt into ``--folds`` folds (seeded); each validation engine's history is
cut after a uniformly drawn number of cycles in [31, life - 1] (seeded; 31 is the shortest
history of the official test set) and its true RUL there capped at 125. Per method it
prints RMSE and the PHM08 score (summed over the 100 engines), the Brier score of the
failure probability within 30 cycles and the coverage of the 10-90 % RUL interval (model
only), the mean training time per fold (80 engines), the training time on all 100
engines, and the peak memory (RSS) of the process that ran it: each method runs in a
fresh child process. ``--threads 1`` steadies the times on a busy machine (same
results). ``--seeds 0,1,2`` repeats with other folds and cuts and prints
each seed and the mean.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from typing import Any

DATA = Path("/work/shared/data/cmapss/train_FD001.txt")


def run(
    method: str, data: str, folds: int, seeds: list[int], threads: int | None
) -> dict[str, Any]:
    """Cross-validate ``method`` for each seed, then time a fit on all engines."""
    from spareflow.reliability.cmapss import read_cmapss
    from spareflow.reliability.pdm import PdmParams
    from spareflow.reliability.pdm_evaluation import METHODS, cross_validate

    telemetry = read_cmapss(data)
    params = PdmParams(threads=threads)
    rows = []
    for seed in seeds:
        cv = cross_validate(telemetry, params, folds=folds, seed=seed, methods=(method,))
        rows.append(cv.scores.row(0, named=True) | {"seed": seed})
    t0 = time.perf_counter()
    METHODS[method](telemetry, params)
    full = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # MiB
    return {"method": method, "rows": rows, "full_fit_s": full, "peak_mib": peak}


def _child(method: str, data: str, folds: int, seeds: list[int], threads: Any, out: Any) -> None:
    out.put(run(method, data, folds, seeds, threads))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--threads", type=int, default=None, help="OpenMP threads (all)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    ctx = multiprocessing.get_context("spawn")
    results = []
    for method in ("gbm", "linear", "mean_life"):
        queue = ctx.Queue()
        child = ctx.Process(
            target=_child, args=(method, str(args.data), args.folds, seeds, args.threads, queue)
        )
        child.start()
        results.append(queue.get())
        child.join()
        if child.exitcode:
            return 1

    head = (
        f"{'method':<10} {'seed':>4} {'RMSE':>7} {'PHM08':>9} {'Brier@30':>9} "
        f"{'cover80':>8} {'fit/fold s':>10} {'fit all s':>9} {'peak MiB':>9}"
    )
    print(f"C-MAPSS {args.data.name}: {args.folds}-fold CV over engines, seeds {args.seeds}")
    print(head)
    print("-" * len(head))
    for res in results:
        rows = res["rows"]
        if len(rows) > 1:
            keys = ("rmse", "phm08", "brier", "coverage", "fit_seconds")
            mean = {
                k: None if rows[0][k] is None else sum(r[k] for r in rows) / len(rows) for k in keys
            }
            rows = [*rows, mean | {"seed": "mean"}]
        for r in rows:
            brier, cover = r["brier"], r["coverage"]
            brier_text = "" if brier is None or brier != brier else f"{brier:.4f}"
            cover_text = "" if cover is None else f"{cover:.2f}"
            print(
                f"{res['method']:<10} {r['seed']!s:>4} {r['rmse']:7.2f} {r['phm08']:9.1f} "
                f"{brier_text:>9} {cover_text:>8} "
                f"{r['fit_seconds']:10.2f} {res['full_fit_s']:9.2f} {res['peak_mib']:9.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
