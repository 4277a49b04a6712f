"""Sign-in (OAuth2 password flow), the caller's identity, machine API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from sqlalchemy import select

from spareflow.api import idempotency
from spareflow.api.deps import Ctx, User
from spareflow.api.routers._common import DbId, IdemKey
from spareflow.api.schemas import ApiTokenCreated, ApiTokenIn, ApiTokenOut, TokenOut, UserOut
from spareflow.services import users
from spareflow.store.models import ApiToken
from spareflow.store.session import unit_of_work

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=TokenOut)
def token(
    ctx: Ctx,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> TokenOut:
    """OAuth2 password flow: form fields ``username`` and ``password`` -> a bearer token."""
    if ctx.login_blocked(username):
        raise HTTPException(
            429,
            "too many failed sign-ins for this user; wait 5 minutes",
            headers={"Retry-After": "300"},
        )
    with unit_of_work(ctx.factory) as session:
        who = users.authenticate(session, username, password)
    if who is None:
        ctx.login_failed(username)
        raise HTTPException(
            401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    ctx.login_succeeded(username)
    return TokenOut(access_token=ctx.issue_token(who), expires_in=ctx.settings.token_minutes * 60)


@router.get("/auth/me", response_model=UserOut)
def me(who: User) -> UserOut:
    return UserOut(username=who.username, role=who.role, sites=sorted(who.sites))


@router.post("/auth/api-tokens", status_code=201, response_model=ApiTokenCreated)
def create_api_token(
    body: ApiTokenIn, ctx: Ctx, who: User, request: Request, key: IdemKey = None
) -> object:
    """A long-lived token for a machine acting as you; the secret is shown once."""
    who.require("tokens.own")

    def work(session: object) -> ApiTokenCreated:
        row, secret = users.issue_api_token(session, who.username, body.name)  # type: ignore[arg-type]
        return ApiTokenCreated.model_validate(
            {**ApiTokenOut.model_validate(row).model_dump(), "token": secret}
        )

    return idempotency.create(ctx, request, who, key, body, work)


@router.get("/auth/api-tokens", response_model=list[ApiTokenOut])
def list_api_tokens(ctx: Ctx, who: User) -> list[ApiTokenOut]:
    with unit_of_work(ctx.factory) as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.username == who.username).order_by(ApiToken.token_id)
        )
        return [ApiTokenOut.model_validate(r) for r in rows]


@router.delete("/auth/api-tokens/{token_id}", response_model=ApiTokenOut)
def revoke_api_token(token_id: DbId, ctx: Ctx, who: User) -> ApiTokenOut:
    with unit_of_work(ctx.factory) as session:
        revoked = ApiTokenOut.model_validate(users.revoke_api_token(session, token_id, who))
    ctx.forget(revoked.username)
    return revoked
