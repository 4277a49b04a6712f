"""Helpers shared by routers: paging a query, the Idempotency-Key header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from spareflow.api.deps import Page

#: a database id in a path: the range of the stores' integer keys (larger is 422, not 500)
DbId = Annotated[int, Path(ge=1, le=2_147_483_647)]

IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="a unique key per intended create: a retry with the same key and body "
        "returns the first response instead of creating twice",
    ),
]


def paged(session: Session, query: Select[Any], page: Page) -> tuple[list[Any], int]:
    """One page of ``query``'s rows (scalars) and the total row count."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.limit(page.limit).offset(page.offset)))
    return rows, int(total or 0)


def page_body(items: list[Any], total: int, page: Page) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


def page_of(rows: list[Any], page: Page, model: type[BaseModel]) -> dict[str, Any]:
    """One page of rows computed in memory (not a query), each as ``model``."""
    window = rows[page.offset : page.offset + page.limit]
    return page_body([model.model_validate(r) for r in window], len(rows), page)
