"""Shipment tracking from tracker observations: geofence departure and arrival, ETA,
late alerts and temperature excursions, vectorised over a batch of observations.

Times are int64 microseconds since the Unix epoch, distances km, speeds km/h. A batch is
put in event-time order per shipment before anything is decided, so messages that arrive
out of order are judged in the order they happened; an observation older than what an
earlier batch saw is still judged (a departure or arrival moves earlier, an excursion is
still raised), against the state that batch left. The ETA is the last position by event
time plus the remaining great-circle distance times a road detour factor at the
shipment's speed: the straight-line ETA of any fleet telematics system, not a traffic
model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from spareflow.transport.routing import haversine_km

#: "no time yet" for departure, arrival and position times
NO_TIME = np.iinfo(np.int64).max
NEVER = np.iinfo(np.int64).min
HOUR_US = 3_600 * 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Int = NDArray[np.int64]
Float = NDArray[np.float64]
Bool = NDArray[np.bool_]


def to_us(moment: datetime) -> int:
    """A timezone-aware time as microseconds since the epoch, exactly (no float)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    """Microseconds since the epoch as a UTC time."""
    return EPOCH + timedelta(microseconds=int(us))


class Alert(IntEnum):
    """What an event says about a shipment."""

    DEPARTED = 0  # left the origin's geofence
    ARRIVED = 1  # entered the destination's geofence
    LATE = 2  # past the planned arrival, or the ETA is beyond it by more than the tolerance
    TEMPERATURE_EXCURSION = 3  # a reading outside the shipment's range, after one inside
    TEMPERATURE_RECOVERED = 4  # back inside the range

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class TrackState:
    """What is known about each tracked shipment (one entry per shipment)."""

    origin_lat: Float
    origin_lon: Float
    destination_lat: Float
    destination_lon: Float
    geofence_km: Float
    speed_kmh: Float
    planned_arrival_us: Int
    departed_us: Int  # NO_TIME while not departed
    arrived_us: Int  # NO_TIME while not arrived
    position_us: Int  # NEVER before the first position
    latitude: Float
    longitude: Float
    eta_us: Int  # NO_TIME before the first position
    temperature_min: Float  # nan: no lower limit
    temperature_max: Float  # nan: no upper limit
    temperature_us: Int  # time of the last temperature reading, NEVER before the first
    excursion_open: Bool
    late_alerted: Bool


@dataclass(frozen=True)
class Observations:
    """Tracker observations: which shipment, when, where (nan: no fix), temperature (nan:
    none) and the index of the message that carried it, for the events raised."""

    shipment: Int
    time_us: Int
    latitude: Float
    longitude: Float
    temperature: Float
    message: Int


@dataclass(frozen=True)
class TrackEvents:
    """Events raised by a batch, in event-time order per shipment."""

    shipment: Int
    time_us: Int
    alert: NDArray[np.int8]
    message: Int
    value: Float  # the temperature read, or the ETA (microseconds) for late alerts


def track(
    state: TrackState,
    seen: Observations,
    detour: float = 1.3,
    late_tolerance_us: int = 15 * 60 * 1_000_000,
) -> tuple[TrackState, TrackEvents]:
    """Apply ``seen`` to ``state``: the new state and the events raised."""
    order = np.lexsort((seen.message, seen.time_us, seen.shipment))
    ship, time = seen.shipment[order], seen.time_us[order]
    lat, lon, temp = seen.latitude[order], seen.longitude[order], seen.temperature[order]
    message = seen.message[order]
    fix = ~np.isnan(lat)
    d_origin = np.where(
        fix, haversine_km(lat, lon, state.origin_lat[ship], state.origin_lon[ship]), 0.0
    )
    d_dest = np.where(
        fix,
        haversine_km(lat, lon, state.destination_lat[ship], state.destination_lon[ship]),
        np.inf,
    )
    fence = state.geofence_km[ship]
    events: list[tuple[Int, Int, int, Int, Float]] = []

    def first(mask: Bool) -> tuple[Int, Int]:
        """The first observation (in event order) of each shipment where ``mask`` holds:
        the shipments and the positions in the sorted batch."""
        at = np.flatnonzero(mask)
        ships, where = np.unique(ship[at], return_index=True)
        return ships, at[where]

    def reached(known: Int, mask: Bool, alert: Alert) -> Int:
        """The first time each shipment met ``mask`` (kept if ``known`` is earlier); an
        event where it had not been met before."""
        ships, at = first(mask)
        new = known[ships] == NO_TIME
        nothing = np.full(new.sum(), np.nan)
        events.append((ships[new], time[at[new]], alert, message[at[new]], nothing))
        out = known.copy()
        out[ships] = np.minimum(known[ships], time[at])
        return out

    departed = reached(state.departed_us, fix & (d_origin > fence), Alert.DEPARTED)
    arrived = reached(state.arrived_us, (d_dest <= fence) & (time >= departed[ship]), Alert.ARRIVED)

    # the position and ETA from the latest fix by event time, if newer than the state's
    position_us, latitude, longitude = (
        state.position_us.copy(),
        state.latitude.copy(),
        state.longitude.copy(),
    )
    eta = state.eta_us.copy()
    hours = np.where(fix, d_dest, 0.0) * detour / state.speed_kmh[ship]
    predicted = time + (hours * HOUR_US).astype(np.int64)
    fixes = np.flatnonzero(fix)
    if fixes.size:
        last = fixes[np.r_[ship[fixes][1:] != ship[fixes][:-1], True]]
        newer = time[last] > position_us[ship[last]]
        take, ships = last[newer], ship[last[newer]]
        position_us[ships], latitude[ships], longitude[ships] = time[take], lat[take], lon[take]
        eta[ships] = predicted[take]
    done = arrived != NO_TIME
    eta[done] = arrived[done]

    # late: observed past the planned arrival before arriving, or a fix whose ETA is
    # beyond the planned arrival by more than the tolerance
    planned = state.planned_arrival_us[ship]
    overdue = (time > planned) & (time <= arrived[ship])
    slipping = fix & (predicted > planned + late_tolerance_us) & (time < arrived[ship])
    late_alerted = state.late_alerted.copy()
    ships, at = first(overdue | slipping)
    new = ~late_alerted[ships]
    events.append(
        (ships[new], time[at[new]], Alert.LATE, message[at[new]], predicted[at[new]].astype(float))
    )
    late_alerted[ships] = True

    # temperature: an excursion starts where a reading is out of range after one in range
    lo, hi = state.temperature_min[ship], state.temperature_max[ship]
    read = ~np.isnan(temp) & ~(np.isnan(lo) & np.isnan(hi))
    out = read & (
        (temp < np.where(np.isnan(lo), -np.inf, lo)) | (temp > np.where(np.isnan(hi), np.inf, hi))
    )
    excursion_open = state.excursion_open.copy()
    temperature_us = state.temperature_us.copy()
    reads = np.flatnonzero(read)
    if reads.size:
        rship, rout = ship[reads], out[reads]
        group_start = np.r_[True, rship[1:] != rship[:-1]]
        before = np.r_[False, rout[:-1]]
        before[group_start] = excursion_open[rship[group_start]]
        for mask, alert in (
            (rout & ~before, Alert.TEMPERATURE_EXCURSION),
            (~rout & before, Alert.TEMPERATURE_RECOVERED),
        ):
            at = reads[mask]
            events.append((ship[at], time[at], alert, message[at], temp[at]))
        last = np.r_[group_start[1:], True]
        newer = time[reads[last]] >= temperature_us[rship[last]]
        ships = rship[last][newer]
        excursion_open[ships] = rout[last][newer]
        temperature_us[ships] = time[reads[last]][newer]

    new_state = TrackState(
        state.origin_lat, state.origin_lon, state.destination_lat, state.destination_lon,
        state.geofence_km, state.speed_kmh, state.planned_arrival_us, departed, arrived,
        position_us, latitude, longitude, eta, state.temperature_min, state.temperature_max,
        temperature_us, excursion_open, late_alerted,
    )  # fmt: skip
    return new_state, _events(events)


def _events(parts: list[tuple[Int, Int, int, Int, Float]]) -> TrackEvents:
    ship = np.concatenate([p[0] for p in parts]).astype(np.int64)
    time = np.concatenate([p[1] for p in parts]).astype(np.int64)
    alert = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    message = np.concatenate([p[3] for p in parts]).astype(np.int64)
    value = np.concatenate([np.asarray(p[4], dtype=float) for p in parts])
    order = np.lexsort((alert, time, ship))
    return TrackEvents(ship[order], time[order], alert[order], message[order], value[order])
