"""Shipment tracking: a worked day, then the vectorised engine against a message-by-message
transcription of the rules on random batches (shuffled, split, late)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spareflow.transport.routing import haversine_km
from spareflow.transport.tracking import (
    HOUR_US,
    NEVER,
    NO_TIME,
    Alert,
    Observations,
    TrackState,
    track,
)

FRANKFURT, COLOGNE = (50.11, 8.68), (50.94, 6.96)


def us(text: str) -> int:
    return int(datetime.fromisoformat(f"2026-11-25T{text}+00:00").timestamp()) * 10**6


def state(n: int = 1, **changes: object) -> TrackState:
    def f(v: float) -> np.ndarray:
        return np.full(n, v, dtype=float)

    def i(v: int) -> np.ndarray:
        return np.full(n, v, dtype=np.int64)

    base = TrackState(
        f(FRANKFURT[0]), f(FRANKFURT[1]), f(COLOGNE[0]), f(COLOGNE[1]), f(1.0), f(60.0),
        i(us("12:00")), i(NO_TIME), i(NO_TIME), i(NEVER), f(np.nan), f(np.nan), i(NO_TIME),
        f(2.0), f(8.0), i(NEVER), np.zeros(n, bool), np.zeros(n, bool),
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def observations(rows: list[tuple[int, int, float, float, float]]) -> Observations:
    a = np.array(rows, dtype=float).reshape(-1, 5)
    return Observations(
        a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2], a[:, 3], a[:, 4],
        np.arange(len(rows), dtype=np.int64),
    )  # fmt: skip


DAY = [  # shipment, time, lat, lon, temperature
    (0, us("07:50"), *FRANKFURT, 4.0),
    (0, us("08:10"), 50.20, 8.50, 5.0),
    (0, us("09:00"), 50.50, 7.90, 9.0),
    (0, us("09:30"), np.nan, np.nan, 10.0),
    (0, us("10:00"), 50.70, 7.40, 6.0),
    (0, us("11:50"), *COLOGNE, 5.0),
]


def labelled(events: object) -> list[tuple[str, str]]:
    e = events
    return [
        (Alert(int(a)).label, datetime.fromtimestamp(int(t) / 1e6, UTC).strftime("%H:%M"))
        for a, t in zip(e.alert, e.time_us, strict=True)  # type: ignore[attr-defined]
    ]


def test_a_day_on_the_road() -> None:
    after, events = track(state(), observations(DAY))
    assert labelled(events) == [
        ("departed", "08:10"),
        ("temperature_excursion", "09:00"),
        ("temperature_recovered", "10:00"),
        ("arrived", "11:50"),
    ]
    assert after.departed_us[0] == us("08:10") and after.arrived_us[0] == us("11:50")
    assert after.eta_us[0] == us("11:50") and after.position_us[0] == us("11:50")
    assert not after.excursion_open[0] and not after.late_alerted[0]


def test_the_same_day_shuffled_gives_the_same_events() -> None:
    rng = np.random.default_rng(3)
    shuffled = [DAY[k] for k in rng.permutation(len(DAY))]
    _, ordered = track(state(), observations(DAY))
    _, mixed = track(state(), observations(shuffled))
    assert labelled(mixed) == labelled(ordered)


def test_late_when_the_eta_slips_past_the_plan() -> None:
    # en route from 09:00 (ETA 10:46 then), planned 10:33: at 10:00, 40.8 km from Cologne,
    # the ETA is 10:00 + 40.8 km x 1.3 / 60 km/h = 10:53, beyond 10:33 plus 15 minutes
    under_way = state(
        planned_arrival_us=np.array([us("10:33")]), departed_us=np.array([us("08:10")])
    )
    _, events = track(under_way, observations(DAY[2:]))
    late = [(k, t) for k, t in labelled(events) if k == "late"]
    km = haversine_km(np.array(50.70), np.array(7.40), np.array(COLOGNE[0]), np.array(COLOGNE[1]))
    eta = us("10:00") + int(float(km) * 1.3 / 60 * HOUR_US)
    assert us("10:52") < eta < us("10:54")
    assert late == [("late", "10:00")]
    assert int(events.value[events.alert == Alert.LATE][0]) == eta


def test_late_alerts_once_and_overdue_counts_before_arrival_only() -> None:
    planned = np.array([us("09:15")])
    after, events = track(state(planned_arrival_us=planned), observations(DAY))
    assert [k for k, _ in labelled(events)].count("late") == 1
    assert after.late_alerted[0]
    _, again = track(after, observations([(0, us("12:30"), *COLOGNE, 5.0)]))
    assert "late" not in [k for k, _ in labelled(again)]


# --- the rules, message by message --------------------------------------------------------


def transcription(s: TrackState, rows: list[tuple[int, int, float, float, float]]):  # type: ignore[no-untyped-def]
    n = len(s.planned_arrival_us)
    dep, arr = s.departed_us.copy(), s.arrived_us.copy()
    pos, lat, lon, eta = (
        s.position_us.copy(),
        s.latitude.copy(),
        s.longitude.copy(),
        s.eta_us.copy(),
    )
    t_us, open_, alerted = s.temperature_us.copy(), s.excursion_open.copy(), s.late_alerted.copy()
    events = []
    indexed = sorted(range(len(rows)), key=lambda k: (rows[k][0], rows[k][1], k))
    for k in indexed:  # departures and arrivals first: later rules read their outcome
        j, t, la, lo, _ = rows[k]
        if np.isnan(la):
            continue
        d_o = float(haversine_km(np.array(la), np.array(lo), s.origin_lat[j], s.origin_lon[j]))
        if d_o > s.geofence_km[j]:
            if dep[j] == NO_TIME:
                events.append((j, t, int(Alert.DEPARTED), k))
            dep[j] = min(dep[j], t)
    for k in indexed:
        j, t, la, lo, _ = rows[k]
        if np.isnan(la):
            continue
        d_d = float(
            haversine_km(np.array(la), np.array(lo), s.destination_lat[j], s.destination_lon[j])
        )
        if d_d <= s.geofence_km[j] and t >= dep[j]:
            if arr[j] == NO_TIME:
                events.append((j, t, int(Alert.ARRIVED), k))
            arr[j] = min(arr[j], t)
    moved: set[int] = set()
    for k in indexed:
        j, t, la, lo, temp = rows[k]
        fix = not np.isnan(la)
        predicted = NO_TIME
        if fix:
            d_d = float(
                haversine_km(np.array(la), np.array(lo), s.destination_lat[j], s.destination_lon[j])
            )
            predicted = t + int(d_d * 1.3 / s.speed_kmh[j] * HOUR_US)
            # newer than the state's fix; among equal times in a batch, the last sent
            if t > pos[j] or (t == pos[j] and j in moved):
                pos[j], lat[j], lon[j], eta[j] = t, la, lo, predicted
                moved.add(j)
        planned = s.planned_arrival_us[j]
        overdue = planned < t <= arr[j]
        slipping = fix and predicted > planned + 15 * 60 * 10**6 and t < arr[j]
        if (overdue or slipping) and not alerted[j]:
            alerted[j] = True
            events.append((j, t, int(Alert.LATE), k))
        if not np.isnan(temp):
            out = temp < s.temperature_min[j] or temp > s.temperature_max[j]
            if out and not open_[j]:
                events.append((j, t, int(Alert.TEMPERATURE_EXCURSION), k))
            if not out and open_[j]:
                events.append((j, t, int(Alert.TEMPERATURE_RECOVERED), k))
            open_[j] = out
            if t >= t_us[j]:
                t_us[j] = t
    # the state keeps the excursion flag of the latest reading by event time
    final_open = s.excursion_open.copy()
    for j in range(n):
        reads = [k for k in indexed if rows[k][0] == j and not np.isnan(rows[k][4])]
        if reads and rows[reads[-1]][1] >= s.temperature_us[j]:
            temp = rows[reads[-1]][4]
            final_open[j] = temp < s.temperature_min[j] or temp > s.temperature_max[j]
    eta = np.where(arr != NO_TIME, arr, eta)
    return dep, arr, pos, eta, final_open, t_us, alerted, sorted(events)


HOURS = st.integers(min_value=6 * 60, max_value=14 * 60)
PLACES = st.sampled_from(
    [FRANKFURT, COLOGNE, (50.2, 8.5), (50.5, 7.9), (50.94, 6.975), (np.nan, np.nan)]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), HOURS, PLACES, st.one_of(st.just(np.nan), st.floats(0, 12))),
        max_size=25,
    ),
    st.lists(
        st.tuples(st.integers(6 * 60, 13 * 60), st.booleans(), st.booleans()),
        min_size=3,
        max_size=3,
    ),
)
def test_engine_matches_the_transcription(rows_in, starts) -> None:  # type: ignore[no-untyped-def]
    rows = [(j, m * 60 * 10**6, p[0], p[1], temp) for j, m, p, temp in rows_in]
    s = state(
        3,
        planned_arrival_us=np.array([m * 60 * 10**6 for m, _, _ in starts], dtype=np.int64),
        departed_us=np.array(
            [m * 60 * 10**6 - 3600 * 10**6 if d else NO_TIME for m, d, _ in starts], dtype=np.int64
        ),
        excursion_open=np.array([o for _, _, o in starts]),
    )
    after, events = track(s, observations(rows) if rows else observations([]))
    dep, arr, pos, eta, open_, t_us, alerted, expected = transcription(s, rows)
    got = sorted(
        zip(
            events.shipment.tolist(),
            events.time_us.tolist(),
            events.alert.tolist(),
            events.message.tolist(),
            strict=True,
        )
    )
    assert got == expected
    np.testing.assert_array_equal(after.departed_us, dep)
    np.testing.assert_array_equal(after.arrived_us, arr)
    np.testing.assert_array_equal(after.position_us, pos)
    np.testing.assert_array_equal(after.eta_us, eta)
    np.testing.assert_array_equal(after.excursion_open, open_)
    np.testing.assert_array_equal(after.temperature_us, t_us)
    np.testing.assert_array_equal(after.late_alerted, alerted)
