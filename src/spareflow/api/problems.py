"""Errors as RFC 9457 problem details (application/problem+json), each naming its field.

Body: ``type``, ``title``, ``status``, ``detail``, ``instance`` and, for input errors, an
``errors`` list of ``{"field": ..., "message": ...}``. No traceback ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from spareflow.errors import (
    Conflict,
    Forbidden,
    InputError,
    NotFound,
    ParameterError,
    SpareflowError,
)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://spareflow.dev/problems/"
log = logging.getLogger("spareflow.api")

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or str(status)),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


class FieldError(BaseModel):
    field: str | None = None
    message: str
    row: int | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


def _documented(status: int, what: str) -> dict[str, Any]:
    return {
        "description": what,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


#: error responses every route may give, documented in /openapi.json as problem+json
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _documented(401, "Not authenticated: no, an expired or an unknown bearer token"),
    403: _documented(403, "The role or the site scope does not allow this"),
    404: _documented(404, "No such object (or not in the caller's sites)"),
    409: _documented(409, "Conflicts with the current state (status, stock, duplicate)"),
    413: _documented(413, "Request body too large"),
    422: _documented(422, "Invalid input; `errors` names each field at fault"),
    429: _documented(429, "Too many failed sign-ins"),
    503: _documented(503, "The database is unavailable"),
}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    """Map every error to a problem response."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
        return problem(422, detail, kind="invalid-input", instance=request.url.path, errors=errors)

    @app.exception_handler(SpareflowError)
    async def _domain(request: Request, exc: SpareflowError) -> JSONResponse:
        path = request.url.path
        if isinstance(exc, InputError):
            errors = [
                {"field": f.column or f.file, "message": str(f), "row": f.row} for f in exc.faults
            ]
            return problem(
                422, "; ".join(exc.lines()[:3]), kind="invalid-input", instance=path, errors=errors
            )
        if isinstance(exc, ParameterError):
            return problem(
                422,
                str(exc),
                kind="invalid-input",
                instance=path,
                errors=[{"field": exc.name, "message": str(exc)}],
            )
        if isinstance(exc, NotFound):
            return problem(404, str(exc), kind="not-found", instance=path)
        if isinstance(exc, Forbidden):
            return problem(403, str(exc), kind="forbidden", instance=path)
        if isinstance(exc, Conflict):
            named = [{"field": exc.field, "message": str(exc)}] if exc.field else None
            kind = type(exc).__name__.lower()
            return problem(409, str(exc), kind=kind, instance=path, errors=named)
        return problem(400, str(exc), instance=path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, str(exc.detail), instance=request.url.path, headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error on %s: %s", request.url.path, exc.orig)
        return problem(
            409,
            "the request conflicts with data stored meanwhile; retry it",
            kind="conflict",
            instance=request.url.path,
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        log.info("data error on %s: %s", request.url.path, exc.orig)
        return problem(
            422,
            "a value cannot be stored: a NUL character in a text, or a number out of range",
            kind="invalid-input",
            instance=request.url.path,
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database error on %s: %s", request.url.path, exc.orig)
        return problem(
            503,
            "the database is unavailable; retry later",
            kind="unavailable",
            instance=request.url.path,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "the server failed; the error is logged", instance=request.url.path)
