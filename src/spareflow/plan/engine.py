"""Where a plan's partitions run: in this process on a thread pool, or on a Dask
distributed cluster.

A plan splits its item-sites into partitions of ``PARTITION_ROWS`` (the same split on
every engine, so every engine computes the same numbers) and maps a pure function over
them; the results come back in partition order. The local engine runs partitions on
threads: the heavy work is numpy and polars on whole arrays, which release the GIL, so
two cores work at once while only a couple of partitions' temporaries are alive. The Dask
engine sends each partition's arrays to a worker of the cluster at ``scheduler`` (a
``tcp://host:port`` address) or of a ``LocalCluster`` started for the run (``local``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol, TypeVar

from spareflow.errors import ParameterError

T = TypeVar("T")
R = TypeVar("R")

Done = Callable[[int, int], None]

#: Item-sites per partition.
PARTITION_ROWS = 32_768

ENGINES = ("local", "dask")


class Engine(Protocol):
    """Maps a function over partitions; results in input order."""

    name: str

    def map(self, fn: Callable[[T], R], parts: Sequence[T], done: Done | None = None) -> list[R]:
        """``fn`` of every part; ``done(finished, total)`` after each one."""
        ...

    def close(self) -> None: ...


class LocalEngine:
    """Partitions on a pool of ``threads`` threads in this process (default: the CPUs
    this process may use, at most 4)."""

    name = "local"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = max(1, threads if threads is not None else min(_cpus(), 4))

    def map(self, fn: Callable[[T], R], parts: Sequence[T], done: Done | None = None) -> list[R]:
        if done:
            done(0, len(parts))
        if self.threads == 1 or len(parts) <= 1:
            out = []
            for i, p in enumerate(parts):
                out.append(fn(p))
                if done:
                    done(i + 1, len(parts))
            return out
        with ThreadPoolExecutor(self.threads, thread_name_prefix="spareflow") as pool:
            # at most ``threads`` parts in flight, so at most that many parts' temporaries
            results: dict[int, R] = {}
            pending: dict[Future[R], int] = {}
            queue = iter(enumerate(parts))
            for i, p in queue:
                pending[pool.submit(fn, p)] = i
                if len(pending) >= self.threads:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    results[pending.pop(f)] = f.result()
                    if done:
                        done(len(results), len(parts))
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(fn, nxt[1])] = nxt[0]
        return [results[i] for i in range(len(parts))]

    def close(self) -> None:
        return None


class DaskEngine:
    """Partitions on a Dask distributed cluster: the scheduler at ``scheduler``
    (``tcp://host:port``), or ``local`` for a ``LocalCluster`` of one single-threaded
    worker process per CPU, started here and closed by :meth:`close`."""

    name = "dask"

    def __init__(self, scheduler: str, timeout: float = 20.0) -> None:
        from dask.distributed import Client, LocalCluster

        self._cluster: Any = None
        try:
            if scheduler == "local":
                self._cluster = LocalCluster(
                    n_workers=min(_cpus(), 4),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
                self.client = Client(self._cluster)
            else:
                self.client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise ParameterError(
                "--scheduler",
                f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); give a running "
                "scheduler's address (tcp://host:8786) or 'local'",
            ) from None

    def map(self, fn: Callable[[T], R], parts: Sequence[T], done: Done | None = None) -> list[R]:
        from dask.distributed import as_completed

        if done:
            done(0, len(parts))
        # the parts' arrays go to the workers directly, not inside the task graph
        data = self.client.scatter(list(parts))
        futures = self.client.map(fn, data, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: dict[int, Any] = {}
        for future in as_completed(futures):
            results[index[future.key]] = future.result()
            if done:
                done(len(results), len(parts))
        return [results[i] for i in range(len(parts))]

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def make_engine(name: str = "local", scheduler: str | None = None) -> Engine:
    """The engine called ``name``: ``local`` or ``dask`` (``scheduler``: an address or
    ``local``)."""
    if name == "local":
        if scheduler is not None:
            raise ParameterError("--scheduler", "only goes with --engine dask")
        return LocalEngine()
    if name == "dask":
        return DaskEngine(scheduler or "local")
    raise ParameterError("--engine", f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
