"""``Idempotency-Key`` on creates: a retried request returns the first response, never a twin.

The key is stored with the response in the same transaction as the create, so either both
land or neither does. A concurrent duplicate loses on the key's primary key and replays the
winner's response. Reusing a key for a different request is refused (422), as the IETF
draft "The Idempotency-Key HTTP Header Field" recommends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spareflow.api.deps import Context
from spareflow.errors import ParameterError
from spareflow.services.users import Principal
from spareflow.store.models import IdempotencyRecord
from spareflow.store.session import unit_of_work

HEADER = "Idempotency-Key"


def json_ready(result: Any) -> Any:
    """A response as JSON-ready data: pydantic dumps its own models (much faster than
    FastAPI's generic encoder on the hot path of posting moves)."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list) and all(isinstance(r, BaseModel) for r in result):
        return [r.model_dump(mode="json") for r in result]
    return jsonable_encoder(result)


def create(
    ctx: Context,
    request: Request,
    who: Principal,
    key: str | None,
    body: Any,
    work: Callable[[Session], Any],
    status: int = 201,
    digest: str | None = None,
) -> JSONResponse:
    """Run ``work`` (a create) once per key; ``body`` is the parsed request, for the digest
    (or give ``digest`` directly for a large body)."""
    method_path = f"{request.method} {request.url.path}"
    if key is None:
        with unit_of_work(ctx.factory) as session:
            payload = json_ready(work(session))
        return JSONResponse(payload, status_code=status)
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise ParameterError(HEADER, "1 to 200 printable characters")
    if digest is None:
        text = json.dumps(jsonable_encoder(body), sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()
    # a short look first, so the create's own transaction starts with the work itself (a
    # long create, like a plan run, reads the store on other connections meanwhile)
    with unit_of_work(ctx.factory) as session:
        seen = session.get(IdempotencyRecord, (who.username, key))
        if seen is not None:
            return _replay(seen, method_path, digest)
    try:
        with unit_of_work(ctx.factory) as session:
            payload = json_ready(work(session))
            session.add(
                IdempotencyRecord(
                    username=who.username,
                    key=key,
                    method_path=method_path,
                    request_hash=digest,
                    status_code=status,
                    response_body=json.dumps(payload),
                )
            )
    except IntegrityError:
        with unit_of_work(ctx.factory) as session:
            seen = session.get(IdempotencyRecord, (who.username, key))
            if seen is None:
                raise
            return _replay(seen, method_path, digest)
    return JSONResponse(payload, status_code=status)


def _replay(seen: IdempotencyRecord, method_path: str, digest: str) -> JSONResponse:
    if seen.method_path != method_path or seen.request_hash != digest:
        raise ParameterError(
            HEADER,
            f"this key was used for a different request ({seen.method_path}); use a new key",
        )
    return JSONResponse(
        json.loads(seen.response_body),
        status_code=seen.status_code,
        headers={"Idempotent-Replayed": "true"},
    )
