"""Marginal analysis of a repair network at scale: 10,000 items x 20 bases + a depot
(issue 5's target: at most 30 s on 2 cores), VARI-METRIC and METRIC for a fleet
availability target, and VARI-METRIC with every base held to it (five reweighted
curves). Prints the time of each run and the peak memory.

    .venv/bin/python benchmarks/metric_scale.py [--items 10000] [--bases 20]

The network is generated (seeded): removals 1 to 40 per year per item and base, 0-60 %
repaired at the base in 2-10 days, order-and-ship 2-8 days, depot repair 15-45 days,
fleets of 6-24 units, unit costs log-normal around 2,000.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from spareflow.multiechelon.network import RepairNetwork
from spareflow.multiechelon.optimise import optimise


def generate(items: int, bases: int, seed: int = 1) -> RepairNetwork:
    rng = np.random.default_rng(seed)
    return RepairNetwork(
        unit_cost=rng.lognormal(np.log(2000.0), 1.0, items),
        parent=np.full(items, -1, dtype=np.int64),
        quantity_per_unit=rng.integers(1, 4, items).astype(float),
        demand=rng.uniform(1.0, 40.0, (items, bases)) / 365.0,
        repair_share=rng.uniform(0.0, 0.6, (items, bases)),
        base_repair_days=rng.uniform(2.0, 10.0, (items, bases)),
        order_ship_days=rng.uniform(2.0, 8.0, (items, bases)),
        depot_repair_days=rng.uniform(15.0, 45.0, items),
        fleet_size=rng.integers(6, 24, bases).astype(float) * 10,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--bases", type=int, default=20)
    args = parser.parse_args()
    net = generate(args.items, args.bases)
    print(f"{args.items:,} items x {args.bases} bases + depot")
    for model, per_base in (("vari-metric", False), ("metric", False), ("vari-metric", True)):
        start = time.perf_counter()
        alloc, curve = optimise(net, model, availability=0.95, per_base=per_base)  # type: ignore[arg-type]
        took = time.perf_counter() - start
        label = f"{model}{' per base' if per_base else ''}"
        print(
            f"  {label:<21} availability 0.95: {took:6.1f} s, investment "
            f"{alloc.investment:,.0f}, bases' availability "
            f"{alloc.result.availability.min():.4f}-{alloc.result.availability.max():.4f}, "
            f"curve {curve.curve.n_segments:,} segments"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak memory {peak:.2f} GiB")


if __name__ == "__main__":
    main()
