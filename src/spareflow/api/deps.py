"""Request dependencies: the store, the caller (bearer token or API token), pagination."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session, sessionmaker

from spareflow.api.settings import Settings
from spareflow.errors import ParameterError
from spareflow.services import users
from spareflow.services.users import Principal
from spareflow.store.models import AppSetting
from spareflow.store.session import unit_of_work

ALGORITHM = "HS256"
#: How long a signed-in caller's role and sites are reused without a database read. Other
#: server processes see a change (a revoked token, a disabled user) within this time.
PRINCIPAL_SECONDS = 10.0
oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


@dataclass
class Context:
    """What every request needs, built once by ``create_app``."""

    settings: Settings
    factory: sessionmaker[Session]
    secret: str
    failures: dict[str, deque[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # bearer token -> (valid until, principal): a request does not re-read the user's role
    # and sites for PRINCIPAL_SECONDS; changes made here drop the entries at once
    principals: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    def cached(self, token: str) -> Principal | None:
        hit = self.principals.get(token)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def remember(self, token: str, who: Principal) -> None:
        if len(self.principals) > 10_000:  # bounded: drop everything, re-read on demand
            self.principals.clear()
        self.principals[token] = (time.monotonic() + PRINCIPAL_SECONDS, who)

    def forget(self, username: str) -> None:
        """Drop cached principals of ``username`` (role, sites, tokens or status changed)."""
        with self.lock:
            for token in [t for t, (_, w) in self.principals.items() if w.username == username]:
                self.principals.pop(token, None)

    def issue_token(self, who: Principal) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": who.username,
            "role": who.role,
            "iat": now,
            "exp": now + timedelta(minutes=self.settings.token_minutes),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def login_blocked(self, username: str) -> bool:
        with self.lock:
            recent = self.failures.get(username)
            if recent is None:
                return False
            while recent and recent[0] < time.monotonic() - 300:
                recent.popleft()
            return len(recent) >= self.settings.login_failures_allowed

    def login_failed(self, username: str) -> None:
        with self.lock:
            self.failures.setdefault(username, deque()).append(time.monotonic())

    def login_succeeded(self, username: str) -> None:
        with self.lock:
            self.failures.pop(username, None)


def signing_secret(factory: sessionmaker[Session], configured: str | None) -> str:
    """The configured key, else one generated on first start and kept in the store."""
    if configured:
        return configured
    with unit_of_work(factory) as session:
        row = session.get(AppSetting, "token_signing_key")
        if row is None:
            row = AppSetting(name="token_signing_key", value=secrets.token_urlsafe(48))
            session.add(row)
        return row.value


# The dependencies below are coroutines: they do no blocking work (a principal's database
# read runs in the thread pool), and a plain function would cost every request a hop
# through the thread pool each.


async def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(context)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(ctx: Ctx, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    """The caller, from ``Authorization: Bearer`` (a signed access token or an API token)."""
    if not token:
        raise _unauthorized("send Authorization: Bearer TOKEN (POST /auth/token gives one)")
    known = ctx.cached(token)
    if known is not None:
        return known
    who = await run_in_threadpool(_identify, ctx, token)
    ctx.remember(token, who)
    return who


def _identify(ctx: Context, token: str) -> Principal:
    with unit_of_work(ctx.factory) as session:
        if token.startswith(users.TOKEN_PREFIX):
            who = users.principal_for_api_token(session, token)
            if who is None:
                raise _unauthorized("the API token is unknown or revoked")
            return who
        try:
            claims: dict[str, Any] = jwt.decode(
                token, ctx.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("the access token has expired; ask for a new one") from exc
        except jwt.PyJWTError as exc:
            raise _unauthorized("the access token is not valid") from exc
        who = users.principal(session, str(claims["sub"]))
        if who is None:
            raise _unauthorized("the token's user no longer exists or is disabled")
        return who


User = Annotated[Principal, Depends(current_user)]


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


async def page(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, description="rows per page (at most the server's cap)")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page:
    if limit > ctx.settings.max_page_size:
        raise ParameterError("limit", f"at most {ctx.settings.max_page_size}, got {limit}")
    return Page(limit, offset)


Paging = Annotated[Page, Depends(page)]
