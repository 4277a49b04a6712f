"""Installed-base demand at scale: expected failures per month of 200,000 part positions
(2,000 parts, Weibull lives, ages and uses drawn seeded) over 12 months, with renewal:
one renewal function per part against one per position. Prints times, their ratio, the
largest difference and the peak memory.

    .venv/bin/python benchmarks/installed_base_scale.py [--positions 200000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from spareflow.reliability.installed_base import expected_failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=200_000)
    parser.add_argument("--parts", type=int, default=2_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    part = rng.integers(0, args.parts, args.positions)
    shape = rng.uniform(0.8, 3.0, args.parts)[part]
    scale = rng.uniform(2_000.0, 20_000.0, args.parts)[part]
    age = rng.uniform(0.0, 20_000.0, args.positions)
    use = rng.uniform(4.0, 20.0, args.positions)
    start = time.perf_counter()
    shared = expected_failures(shape, scale, age, use, 30.44, 12, part=part)
    by_part = time.perf_counter() - start
    start = time.perf_counter()
    alone = expected_failures(shape, scale, age, use, 30.44, 12)
    by_position = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{args.positions:,} positions x 12 months, {args.parts:,} parts")
    print(f"  renewal per part     {by_part:6.2f} s")
    print(f"  renewal per position {by_position:6.2f} s  ({by_position / by_part:.1f}x)")
    print(f"  largest difference   {np.abs(shared - alone).max():.1e} failures a month")
    print(f"peak memory {peak:.2f} GiB")


if __name__ == "__main__":
    main()
