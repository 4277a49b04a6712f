"""The MQTT payload contract: what is accepted, and every way a message is refused."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from spareflow.ingest.payload import decode, event_time_us


def message(**fields: object) -> tuple[str, bytes]:
    body: dict[str, object] = {
        "message_id": "m1",
        "device_id": "trk-1",
        "time": "2026-11-25T10:00:00+01:00",
        "readings": {"temperature": 4.5, "battery": 88},
        "lat": 50.11,
        "lon": 8.68,
    }
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not ...}
    return "spareflow/telemetry/trk-1", orjson.dumps(body)


def test_a_message_is_decoded_with_event_time_and_readings() -> None:
    batch = decode([message(shipment_id="SH-1", extra="ignored")], received_us=7)
    assert batch.message_id == ["m1"] and batch.device_id == ["trk-1"]
    assert batch.time_us == [
        int(datetime.fromisoformat("2026-11-25T09:00:00+00:00").timestamp()) * 10**6
    ]
    assert batch.variable == ["temperature", "battery"] and batch.value == [4.5, 88.0]
    assert batch.reading_message == [0, 0]
    assert (batch.latitude, batch.longitude, batch.shipment_id) == ([50.11], [8.68], ["SH-1"])
    assert batch.received_us == [7] and not batch.rejected


def test_zulu_and_fractional_times() -> None:
    assert event_time_us("1970-01-01T00:00:01.25Z") == 1_250_000
    assert event_time_us("1969-12-31T23:00:00-01:00") == 0


def test_duplicates_within_a_batch_are_counted_once() -> None:
    batch = decode([message(), message(), message(message_id="m2")], received_us=0)
    assert batch.message_id == ["m1", "m2"] and batch.duplicates == 1


@pytest.mark.parametrize(
    ("topic", "fields", "reason"),
    [
        (None, {"message_id": ...}, "message_id is missing"),
        (None, {"message_id": ""}, "message_id must be a non-empty string"),
        (None, {"message_id": 12}, "message_id must be a non-empty string"),
        (None, {"device_id": "trk-2"}, "device_id 'trk-2' differs from the topic's 'trk-1'"),
        ("spareflow/telemetry/a/b", {}, "topic is not spareflow/telemetry/{device_id}"),
        ("other/trk-1", {}, "topic is not"),
        (None, {"time": "2026-11-25T10:00:00"}, "has no UTC offset"),
        (None, {"time": "yesterday"}, "is not ISO 8601"),
        (None, {"time": 1764061200}, "time must be an ISO 8601 string"),
        (None, {"time": ...}, "time must be an ISO 8601 string"),
        (None, {"readings": [1, 2]}, "readings must be an object"),
        (None, {"readings": {"temperature": "hot"}}, "reading 'temperature' must be a number"),
        (None, {"readings": {"door": True}}, "reading 'door' must be a number"),
        (None, {"readings": {"": 1}}, "reading name '' must be 1 to 64 characters"),
        (None, {"lat": 91}, "lat 91 is outside -90..90"),
        (None, {"lon": "8.6"}, "lon must be a number"),
        (None, {"lon": ...}, "lat and lon must come together"),
        (None, {"readings": {}, "lat": ..., "lon": ...}, "no readings and no position"),
        (None, {"shipment_id": ""}, "shipment_id must be a non-empty string"),
        (None, {"asset_id": "x" * 65}, "asset_id is longer than 64 characters"),
    ],
)
def test_contract_breaches_are_quarantined_with_the_reason(
    topic: str | None, fields: dict[str, object], reason: str
) -> None:
    default_topic, raw = message(**fields)
    batch = decode([(topic or default_topic, raw)], received_us=5)
    assert len(batch) == 0
    [rejected] = batch.rejected
    assert reason in rejected.reason
    assert rejected.payload == raw.decode() and rejected.received_us == 5


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "payload is not JSON"),
        (b"[1, 2]", "payload must be a JSON object, got list"),
        (b'{"readings": {"t": NaN}}', "payload is not JSON"),
        (b"\xff\xfe", "payload is not JSON"),
        (b'{"a": "' + b"x" * 70_000 + b'"}', "over the 65536 limit"),
    ],
)
def test_unreadable_payloads_are_quarantined(raw: bytes, reason: str) -> None:
    batch = decode([("spareflow/telemetry/trk-1", raw)], received_us=0)
    [rejected] = batch.rejected
    assert reason in rejected.reason
    assert rejected.payload == raw.decode("utf-8", errors="backslashreplace")
