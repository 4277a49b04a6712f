"""A scratch PostgreSQL schema for a benchmark run: created fresh, dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, text

from spareflow.store.session import make_engine


@contextmanager
def scratch_schema(url: str) -> Iterator[str | None]:
    """A new schema on the database at ``url``, dropped with everything in it on exit;
    None, with the reason printed, when the database cannot be reached."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        print(f"  postgresql skipped: {exc}")
        admin.dispose()
        yield None
        return
    try:
        yield schema
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def schema_engine(url: str, schema: str, **kwargs: Any) -> Engine:
    """spareflow's engine for ``url`` working in ``schema``."""
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"}, **kwargs)
