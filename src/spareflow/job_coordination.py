"""The demo's day of coordination on its store: lanes and sourcing rules for the demo
network, a DRP run released as orders, shipments built from the released transfers and
rated, a van route around a service site, and tracker messages for one shipment sent
through a real MQTT broker where one is reachable (a note says so where none is).

Orchestration only (like :mod:`spareflow.job`): every step calls the services and
engines the commands use, and writes what it made under ``OUT/coordination``.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.data.write import write_table, write_text
from spareflow.errors import SpareflowError
from spareflow.store.models import Site
from spareflow.store.session import unit_of_work

CARRIER = "DEMO-LTL"
USER = "demo"
ROAD_FACTOR = 1.25  # road km per straight-line km


def run_day(
    factory: sessionmaker[Session], root: Path, today: date, broker_url: str | None
) -> dict[str, Path]:
    """The day of coordination on the demo store; returns the paths written."""
    out = root / "coordination"
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"date": today.isoformat()}
    with unit_of_work(factory) as session:
        report["network"] = _network(session)
    with unit_of_work(factory) as session:
        report["drp"] = _drp(session, today, out)
    with unit_of_work(factory) as session:
        report["shipments"] = _shipments(session, today, out)
    with unit_of_work(factory) as session:
        report["route"] = _route(session, out)
    report["tracking"] = _tracking(factory, broker_url)
    path = write_text(json.dumps(report, indent=2, default=str) + "\n", out / "coordination.json")
    return {"coordination": path}


# --- the network --------------------------------------------------------------------------


def _network(session: Session) -> dict[str, Any]:
    """An LTL lane from each site's parent (the DC) to it: road distance from the sites'
    coordinates, a day in transit per 500 km started, priced on the sample tariff's lane
    from zone 1 to the zone of its distance band; each site sourced from its parent."""
    from spareflow.services.master import add_partner
    from spareflow.services.network import LaneIn, RuleIn, add_lane, add_rule
    from spareflow.transport.routing import haversine_km

    add_partner(session, CARRIER, ["carrier"], name="Demo LTL carrier")
    sites = {s.site_id: s for s in session.scalars(select(Site).order_by(Site.site_id))}
    lanes = []
    for site in sites.values():
        parent = sites.get(site.parent_site_id or "")
        if parent is None or None in (site.latitude, parent.latitude):
            continue
        ends = [parent.latitude, parent.longitude, site.latitude, site.longitude]
        km = ROAD_FACTOR * float(haversine_km(*(np.array([float(x or 0)]) for x in ends))[0])
        band = 1 + sum(km > edge for edge in (250, 500, 900, 1400))
        lane_id = f"{parent.site_id}-{site.site_id}"
        add_lane(
            session,
            LaneIn(
                lane_id, site.site_id, "ltl", float(max(1, math.ceil(km / 500))),
                origin_site_id=parent.site_id, transit_days_sd=0.5, carrier_id=CARRIER,
                distance_km=round(km, 1), cost_per_shipment=60.0, cost_per_kg=0.12,
                tariff_lane=f"Z1-Z{band}",
            ),
        )  # fmt: skip
        add_rule(session, RuleIn(site.site_id, source_site_id=parent.site_id, lane_id=lane_id))
        lanes.append(
            {"lane_id": lane_id, "distance_km": round(km, 1), "tariff_lane": f"Z1-Z{band}"}
        )
    return {"lanes": lanes, "carrier": CARRIER}


def _drp(session: Session, today: date, out: Path) -> dict[str, Any]:
    """Fourteen daily buckets of DRP from today. The planned transfers due for release
    in the next two days are released as far as their source's free stock goes
    (earliest first; the rest stay planned), one order per lane and release day; the
    purchases due now too. The transfer orders made are then released for shipping,
    which reserves their stock at the source."""
    from decimal import Decimal

    from spareflow.services import drp, ledger, orders
    from spareflow.services.master import default_location_id
    from spareflow.store.models import Partner

    result = drp.compute(session, drp.DrpOptions(bucket="day", horizon=14, start=today))
    run = drp.store_run(session, result, USER)
    write_table(result.planned_orders, out / "planned_orders.csv")
    due = result.planned_orders.filter(pl.col("release_date") <= today)
    soon = result.planned_orders.filter(pl.col("release_date") <= today + timedelta(days=2))
    transfers = soon.filter(pl.col("kind") == "transfer").sort("release_date", "planned_order_id")
    free: dict[tuple[str, str], Decimal] = {}
    covered: dict[date, list[int]] = {}
    for row in transfers.iter_rows(named=True):  # orchestration over the few due today
        key = (row["item_id"], row["source_site_id"])
        if key not in free:
            free[key] = ledger.available(session, key[0], default_location_id(key[1]))
        quantity = Decimal(str(row["quantity"]))
        if quantity <= free[key]:
            free[key] -= quantity
            day = max(row["release_date"], today)
            covered.setdefault(day, []).append(int(row["planned_order_id"]))
    supplier = next(
        (p.partner_id for p in session.scalars(select(Partner).order_by(Partner.partner_id))
         if "supplier" in p.roles),
        None,
    )  # fmt: skip
    made = []
    for ids in covered.values():  # one transfer order per lane and day: the window shows
        made += drp.release(session, run.run_id, USER, planned_order_ids=ids)
    purchases = due.filter(pl.col("kind") == "purchase")["planned_order_id"].to_list()
    if purchases:
        made += drp.release(
            session, run.run_id, USER, planned_order_ids=purchases, default_supplier=supplier
        )
    for view in made:
        if view.order.kind == "transfer":
            orders.act(session, view.order.order_id, "release", USER)
    return {
        "run_id": run.run_id,
        "item_sites": result.summary.get("item_sites"),
        "planned_orders": result.planned_orders.height,
        "transfers_due_within_2_days": transfers.height,
        "transfers_released": sum(map(len, covered.values())),
        "transfers_short_of_stock": transfers.height - sum(map(len, covered.values())),
        "purchases_released": len(purchases),
        "orders_made": len(made),
    }


def _shipments(session: Session, today: date, out: Path) -> dict[str, Any]:
    """The released transfers packed, classed, consolidated and rated (sample tariff)."""
    from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
    from spareflow.services.shipment_builder import build

    built = build(session, load_tariff(SAMPLE_TARIFF), today, window_days=2)
    write_table(built.shipments, out / "shipments.csv")
    write_table(built.orders, out / "shipment_orders.csv")
    write_table(built.handling_units, out / "handling_units.csv")
    return {**built.summary, "skipped": built.skipped[:10]}


def _route(session: Session, out: Path) -> dict[str, Any]:
    """A van day around the first service site: the generated routing day (30 stops,
    two-hour windows) moved onto the site's coordinates and solved with PyVRP."""
    from spareflow.data.clock import route_table
    from spareflow.data.demo_routes import routing_day
    from spareflow.transport.routing import solve

    site = session.scalars(
        select(Site).where(Site.parent_site_id.is_not(None), Site.latitude.is_not(None))
    ).first()
    problem = routing_day(stops=30, vehicles=4, seed=5)
    if site is not None and site.latitude is not None and site.longitude is not None:
        dlat, dlon = site.latitude - problem.depot_lat, site.longitude - problem.depot_lon
        problem = replace(
            problem, depot_lat=site.latitude, depot_lon=site.longitude,
            lat=problem.lat + dlat, lon=problem.lon + dlon,
        )  # fmt: skip
    plan = solve(problem, seconds=2.0, seed=0)
    write_table(route_table(plan), out / "route.csv")
    return {
        "depot": site.site_id if site is not None else None,
        "stops": len(problem.stop_ids),
        "vans_used": sum(1 for r in plan.routes if r.stops),
        "distance_km": round(plan.distance_km, 1),
        "feasible": plan.feasible,
    }


# --- tracking through the broker ------------------------------------------------------------


def _tracking(factory: sessionmaker[Session], broker_url: str | None) -> dict[str, Any]:
    """A tracker on the first built shipment (cold chain 2-25 °C) sends its trip through
    the broker: departure, a temperature excursion, a duplicate, arrival. The ingest
    stores it and raises the alerts; the shipment's events are reported."""
    from spareflow.ingest.mqtt import Broker
    from spareflow.store.models import Shipment

    url = broker_url or "mqtt://127.0.0.1:1883"
    broker = Broker.from_url(url)
    try:
        with socket.create_connection((broker.host, broker.port), timeout=1.0):
            pass
    except OSError as exc:
        return {
            "broker": url,
            "note": f"no MQTT broker reachable at {broker.host}:{broker.port} ({exc}): the "
            "tracker messages were not sent; start Mosquitto (or set SPAREFLOW_MQTT_URL) "
            "and run the demo again to see live tracking",
        }
    with unit_of_work(factory) as session:
        shipment = session.scalars(
            select(Shipment).where(Shipment.status == "planned").order_by(Shipment.shipment_id)
        ).first()
        if shipment is None:
            return {"broker": url, "note": "no shipment was built today: nothing to track"}
        origin = session.get(Site, shipment.origin_site_id)
        destination = session.get(Site, shipment.destination_site_id)
        if origin is None or destination is None or None in (
            origin.latitude, destination.latitude
        ):  # fmt: skip
            return {"broker": url, "note": "the shipment's sites have no coordinates"}
        device = f"DEMO-TRK-{uuid.uuid4().hex[:8]}"
        shipment.device_id, shipment.temperature_min, shipment.temperature_max = device, 2.0, 25.0
        shipment_id = shipment.shipment_id
        start, end = shipment.planned_departure, shipment.planned_arrival
        a = (float(origin.latitude or 0), float(origin.longitude or 0))
        b = (float(destination.latitude or 0), float(destination.longitude or 0))
    messages = _trip(device, shipment_id, start, end, a, b)
    try:
        summary = _send(factory, broker, device, messages)
    except (OSError, SpareflowError) as exc:
        return {"broker": url, "note": f"tracking through the broker failed: {exc}"}
    with unit_of_work(factory) as session:
        from spareflow.services.shipments import get_shipment, shipment_events

        tracked = get_shipment(session, shipment_id)
        events = [
            {"time": e.time.isoformat(), "kind": e.kind, "detail": e.detail}
            for e in shipment_events(session, shipment_id)
        ]
        status = tracked.status
    return {
        "broker": url,
        "shipment_id": shipment_id,
        "device_id": device,
        "sent": len(messages),
        "stored": summary.stored,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined,
        "status": status,
        "events": events,
    }


def _trip(
    device: str,
    shipment_id: str,
    start: datetime,
    end: datetime,
    a: tuple[float, float],
    b: tuple[float, float],
) -> list[bytes]:
    """Six positions from origin to destination over the planned trip, the fourth one
    at 31 °C (an excursion), the third one sent twice."""
    span = (end - start) / 5
    out = []
    for k in range(6):
        f = k / 5
        body = {
            "message_id": f"{device}-{k}",
            "device_id": device,
            "time": (start + timedelta(hours=1) * (k == 0) + span * k).astimezone(UTC).isoformat(),
            "readings": {"temperature": 31.0 if k == 3 else 6.0 + k / 2, "battery": 95 - k},
            "lat": a[0] + f * (b[0] - a[0]),
            "lon": a[1] + f * (b[1] - a[1]),
            "shipment_id": shipment_id,
        }
        out.append(json.dumps(body).encode())
    return [*out[:3], out[2], *out[3:]]


def _send(factory: sessionmaker[Session], broker: Any, device: str, messages: list[bytes]) -> Any:
    """Publish ``messages`` once the ingest has subscribed; ingest until idle."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from spareflow.ingest.mqtt import MqttIngest

    topic = f"spareflow/telemetry/{device}"
    ingest = MqttIngest(
        factory, broker, topic, f"spareflow-demo-{device}", session_expiry_seconds=0,
        flush_seconds=0.05,
    )  # fmt: skip
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(ingest.run(until_idle=1.0))
        except (OSError, SpareflowError) as exc:  # reported by the caller below
            result.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{device}-pub")
    if broker.username:
        publisher.username_pw_set(broker.username, broker.password)
    if broker.tls:
        publisher.tls_set()
    try:
        if not ingest.subscribed(10.0):
            raise OSError("the ingest did not subscribe within 10 s")
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        for info in [publisher.publish(topic, m, qos=1) for m in messages]:
            info.wait_for_publish(10)
        publisher.disconnect()
        publisher.loop_stop()
    finally:
        runner.join(30)
    if not result:
        raise OSError("the ingest did not finish")
    if isinstance(result[0], Exception):
        raise result[0]
    return result[0]


__all__ = ["run_day"]
