"""Guaranteed-service trees against stockpyl's ``gsm_tree`` (test-only oracle), against
brute-force enumeration, and on invalid networks."""

from __future__ import annotations

import doctest
import itertools
import math
from typing import Any

import numpy as np
import pytest

pytest.importorskip("stockpyl")

from stockpyl.demand_source import DemandSource
from stockpyl.gsm_tree import optimize_committed_service_times
from stockpyl.instances import load_instance
from stockpyl.supply_chain_network import SupplyChainNetwork
from stockpyl.supply_chain_node import SupplyChainNode

from spareflow.errors import ParameterError
from spareflow.multiechelon import gsm
from spareflow.multiechelon.gsm import (
    GSMSolution,
    GSMTree,
    NetworkError,
    evaluate_service_times,
    optimise_service_times,
)

REL = 1e-9


def tree_from_stockpyl(network: SupplyChainNetwork) -> GSMTree:
    """Our inputs from a stockpyl instance: T, local h, demand, z, s, si per node."""
    nodes = list(network.nodes)
    sources = [n.demand_source for n in nodes]
    return GSMTree(
        node_ids=[n.index for n in nodes],
        edges=[(a, b) for a, b in network.edges],
        processing_time=[n.processing_time for n in nodes],
        holding_cost=[n.local_holding_cost for n in nodes],
        demand_mean=[(d.mean or 0.0) if d is not None else 0.0 for d in sources],
        demand_sd=[(d.standard_deviation or 0.0) if d is not None else 0.0 for d in sources],
        safety_factor=[n.demand_bound_constant for n in nodes],
        max_service_time=[
            math.inf if n.external_outbound_cst is None else n.external_outbound_cst for n in nodes
        ],
        external_inbound_service_time=[n.external_inbound_cst or 0 for n in nodes],
    )


def tree_to_stockpyl(tree: GSMTree) -> SupplyChainNetwork:
    """stockpyl's network for our inputs (node attributes as ``gsm_tree`` reads them)."""
    network = SupplyChainNetwork()
    for k, node_id in enumerate(tree.node_ids):
        node = SupplyChainNode(index=node_id)
        node.processing_time = int(tree.processing_time[k])
        node.local_holding_cost = float(tree.holding_cost[k])
        node.demand_bound_constant = float(tree.safety_factor[k])
        node.external_inbound_cst = int(tree.external_inbound_service_time[k])
        bound = tree.max_service_time[k]
        node.external_outbound_cst = None if np.isinf(bound) else int(bound)
        if tree.demand_sd[k] > 0:
            node.demand_source = DemandSource(
                type="N",
                mean=float(tree.demand_mean[k]),
                standard_deviation=float(tree.demand_sd[k]),
            )
        network.add_node(node)
    for a, b in tree.edges:
        network.add_edge(a, b)
    return network


def random_tree(rng: np.random.Generator, n: int) -> GSMTree:
    """A random spanning tree: each new node hangs off an earlier one as its supplier or
    its customer (so assembly and distribution edges mix); sinks carry demand."""
    ids = list(range(1, n + 1))
    edges = []
    for k in range(1, n):
        j = int(rng.integers(0, k))
        edges.append((ids[j], ids[k]) if rng.random() < 0.5 else (ids[k], ids[j]))
    suppliers = {a for a, _ in edges}
    sd = np.array([0.0 if i in suppliers else rng.uniform(1.0, 20.0) for i in ids])
    return GSMTree(
        node_ids=ids,
        edges=edges,
        processing_time=rng.integers(0, 4, n),
        holding_cost=rng.uniform(0.1, 5.0, n),
        demand_mean=np.where(sd > 0, rng.uniform(0.0, 100.0, n), 0.0),
        demand_sd=sd,
        safety_factor=rng.uniform(1.0, 2.5, n),
        max_service_time=np.where(sd > 0, rng.integers(0, 3, n).astype(float), np.inf),
        external_inbound_service_time=np.where(rng.random(n) < 0.3, rng.integers(0, 3, n), 0),
    )


def assert_feasible(tree: GSMTree, solution: GSMSolution) -> None:
    """Problem (P) of Graves & Willems (2000) holds, and stock and cost add up."""
    s, si = solution.outbound_service_time, solution.inbound_service_time
    assert np.all(solution.net_lead_time == si + tree.processing_time - s)
    assert np.all(solution.net_lead_time >= 0)
    assert np.all(s >= 0)
    assert np.all(s <= tree.max_service_time)
    assert np.all(si >= tree.external_inbound_service_time)
    assert np.all(si[tree.customer] >= s[tree.supplier])
    safety = tree.safety_factor * solution.net_demand_sd * np.sqrt(solution.net_lead_time)
    np.testing.assert_allclose(solution.safety_stock, safety, rtol=1e-12)
    np.testing.assert_allclose(
        solution.base_stock, solution.net_demand_mean * solution.net_lead_time + safety
    )
    assert solution.holding_cost == pytest.approx(
        float(np.sum(tree.holding_cost * safety)), rel=1e-12
    )


def assert_same_optimum(tree: GSMTree, network: SupplyChainNetwork) -> float:
    """Same optimal cost as stockpyl; same service times unless stockpyl's tie costs
    the same. Returns the relative cost difference."""
    their_s, their_cost = optimize_committed_service_times(network)
    ours = optimise_service_times(tree)
    assert_feasible(tree, ours)
    assert ours.holding_cost == pytest.approx(their_cost, rel=REL, abs=1e-12)
    theirs = np.array([their_s[i] for i in tree.node_ids])
    if not np.array_equal(ours.outbound_service_time, theirs):  # a tie: both optimal
        tied = evaluate_service_times(tree, theirs)
        assert tied.holding_cost == pytest.approx(ours.holding_cost, rel=REL, abs=1e-12)
    return float(abs(ours.holding_cost - their_cost) / max(their_cost, 1e-300))


# Costs as stockpyl's documentation prints them (Snyder & Shen 2019, Examples 6.3, 6.5).
PUBLISHED = {
    "example_6_3": ({3: 0, 2: 0, 1: 1}, 2.8284271247461903),
    "example_6_5": ({1: 0, 3: 0, 2: 0, 4: 1}, 8.277916867529369),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_examples(name: str) -> None:
    service_times, cost = PUBLISHED[name]
    tree = tree_from_stockpyl(load_instance(name))
    solution = optimise_service_times(tree)
    assert solution.holding_cost == pytest.approx(cost, rel=1e-12)
    assert dict(zip(tree.node_ids, solution.outbound_service_time.tolist(), strict=True)) == (
        service_times
    )
    assert_feasible(tree, solution)


def test_example_6_3_is_two_root_two() -> None:
    """Example 6.3 (serial, 3 stages): only the source holds stock, h z sigma sqrt(tau)
    = 2 * 1 * 1 * sqrt(2)."""
    tree = tree_from_stockpyl(load_instance("example_6_3"))
    solution = optimise_service_times(tree)
    assert solution.holding_cost == pytest.approx(2 * math.sqrt(2), rel=1e-15)


@pytest.mark.parametrize(
    "name",
    ["example_6_3", "example_6_5", "figure_6_14", "problem_6_7", "problem_6_8", "problem_6_9"],
)
def test_stockpyl_instances(name: str) -> None:
    """Every GSM tree stockpyl ships (Snyder & Shen 2019, Ch. 6), solved identically."""
    network = load_instance(name)
    assert_same_optimum(tree_from_stockpyl(network), network)


def test_random_trees_equal_stockpyl() -> None:
    rng = np.random.default_rng(20240611)
    worst = 0.0
    for _ in range(50):
        tree = random_tree(rng, int(rng.integers(5, 31)))
        worst = max(worst, assert_same_optimum(tree, tree_to_stockpyl(tree)))
    assert worst <= REL


def brute_force_cost(tree: GSMTree) -> float:
    """Cheapest cost over every outbound service-time vector, by enumeration."""
    longest = gsm._longest_upstream_paths(tree)
    ranges = [range(int(min(longest[k], tree.max_service_time[k])) + 1) for k in range(tree.size)]
    s = np.array(list(itertools.product(*ranges)), dtype=np.int64)  # (candidates, nodes)
    si = np.broadcast_to(tree.external_inbound_service_time, s.shape).copy()
    for a, b in zip(tree.supplier.tolist(), tree.customer.tolist(), strict=True):
        si[:, b] = np.maximum(si[:, b], s[:, a])
    tau = np.maximum(si + tree.processing_time - s, 0)
    _, sd = gsm._net_demand(tree)
    weight = tree.holding_cost * tree.safety_factor * sd
    return float(np.min(np.sqrt(tau) @ weight))


def test_small_trees_equal_enumeration() -> None:
    """Independent of stockpyl: the DP is exact on trees (Graves & Willems 2000)."""
    rng = np.random.default_rng(7)
    done = 0
    while done < 25:
        n = int(rng.integers(2, 7))
        tree = random_tree(rng, n)
        tree = GSMTree(
            tree.node_ids,
            tree.edges,
            processing_time=rng.integers(0, 3, n),
            holding_cost=tree.holding_cost,
            demand_mean=tree.demand_mean,
            demand_sd=tree.demand_sd,
            safety_factor=tree.safety_factor,
            max_service_time=tree.max_service_time,
            external_inbound_service_time=tree.external_inbound_service_time,
        )
        bounds = np.minimum(gsm._longest_upstream_paths(tree), tree.max_service_time) + 1
        if np.prod(bounds) > 200_000:
            continue
        done += 1
        solution = optimise_service_times(tree)
        assert solution.holding_cost == pytest.approx(brute_force_cost(tree), rel=1e-12)
        evaluated = evaluate_service_times(tree, solution.outbound_service_time)
        assert evaluated.holding_cost == pytest.approx(solution.holding_cost, rel=1e-12)


def test_net_demand_adds_means_and_variances() -> None:
    """Problem 6.9: two demand nodes share every upstream node."""
    tree = tree_from_stockpyl(load_instance("problem_6_9"))
    solution = optimise_service_times(tree)
    by_id = dict(zip(tree.node_ids, range(tree.size), strict=True))
    for node in (3, 4, 5, 6):
        assert solution.net_demand_mean[by_id[node]] == pytest.approx(22.0 + 15.3)
        assert solution.net_demand_sd[by_id[node]] == pytest.approx(math.hypot(4.1, 6.2))
    assert solution.net_demand_sd[by_id[1]] == pytest.approx(4.1)


def test_docstring_example() -> None:
    assert doctest.testmod(gsm, raise_on_error=True).attempted > 0


def line(**overrides: Any) -> dict[str, Any]:
    """A valid 3-node line A -> B -> C, with overrides."""
    base: dict[str, Any] = {
        "node_ids": ["A", "B", "C"],
        "edges": [("A", "B"), ("B", "C")],
        "processing_time": [1, 2, 1],
        "holding_cost": [1.0, 2.0, 3.0],
        "demand_mean": [0.0, 0.0, 10.0],
        "demand_sd": [0.0, 0.0, 3.0],
        "safety_factor": 1.645,
        "max_service_time": [math.inf, math.inf, 0],
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("overrides", "node", "words"),
    [
        ({"edges": [("A", "B"), ("B", "C"), ("C", "A")]}, "A", "cycle"),
        ({"edges": [("A", "B"), ("B", "C"), ("A", "C")]}, "C", "cycle"),
        ({"edges": [("A", "B"), ("B", "A")]}, "A", "cycle"),
        ({"edges": [("A", "B")]}, "C", "not connected"),
        ({"edges": [("A", "B"), ("B", "D")]}, "D", "not in node_ids"),
        ({"edges": [("A", "A"), ("B", "C")]}, "A", "to itself"),
        ({"node_ids": ["A", "B", "A"]}, "A", "twice"),
        ({"processing_time": [1, -2, 1]}, "B", "processing_time"),
        ({"processing_time": [1, 1.5, 1]}, "B", "whole number"),
        ({"holding_cost": [1.0, 2.0, -3.0]}, "C", "holding_cost"),
        ({"demand_sd": [0.0, 0.0, math.nan]}, "C", "NaN"),
        ({"max_service_time": [math.inf, math.inf, -1]}, "C", "max_service_time"),
        ({"external_inbound_service_time": [-1, 0, 0]}, "A", "external_inbound"),
    ],
)
def test_invalid_networks_name_the_node(overrides: dict[str, Any], node: str, words: str) -> None:
    with pytest.raises(NetworkError) as info:
        GSMTree(**line(**overrides))
    assert isinstance(info.value, ParameterError)
    assert info.value.node == node
    assert repr(node) in str(info.value)
    assert words in str(info.value)


def test_evaluate_rejects_a_broken_promise() -> None:
    tree = GSMTree(**line())
    with pytest.raises(NetworkError, match=r"'C'.*max_service_time=0"):
        evaluate_service_times(tree, [0, 0, 1])
