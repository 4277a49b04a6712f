"""Databases for store tests: a fresh SQLite file, and a fresh schema on the local PostgreSQL.

PostgreSQL is 127.0.0.1:5432, database ``test``, trust auth (or ``SPAREFLOW_TEST_POSTGRES``).
Where it is unreachable the PostgreSQL cases skip with the reason, unless
``SPAREFLOW_REQUIRE_SERVICES=1`` (set by .ci/run), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from spareflow.store.session import make_engine, upgrade

POSTGRES_URL = os.environ.get(
    "SPAREFLOW_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def require_services() -> bool:
    return os.environ.get("SPAREFLOW_REQUIRE_SERVICES") == "1"


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        probe = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("select 1"))
        probe.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {type(exc).__name__}: {exc}"


def skip_or_fail(reason: str) -> None:
    if require_services():
        pytest.fail(f"SPAREFLOW_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def fresh_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database on ``backend`` ('sqlite' or 'postgresql'), dropped after."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    reason = postgres_reachable()
    if reason is not None:
        skip_or_fail(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


def mqtt_reachable() -> str | None:
    """None when the MQTT broker accepts a connection, else why not."""
    import socket

    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=3):
            return None
    except OSError as exc:
        return f"MQTT broker at {MQTT_HOST}:{MQTT_PORT} is unreachable: {exc}"


def require_mqtt() -> None:
    reason = mqtt_reachable()
    if reason is not None:
        skip_or_fail(reason)
