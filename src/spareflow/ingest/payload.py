"""The MQTT telemetry wire contract (design.md), decoded a batch at a time.

Topic ``spareflow/telemetry/{device_id}``; payload a JSON object with ``message_id``,
``device_id``, ``time`` (ISO 8601 with an offset: the event time), ``readings`` (variable
name to number) and optional ``lat``, ``lon``, ``shipment_id``, ``asset_id``. Fields we do
not know are ignored, so devices may send more. A message that breaks the contract is not
dropped: it comes back as a :class:`Rejected` with the reason, for the quarantine.

Pure: bytes in, arrays out; the ingest service stores what this returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson

from spareflow.transport.tracking import to_us

TOPIC_PREFIX = "spareflow/telemetry/"
MAX_PAYLOAD_BYTES = 65_536
MAX_ID = 128
MAX_KEY = 64


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that broke the contract: where it came from, what it said, and why."""

    topic: str
    payload: str
    reason: str
    received_us: int


@dataclass
class TelemetryBatch:
    """Accepted messages as columns (one entry per message) and their readings (one entry
    per reading, ``reading_message`` indexing the message). Duplicates within the batch
    are already removed: the first copy of a message_id wins."""

    topic: list[str] = field(default_factory=list)
    message_id: list[str] = field(default_factory=list)
    device_id: list[str] = field(default_factory=list)
    time_us: list[int] = field(default_factory=list)
    received_us: list[int] = field(default_factory=list)
    latitude: list[float] = field(default_factory=list)
    longitude: list[float] = field(default_factory=list)
    shipment_id: list[str | None] = field(default_factory=list)
    asset_id: list[str | None] = field(default_factory=list)
    reading_message: list[int] = field(default_factory=list)
    variable: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    duplicates: int = 0

    def __len__(self) -> int:
        return len(self.message_id)

    def times(self) -> np.ndarray:
        """Event times, microseconds since the epoch (int64)."""
        return np.asarray(self.time_us, dtype=np.int64)


class _Broken(Exception):
    """A contract violation, with the reason the quarantine keeps."""


def _text(body: dict[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _Broken(f"{name} is missing")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _Broken(f"{name} must be a non-empty string, got {value!r:.60}")
    if len(value) > limit:
        raise _Broken(f"{name} is longer than {limit} characters")
    return value


def _coordinate(body: dict[str, Any], name: str, bound: float) -> float:
    value = body.get(name)
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Broken(f"{name} must be a number, got {value!r:.60}")
    if abs(value) > bound:
        raise _Broken(f"{name} {value} is outside -{bound:g}..{bound:g}")
    return float(value)


def event_time_us(text: Any) -> int:
    """An ISO 8601 time with an offset, as microseconds since the epoch; naive times are
    refused, since a device's local clock without an offset cannot be placed."""
    if not isinstance(text, str):
        raise _Broken(f"time must be an ISO 8601 string, got {text!r:.60}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Broken(f"time {text!r:.60} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise _Broken(f"time {text!r:.60} has no UTC offset")
    return to_us(moment)


def decode(
    messages: list[tuple[str, bytes]], received_us: int, batch: TelemetryBatch | None = None
) -> TelemetryBatch:
    """Decode ``(topic, payload)`` pairs into ``batch`` (a new one if none)."""
    out = batch if batch is not None else TelemetryBatch()
    seen = set(out.message_id)
    for topic, raw in messages:
        try:
            body = _payload(topic, raw)
            message_id = _text(body, "message_id", MAX_ID, True)
            device_id = _text(body, "device_id", MAX_KEY, True)
            named = topic[len(TOPIC_PREFIX) :]
            if named != device_id:
                raise _Broken(f"device_id {device_id!r} differs from the topic's {named!r}")
            time_us = event_time_us(body.get("time"))
            readings = body.get("readings")
            if not isinstance(readings, dict):
                raise _Broken(
                    f"readings must be an object of variable to number, got {readings!r:.60}"
                )
            for name, value in readings.items():
                if not name or len(name) > MAX_KEY:
                    raise _Broken(f"reading name {name!r:.80} must be 1 to {MAX_KEY} characters")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise _Broken(f"reading {name!r} must be a number, got {value!r:.60}")
                if not math.isfinite(value):
                    raise _Broken(f"reading {name!r} is not finite")
            latitude = _coordinate(body, "lat", 90.0)
            longitude = _coordinate(body, "lon", 180.0)
            if math.isnan(latitude) != math.isnan(longitude):
                raise _Broken("lat and lon must come together")
            if not readings and math.isnan(latitude):
                raise _Broken("no readings and no position: the message says nothing")
            shipment_id = _text(body, "shipment_id", MAX_KEY, False)
            asset_id = _text(body, "asset_id", MAX_KEY, False)
        except _Broken as broken:
            text = raw.decode("utf-8", errors="backslashreplace")
            out.rejected.append(Rejected(topic, text, str(broken), received_us))
            continue
        assert message_id is not None and device_id is not None
        if message_id in seen:
            out.duplicates += 1
            continue
        seen.add(message_id)
        index = len(out.message_id)
        out.topic.append(topic)
        out.message_id.append(message_id)
        out.device_id.append(device_id)
        out.time_us.append(time_us)
        out.received_us.append(received_us)
        out.latitude.append(latitude)
        out.longitude.append(longitude)
        out.shipment_id.append(shipment_id)
        out.asset_id.append(asset_id)
        for name, value in readings.items():
            out.reading_message.append(index)
            out.variable.append(name)
            out.value.append(float(value))
    return out


def _payload(topic: str, raw: bytes) -> dict[str, Any]:
    if not topic.startswith(TOPIC_PREFIX) or "/" in topic[len(TOPIC_PREFIX) :]:
        raise _Broken(f"topic is not {TOPIC_PREFIX}{{device_id}}")
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise _Broken(f"payload of {len(raw)} bytes is over the {MAX_PAYLOAD_BYTES} limit")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Broken(f"payload is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _Broken(f"payload must be a JSON object, got {type(body).__name__}")
    return body
