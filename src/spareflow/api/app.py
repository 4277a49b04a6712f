"""``create_app``: the FastAPI application over the store (SQLite by default, or PostgreSQL).

Nothing happens at import: the engine, schema upgrade and signing key are set up when
``create_app`` runs. OpenAPI 3.1 is at /openapi.json and interactive docs at /docs.
"""

from __future__ import annotations

import gc
from typing import Any, ClassVar

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spareflow import __version__
from spareflow.api import problems
from spareflow.api.deps import Context, signing_secret
from spareflow.api.routers import (
    auth,
    epcis,
    master,
    network,
    orders,
    planning,
    shipments,
    stock,
    transport,
    users,
    work_orders,
)
from spareflow.api.settings import Settings
from spareflow.store.session import make_engine, session_factory, upgrade

DESCRIPTION = """Operations service of spareflow: one inventory ledger with the orders and
work orders that move it, and the KPIs both logistics and maintenance are judged by.

Sign in with `POST /auth/token` (form fields `username`, `password`) and send
`Authorization: Bearer TOKEN`. Errors are RFC 9457 problem details naming the field at
fault. Creates accept an `Idempotency-Key` header: a retry never creates twice."""


def create_app(
    settings: Settings | None = None, factory: sessionmaker[Session] | None = None
) -> FastAPI:
    """The API; ``factory`` overrides the store (tests), else ``settings.database_url``."""
    settings = settings or Settings.from_env()
    if factory is None:
        engine = make_engine(settings.database_url)
        upgrade(engine)
        factory = session_factory(engine)
    ctx = Context(
        settings=settings, factory=factory, secret=signing_secret(factory, settings.secret_key)
    )
    app = FastAPI(
        title="spareflow",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    problems.install(app)
    for module in (
        auth, users, master, stock, orders, work_orders, planning, network, shipments,
        transport, epcis,
    ):  # fmt: skip
        app.include_router(module.router, responses=problems.RESPONSES)
    _document_problem(app)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness and database reachability (no authentication)."""
        with ctx.factory() as session:
            session.execute(text("select 1"))
        return {"status": "ok", "database": ctx.factory.kw["bind"].dialect.name}

    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        larger={"/moves/bulk": settings.max_bulk_body_bytes},
    )
    app.add_middleware(SecurityHeaders)
    return app


def serving_app() -> FastAPI:
    """The app as ``spareflow serve`` runs it, one per server process. The modules and
    the app live as long as the process, so they are moved out of the cyclic garbage
    collector's reach (``gc.freeze``): its full passes otherwise rescan them during every
    large request (a 20,000-move bulk posting ran about a tenth faster without them)."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def _document_problem(app: FastAPI) -> None:
    """Put the Problem schema the error responses refer to into /openapi.json."""
    from fastapi.openapi.utils import get_openapi

    def spec() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = problems.Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            for name, sub in components["Problem"].pop("$defs", {}).items():
                components.setdefault(name, sub)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = spec  # type: ignore[method-assign]


class SecurityHeaders:
    """Headers that keep browsers from sniffing, framing or caching API answers (OWASP API8)."""

    HEADERS: ClassVar[list[tuple[bytes, bytes]]] = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "") in ("/docs", "/openapi.json")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + self.HEADERS
                if not docs:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed (OWASP API4)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0
        too_big = False

        async def counted() -> Message:
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_big = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        response = problems.problem(
            413, f"request body over {limit} bytes", kind="payload-too-large"
        )
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class _TooLarge(Exception):
    pass
