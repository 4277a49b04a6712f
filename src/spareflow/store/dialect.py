"""The few statements that differ between SQLite and PostgreSQL, behind one function each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, update
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


def bulk_insert(
    connection: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (values in ``columns`` order) as one bulk statement: executemany on
    SQLite, COPY on PostgreSQL. Each value goes through its column's bind processor, as in
    any SQLAlchemy insert, but once per distinct value rather than once per row."""
    if not rows:
        return
    dialect = connection.dialect
    steps = []
    for i, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            steps.append((i, {value: process(value) for value in {row[i] for row in rows}}))
    ready = rows
    if steps:
        ready = []
        for row in rows:
            out = list(row)
            for i, seen in steps:
                out[i] = seen[out[i]]
            ready.append(tuple(out))
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if dialect.name == "postgresql":  # psycopg 3: COPY, several times faster than INSERTs
        driver = cast(Any, connection.connection.driver_connection)
        sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in ready:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", ready)
