"""GS1 EPCIS 2.0 documents in the standard's JSON / JSON-LD form: validation against the
standard's JSON schema (shipped in ``ingest/gs1``), the events of a document, and the
documents we answer with. Pure: dicts in, dicts out; the store is ``services.epcis``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator, FormatChecker  # type: ignore[import-untyped]

CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
#: the namespace our own identifiers live in (urn:spareflow:item:..., :location:, ...)
URN = "urn:spareflow"
_IDS = uuid.UUID("9b0f3c1e-4d3a-5f0e-8a51-5b2f6d1c7e20")
MAX_ERRORS = 50


@cache
def schema() -> dict[str, Any]:
    text = resources.files("spareflow.ingest").joinpath("gs1/EPCIS-JSON-Schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> Draft7Validator:
    return Draft7Validator(schema(), format_checker=FormatChecker())


@dataclass(frozen=True, slots=True)
class SchemaError:
    """Where a document breaks the schema (a JSON pointer-like path) and how."""

    field: str
    message: str


def validate(document: Any) -> list[SchemaError]:
    """The schema errors of ``document`` (empty when it is valid), deepest first, capped."""
    errors = []
    for error in sorted(_validator().iter_errors(document), key=lambda e: -len(e.path)):
        errors.append(SchemaError(error.json_path, _short(error.message)))
        if len(errors) >= MAX_ERRORS:
            break
    if (
        not errors
        and isinstance(document, dict)
        and document.get("type") not in ("EPCISDocument", "EPCISQueryDocument")
    ):
        errors.append(SchemaError("$.type", "an EPCISDocument is expected"))
    return errors


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


def events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The events a valid EPCISDocument or EPCISQueryDocument carries."""
    body = document.get("epcisBody", {})
    if "eventList" in body:
        return list(body["eventList"])
    return list(body.get("queryResults", {}).get("resultsBody", {}).get("eventList", []))


def event_time(text: str) -> datetime:
    """An EPCIS time (ISO 8601 with an offset) as UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def stable_event_id(kind: str, key: str) -> str:
    """A URI for one of our records as an event, the same on every export."""
    return f"urn:uuid:{uuid.uuid5(_IDS, f'{kind}:{key}')}"


def new_event_id() -> str:
    """A URI for a captured event that came without an eventID."""
    return f"urn:uuid:{uuid.uuid4()}"


def urn(kind: str, key: str) -> str:
    """Our identifier of a thing as a URI: urn:spareflow:{kind}:{key}."""
    return f"{URN}:{kind}:{key}"


def key_of(uri: str, kind: str) -> str | None:
    """The key in ``urn:spareflow:{kind}:{key}``, or None for anyone else's URI."""
    prefix = f"{URN}:{kind}:"
    return uri[len(prefix) :] if uri.startswith(prefix) else None


def _head(kind: str, created: datetime) -> dict[str, Any]:
    return {
        "@context": [CONTEXT_URL],
        "type": kind,
        "schemaVersion": "2.0",
        "creationDate": iso(created),
    }


def document(events: list[dict[str, Any]], created: datetime) -> dict[str, Any]:
    """An EPCISDocument carrying ``events``."""
    return {**_head("EPCISDocument", created), "epcisBody": {"eventList": events}}


def query_document(events: list[dict[str, Any]], created: datetime) -> dict[str, Any]:
    """An EPCISQueryDocument answering a SimpleEventQuery with ``events``."""
    results = {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}
    return {**_head("EPCISQueryDocument", created), "epcisBody": {"queryResults": results}}


def iso(moment: datetime) -> str:
    """An EPCIS time: ISO 8601 in UTC with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
