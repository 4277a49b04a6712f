"""Bulk import of the demo dataset into the store, SQLite and PostgreSQL: seconds and rows.

    .venv/bin/python benchmarks/bulk_import.py [--items 2000] [--sites 3] \
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Generates the demo dataset (seeded), imports it into a fresh SQLite file and a fresh
PostgreSQL schema, proves the ledger sound (reconcile) and prints the time per backend.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from _postgres import schema_engine, scratch_schema
from spareflow.data.demo import generate_dataset
from spareflow.data.write import write_dataset
from spareflow.services import ledger, users
from spareflow.services.bulk_import import import_dataset
from spareflow.store.session import make_engine, session_factory, unit_of_work, upgrade


def once(label: str, engine: object, folder: Path) -> None:
    upgrade(engine)  # type: ignore[arg-type]
    factory = session_factory(engine)  # type: ignore[arg-type]
    with unit_of_work(factory) as s:
        users.add_user(s, "root", "a long passphrase", "admin")
    start = time.perf_counter()
    summary = import_dataset(factory, folder, "root")
    took = time.perf_counter() - start
    with unit_of_work(factory) as s:
        assert ledger.reconcile(s) == []
    print(
        f"  {label:<10} {took:5.1f} s: {summary.moves:,} moves, {summary.balances:,} "
        f"balances, {summary.items:,} items, {summary.orders:,} orders"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        write_dataset(generate_dataset(items=args.items, sites=args.sites), folder)
        print(f"demo dataset: {args.items:,} items x {args.sites} sites")
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        once("sqlite", engine, folder)
        engine.dispose()
        with scratch_schema(args.postgres) as schema:
            if schema is not None:
                engine = schema_engine(args.postgres, schema)
                once("postgresql", engine, folder)
                engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak memory {peak:.2f} GiB")


if __name__ == "__main__":
    main()
