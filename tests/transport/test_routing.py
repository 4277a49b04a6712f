"""Routes from PyVRP checked independently: every stop once, loads within capacity, each
service inside its window, times consistent with our own distance matrix."""

from __future__ import annotations

import numpy as np
import pytest

from spareflow.data.demo_routes import routing_day
from spareflow.errors import ParameterError
from spareflow.transport.routing import (
    RoutePlan,
    RoutingProblem,
    distance_matrix,
    haversine_km,
    solve,
)


def check_plan(problem: RoutingProblem, plan: RoutePlan) -> None:
    km = distance_matrix(problem)
    index = {s: k for k, s in enumerate(problem.stop_ids)}
    seen = [stop.stop_id for route in plan.routes for stop in route.stops]
    assert sorted(seen) == sorted(problem.stop_ids)  # every stop exactly once
    total = 0.0
    for route in plan.routes:
        at, clock = 0, route.start
        load = sum(problem.delivery[index[s.stop_id]] for s in route.stops)
        assert load <= problem.capacity
        for stop in route.stops:
            k = index[stop.stop_id] + 1
            total += km[at, k]
            arrival = clock + km[at, k] / problem.speed_kmh * 60
            assert stop.arrival == pytest.approx(arrival, abs=0.1)  # seconds rounding
            assert stop.service_start == pytest.approx(
                max(arrival, problem.window_open[k - 1]), abs=0.1
            )
            assert stop.service_start <= problem.window_close[k - 1] + 1e-6
            load += problem.pickup[k - 1] - problem.delivery[k - 1]
            assert stop.load_after == pytest.approx(load) and load <= problem.capacity
            clock, at = stop.departure, k
        total += km[at, 0]
        assert route.end <= problem.depot_close
    assert plan.distance_km == pytest.approx(total, abs=0.01 * len(problem.stop_ids))


def test_three_stops_on_a_road_are_served_in_order() -> None:
    problem = RoutingProblem(
        depot_lat=0.0, depot_lon=0.0, stop_ids=("far", "near", "mid"),
        lat=np.zeros(3), lon=np.array([0.3, 0.1, 0.2]),
        delivery=np.array([5.0, 5.0, 5.0]), pickup=np.zeros(3),
        window_open=np.zeros(3), window_close=np.full(3, 600.0),
        service_minutes=np.full(3, 5.0), vehicles=1, capacity=100.0,
    )  # fmt: skip
    plan = solve(problem, seconds=0.5)
    assert plan.feasible and len([r for r in plan.routes if r.stops]) == 1
    # out to 0.3 degrees of longitude on the equator and back, whatever the order
    assert plan.distance_km == pytest.approx(2 * float(haversine_km(0, 0, 0, 0.3)), abs=0.01)
    check_plan(problem, plan)
    # windows that force the far stop first (40 min away, by 60), then mid, then near
    windows = {
        "window_open": np.array([0.0, 120.0, 60.0]),
        "window_close": np.array([60.0, 180.0, 120.0]),
    }
    timed = RoutingProblem(**{**problem.__dict__, **windows})
    plan = solve(timed, seconds=0.5)
    assert plan.feasible and [s.stop_id for s in plan.routes[0].stops] == ["far", "mid", "near"]
    check_plan(timed, plan)


def test_200_stops_with_time_windows_are_routed_feasibly_within_10_seconds() -> None:
    problem = routing_day(200, vehicles=25)
    plan = solve(problem, seconds=8.0)
    assert plan.feasible and plan.seconds <= 10.0
    check_plan(problem, plan)


def test_haversine_against_a_known_distance() -> None:
    # one degree of latitude along a meridian: 111.19 km on the mean-radius sphere
    assert float(haversine_km(0, 0, 1, 0)) == pytest.approx(111.195, abs=0.001)


def test_bad_problems_are_refused_by_name() -> None:
    good = routing_day(3, vehicles=1)
    fields = good.__dict__
    with pytest.raises(ParameterError, match="S001: closes before it opens"):
        closes = good.window_open + np.array([120.0, -1.0, 120.0])
        solve(RoutingProblem(**{**fields, "window_close": closes}))
    with pytest.raises(ParameterError, match="more than a vehicle carries"):
        solve(RoutingProblem(**{**fields, "delivery": np.array([1.0, 1e6, 1.0])}))
    with pytest.raises(ParameterError, match="unique"):
        solve(RoutingProblem(**{**fields, "stop_ids": ("a", "a", "b")}))
