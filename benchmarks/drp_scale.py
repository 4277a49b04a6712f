"""DRP at scale: 100,000 item-sites over 3 echelons x 52 weekly buckets (issue 7's target:
at most 30 s on 2 cores), against a record-by-record transcription of the textbook DRP
(the test oracle in tests/network/test_drp.py; no open DRP engine exists to run beside
it). Prints both times, their ratio, the largest difference and peak memory.

    .venv/bin/python benchmarks/drp_scale.py [--items 5000] [--regions 3] [--sites 16] \
        [--weeks 52] [--reference-items 5000]

Each item has one DC (supplied from outside, 4-8 weeks), ``--regions`` regional
warehouses (from the DC, 1-2 weeks) and ``--sites`` service sites spread over them (from
their region, 0-1 week): 5,000 items give 100,000 item-sites. Demand at the service sites
is intermittent (a unit or a few, 30 % of weeks); lot sizes mix lot-for-lot, periods of
supply and case multiples. ``--reference-items``: how many items the transcription plans
(it takes minutes for all of them); the ratio compares time per item-site.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import time
from pathlib import Path

import numpy as np

from spareflow.network.drp import DrpInput, plan


def generate(items: int, regions: int, sites: int, weeks: int, seed: int = 7) -> DrpInput:
    rng = np.random.default_rng(seed)
    per_item = 1 + regions + sites
    n = items * per_item
    base = np.arange(items) * per_item
    source = np.full(n, -1, dtype=np.int64)
    lead = np.zeros(n, dtype=np.int64)
    for r in range(regions):
        source[base + 1 + r] = base
        lead[base + 1 + r] = rng.integers(1, 3, items)
    lead[base] = rng.integers(4, 9, items)
    for s in range(sites):
        k = base + 1 + regions + s
        source[k] = base + 1 + (s % regions)
        lead[k] = rng.integers(0, 2, items)
    service = source >= 0
    for r in range(regions):  # regional warehouses are not service sites
        service[base + 1 + r] = False
    gross = np.zeros((n, weeks))
    gross[service] = rng.poisson(1.5, (int(service.sum()), weeks)) * (
        rng.random((int(service.sum()), weeks)) < 0.3
    )
    return DrpInput(
        gross=gross,
        on_hand=rng.integers(0, 8, n).astype(float) * np.where(service, 1, 6),
        scheduled_receipts=np.zeros((n, weeks)),
        safety_stock=rng.integers(0, 3, n).astype(float),
        lead_time=lead,
        source=source,
        periods_of_supply=rng.choice([1, 1, 2, 4], n),
        min_lot=rng.choice([0.0, 0.0, 5.0], n),
        lot_multiple=rng.choice([0.0, 1.0, 6.0, 12.0], n),
    )


def subset(data: DrpInput, rows: slice) -> DrpInput:
    start = rows.start or 0
    return DrpInput(
        gross=data.gross[rows],
        on_hand=data.on_hand[rows],
        scheduled_receipts=data.scheduled_receipts[rows],
        safety_stock=data.safety_stock[rows],
        lead_time=data.lead_time[rows],
        source=np.where(data.source[rows] >= 0, data.source[rows] - start, -1),
        periods_of_supply=data.periods_of_supply[rows],
        min_lot=data.min_lot[rows],
        lot_multiple=data.lot_multiple[rows],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--regions", type=int, default=3)
    parser.add_argument("--sites", type=int, default=16)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--reference-items", type=int, default=5000)
    args = parser.parse_args()
    data = generate(args.items, args.regions, args.sites, args.weeks)
    n = data.gross.shape[0]
    started = time.perf_counter()
    result = plan(data)
    ours = time.perf_counter() - started
    print(
        f"DRP: {n:,} item-sites ({args.items:,} items, 3 echelons) x {args.weeks} weeks in "
        f"{ours:.2f} s; {int((result.planned_receipts > 0).sum()):,} planned orders"
    )

    oracle_file = Path(__file__).resolve().parent.parent / "tests" / "network" / "test_drp.py"
    spec = importlib.util.spec_from_file_location("drp_oracle", oracle_file)
    assert spec is not None and spec.loader is not None
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)
    per_item = 1 + args.regions + args.sites
    rows = slice(0, min(args.reference_items, args.items) * per_item)
    part = subset(data, rows)
    started = time.perf_counter()
    receipts, _, _ = oracle.reference(part)
    theirs = time.perf_counter() - started
    m = part.gross.shape[0]
    gap = float(np.abs(receipts - result.planned_receipts[rows]).max())
    print(
        f"record-by-record transcription: {m:,} item-sites in {theirs:.2f} s; per item-site "
        f"{theirs / m / (ours / n):.0f}x the time of the vectorised plan; largest difference "
        f"in planned receipts {gap:g}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory {peak:.2f} GiB")


if __name__ == "__main__":
    main()
