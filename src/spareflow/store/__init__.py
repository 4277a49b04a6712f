"""The operations store: SQLAlchemy models, sessions and Alembic migrations."""

from spareflow.store.session import (
    database_url,
    make_engine,
    session_factory,
    unit_of_work,
    upgrade,
)

__all__ = ["database_url", "make_engine", "session_factory", "unit_of_work", "upgrade"]
