"""``spareflow ingest mqtt``: subscribe to tracker and equipment telemetry (QoS 1) and
store it, batch by batch.

At-least-once, end to end: messages are acknowledged to the broker only after the batch
holding them is committed, so a crash loses nothing (the broker redelivers) and a
redelivery is caught by the message_id dedupe. MQTT 5 with a Receive Maximum of 65,535
lets the broker keep sending while a batch is being stored, and a persistent session
(fixed client id, session expiry) keeps messages queued at the broker while the ingest
is down. Messages are handed to the store in batches of up to ``batch_size`` or every
``flush_seconds``, whichever comes first.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import NotFound, ParameterError
from spareflow.ingest.payload import TelemetryBatch, decode
from spareflow.services.telemetry import IngestCounts, store_batch

DEFAULT_TOPIC = "spareflow/telemetry/#"


@dataclass(frozen=True)
class Broker:
    """Where the broker is: host, port, TLS, and credentials if any."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """``mqtt://[user:pass@]host[:1883]`` or ``mqtts://...[:8883]`` (TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ParameterError("--broker", f"mqtt://host[:port] or mqtts://..., got {url!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ParameterError("--broker", f"bad port in {url!r}") from None
        user = unquote(parts.username) if parts.username else None
        word = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, port, tls, user, word)


@dataclass
class IngestSummary(IngestCounts):
    received: int = 0
    batches: int = 0


class MqttIngest:
    """One subscriber storing into the store behind ``factory``, subscribed to one or
    more topic filters."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        broker: Broker,
        topics: str | Sequence[str] = DEFAULT_TOPIC,
        client_id: str = "spareflow-ingest",
        session_expiry_seconds: int = 86_400,
        batch_size: int = 5_000,
        flush_seconds: float = 0.2,
    ) -> None:
        self.factory, self.broker = factory, broker
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.batch_size, self.flush_seconds = batch_size, flush_seconds
        self._pending: list[tuple[str, bytes, int, int]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._last_message = time.monotonic()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        self._connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        self._connect_properties.ReceiveMaximum = 65_535
        self._connect_properties.SessionExpiryInterval = session_expiry_seconds

    # --- paho's network thread -------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(topic, 1) for topic in self.topics])

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, reasons: Any, props: Any) -> None:
        self._last_message = time.monotonic()
        self._subscribed.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self._pending.append((message.topic, message.payload, message.mid, message.qos))
            full = len(self._pending) >= self.batch_size
        self._last_message = time.monotonic()
        if full:
            self._wake.set()

    # --- the storing thread ----------------------------------------------------------

    def subscribed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the subscription; True once it is in place
        (publish after this, or a non-retained message may pass before the ingest)."""
        return self._subscribed.wait(timeout)

    def stop(self) -> None:
        """Finish the batch in hand, then return from :meth:`run`."""
        self._stop.set()
        self._wake.set()

    def run(
        self,
        until_idle: float | None = None,
        progress: Callable[[IngestSummary], None] | None = None,
        connect_timeout: float = 10.0,
        on_subscribed: Callable[[], None] | None = None,
    ) -> IngestSummary:
        """Ingest until :meth:`stop` (or SIGINT/SIGTERM in the main thread), or until no
        message has come for ``until_idle`` seconds."""
        summary = IngestSummary()
        client = self._client
        try:
            client.connect(
                self.broker.host, self.broker.port, keepalive=30, clean_start=False,
                properties=self._connect_properties,
            )  # fmt: skip
        except OSError as exc:
            raise NotFound(
                f"--broker: cannot reach the MQTT broker at "
                f"{self.broker.host}:{self.broker.port} ({exc})"
            ) from None
        restore = self._handle_signals()
        client.loop_start()
        try:
            if not self._subscribed.wait(connect_timeout):
                raise NotFound(
                    f"--broker: no subscription to {', '.join(self.topics)} at "
                    f"{self.broker.host}:{self.broker.port} within {connect_timeout:g} s"
                )
            if on_subscribed is not None:
                on_subscribed()
            while True:
                self._wake.wait(self.flush_seconds)
                self._wake.clear()
                with self._lock:
                    taken, self._pending = self._pending, []
                if taken:
                    self._store(taken, summary)
                    if progress is not None:
                        progress(summary)
                elif self._stop.is_set() or (
                    until_idle is not None and time.monotonic() - self._last_message >= until_idle
                ):
                    break
        finally:
            client.disconnect()
            client.loop_stop()
            restore()
        return summary

    def _store(self, taken: list[tuple[str, bytes, int, int]], summary: IngestSummary) -> None:
        now_us = time.time_ns() // 1_000
        batch = decode(
            [(topic, payload) for topic, payload, _, _ in taken], now_us, TelemetryBatch()
        )
        summary.add(store_batch(self.factory, batch))
        summary.received += len(taken)
        summary.batches += 1
        for _, _, mid, qos in taken:  # only now is the batch safe
            if qos > 0:
                self._client.ack(mid, qos)

    def _handle_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in previous:
            signal.signal(s, lambda *_: self.stop())

        def restore() -> None:
            for s, handler in previous.items():
                signal.signal(s, handler)

        return restore
