"""User administration (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, Paging, User
from spareflow.api.routers._common import IdemKey, page_body, paged
from spareflow.api.schemas import PageOut, UserIn, UserOut, UserPatchIn
from spareflow.errors import NotFound
from spareflow.services import users
from spareflow.store.models import User as UserRow
from spareflow.store.models import UserSite
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["users"])


def _out(session: Session, row: UserRow) -> UserOut:
    sites = session.scalars(select(UserSite.site_id).where(UserSite.username == row.username))
    return UserOut(username=row.username, role=row.role, sites=sorted(sites), active=row.active)


@router.post("/users", status_code=201, response_model=UserOut)
def add_user(body: UserIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None) -> object:
    who.require("users.admin")

    def work(session: Session) -> UserOut:
        row = users.add_user(session, body.username, body.password, body.role, body.sites)
        return _out(session, row)

    return idempotency.create(ctx, request, who, key, body.model_dump(exclude={"password"}), work)


@router.get("/users", response_model=PageOut[UserOut])
def list_users(ctx: Ctx, who: User, page: Paging) -> dict[str, object]:
    who.require("users.admin")
    with unit_of_work(ctx.factory) as session:
        rows, total = paged(session, select(UserRow).order_by(UserRow.username), page)
        return page_body([_out(session, r) for r in rows], total, page)


@router.get("/users/{username}", response_model=UserOut)
def get_user(username: str, ctx: Ctx, who: User) -> UserOut:
    if username != who.username:
        who.require("users.admin")
    with unit_of_work(ctx.factory) as session:
        row = session.get(UserRow, username)
        if row is None:
            raise NotFound(f"user {username!r} does not exist")
        return _out(session, row)


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: str, body: UserPatchIn, ctx: Ctx, who: User) -> UserOut:
    """Change a role, the sites, the active flag or the password (admins only)."""
    who.require("users.admin")
    with unit_of_work(ctx.factory) as session:
        row = users.update_user(session, username, **body.model_dump(exclude_none=True))
        changed = _out(session, row)
    ctx.forget(username)
    return changed
