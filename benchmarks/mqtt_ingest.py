"""MQTT ingest, end to end through a real Mosquitto broker (issue 7's target: 5,000
messages/s with dedupe on 2 cores, goal 20,000/s): spareflow's ingest against the
per-message pattern of IoT tutorials (paho callback, json.loads, one INSERT and commit per
message, acknowledged on receipt), on the same backlog of tracker messages, 10 %
duplicates, shuffled event times and 0.5 % malformed.

The benchmark starts its own broker on port 18830 with an unbounded queue
(``max_queued_messages 0``), creates each subscriber's persistent session, publishes the
backlog while the subscriber is away, then times the subscriber draining it: from
connecting to the commit of the last message. Publishing is timed apart (it is the
devices' work, not ours).

    .venv/bin/python benchmarks/mqtt_ingest.py [--messages 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select, text

sys.path.insert(0, str(Path(__file__).parent))
from _postgres import schema_engine, scratch_schema
from spareflow.ingest.mqtt import Broker, IngestSummary, MqttIngest
from spareflow.store.models import TelemetryMessage
from spareflow.store.session import make_engine, session_factory, upgrade

PORT = 18830
TOPIC = "spareflow/telemetry/#"


def start_broker(folder: Path) -> subprocess.Popen[bytes]:
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {PORT} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n"
    )
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            import socket

            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            return broker
        except OSError:
            time.sleep(0.1)
    raise SystemExit("mosquitto did not start on port 18830")


def backlog(n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """n tracker messages from 1,000 devices, 10 % of them sent twice, 0.5 % malformed,
    event times shuffled against publishing order."""
    rng = np.random.default_rng(seed)
    unique = int(n / 1.1)
    device = rng.integers(0, 1000, unique)
    minute = rng.permutation(unique)
    out = []
    for k in range(unique):
        d = f"trk-{device[k]:04d}"
        body = {
            "message_id": f"{d}-{k}", "device_id": d,
            "time": f"2026-11-{1 + minute[k] // 1440 % 28:02d}T{minute[k] // 60 % 24:02d}:"
                    f"{minute[k] % 60:02d}:00+00:00",
            "readings": {"temperature": round(float(rng.normal(5, 1)), 2),
                         "shock": round(float(rng.exponential(0.2)), 3), "battery": 80},
            "lat": round(float(rng.uniform(47, 55)), 5), "lon": round(float(rng.uniform(6, 15)), 5),
        }  # fmt: skip
        out.append((f"spareflow/telemetry/{d}", orjson.dumps(body)))
    out += [out[k] for k in rng.choice(unique, n - unique - n // 200, replace=False)]
    out += [(f"spareflow/telemetry/trk-{k:04d}", b"{not json") for k in range(n // 200)]
    return [out[k] for k in rng.permutation(len(out))]


def publish(messages: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 from a separate process (the devices); seconds taken."""
    path = Path(tempfile.mkstemp(suffix=".json")[1])
    path.write_text(json.dumps([(t, p.decode()) for t, p in messages]))
    script = f"""
import json, paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-devices")
c.max_inflight_messages_set(2000); c.connect("127.0.0.1", {PORT}); c.loop_start()
backlog = json.load(open({str(path)!r}))
for start in range(0, len(backlog), 1000):
    infos = [c.publish(t, p, qos=1) for t, p in backlog[start:start + 1000]]
    for i in infos: i.wait_for_publish(120)
c.disconnect(); c.loop_stop()
"""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True)
    path.unlink()
    return time.perf_counter() - started


def session_now(client_id: str) -> None:
    """Create a persistent session for ``client_id`` (subscribed at QoS 1), then leave."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    c.connect("127.0.0.1", PORT, clean_start=True, properties=props)
    c.loop_start()
    c.subscribe(TOPIC, qos=1)
    done.wait(10)
    c.disconnect()
    c.loop_stop()


def ours(engine: Engine, messages: list[tuple[str, bytes]]) -> tuple[float, IngestSummary]:
    client_id = f"bench-ours-{uuid.uuid4().hex[:6]}"
    session_now(client_id)
    publish(messages)
    ingest = MqttIngest(session_factory(engine), Broker("127.0.0.1", PORT), TOPIC, client_id, 0)
    last = [0.0]

    def note(_: IngestSummary) -> None:
        last[0] = time.perf_counter()

    started = time.perf_counter()
    summary = ingest.run(until_idle=2.0, progress=note)
    return last[0] - started, summary


def naive(engine: Engine, messages: list[tuple[str, bytes]]) -> tuple[float, int]:
    """The tutorial pattern: per message, json.loads, INSERT OR IGNORE the message and its
    readings, commit; paho acknowledges on receipt."""
    client_id = f"bench-naive-{uuid.uuid4().hex[:6]}"
    session_now(client_id)
    publish(messages)
    raw = engine.raw_connection()
    cur = raw.cursor()
    pg = engine.dialect.name == "postgresql"
    mark = "%s" if pg else "?"
    skip = "ON CONFLICT DO NOTHING" if pg else ""
    ignore = "" if pg else "OR IGNORE"
    seen = [0, time.perf_counter()]

    def on_message(client: object, userdata: object, m: mqtt.MQTTMessage) -> None:
        seen[0] += 1
        seen[1] = time.perf_counter()
        try:
            body = json.loads(m.payload)
            cur.execute(
                f"INSERT {ignore} INTO telemetry_messages (message_id, device_id, time, "
                f"received_at, topic, latitude, longitude) VALUES ({', '.join([mark] * 7)}) {skip}",
                (body["message_id"], body["device_id"], body["time"], body["time"], m.topic,
                 body.get("lat"), body.get("lon")),
            )  # fmt: skip
            for name, value in body["readings"].items():
                cur.execute(
                    f"INSERT {ignore} INTO telemetry_readings (message_id, variable, device_id, "
                    f"time, value) VALUES ({', '.join([mark] * 5)}) {skip}",
                    (body["message_id"], name, body["device_id"], body["time"], value),
                )
        except (ValueError, KeyError):
            pass
        raw.commit()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.on_message = on_message
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    started = time.perf_counter()
    c.connect("127.0.0.1", PORT, clean_start=False, properties=props)
    c.loop_start()
    while seen[0] < len(messages) and time.perf_counter() - max(seen[1], started) < 5:
        time.sleep(0.05)
    c.disconnect()
    c.loop_stop()
    raw.close()
    return seen[1] - started, seen[0]


def stored(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(TelemetryMessage)).scalar_one())


def clear(engine: Engine) -> None:
    with engine.begin() as c:
        for table in ("telemetry_readings", "telemetry_messages", "telemetry_quarantine"):
            c.execute(text(f"DELETE FROM {table}"))


def run(name: str, engine: Engine, messages: list[tuple[str, bytes]]) -> None:
    upgrade(engine)
    unique = len({orjson.loads(p)["message_id"] for _, p in messages if p != b"{not json"})
    seconds, summary = ours(engine, messages)
    assert stored(engine) == unique == summary.stored, (stored(engine), unique, summary.stored)
    rate = summary.received / seconds
    print(
        f"  {name:10s} spareflow: {summary.received:,} messages in {seconds:.2f} s = {rate:,.0f}/s "
        f"({summary.stored:,} stored, {summary.duplicates:,} duplicates, "
        f"{summary.quarantined:,} quarantined, {summary.batches} batches)"
    )
    clear(engine)
    base_seconds, base_n = naive(engine, messages)
    base = base_n / base_seconds
    print(
        f"  {name:10s} per-message: {base_n:,} messages in {base_seconds:.2f} s = {base:,.0f}/s; "
        f"spareflow {rate / base:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    messages = backlog(args.messages)
    print(f"MQTT ingest of {len(messages):,} messages through Mosquitto (QoS 1)")
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(Path(tmp))
        try:
            print(f"  devices publish the backlog in {publish(messages):.2f} s (not counted)")
            run("sqlite", make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}"), messages)
            with scratch_schema(args.postgres) as schema:
                if schema is not None:
                    engine = schema_engine(args.postgres, schema)
                    run("postgresql", engine, messages)
                    engine.dispose()
        finally:
            broker.terminate()
            broker.wait()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory {peak:,.0f} MiB (this process: subscriber and store)")


if __name__ == "__main__":
    main()
