"""The Alembic migrations build exactly the schema the models describe, and reverse cleanly."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from spareflow.errors import ParameterError
from spareflow.store.models import Base
from spareflow.store.session import alembic_config, current_revision, database_url, upgrade


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert current_revision(engine) == "0007"


def test_downgrade_to_nothing_and_back(engine: Engine) -> None:
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    with engine.connect() as connection:
        kinds = dict(connection.execute(text("select location_id, kind from locations")).all())
    assert kinds["VIRTUAL/SUPPLIER"] == "supplier" and len(kinds) == 7


def test_database_url_defaults_and_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPAREFLOW_DATABASE_URL", raising=False)
    assert database_url().startswith("sqlite:///") and database_url().endswith("spareflow.db")
    monkeypatch.setenv("SPAREFLOW_DATABASE_URL", "postgres://u@h:5432/db")
    assert database_url() == "postgresql+psycopg://u@h:5432/db"
    with pytest.raises(ParameterError, match="only sqlite and postgresql"):
        database_url("mysql://u@h/db")
