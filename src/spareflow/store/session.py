"""Engines, sessions and schema upgrades: SQLite by default, PostgreSQL for teams.

``SPAREFLOW_DATABASE_URL`` names the database; absent, a SQLite file ``spareflow.db`` in the
working directory is used, with no set-up. SQLite runs in WAL mode with foreign keys on,
and every transaction begins IMMEDIATE so that two writers queue instead of failing half
way; on PostgreSQL the ledger locks the balance rows it changes (SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import ParameterError

ENV_URL = "SPAREFLOW_DATABASE_URL"
DEFAULT_FILE = "spareflow.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else ``SPAREFLOW_DATABASE_URL``, else ./spareflow.db.

    ``postgresql://`` and ``postgres://`` URLs are given the psycopg 3 driver.
    """
    url = url or os.environ.get(ENV_URL) or f"sqlite:///{Path.cwd() / DEFAULT_FILE}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ParameterError(ENV_URL, f"not a database URL: {url!r} ({exc})") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ParameterError(
            ENV_URL, f"only sqlite and postgresql are supported, got {parsed.get_backend_name()}"
        )
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`database_url`), configured for safe concurrent writes."""
    url = database_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 60}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    # connections kept open: SQLAlchemy's default of 5 made a server process with more
    # requests in flight open and close a PostgreSQL connection per request (a fork each)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_SIZE)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


#: PostgreSQL connections a process keeps open (and may open as many again at peaks).
POOL_SIZE = 16
#: A pooled PostgreSQL connection idle longer than this is pinged before use.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use when it has sat idle, and replace it if the
    server has gone (restarted, or a firewall dropped it); SQLAlchemy's ``pool_pre_ping``
    pings on every checkout, a round trip per request that cost the API an eighth of
    its throughput. A connection in steady use is not pinged: if the server goes under
    load, the statements then running fail, and SQLAlchemy invalidates the whole pool."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since <= IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception:
            alive = False
        if not alive:  # the pool discards this connection and checks out a new one
            raise DisconnectionError("the pooled connection is gone")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE can be used
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the packaged Alembic migrations."""
    from alembic import command

    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def alembic_config() -> Any:
    """An Alembic config pointing at the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
