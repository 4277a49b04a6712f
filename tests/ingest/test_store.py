"""Storing a batch without the broker: a position-only batch (no readings at all) still
tracks its shipment."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from sqlalchemy.orm import Session, sessionmaker

from spareflow.ingest.payload import decode
from spareflow.services.master import add_site
from spareflow.services.shipments import ShipmentIn, create_shipment, get_shipment
from spareflow.services.telemetry import store_batch
from spareflow.store.session import unit_of_work


def test_a_batch_of_positions_only_tracks_the_shipment(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        add_site(s, "FRA", latitude=50.11, longitude=8.68)
        add_site(s, "CGN", latitude=50.94, longitude=6.96)
        create_shipment(
            s,
            ShipmentIn("SH-1", "FRA", "CGN", "ltl", datetime(2026, 11, 25, 8, tzinfo=UTC),
                       datetime(2026, 11, 25, 12, tzinfo=UTC), device_id="trk-1"),
        )  # fmt: skip
    body = {"message_id": "p1", "device_id": "trk-1", "time": "2026-11-25T09:00:00Z",
            "readings": {}, "lat": 50.5, "lon": 7.9}  # fmt: skip
    counts = store_batch(factory, decode([("spareflow/telemetry/trk-1", orjson.dumps(body))], 0))
    assert (counts.stored, counts.readings) == (1, 0)
    assert counts.alerts == [("SH-1", "departed", datetime(2026, 11, 25, 9, tzinfo=UTC))]
    with unit_of_work(factory) as s:
        assert get_shipment(s, "SH-1").status == "in_transit"
