"""Routing 200 stops with time windows (issue 7's target: a feasible plan within 10 s):
PyVRP through ``spareflow.transport.routing`` with growing time budgets, against a
nearest-feasible-neighbour construction (the classic greedy start). Prints distance,
vehicles used, feasibility and time of each.

    .venv/bin/python benchmarks/routing_200.py [--stops 200] [--vehicles 25]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spareflow.data.demo_routes import routing_day
from spareflow.transport.routing import RoutingProblem, distance_matrix, solve


def nearest_neighbour(problem: RoutingProblem) -> tuple[float, int, bool]:
    """Routes built one at a time: from where the van is, the nearest stop it can still
    serve in its window with the deliveries it carries (pickups ignored, which only
    favours it); a new van when none fits. Returns distance,
    vans, and whether every stop was served with the vans available."""
    km = distance_matrix(problem)
    minutes = km / problem.speed_kmh * 60
    left = set(range(len(problem.stop_ids)))
    distance, vans = 0.0, 0
    while left and vans < problem.vehicles:
        vans += 1
        at, clock, load = 0, problem.depot_open, 0.0
        while True:
            best, best_km = -1, np.inf
            for k in left:
                arrive = max(clock + minutes[at, k + 1], problem.window_open[k])
                back = arrive + problem.service_minutes[k] + minutes[k + 1, 0]
                fits = load + problem.delivery[k] <= problem.capacity
                on_time = arrive <= problem.window_close[k] and back <= problem.depot_close
                if fits and on_time and km[at, k + 1] < best_km:
                    best, best_km = k, km[at, k + 1]
            if best < 0:
                break
            clock = max(clock + minutes[at, best + 1], problem.window_open[best])
            clock += problem.service_minutes[best]
            load += problem.delivery[best]
            distance += best_km
            at = best + 1
            left.remove(best)
        distance += km[at, 0]
    return distance, vans, not left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=200)
    parser.add_argument("--vehicles", type=int, default=25)
    args = parser.parse_args()
    problem = routing_day(args.stops, args.vehicles)
    started = time.perf_counter()
    distance, vans, served = nearest_neighbour(problem)
    took = time.perf_counter() - started
    print(
        f"nearest feasible neighbour: {distance:,.1f} km, {vans} vans, "
        f"{'all stops served' if served else 'stops left over'}, {took:.2f} s"
    )
    for budget in (1.0, 2.0, 5.0, 9.0):
        started = time.perf_counter()
        plan = solve(problem, seconds=budget)
        took = time.perf_counter() - started
        used = sum(1 for r in plan.routes if r.stops)
        print(
            f"PyVRP, {budget:g} s budget: {plan.distance_km:,.1f} km "
            f"({plan.distance_km / distance:.2f} of the greedy), {used} vans, "
            f"{'feasible' if plan.feasible else 'INFEASIBLE'}, {took:.2f} s in all"
        )


if __name__ == "__main__":
    main()
