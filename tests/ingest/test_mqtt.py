"""MQTT ingest through the real broker (Mosquitto, 127.0.0.1:1883) into both stores:
duplicates stored once, event order kept, malformed messages quarantined, tracking
alerts raised on the shipment, and a second delivery of everything changing nothing."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import NotFound, ParameterError
from spareflow.ingest.mqtt import Broker, IngestSummary, MqttIngest
from spareflow.services.master import add_site
from spareflow.services.shipments import ShipmentIn, create_shipment, get_shipment, shipment_events
from spareflow.services.telemetry import quarantine_frame, readings_frame
from spareflow.store.models import TelemetryMessage
from spareflow.store.session import unit_of_work
from store_backends import MQTT_HOST, MQTT_PORT, require_mqtt

DAY = datetime(2026, 11, 25, tzinfo=UTC)
# devices of this run only, subscribed to exactly: another run sharing the broker (or
# anyone publishing to spareflow/telemetry/#) cannot reach these tests
RUN = uuid.uuid4().hex[:8]
TRK, PUMP_ID, OTHER = f"trk-1-{RUN}", f"pump-7-{RUN}", f"trk-9-{RUN}"
TOPICS = [f"spareflow/telemetry/{device}" for device in (TRK, PUMP_ID, OTHER)]


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return DAY + timedelta(hours=h, minutes=m)


def tracker(n: int, hhmm: str, lat: float | None, lon: float | None, temp: float) -> bytes:
    body: dict[str, object] = {
        "message_id": f"{TRK}-{n}", "device_id": TRK, "time": at(hhmm).isoformat(),
        "readings": {"temperature": temp, "battery": 90 - n}, "shipment_id": "SH-1",
    }  # fmt: skip
    if lat is not None:
        body.update(lat=lat, lon=lon)
    return orjson.dumps(body)


TRIP = [
    tracker(1, "07:50", 50.11, 8.68, 4.0),
    tracker(2, "08:10", 50.20, 8.50, 5.0),
    tracker(3, "09:00", 50.50, 7.90, 9.0),
    tracker(4, "09:30", None, None, 10.0),
    tracker(5, "10:00", 50.70, 7.40, 6.0),
    tracker(6, "11:50", 50.94, 6.96, 5.0),
]
PUMP = [  # equipment telemetry: no shipment, an asset
    orjson.dumps({"message_id": f"pump-{k}", "device_id": PUMP_ID, "asset_id": "P-7",
                  "time": at(f"0{k}:00").isoformat(), "readings": {"vibration": 0.1 * k}})
    for k in range(1, 5)
]  # fmt: skip
NAIVE = {"message_id": "x", "device_id": TRK, "time": "2026-11-25T10:00:00", "readings": {}}
ELSEWHERE = {
    "message_id": "y",
    "device_id": TRK,
    "time": "2026-11-25T10:00:00Z",
    "readings": {"t": 1},
}
MALFORMED = [
    (TOPICS[0], b"{oops"),
    (TOPICS[0], orjson.dumps(NAIVE)),
    (TOPICS[2], orjson.dumps(ELSEWHERE)),
]


def publish(messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(100)
    client.connect(MQTT_HOST, MQTT_PORT)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def ingest_while(
    factory: sessionmaker[Session], messages: list[tuple[str, bytes]]
) -> IngestSummary:
    """Run the ingest, publish ``messages`` once it is subscribed, stop when idle."""
    ingest = MqttIngest(
        factory, Broker(MQTT_HOST, MQTT_PORT), TOPICS, f"test-ingest-{uuid.uuid4().hex[:8]}",
        session_expiry_seconds=0, flush_seconds=0.05,
    )  # fmt: skip
    result: list[IngestSummary] = []
    runner = threading.Thread(target=lambda: result.append(ingest.run(until_idle=1.0)))
    runner.start()
    assert ingest._subscribed.wait(10)
    publish(messages)
    runner.join(30)
    assert not runner.is_alive() and result
    return result[0]


@pytest.fixture
def shipment(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    require_mqtt()
    with unit_of_work(factory) as session:
        add_site(session, "FRA", latitude=50.11, longitude=8.68)
        add_site(session, "CGN", latitude=50.94, longitude=6.96)
        create_shipment(
            session,
            ShipmentIn("SH-1", "FRA", "CGN", "ltl", at("08:00"), at("12:00"), device_id=TRK,
                       temperature_min=2.0, temperature_max=8.0),
        )  # fmt: skip
    return factory


def test_ingest_stores_once_in_event_order_and_raises_alerts(
    shipment: sessionmaker[Session],
) -> None:
    rng = np.random.default_rng(11)
    stream = [(TOPICS[0], p) for p in TRIP] + [(TOPICS[1], p) for p in PUMP]
    stream = [stream[k] for k in rng.permutation(len(stream))]  # out of order
    stream += [stream[0], stream[3], stream[5], *MALFORMED]  # duplicates and garbage
    summary = ingest_while(shipment, stream)
    assert summary.received == len(stream)
    assert (summary.stored, summary.duplicates, summary.quarantined) == (10, 3, 3)
    assert summary.readings == 2 * 6 + 4
    with unit_of_work(shipment) as session:
        readings = readings_frame(session)
        quarantine = quarantine_frame(session)
        sh = get_shipment(session, "SH-1")
        events = [(e.kind, e.time) for e in shipment_events(session, "SH-1")]
    assert readings.height == 16
    for device, times in ((TRK, ["07:50", "08:10", "09:00", "09:30", "10:00", "11:50"]),
                          (PUMP_ID, ["01:00", "02:00", "03:00", "04:00"])):  # fmt: skip
        rows = readings.filter(device_id=device)
        expected = [at(t) for t in times for _ in range(2 if device == TRK else 1)]
        assert rows["time"].to_list() == expected
    reasons = sorted(
        r.split(":")[0] if r.startswith("payload") else r for r in quarantine["reason"]
    )
    assert reasons == [
        f"device_id '{TRK}' differs from the topic's '{OTHER}'",
        "payload is not JSON",  # and orjson's words for where
        "time '2026-11-25T10:00:00' has no UTC offset",
    ]
    assert quarantine["payload"].to_list()[0] in {p.decode() for _, p in MALFORMED}
    assert (sh.status, sh.departed_at, sh.arrived_at, sh.eta) == (
        "arrived",
        at("08:10"),
        at("11:50"),
        at("11:50"),
    )
    assert events == [
        ("planned", at("08:00")),
        ("departed", at("08:10")),
        ("temperature_excursion", at("09:00")),
        ("temperature_recovered", at("10:00")),
        ("arrived", at("11:50")),
    ]
    assert [(k, t) for _, k, t in summary.alerts] == events[1:]

    # everything again, as after a broker redelivery: nothing new anywhere
    again = ingest_while(shipment, stream)
    assert (again.stored, again.duplicates, again.quarantined, again.alerts) == (0, 13, 3, [])
    with unit_of_work(shipment) as session:
        assert session.scalar(select(func.count()).select_from(TelemetryMessage)) == 10
        assert len(shipment_events(session, "SH-1")) == 5


def test_broker_urls() -> None:
    assert Broker.from_url("mqtt://127.0.0.1:1883") == Broker("127.0.0.1", 1883)
    assert Broker.from_url("mqtts://u:p%40ss@example.com") == Broker(
        "example.com", 8883, True, "u", "p@ss"
    )
    for bad in ("http://x", "mqtt://", "mqtt://host:port"):
        with pytest.raises(ParameterError, match="--broker"):
            Broker.from_url(bad)


def test_an_unreachable_broker_is_named(factory: sessionmaker[Session]) -> None:
    ingest = MqttIngest(factory, Broker("127.0.0.1", 9))
    with pytest.raises(NotFound, match=r"cannot reach the MQTT broker at 127\.0\.0\.1:9"):
        ingest.run(until_idle=0.1)
