"""Pickup and delivery routes from one depot with vehicle capacities and time windows,
solved with PyVRP (iterated local search), distances from coordinates.

Distances are great-circle (haversine) kilometres times a detour factor (roads are
longer than the crow flies: about 1.2-1.4 is typical; 1.0 keeps the straight line);
travel time is distance over an average speed. PyVRP works in integers: metres and
seconds here. Times in and out are minutes from the start of the planning day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


@dataclass(frozen=True)
class RoutingProblem:
    """One depot and ``S`` stops. ``delivery`` is carried from the depot to a stop,
    ``pickup`` from a stop back to the depot (kg, or any one unit of capacity)."""

    depot_lat: float
    depot_lon: float
    stop_ids: tuple[str, ...]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    delivery: NDArray[np.float64]
    pickup: NDArray[np.float64]
    window_open: NDArray[np.float64]  # minutes: service may start from
    window_close: NDArray[np.float64]  # minutes: service must start by
    service_minutes: NDArray[np.float64]
    vehicles: int
    capacity: float
    speed_kmh: float = 50.0
    detour_factor: float = 1.0
    depot_open: float = 0.0
    depot_close: float = 24 * 60.0


@dataclass(frozen=True)
class PlannedStop:
    stop_id: str
    arrival: float  # minutes
    service_start: float
    departure: float
    load_after: float  # on board after the stop


@dataclass(frozen=True)
class PlannedRoute:
    vehicle: int
    stops: tuple[PlannedStop, ...]
    start: float  # leaves the depot
    end: float  # back at the depot
    distance_km: float


@dataclass(frozen=True)
class RoutePlan:
    routes: tuple[PlannedRoute, ...]
    feasible: bool
    distance_km: float
    seconds: float  # solver time


def haversine_km(
    lat1: NDArray[np.float64],
    lon1: NDArray[np.float64],
    lat2: NDArray[np.float64],
    lon2: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Great-circle distance in km between points (degrees), broadcasting."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    km: NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return km


def distance_matrix(problem: RoutingProblem) -> NDArray[np.float64]:
    """Road kilometres between the depot (index 0) and the stops (1..S)."""
    lat = np.concatenate([[problem.depot_lat], problem.lat])
    lon = np.concatenate([[problem.depot_lon], problem.lon])
    km: NDArray[np.float64] = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    return km * problem.detour_factor


def solve(problem: RoutingProblem, seconds: float = 5.0, seed: int = 0) -> RoutePlan:
    """Routes of least distance that respect capacities and time windows, searched for
    ``seconds``; ``feasible`` is False when no plan found meets every constraint."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    _check(problem)
    km = distance_matrix(problem)
    metres = np.rint(km * 1000).astype(np.int64)
    travel_seconds = np.rint(km / problem.speed_kmh * 3600).astype(np.int64)
    model = Model()
    places = [model.add_location(problem.depot_lon, problem.depot_lat, name="depot")]
    depot = model.add_depot(
        places[0], tw_early=_sec(problem.depot_open), tw_late=_sec(problem.depot_close)
    )
    for k, stop_id in enumerate(problem.stop_ids):
        place = model.add_location(float(problem.lon[k]), float(problem.lat[k]), name=stop_id)
        places.append(place)
        model.add_client(
            place,
            delivery=[round(float(problem.delivery[k]))],
            pickup=[round(float(problem.pickup[k]))],
            service_duration=_sec(problem.service_minutes[k]),
            tw_early=_sec(problem.window_open[k]),
            tw_late=_sec(problem.window_close[k]),
            name=stop_id,
        )
    model.add_vehicle_type(
        problem.vehicles,
        capacity=[int(problem.capacity)],
        start_depot=depot,
        end_depot=depot,
        tw_early=_sec(problem.depot_open),
        tw_late=_sec(problem.depot_close),
    )
    for i, origin in enumerate(places):
        for j, destination in enumerate(places):
            model.add_edge(origin, destination, int(metres[i, j]), int(travel_seconds[i, j]))
    result = model.solve(MaxRuntime(seconds), seed=seed, display=False)
    best = result.best
    routes = []
    delivered = np.rint(problem.delivery)
    picked = np.rint(problem.pickup)
    for vehicle, route in enumerate(best.routes()):
        load = float(sum(delivered[a.idx] for a in route.schedule() if a.is_client()))
        stops = []
        for activity in route.schedule():
            if not activity.is_client():
                continue
            k = int(activity.idx)
            load += float(picked[k] - delivered[k])
            stops.append(
                PlannedStop(
                    stop_id=problem.stop_ids[k],
                    arrival=(activity.start_time - activity.wait_duration) / 60,
                    service_start=activity.start_time / 60,
                    departure=activity.end_time / 60,
                    load_after=load,
                )
            )
        routes.append(
            PlannedRoute(
                vehicle=vehicle,
                stops=tuple(stops),
                start=route.start_time() / 60,
                end=route.end_time() / 60,
                distance_km=route.distance() / 1000,
            )
        )
    return RoutePlan(
        routes=tuple(routes),
        feasible=bool(best.is_feasible()),
        distance_km=best.distance() / 1000,
        seconds=float(result.runtime),
    )


def _sec(minutes: float) -> int:
    return round(float(minutes) * 60)


def _check(problem: RoutingProblem) -> None:
    s = len(problem.stop_ids)
    if len(set(problem.stop_ids)) != s:
        raise ParameterError("stop_id", "stop ids must be unique")
    columns = ("lat", "lon", "delivery", "pickup", "window_open", "window_close", "service_minutes")
    for name in columns:
        values = np.asarray(getattr(problem, name), dtype=np.float64)
        if values.shape != (s,) or not np.all(np.isfinite(values)):
            raise ParameterError(name, f"one finite value per stop ({s})")
    if np.any(np.abs(problem.lat) > 90) or np.any(np.abs(problem.lon) > 180):
        raise ParameterError("lat", "latitudes within +-90 and longitudes within +-180")
    for name in ("delivery", "pickup", "service_minutes"):
        values = np.asarray(getattr(problem, name))
        if np.any(values < 0):
            k = int(np.argmax(values < 0))
            raise ParameterError(name, f"stop {problem.stop_ids[k]}: must be >= 0")
    late = problem.window_close < problem.window_open
    if late.any():
        k = int(np.argmax(late))
        raise ParameterError("window_close", f"stop {problem.stop_ids[k]}: closes before it opens")
    too_big = np.maximum(problem.delivery, problem.pickup) > problem.capacity
    if too_big.any():
        k = int(np.argmax(too_big))
        raise ParameterError(
            "delivery",
            f"stop {problem.stop_ids[k]}: more than a vehicle carries ({problem.capacity:g})",
        )
    if problem.vehicles < 1 or problem.capacity <= 0 or problem.speed_kmh <= 0:
        raise ParameterError("vehicles", "at least one vehicle, capacity and speed above zero")
    if problem.detour_factor < 1:
        raise ParameterError("detour_factor", "roads are not shorter than the straight line")
