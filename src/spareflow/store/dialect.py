"""The few statements that differ between SQLite and PostgreSQL, behind one function each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from spareflow.store.models import Counter


def insert_missing(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT rows, skipping any whose primary key already exists (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(table).values(list(rows)).on_conflict_do_nothing())


def next_number(session: Session, prefix: str, width: int = 6) -> str:
    """The next document number for ``prefix`` (PO-000001, ...), gap-free within a commit.

    The counter row is updated in the caller's transaction, so two concurrent creators
    queue on it and a rolled-back create gives its number back.
    """
    insert_missing(session, Counter.__table__, [{"name": prefix, "value": 0}])  # type: ignore[arg-type]
    value = session.execute(
        update(Counter)
        .where(Counter.name == prefix)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()
    return f"{prefix}-{value:0{width}d}"
