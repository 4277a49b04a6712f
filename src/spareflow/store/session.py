"""Engines, sessions and schema upgrades: SQLite by default, PostgreSQL for teams.

``SPAREFLOW_DATABASE_URL`` names the database; absent, a SQLite file ``spareflow.db`` in the
working directory is used, with no set-up. SQLite runs in WAL mode with foreign keys on,
and every transaction begins IMMEDIATE so that two writers queue instead of failing half
way; on PostgreSQL the ledger locks the balance rows it changes (SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
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
    return create_engine(url, pool_pre_ping=True, **kwargs)


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
