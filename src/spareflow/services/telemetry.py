"""Storing decoded telemetry: each message once, its readings, the quarantine, and the
shipment tracking its trackers drive (departure, arrival, ETA, alerts), in one
transaction per batch so that a batch is stored whole or not at all and the broker's
acknowledgement can wait for the commit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import String, any_, bindparam, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from spareflow.ingest.payload import TelemetryBatch
from spareflow.services.plan_export import frame_of
from spareflow.store.dialect import bulk_insert
from spareflow.store.models import (
    QuarantinedMessage,
    Shipment,
    ShipmentEvent,
    Site,
    TelemetryMessage,
    TelemetryReading,
)
from spareflow.store.session import unit_of_work
from spareflow.transport.tracking import (
    NEVER,
    NO_TIME,
    Alert,
    Observations,
    TrackEvents,
    TrackState,
    from_us,
    to_us,
    track,
)

#: the reading that temperature alerts watch
TEMPERATURE = "temperature"
#: shipments whose trackers still matter
TRACKED = ("planned", "in_transit", "arrived")
_CHUNK = 5_000


@dataclass
class IngestCounts:
    """What happened to the messages handed in so far."""

    stored: int = 0
    readings: int = 0
    duplicates: int = 0
    quarantined: int = 0
    alerts: list[tuple[str, str, datetime]] = field(default_factory=list)

    def add(self, other: IngestCounts) -> None:
        self.stored += other.stored
        self.readings += other.readings
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.alerts.extend(other.alerts)


def store_batch(factory: sessionmaker[Session], batch: TelemetryBatch) -> IngestCounts:
    """Store ``batch``: new messages and readings, the rejected in the quarantine, and
    tracking applied to the shipments they concern. Retried once if another ingest
    stored one of the same messages meanwhile (the second pass sees it as a duplicate)."""
    for attempt in (1, 2):
        try:
            with unit_of_work(factory) as session:
                return _store(session, batch)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _stored_ids(session: Session, ids: list[str]) -> set[str]:
    """Which of ``ids`` are stored already: one array parameter on PostgreSQL (an IN list
    of thousands of parameters cost it a third of the batch), chunked IN lists on SQLite."""
    column = TelemetryMessage.message_id
    if session.get_bind().dialect.name == "postgresql":
        wanted = bindparam("ids", ids, type_=postgresql.ARRAY(String))
        return set(session.scalars(select(column).where(column == any_(wanted))))
    known: set[str] = set()
    for chunk in _chunks(ids):
        known.update(session.scalars(select(column).where(column.in_(chunk))))
    return known


def _store(session: Session, batch: TelemetryBatch) -> IngestCounts:
    counts = IngestCounts(duplicates=batch.duplicates, quarantined=len(batch.rejected))
    connection = session.connection()
    if batch.rejected:
        bulk_insert(
            connection,
            QuarantinedMessage.__table__,  # type: ignore[arg-type]
            ("received_at", "topic", "payload", "reason"),
            [(from_us(r.received_us), r.topic, r.payload, r.reason[:500]) for r in batch.rejected],
        )
    if not len(batch):
        return counts
    known = _stored_ids(session, batch.message_id)
    keep = [i for i, m in enumerate(batch.message_id) if m not in known]
    counts.duplicates += len(batch) - len(keep)
    if not keep:
        return counts
    times = [from_us(batch.time_us[i]) for i in keep]
    bulk_insert(
        connection,
        TelemetryMessage.__table__,  # type: ignore[arg-type]
        ("message_id", "device_id", "time", "received_at", "topic", "latitude", "longitude",
         "shipment_id", "asset_id"),
        [
            (batch.message_id[i], batch.device_id[i], at, from_us(batch.received_us[i]),
             batch.topic[i], _number(batch.latitude[i]), _number(batch.longitude[i]),
             batch.shipment_id[i], batch.asset_id[i])
            for i, at in zip(keep, times, strict=True)
        ],
    )  # fmt: skip
    when: list[datetime | None] = [None] * len(batch)  # None: a duplicate, not stored
    for i, at in zip(keep, times, strict=True):
        when[i] = at
    readings = [
        (batch.message_id[m], v, batch.device_id[m], when[m], x)
        for m, v, x in zip(batch.reading_message, batch.variable, batch.value, strict=True)
        if when[m] is not None
    ]
    bulk_insert(
        connection,
        TelemetryReading.__table__,  # type: ignore[arg-type]
        ("message_id", "variable", "device_id", "time", "value"),
        readings,
    )
    counts.stored, counts.readings = len(keep), len(readings)
    counts.alerts = _track(session, batch, np.asarray(keep, dtype=np.int64))
    return counts


def _number(value: float) -> float | None:
    return None if value != value else value


def _track(
    session: Session, batch: TelemetryBatch, keep: np.ndarray
) -> list[tuple[str, str, datetime]]:
    """Tracking for the kept messages that name a shipment, or come from the tracker of
    a shipment under way."""
    named = {batch.shipment_id[i] for i in keep} - {None}
    devices = {batch.device_id[i] for i in keep}
    rows = list(
        session.scalars(
            select(Shipment)
            .where(
                Shipment.status.in_(TRACKED),
                or_(Shipment.shipment_id.in_(named), Shipment.device_id.in_(devices)),
            )
            .order_by(Shipment.planned_departure)
            .with_for_update()
        )
    )
    if not rows:
        return []
    index = {row.shipment_id: i for i, row in enumerate(rows)}
    by_device = {row.device_id: i for i, row in enumerate(rows) if row.device_id}  # latest wins
    # a message naming an unknown shipment is stored but tracks nothing; one naming none
    # tracks its device's shipment
    named_or_device = [(batch.shipment_id[i], batch.device_id[i]) for i in keep]
    ship = np.array(
        [index.get(s, -1) if s else by_device.get(d, -1) for s, d in named_or_device],
        dtype=np.int64,
    )
    on = ship >= 0
    if not on.any():
        return []
    temperature = np.full(len(batch), np.nan)
    is_temperature = np.asarray(batch.variable, dtype=object) == TEMPERATURE
    temperature[np.asarray(batch.reading_message, dtype=np.int64)[is_temperature]] = np.asarray(
        batch.value
    )[is_temperature]
    msg = keep[on]
    seen = Observations(
        ship[on],
        batch.times()[msg],
        np.asarray(batch.latitude)[msg],
        np.asarray(batch.longitude)[msg],
        temperature[msg],
        msg,
    )
    state, events = track(_state(session, rows), seen)
    return _apply(session, rows, state, events, batch)


def _state(session: Session, rows: list[Shipment]) -> TrackState:
    site_ids = {r.origin_site_id for r in rows} | {r.destination_site_id for r in rows}
    place = {
        s.site_id: (s.latitude, s.longitude)
        for s in session.scalars(select(Site).where(Site.site_id.in_(site_ids)))
    }

    def coords(site_id: str) -> tuple[float, float]:
        lat, lon = place.get(site_id, (None, None))
        return (np.nan if lat is None else lat, np.nan if lon is None else lon)

    origin = np.array([coords(r.origin_site_id) for r in rows], dtype=float).reshape(-1, 2)
    dest = np.array([coords(r.destination_site_id) for r in rows], dtype=float).reshape(-1, 2)

    def floats(values: list[Any]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    def times(values: list[datetime | None], missing: int) -> np.ndarray:
        return np.array([missing if v is None else to_us(v) for v in values], dtype=np.int64)

    return TrackState(
        origin[:, 0], origin[:, 1], dest[:, 0], dest[:, 1],
        floats([r.geofence_m / 1000 for r in rows]), floats([r.speed_kmh for r in rows]),
        times([r.planned_arrival for r in rows], NO_TIME),
        times([r.departed_at for r in rows], NO_TIME),
        times([r.arrived_at for r in rows], NO_TIME),
        times([r.position_time for r in rows], NEVER),
        floats([r.latitude for r in rows]), floats([r.longitude for r in rows]),
        times([r.eta for r in rows], NO_TIME),
        floats([r.temperature_min for r in rows]), floats([r.temperature_max for r in rows]),
        times([r.temperature_time for r in rows], NEVER),
        np.array([r.excursion_open for r in rows], dtype=bool),
        np.array([r.late_alerted for r in rows], dtype=bool),
    )  # fmt: skip


def _apply(
    session: Session,
    rows: list[Shipment],
    state: TrackState,
    events: TrackEvents,
    batch: TelemetryBatch,
) -> list[tuple[str, str, datetime]]:
    def at(us: int) -> datetime | None:
        return None if us in (NO_TIME, NEVER) else from_us(us)

    for i, row in enumerate(rows):
        row.departed_at = at(int(state.departed_us[i]))
        row.arrived_at = at(int(state.arrived_us[i]))
        row.eta = at(int(state.eta_us[i]))
        row.position_time = at(int(state.position_us[i]))
        row.latitude = _number(float(state.latitude[i]))
        row.longitude = _number(float(state.longitude[i]))
        row.temperature_time = at(int(state.temperature_us[i]))
        row.excursion_open = bool(state.excursion_open[i])
        row.late_alerted = bool(state.late_alerted[i])
        if row.arrived_at is not None:
            row.status = "arrived"
        elif row.departed_at is not None:
            row.status = "in_transit"
    raised = []
    for s, t, a, m, v in zip(
        events.shipment, events.time_us, events.alert, events.message, events.value, strict=True
    ):
        alert, row, when = Alert(int(a)), rows[int(s)], from_us(int(t))
        detail: dict[str, Any] = {"device_id": batch.device_id[int(m)]}
        if alert is Alert.LATE:
            detail["eta"] = from_us(int(v)).isoformat()
            detail["planned_arrival"] = row.planned_arrival.isoformat()
        elif alert in (Alert.TEMPERATURE_EXCURSION, Alert.TEMPERATURE_RECOVERED):
            detail.update(
                temperature=float(v), minimum=row.temperature_min, maximum=row.temperature_max
            )
        session.add(
            ShipmentEvent(
                shipment_id=row.shipment_id, time=when, kind=alert.label, detail=detail,
                message_id=batch.message_id[int(m)],
            )
        )  # fmt: skip
        raised.append((row.shipment_id, alert.label, when))
    return raised


def readings_frame(session: Session) -> pl.DataFrame:
    """Every stored reading (device_id, time, variable, value, message_id) in event-time
    order per device: the design.md export, and the long table ``spareflow pdm`` reads."""
    t = TelemetryReading
    return frame_of(
        session,
        select(t.device_id, t.time, t.variable, t.value, t.message_id).order_by(
            t.device_id, t.time, t.message_id, t.variable
        ),
        "device_id time:time variable value:float message_id",
    )


def quarantine_frame(session: Session) -> pl.DataFrame:
    """Every refused message with its topic, raw payload and the reason, oldest first."""
    q = QuarantinedMessage
    return frame_of(
        session,
        select(q.quarantine_id, q.received_at, q.topic, q.payload, q.reason).order_by(
            q.quarantine_id
        ),
        "quarantine_id:int received_at:time topic payload reason",
    )
