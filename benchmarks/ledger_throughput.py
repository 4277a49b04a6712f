"""Ledger throughput on SQLite and PostgreSQL: postings per second, one writer and four.

Each posting is one committed transaction of two moves (a receipt and an issue of the same
item at one of 10 sites, 500 items), through ``services.ledger.post`` with all its checks
and locks. With several writers, each works on its own items or, with ``--contended``,
all on the same 10 items (the worst case: they queue on the same balance rows). Ends by
proving balances equal the sum of moves (``reconcile``).

    .venv/bin/python benchmarks/ledger_throughput.py [--postings 2000] [--writers 4] \
        [--contended] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from _postgres import schema_engine, scratch_schema
from spareflow.services import ledger, master
from spareflow.services.ledger import MoveRequest
from spareflow.store.session import make_engine, session_factory, unit_of_work, upgrade

SITES, ITEMS = 10, 500


def seed(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        for n in range(SITES):
            master.add_site(s, f"S{n}")
        for n in range(ITEMS):
            master.add_item(s, f"P{n:04d}", unit_cost=10)


def postings(factory: sessionmaker[Session], count: int, writer: int, contended: bool) -> None:
    for n in range(count):
        item = f"P{(n % 10 if contended else (writer * 97 + n) % ITEMS):04d}"
        site = f"S{n % SITES}/STOCK"
        with unit_of_work(factory) as s:
            ledger.post(
                s,
                [
                    MoveRequest(item, Decimal(3), "VIRTUAL/SUPPLIER", site, "receipt"),
                    MoveRequest(item, Decimal(2), site, "VIRTUAL/CUSTOMER", "issue"),
                ],
                f"w{writer}",
            )


def run(
    label: str, factory: sessionmaker[Session], total: int, writers: int, contended: bool
) -> None:
    seed(factory)
    for threads in sorted({1, writers}):
        each = total // threads
        start = time.perf_counter()
        workers = [
            threading.Thread(target=postings, args=(factory, each, w, contended))
            for w in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        took = time.perf_counter() - start
        rate = each * threads / took
        print(
            f"  {label:<10} {threads} writer(s): {each * threads:,} postings in {took:5.1f} s "
            f"= {rate:,.0f} postings/s ({2 * rate:,.0f} moves/s)"
        )
    with unit_of_work(factory) as s:
        assert ledger.reconcile(s) == [], "balances differ from the sum of moves"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--contended", action="store_true")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"{args.postings:,} postings of 2 moves, {'contended' if args.contended else 'spread'}")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        run("sqlite", session_factory(engine), args.postings, args.writers, args.contended)
        engine.dispose()
    with scratch_schema(args.postgres) as schema:
        if schema is None:
            return
        engine = schema_engine(args.postgres, schema, pool_size=args.writers + 1)
        upgrade(engine)
        run("postgresql", session_factory(engine), args.postings, args.writers, args.contended)
        engine.dispose()


if __name__ == "__main__":
    main()
