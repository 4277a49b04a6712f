"""Alembic environment: runs on the connection handed over by ``store.session.upgrade``.

To write a new revision after changing the models (from the project root)::

    .venv/bin/python -m spareflow.store.revision "what changed"
"""

from __future__ import annotations

from alembic import context

from spareflow.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a misconfigured alembic call
    raise RuntimeError("run migrations through spareflow.store.session.upgrade(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
