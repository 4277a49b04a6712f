"""Pooled PostgreSQL connections: an idle one is pinged and replaced if the server dropped it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from spareflow.store import session as store_session
from store_backends import POSTGRES_URL, fresh_engine


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Engine]:
    yield from fresh_engine("postgresql", tmp_path)


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("select pg_backend_pid()")).scalar_one())


def drop_connection(pid: int) -> None:
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        assert connection.execute(text("select pg_terminate_backend(:p)"), {"p": pid}).scalar()
    admin.dispose()
    time.sleep(0.2)


def test_an_idle_connection_the_server_dropped_is_replaced(
    pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = backend_pid(pg)
    assert backend_pid(pg) == pid  # in steady use: the same connection, no ping
    drop_connection(pid)
    monkeypatch.setattr(store_session, "IDLE_PING_SECONDS", 0.0)
    assert backend_pid(pg) != pid


def test_without_the_ping_a_dropped_connection_fails_once_then_the_pool_recovers(
    pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_session, "IDLE_PING_SECONDS", 3600.0)
    pid = backend_pid(pg)
    drop_connection(pid)
    with pytest.raises(DBAPIError):
        backend_pid(pg)
    assert backend_pid(pg) != pid
