"""A generated routing day (seeded): stops around a depot with delivery and pickup
loads and two-hour time windows, for the demo, the tests and the routing benchmark."""

from __future__ import annotations

import numpy as np

from spareflow.transport.routing import RoutingProblem


def routing_day(stops: int, vehicles: int, seed: int = 5) -> RoutingProblem:
    """Stops within about 40 km of a depot (Utrecht, NL), deliveries of 10-200 kg, a
    pickup at 30 % of them (parts back for repair), 10 minutes of service, windows of two
    hours opening on the hour from 08:00 to 14:00; vans of 1,500 kg at 50 km/h, roads
    1.25 times the straight line, the depot open 06:00-20:00."""
    rng = np.random.default_rng(seed)
    opens = (rng.integers(8, 15, stops) * 60).astype(np.float64)
    return RoutingProblem(
        depot_lat=52.09,
        depot_lon=5.12,
        stop_ids=tuple(f"S{k:03d}" for k in range(stops)),
        lat=52.09 + rng.uniform(-0.35, 0.35, stops),
        lon=5.12 + rng.uniform(-0.55, 0.55, stops),
        delivery=rng.integers(10, 200, stops).astype(float),
        pickup=(rng.integers(0, 60, stops) * (rng.random(stops) < 0.3)).astype(float),
        window_open=opens,
        window_close=opens + 120,
        service_minutes=np.full(stops, 10.0),
        vehicles=vehicles,
        capacity=1500.0,
        speed_kmh=50.0,
        detour_factor=1.25,
        depot_open=6 * 60.0,
        depot_close=20 * 60.0,
    )
