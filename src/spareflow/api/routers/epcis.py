"""GS1 EPCIS 2.0 REST bindings under /epcis (design.md): capture, capture jobs, events.

``POST /epcis/capture`` takes an EPCISDocument (application/json or application/ld+json),
validates it against the standard's JSON schema and stores every event or none; it
answers 202 with ``Location: /epcis/capture/{captureID}``. Invalid documents get 400 with
the schema errors in problem+json (type ``epcisException:ValidationException``, as the
bindings specify). ``GET /epcis/events`` answers a SimpleEventQuery as an
EPCISQueryDocument, ``perPage`` events at a time with a ``nextPageToken`` link.
``GET /epcis/export`` (ours) gives our moves and shipment events as an EPCISDocument.
EPCIS events name no site of ours, so the whole family is for admins, who see every site.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from spareflow.api.deps import Ctx, User
from spareflow.api.problems import MEDIA_TYPE
from spareflow.errors import InputError, ParameterError
from spareflow.ingest import epcis as gs1
from spareflow.services import epcis
from spareflow.store.session import unit_of_work
from spareflow.store.types import utcnow


async def _epcis_rights(who: User) -> None:
    """Every /epcis route: authenticated, and allowed the whole repository."""
    who.require("epcis")


router = APIRouter(prefix="/epcis", tags=["epcis"], dependencies=[Depends(_epcis_rights)])


class LdJson(JSONResponse):
    """EPCIS documents are JSON-LD (and documented so in the OpenAPI)."""

    media_type = "application/ld+json"


HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
Times = Annotated[datetime | None, Query()]
Words = Annotated[list[str] | None, Query()]


def _invalid(detail: str, errors: list[dict[str, Any]], path: str) -> JSONResponse:
    body = {
        "type": "epcisException:ValidationException",
        "title": "Invalid EPCIS document",
        "status": 400,
        "detail": detail,
        "instance": path,
        "errors": errors,
    }
    return JSONResponse(body, status_code=400, media_type=MEDIA_TYPE, headers=HEADERS)


@router.post("/capture", status_code=202, response_class=Response)
async def capture(request: Request, ctx: Ctx, who: User) -> Response:
    """Capture an EPCISDocument: all events or none."""
    raw = await request.body()
    if len(raw) > MAX_DOCUMENT_BYTES:
        return _invalid(f"document over {MAX_DOCUMENT_BYTES} bytes", [], request.url.path)
    try:
        document = json.loads(raw)
    except ValueError as exc:
        return _invalid(f"not JSON: {exc}", [], request.url.path)
    try:
        with unit_of_work(ctx.factory) as session:
            job = epcis.capture(session, document, who.username)
            capture_id = job.capture_id
    except InputError as exc:
        errors = [{"field": f.column, "message": f.message} for f in exc.faults]
        detail = (
            f"{len(errors)} schema error(s); first: {errors[0]['field']}: {errors[0]['message']}"
        )
        return _invalid(detail, errors, request.url.path)
    return Response(
        status_code=202, headers={**HEADERS, "Location": f"/epcis/capture/{capture_id}"}
    )


@router.get("/capture/{capture_id}")
def capture_job(capture_id: str, ctx: Ctx) -> JSONResponse:
    """The capture job: finished, and whether it succeeded."""
    with unit_of_work(ctx.factory) as session:
        job = epcis.get_capture(session, capture_id)
        body = {
            "captureID": job.capture_id,
            "createdAt": gs1.iso(job.created_at),
            "finishedAt": gs1.iso(job.finished_at or job.created_at),
            "running": False,
            "success": job.success,
            "captureErrorBehaviour": "rollback",
            "errors": job.errors,
        }
    return JSONResponse(body, headers=HEADERS)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if text.startswith("o") and text[1:].isdigit():
            return int(text[1:])
    except ValueError:
        pass
    raise ParameterError("nextPageToken", "not a token this server gave out")


@router.get("/events", response_class=LdJson)
def events(
    request: Request,
    ctx: Ctx,
    eventType: Words = None,
    GE_eventTime: Times = None,
    LT_eventTime: Times = None,
    GE_recordTime: Times = None,
    LT_recordTime: Times = None,
    EQ_action: Words = None,
    EQ_bizStep: Words = None,
    EQ_disposition: Words = None,
    EQ_eventID: Words = None,
    perPage: Annotated[int, Query(ge=1, le=1000)] = 30,
    nextPageToken: str | None = None,
) -> JSONResponse:
    """Captured events matching the query, oldest event time first."""
    bad = [v for v in eventType or [] if v not in gs1.EVENT_TYPES]
    if bad:
        raise ParameterError("eventType", f"one of {', '.join(gs1.EVENT_TYPES)}, got {bad[0]!r}")
    query = epcis.EventQuery(
        eventType, GE_eventTime, LT_eventTime, GE_recordTime, LT_recordTime, EQ_action,
        EQ_bizStep, EQ_disposition, EQ_eventID,
    )  # fmt: skip
    offset = _offset(nextPageToken)
    with unit_of_work(ctx.factory) as session:
        found = epcis.query(session, query, offset, perPage + 1)
    headers = dict(HEADERS)
    if len(found) > perPage:
        found = found[:perPage]
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "nextPageToken"]
        params.append(("nextPageToken", _token(offset + perPage)))
        headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return LdJson(gs1.query_document(found, utcnow()), headers=headers)


@router.get("/events/{event_id:path}", response_class=LdJson)
def event(event_id: str, ctx: Ctx) -> JSONResponse:
    """One captured event by its eventID (URL-encoded)."""
    with unit_of_work(ctx.factory) as session:
        found = epcis.get_event(session, event_id)
    return LdJson(gs1.query_document([found], utcnow()), headers=HEADERS)


@router.get("/export", response_class=LdJson)
def export(
    ctx: Ctx,
    start: Annotated[datetime, Query(description="From this time (inclusive).")],
    end: Annotated[datetime, Query(description="To this time (exclusive).")],
) -> JSONResponse:
    """Our moves and shipment departures and arrivals as an EPCISDocument (ours)."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise ParameterError(name, "give a UTC offset, e.g. 2026-11-25T00:00:00Z")
    with unit_of_work(ctx.factory) as session:
        found = epcis.export_events(session, start, end)
    return LdJson(gs1.document(found, utcnow()), headers=HEADERS)
