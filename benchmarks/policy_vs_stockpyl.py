"""Benchmark spareflow's exact (s, S) and (r, Q) optimisers against stockpyl.

One process. spareflow is imported first (its import time is reported) and solves every
generated item in one call per policy; peak RSS (``resource.getrusage``) is read before
and after, so the growth is what the solves took. Then stockpyl is imported and solves a
random sample, one item per call (that is its API), and the two are compared on the
sample: largest relative cost difference and how many policies are the same (where they
differ the optimum is tied; tests/stock/test_ss.py and test_rq.py check that).

Items: Poisson demand mean 0.1..50 per period, h 0.1..5, p 1..100, K 0..200 (uniform).
(s, S): zero lead time (stockpyl has none). (r, Q): lead time 1..5 time units (stockpyl
needs a positive lead-time mean).

    .venv/bin/python benchmarks/policy_vs_stockpyl.py [--items 100000] [--sample 200]
        [--seed 1] [--threads N]

stockpyl takes a few tenths of a second per (s, S) item, so the default sample costs about
a minute or two.
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from spareflow.stock.rq import optimal_rq  # noqa: E402
from spareflow.stock.ss import optimal_ss  # noqa: E402

_IMPORTED = time.perf_counter()

F64 = NDArray[np.float64]


def peak_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class Items:
    mean: F64
    holding: F64
    stockout: F64
    fixed: F64
    lead_time_rq: F64


def generate(n: int, seed: int) -> Items:
    rng = np.random.default_rng(seed)
    return Items(
        mean=rng.uniform(0.1, 50.0, n),
        holding=rng.uniform(0.1, 5.0, n),
        stockout=rng.uniform(1.0, 100.0, n),
        fixed=rng.uniform(0.0, 200.0, n),
        lead_time_rq=rng.integers(1, 6, n).astype(np.float64),
    )


@dataclass(frozen=True)
class Comparison:
    seconds: float
    worst_rel: float
    same_policy: int
    size: int


def compare(
    sample: NDArray[np.int64],
    ours_policy: NDArray[np.int64],
    ours_cost: F64,
    call: Callable[[int], tuple[float, float, float]],
    label: str,
) -> Comparison:
    """Run stockpyl on each sampled item (timed), compare policy and cost with ours."""
    worst, same, spent = 0.0, 0, 0.0
    for k, i in enumerate(sample, 1):
        t0 = time.perf_counter()
        a, b, cost = call(int(i))
        spent += time.perf_counter() - t0
        worst = max(worst, abs(ours_cost[i] - cost) / abs(cost))
        same += int((int(a), int(b)) == tuple(ours_policy[i]))
        if k % 20 == 0 or k == sample.size:
            print(f"\r  stockpyl {label}: {k}/{sample.size} items", end="", file=sys.stderr)
    print(file=sys.stderr)
    return Comparison(spent, worst, same, int(sample.size))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000, help="items spareflow solves")
    ap.add_argument("--sample", type=int, default=200, help="items stockpyl solves")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="spareflow (s, S) threads")
    args = ap.parse_args()

    x = generate(args.items, args.seed)
    rss_before = peak_mib()
    t0 = time.perf_counter()
    ss = optimal_ss(x.mean, 0, x.holding, x.stockout, x.fixed, threads=args.threads)
    t_ss = time.perf_counter() - t0
    t0 = time.perf_counter()
    rq = optimal_rq(x.mean, x.lead_time_rq, x.holding, x.stockout, x.fixed)
    t_rq = time.perf_counter() - t0
    rss_after = peak_mib()

    t0 = time.perf_counter()
    from stockpyl.rq import r_q_poisson_exact  # type: ignore[import-untyped]
    from stockpyl.ss import s_s_discrete_exact  # type: ignore[import-untyped]

    t_import_stockpyl = time.perf_counter() - t0

    rng = np.random.default_rng(args.seed + 1)
    sample = np.sort(rng.choice(args.items, min(args.sample, args.items), replace=False))
    ss_policy = np.column_stack([ss.reorder_point, ss.order_up_to])
    rq_policy = np.column_stack([rq.reorder_point, rq.order_quantity])
    h, p, K, mu, L = x.holding, x.stockout, x.fixed, x.mean, x.lead_time_rq
    cmp_ss = compare(
        sample,
        ss_policy,
        ss.expected_cost,
        lambda i: s_s_discrete_exact(h[i], p[i], K[i], True, mu[i]),
        "(s, S)",
    )
    cmp_rq = compare(
        sample,
        rq_policy,
        rq.expected_cost,
        lambda i: r_q_poisson_exact(h[i], p[i], K[i], mu[i], L[i]),
        "(r, Q)",
    )

    n = args.items
    imports = _IMPORTED - _START
    print()
    print(f"items: {n:,} (spareflow), sample {cmp_ss.size} (stockpyl), seed {args.seed}")
    print(f"import numpy + scipy + spareflow.stock: {imports:6.2f} s")
    print(f"import stockpyl (numpy, scipy loaded):  {t_import_stockpyl:6.2f} s")
    print(f"peak RSS: {rss_before:.0f} MiB before solving, {rss_after:.0f} MiB after spareflow")
    print()
    head = f"{'policy':8} {'spareflow all':>14} {'per item':>10} {'stockpyl per item':>18}"
    head += f" {'ratio':>9} {'max rel cost diff':>18} {'same policy':>12}"
    print(head)
    for name, ours_s, c in (("(s, S)", t_ss, cmp_ss), ("(r, Q)", t_rq, cmp_rq)):
        ours_item = ours_s / n
        theirs_item = c.seconds / c.size
        print(
            f"{name:8} {ours_s:12.2f} s {ours_item * 1e6:7.1f} us {theirs_item * 1e3:15.1f} ms"
            f" {theirs_item / ours_item:8.0f}x {c.worst_rel:18.1e} {c.same_policy:>6}/{c.size}"
        )
    both = t_ss + t_rq
    print(
        f"\nspareflow whole job (imports + both policies for {n:,} items): "
        f"{imports + both:.2f} s; per item incl. imports {(imports + both) / n * 1e6:.1f} us"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
