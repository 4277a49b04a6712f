"""Stock moves through the REST API on PostgreSQL: moves per second, p50 and p99 latency.

    .venv/bin/python benchmarks/api_throughput.py [--clients 16] [--seconds 15] \
        [--workers 2] [--bulk 20000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Starts ``spareflow serve --workers N`` on a fresh PostgreSQL schema (1,000 items with
stock at one site), signs in, then:

1. ``--clients`` concurrent keep-alive connections each POST /moves one move at a time
   (an issue of 1 unit of a random item, every check and lock of the ledger) for
   ``--seconds``; prints moves/s and the latency percentiles of the requests;
2. POST /moves/bulk with ``--bulk`` moves per request, three times; prints moves/s.

The load generator is a minimal asyncio HTTP/1.1 client in this process (a few
microseconds per request), so the server gets almost all of the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text

from _postgres import schema_engine, scratch_schema
from spareflow.services import ledger, master, users
from spareflow.services.ledger import MoveRequest
from spareflow.store.session import session_factory, unit_of_work, upgrade

ITEMS, PASSWORD = 1000, "benchmark passphrase"


def seed(url: str, schema: str) -> None:
    engine = schema_engine(url, schema)
    upgrade(engine)
    factory = session_factory(engine)
    with unit_of_work(factory) as s:
        users.add_user(s, "bench", PASSWORD, "admin")
        master.add_site(s, "HUB")
        for n in range(ITEMS):
            master.add_item(s, f"P{n:04d}", unit_cost=10)
        ledger.post_many(
            s,
            [
                MoveRequest(
                    f"P{n:04d}", Decimal(1_000_000), "VIRTUAL/SUPPLIER", "HUB/STOCK", "receipt"
                )
                for n in range(ITEMS)
            ],
            "bench",
        )
    with engine.connect() as connection:  # planner statistics, as autovacuum keeps in use
        connection.execute(text("ANALYZE"))
        connection.commit()
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=600) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(port: int, clients: int) -> list[Connection]:
    """Keep-alive connections, opened one at a time: a burst of connects is taken by
    whichever worker wakes first (asyncio accepts a whole backlog at once), leaving the
    other worker idle, which no load balancer in front of a real server would do."""
    connections = []
    for _ in range(clients):
        connections.append(await asyncio.open_connection("127.0.0.1", port))
        await asyncio.sleep(0.05)
    return connections


async def client(
    connection: Connection,
    token: str,
    stop_at: float,
    latencies: list[float],
    statuses: dict[int, int],
    per_request: int = 1,
) -> None:
    reader, writer = connection
    head = (
        f"POST /moves HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
    )
    rng = random.Random()
    while time.perf_counter() < stop_at:
        body = json.dumps(
            {
                "moves": [
                    {
                        "item_id": f"P{rng.randrange(ITEMS):04d}",
                        "quantity": 1,
                        "from_location_id": "HUB/STOCK",
                        "to_location_id": "VIRTUAL/CUSTOMER",
                        "reason": "issue",
                    }
                    for _ in range(per_request)
                ]
            }
        ).encode()
        started = time.perf_counter()
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1


Result = tuple[list[float], dict[int, int], float]


async def load(
    connections: list[Connection], token: str, seconds: float, per_request: int = 1
) -> Result:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    stop_at = start + seconds
    await asyncio.gather(
        *(client(c, token, stop_at, latencies, statuses, per_request) for c in connections)
    )
    return latencies, statuses, time.perf_counter() - start


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` and their descendants (Linux /proc; 0 elsewhere)."""
    total, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        proc = Path(f"/proc/{pid}")
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in (proc / "task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def database_backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving this database's clients now."""
    engine = create_engine(url)
    with engine.connect() as connection:
        found = list(
            connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
    engine.dispose()
    return found


async def run_loads(
    port: int,
    token: str,
    clients: int,
    seconds: float,
    batch: int,
    server_pid: int,
    database_url: str,
) -> tuple[list[Result], tuple[float, float]]:
    """Warm every worker up, then one run per request size, on the same connections.
    Returns the runs, and the CPU seconds of the server's processes and of the
    database's during the single-move run."""
    connections = await connect(port, clients)
    await load(connections, token, 2.0)
    server, backends = cpu_seconds([server_pid]), database_backends(database_url)
    database = cpu_seconds(backends)
    results = [await load(connections, token, seconds)]
    cpu = (cpu_seconds([server_pid]) - server, cpu_seconds(backends) - database)
    if batch > 1:
        results.append(await load(connections, token, seconds, batch))
    for _, writer in connections:
        writer.close()
    return results, cpu


def report(title: str, result: Result, moves_per_request: int) -> int:
    """Print a run's moves per second and latency percentiles; returns the moves posted."""
    latencies, statuses, took = result
    ok = statuses.get(201, 0) * moves_per_request
    ms = np.array(latencies) * 1000
    print(title)
    print(
        f"  {ok / took:,.0f} moves/s ({ok:,} in {took:.1f} s), latency p50 "
        f"{np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bulk", type=int, default=20_000)
    parser.add_argument(
        "--batch",
        type=int,
        default=10,
        help="also measure POST /moves with this many moves per request",
    )
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with scratch_schema(args.postgres) as schema:
        if schema is None:
            raise SystemExit("this benchmark needs PostgreSQL (--postgres)")
        serve_and_measure(args, schema)


def serve_and_measure(args: argparse.Namespace, schema: str) -> None:
    """Seed the schema, serve it, load it, stop the server."""
    server = None
    try:
        seed(args.postgres, schema)
        port = free_port()
        url = f"{args.postgres}?options={urllib.parse.quote(f'-csearch_path={schema}')}"
        env = {**os.environ, "SPAREFLOW_DATABASE_URL": url}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spareflow.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--no-access-log",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if http("GET", f"{base}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        form = urllib.parse.urlencode({"username": "bench", "password": PASSWORD}).encode()
        token = http(
            "POST",
            f"{base}/auth/token",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )[1]["access_token"]
        (single, *batched), cpu = asyncio.run(
            run_loads(
                port, token, args.clients, args.seconds, args.batch, server.pid, args.postgres
            )
        )
        title = f"POST /moves, one move per request, {args.clients} clients, "
        ok = report(f"{title}{args.workers} workers, PostgreSQL:", single, 1)
        print(
            f"  CPU per request: {cpu[0] / ok * 1000:.2f} ms in the server's processes, "
            f"{cpu[1] / ok * 1000:.2f} ms in PostgreSQL"
        )
        for result in batched:
            title = f"POST /moves, {args.batch} moves per request, {args.clients} clients:"
            report(title, result, args.batch)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        rates = []
        for round_ in range(3):
            body = json.dumps(
                {
                    "moves": [
                        {
                            "item_id": f"P{n % ITEMS:04d}",
                            "quantity": 1,
                            "from_location_id": "VIRTUAL/SUPPLIER",
                            "to_location_id": "HUB/STOCK",
                            "reason": "receipt",
                            "reference": f"bulk-{round_}",
                        }
                        for n in range(args.bulk)
                    ]
                }
            ).encode()
            started = time.perf_counter()
            status, answer = http("POST", f"{base}/moves/bulk", body, auth)
            took = time.perf_counter() - started
            assert status == 201 and answer["posted"] == args.bulk, (status, answer)
            rates.append(args.bulk / took)
        print(
            f"POST /moves/bulk, {args.bulk:,} moves per request: "
            f"{np.median(rates):,.0f} moves/s (median of 3: "
            f"{', '.join(f'{r:,.0f}' for r in rates)})"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
