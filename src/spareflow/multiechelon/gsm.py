"""Guaranteed-service model (GSM) on spanning trees: where to hold safety stock.

Each node (stage) ``j`` of a supply chain whose underlying undirected graph is a tree
(any mix of assembly and distribution edges) takes ``T_j`` periods to process an order once
all its inputs are in, quotes its customers an outbound service time ``S_j`` and is quoted
an inbound service time ``SI_j`` by its suppliers. Its net lead time is
``tau_j = SI_j + T_j - S_j`` and it holds a base stock covering the demand bound over
that time,

    B_j = mu_j tau_j + z_j sigma_j sqrt(tau_j),       safety stock  z_j sigma_j sqrt(tau_j),

with ``mu_j`` and ``sigma_j`` the mean and standard deviation per period of the net demand
at ``j`` (its own external demand plus that of every node downstream of it; standard
deviations add in quadrature). The model (Graves & Willems 2000, problem (P))
chooses service times to minimise the expected safety-stock holding cost per period

    sum_j h_j z_j sigma_j sqrt(SI_j + T_j - S_j)

subject to ``S_j - SI_j <= T_j``, ``SI_j >= S_i`` for every edge ``i -> j``,
``SI_j >= si_j`` (the service time quoted by an outside supplier), ``S_j <= s_j`` (the
service time promised to external customers) and integer ``S_j, SI_j >= 0``. The
pipeline stock ``mu_j T_j`` does not depend on the decision and is left out of the cost.

It is solved exactly by the dynamic program of Graves & Willems (2000), Section 5
(functions ``f_k(S)`` and ``g_k(SI)`` built from the stage cost ``c_k(S, SI)``, as
corrected in the 2003 Erratum; Snyder & Shen 2019, Section 6.3.6.2, call them
``theta^o_k`` and ``theta^i_k``). The tree is rooted, each node is visited after all its
subtrees, and a node's subtree cost is tabulated against the service time it shares with
its parent: ``f_k(S)`` when the node supplies its parent, ``g_k(SI)`` when the parent
supplies it. Service times are bounded by the longest upstream
path ``M_j = T_j + max(si_j, max_{i -> j} M_i)``, so the tables are finite. The
recursion runs once per node (a tree DP cannot run across nodes at once); each step is
a numpy operation on the whole ``(S, SI)`` grid of that node.

The cost convention is that of Snyder & Shen, *Fundamentals of Supply Chain Theory*,
2nd ed. (2019), Section 6.3, and of stockpyl's ``gsm_tree`` (whose results these equal):
``h_j`` is the local holding cost per unit per period at node ``j``, and the demand
bound over ``tau`` periods is ``z_j sigma_j sqrt(tau)``.

References
----------
S. C. Graves and S. P. Willems. Optimizing strategic safety stock placement in supply
chains. *Manufacturing & Service Operations Management* 2(1):68-83, 2000.
doi:10.1287/msom.2.1.68.23267

S. C. Graves and S. P. Willems. Erratum: Optimizing strategic safety stock placement in
supply chains. *Manufacturing & Service Operations Management* 5(2):176-177, 2003.

L. V. Snyder and Z.-J. M. Shen. *Fundamentals of Supply Chain Theory*, 2nd ed. Wiley,
2019 (Examples 6.3 and 6.5, used in the tests and below).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spareflow.errors import ParameterError

__all__ = [
    "GSMSolution",
    "GSMTree",
    "NetworkError",
    "evaluate_service_times",
    "optimise_service_times",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
NodeId = str | int


class NetworkError(ParameterError):
    """A network is not a valid spanning tree, or a node carries an invalid value.

    ``node`` is the offending node id (``None`` when the fault concerns the whole network).
    """

    def __init__(self, node: NodeId | None, message: str) -> None:
        self.node = node
        super().__init__("network" if node is None else f"node {node!r}", message)


@dataclass(frozen=True, slots=True, init=False, eq=False)
class GSMTree:
    """A guaranteed-service network: nodes, edges and per-node data, as arrays.

    All per-node arrays are aligned with ``node_ids``; scalars are broadcast to every node.
    The constructor checks everything once and raises :class:`NetworkError` naming the
    node and the problem.

    Attributes
    ----------
    node_ids
        Unique node (stage) ids.
    edges
        ``(supplier, customer)`` pairs of node ids: material flows from the first to the
        second. Together they must form a spanning tree of the nodes (a node may have
        several suppliers and several customers, but no undirected cycle).
    processing_time
        ``T_j``: periods from the moment all inputs are available until the node's output
        is ready; whole numbers >= 0.
    holding_cost
        ``h_j``: local holding cost, currency per unit per period; >= 0.
    demand_mean, demand_sd
        External demand at the node, units per period (mean and standard deviation);
        zero for nodes without external customers.
    safety_factor
        ``z_j``: the demand bound over ``tau`` periods is ``z_j sigma_j sqrt(tau)``; >= 0.
    max_service_time
        ``s_j``: the longest outbound service time the node may quote (periods, whole);
        ``inf`` (the default) for no bound. Usually set at demand nodes (0: serve from
        stock).
    external_inbound_service_time
        ``si_j``: the service time quoted to the node by an outside supplier (periods,
        whole, default 0); counts for source nodes and for any node with outside
        supply.
    """

    node_ids: tuple[NodeId, ...]
    edges: tuple[tuple[NodeId, NodeId], ...]
    processing_time: I64
    holding_cost: F64
    demand_mean: F64
    demand_sd: F64
    safety_factor: F64
    max_service_time: F64
    external_inbound_service_time: I64
    supplier: I64
    """Edge supplier positions (indices into ``node_ids``), shape (edges,)."""
    customer: I64
    """Edge customer positions, shape (edges,)."""

    def __init__(
        self,
        node_ids: Sequence[NodeId],
        edges: Sequence[tuple[NodeId, NodeId]],
        processing_time: ArrayLike,
        holding_cost: ArrayLike,
        demand_mean: ArrayLike,
        demand_sd: ArrayLike,
        safety_factor: ArrayLike,
        max_service_time: ArrayLike = np.inf,
        external_inbound_service_time: ArrayLike = 0,
    ) -> None:
        ids = tuple(node_ids)
        n = len(ids)
        if n == 0:
            raise NetworkError(None, "has no nodes")
        position: dict[NodeId, int] = {}
        for k, node in enumerate(ids):
            if node in position:
                raise NetworkError(node, "appears twice in node_ids")
            position[node] = k
        pairs = tuple((a, b) for a, b in edges)
        supplier = np.empty(len(pairs), dtype=np.int64)
        customer = np.empty(len(pairs), dtype=np.int64)
        for e, (a, b) in enumerate(pairs):
            for end in (a, b):
                if end not in position:
                    raise NetworkError(end, f"in edge ({a!r}, {b!r}) is not in node_ids")
            if a == b:
                raise NetworkError(a, "has an edge to itself")
            supplier[e], customer[e] = position[a], position[b]
        _check_spanning_tree(ids, supplier, customer)

        def per_node(name: str, value: ArrayLike) -> F64:
            try:
                array = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
            except (TypeError, ValueError) as exc:
                raise NetworkError(None, f"{name} must be a number or {n} numbers") from exc
            bad = np.flatnonzero(np.isnan(array))
            if bad.size:
                raise NetworkError(ids[int(bad[0])], f"{name} is NaN")
            return array

        def check(name: str, array: F64, ok: NDArray[np.bool_], rule: str) -> None:
            bad = np.flatnonzero(~ok)
            if bad.size:
                k = int(bad[0])
                raise NetworkError(ids[k], f"{name} must be {rule}; got {array[k]!r}")

        t = per_node("processing_time", processing_time)
        check(
            "processing_time",
            t,
            np.isfinite(t) & (t >= 0) & (t == np.round(t)),
            "a whole number of periods >= 0",
        )
        si = per_node("external_inbound_service_time", external_inbound_service_time)
        check(
            "external_inbound_service_time",
            si,
            np.isfinite(si) & (si >= 0) & (si == np.round(si)),
            "a whole number of periods >= 0",
        )
        smax = per_node("max_service_time", max_service_time)
        check(
            "max_service_time",
            smax,
            (smax >= 0) & ((smax == np.round(smax)) | np.isposinf(smax)),
            "a whole number of periods >= 0 or inf",
        )
        h = per_node("holding_cost", holding_cost)
        check("holding_cost", h, np.isfinite(h) & (h >= 0), "finite and >= 0")
        mu = per_node("demand_mean", demand_mean)
        check("demand_mean", mu, np.isfinite(mu) & (mu >= 0), "finite and >= 0")
        sd = per_node("demand_sd", demand_sd)
        check("demand_sd", sd, np.isfinite(sd) & (sd >= 0), "finite and >= 0")
        z = per_node("safety_factor", safety_factor)
        check("safety_factor", z, np.isfinite(z) & (z >= 0), "finite and >= 0")

        set_ = object.__setattr__
        set_(self, "node_ids", ids)
        set_(self, "edges", pairs)
        set_(self, "processing_time", t.astype(np.int64))
        set_(self, "holding_cost", h)
        set_(self, "demand_mean", mu)
        set_(self, "demand_sd", sd)
        set_(self, "safety_factor", z)
        set_(self, "max_service_time", smax)
        set_(self, "external_inbound_service_time", si.astype(np.int64))
        set_(self, "supplier", supplier)
        set_(self, "customer", customer)

    @property
    def size(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)


@dataclass(frozen=True, slots=True, eq=False)
class GSMSolution:
    """Service times, stock and cost of a guaranteed-service network, per node.

    Arrays are aligned with ``node_ids``; times are in periods, stock in units.
    ``safety_stock = z sigma sqrt(net_lead_time)``; ``base_stock`` adds the expected
    demand over the net lead time, ``net_demand_mean * net_lead_time``. ``holding_cost``
    is the total expected safety-stock holding cost, currency per period
    (Graves & Willems 2000, objective of problem (P)).
    """

    node_ids: tuple[NodeId, ...]
    outbound_service_time: I64
    inbound_service_time: I64
    net_lead_time: I64
    net_demand_mean: F64
    net_demand_sd: F64
    safety_stock: F64
    base_stock: F64
    holding_cost: float


def optimise_service_times(tree: GSMTree) -> GSMSolution:
    """Optimal committed service times of a spanning-tree network (Graves & Willems 2000).

    Minimises the expected safety-stock holding cost per period,
    ``sum_j h_j z_j sigma_j sqrt(SI_j + T_j - S_j)``, over integer outbound and inbound
    service times ``S_j, SI_j`` subject to the constraints of problem (P) of Graves &
    Willems (2000) (see the module docstring), by their dynamic program (Section 5,
    with the 2003 Erratum), which is exact on trees. Ties are broken towards the
    smaller service time.

    Example 6.5 of Snyder & Shen (2019): a supplier (``T`` = 2, outside supply quoted
    1 period, ``h`` = 1) feeds a hub (``T`` = 1, ``h`` = 2) that serves two demand nodes
    (``T`` = 1, ``h`` = 3, demand sd 1 per period, ``z`` = 1), one promising immediate
    service and one promising 1 period:

    >>> tree = GSMTree(
    ...     node_ids=[1, 2, 3, 4],
    ...     edges=[(1, 3), (3, 2), (3, 4)],
    ...     processing_time=[2, 1, 1, 1],
    ...     holding_cost=[1, 3, 2, 3],
    ...     demand_mean=0.0,
    ...     demand_sd=[0, 1, 0, 1],
    ...     safety_factor=1.0,
    ...     max_service_time=[np.inf, 0, np.inf, 1],
    ...     external_inbound_service_time=[1, 0, 0, 0],
    ... )
    >>> solution = optimise_service_times(tree)
    >>> solution.outbound_service_time.tolist()
    [0, 0, 0, 1]
    >>> round(solution.holding_cost, 6)
    8.277917

    Returns
    -------
    GSMSolution
        Per node ``S`` (outbound), ``SI`` (inbound), net lead time, net demand, safety
        and base stock; and the optimal total expected holding cost per period.
    """
    n = tree.size
    t = tree.processing_time
    si_ext = tree.external_inbound_service_time
    s_max = tree.max_service_time
    mu, sd = _net_demand(tree)
    longest = _longest_upstream_paths(tree)
    coefficient = tree.holding_cost * tree.safety_factor * sd  # cost per sqrt(period)
    width = int(longest.max()) + 1  # common length of every tabulated function

    parent, order, parent_is_customer = _rooted_order(tree)
    suppliers_of: list[list[int]] = [[] for _ in range(n)]
    customers_of: list[list[int]] = [[] for _ in range(n)]
    for k in order[1:].tolist():
        p = int(parent[k])
        # k supplies its parent (f_k(S) tabulated) or is supplied by it (g_k(SI)).
        (suppliers_of if parent_is_customer[k] else customers_of)[p].append(k)

    # Tables, padded with inf to ``width``: value[k] is f_k(S) or g_k(SI); best[k] the
    # partner service time (SI for f, S for g) attaining it. Prefix/suffix minima of the
    # children's tables, with their argmins, are what the parent reads.
    prefix_min: dict[int, tuple[F64, I64]] = {}
    suffix_min: dict[int, tuple[F64, I64]] = {}
    best: dict[int, I64] = {}
    root_choice = (0, 0)
    for k in order[::-1].tolist():
        cost = _stage_cost_grid(
            coefficient[k], int(t[k]), int(longest[k]), int(si_ext[k]), float(s_max[k])
        )
        for i in suppliers_of[k]:  # SI_k >= S_i: cheapest f_i over S_i <= SI_k
            cost = cost + prefix_min[i][0][None, : cost.shape[1]]
        for j in customers_of[k]:  # SI_j >= S_k: cheapest g_j over SI_j >= S_k
            cost = cost + suffix_min[j][0][: cost.shape[0], None]
        if k == order[0]:
            flat = int(np.argmin(cost))
            root_choice = divmod(flat, cost.shape[1])
        elif parent_is_customer[k]:
            arg = np.argmin(cost, axis=1)
            table = _pad(cost[np.arange(cost.shape[0]), arg], width)
            best[k] = arg.astype(np.int64)
            prefix_min[k] = _prefix_argmin(table)
        else:
            arg = np.argmin(cost, axis=0)
            table = _pad(cost[arg, np.arange(cost.shape[1])], width)
            best[k] = arg.astype(np.int64)
            suffix_min[k] = _suffix_argmin(table)

    # Walk back from the root, fixing each child's shared service time from its parent's.
    out_st = np.zeros(n, dtype=np.int64)
    in_st = np.zeros(n, dtype=np.int64)
    root = int(order[0])
    out_st[root], in_st[root] = root_choice
    for k in order[1:].tolist():
        p = int(parent[k])
        if parent_is_customer[k]:
            out_st[k] = prefix_min[k][1][in_st[p]]
            in_st[k] = best[k][out_st[k]]
        else:
            in_st[k] = suffix_min[k][1][out_st[p]]
            out_st[k] = best[k][in_st[k]]
    return _solution(tree, out_st, in_st, mu, sd)


def evaluate_service_times(tree: GSMTree, outbound_service_time: ArrayLike) -> GSMSolution:
    """Stock and cost of given outbound service times ``S_j`` (periods, whole, >= 0).

    Each node takes the smallest inbound service time the constraints of Graves & Willems
    (2000), problem (P), allow: ``SI_j = max(si_j, max_{i -> j} S_i, S_j - T_j)``, which
    minimises its net lead time ``SI_j + T_j - S_j`` and so its cost.

    Raises :class:`NetworkError` naming the node whose ``S_j`` is negative, not whole, or
    above its ``max_service_time``.
    """
    s = np.asarray(outbound_service_time, dtype=np.float64)
    if s.shape != (tree.size,):
        raise NetworkError(None, f"needs {tree.size} outbound service times; got {s.shape}")
    ok = np.isfinite(s) & (s >= 0) & (s == np.round(s)) & (s <= tree.max_service_time)
    bad = np.flatnonzero(~ok)
    if bad.size:
        k = int(bad[0])
        raise NetworkError(
            tree.node_ids[k],
            f"outbound service time must be a whole number in [0, max_service_time="
            f"{tree.max_service_time[k]}]; got {s[k]!r}",
        )
    out_st = s.astype(np.int64)
    in_st = tree.external_inbound_service_time.copy()
    np.maximum.at(in_st, tree.customer, out_st[tree.supplier])
    in_st = np.maximum(in_st, out_st - tree.processing_time)
    mu, sd = _net_demand(tree)
    return _solution(tree, out_st, in_st, mu, sd)


def _solution(tree: GSMTree, out_st: I64, in_st: I64, mu: F64, sd: F64) -> GSMSolution:
    """Assemble a :class:`GSMSolution` from service times: stock covers the demand bound."""
    tau = in_st + tree.processing_time - out_st
    safety = tree.safety_factor * sd * np.sqrt(tau)
    return GSMSolution(
        node_ids=tree.node_ids,
        outbound_service_time=out_st,
        inbound_service_time=in_st,
        net_lead_time=tau,
        net_demand_mean=mu,
        net_demand_sd=sd,
        safety_stock=safety,
        base_stock=mu * tau + safety,
        holding_cost=float(np.sum(tree.holding_cost * safety)),
    )


def _stage_cost_grid(coefficient: float, t: int, longest: int, si_ext: int, s_max: float) -> F64:
    """``c_k(S, SI) = h z sigma sqrt(SI + T - S)`` on ``S in [0, M]``, ``SI in [0, M - T]``.

    Graves & Willems (2000), Section 5, without the subtree terms; ``inf`` where the pair is
    infeasible (``S > SI + T``, ``SI < si``, ``S > s``).
    """
    s = np.arange(longest + 1, dtype=np.int64)[:, None]
    si = np.arange(longest - t + 1, dtype=np.int64)[None, :]
    tau = si + t - s
    feasible = (tau >= 0) & (si >= si_ext) & (s <= s_max)
    return np.where(feasible, coefficient * np.sqrt(np.maximum(tau, 0)), np.inf)


def _pad(values: F64, width: int) -> F64:
    """``values`` followed by ``inf`` up to ``width`` entries."""
    out = np.full(width, np.inf)
    out[: values.size] = values
    return out


def _prefix_argmin(values: F64) -> tuple[F64, I64]:
    """Running minimum ``min_{x <= y} values[x]`` and its first argmin, for every ``y``."""
    running = np.minimum.accumulate(values)
    previous = np.concatenate(([np.inf], running[:-1]))
    new = values < previous
    new[0] = True
    index = np.where(new, np.arange(values.size), 0)
    return running, np.maximum.accumulate(index).astype(np.int64)


def _suffix_argmin(values: F64) -> tuple[F64, I64]:
    """Minimum ``min_{x >= y} values[x]`` and its smallest argmin, for every ``y``."""
    reverse = values[::-1]
    running = np.minimum.accumulate(reverse)
    index = np.where(reverse == running, np.arange(values.size), 0)
    last = np.maximum.accumulate(index)
    return running[::-1].copy(), (values.size - 1 - last[::-1]).astype(np.int64)


def _check_spanning_tree(ids: tuple[NodeId, ...], supplier: I64, customer: I64) -> None:
    """Raise :class:`NetworkError` unless the edges form a spanning tree of the nodes."""
    n = len(ids)
    root = list(range(n))

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    for a, b in zip(supplier.tolist(), customer.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            raise NetworkError(
                ids[b],
                f"edge ({ids[a]!r}, {ids[b]!r}) closes a cycle (the network must be a "
                "tree: no node may be reached by two paths)",
            )
        root[ra] = rb
    first = find(0)
    for k in range(1, n):
        if find(k) != first:
            raise NetworkError(ids[k], f"is not connected to node {ids[0]!r}")


def _rooted_order(tree: GSMTree) -> tuple[I64, I64, NDArray[np.bool_]]:
    """Breadth-first order of the undirected tree from node 0, with parents.

    ``parent_is_customer[k]`` is True when ``k`` supplies its parent (edge k -> parent).
    """
    n = tree.size
    neighbours: list[list[tuple[int, bool]]] = [[] for _ in range(n)]
    for a, b in zip(tree.supplier.tolist(), tree.customer.tolist(), strict=True):
        neighbours[a].append((b, True))  # from a, b is a customer
        neighbours[b].append((a, False))
    parent = np.full(n, -1, dtype=np.int64)
    parent_is_customer = np.zeros(n, dtype=np.bool_)
    order = [0]
    seen = np.zeros(n, dtype=np.bool_)
    seen[0] = True
    for k in order:  # grows while iterating: breadth-first
        for j, j_is_customer in neighbours[k]:
            if not seen[j]:
                seen[j] = True
                parent[j] = k
                parent_is_customer[j] = not j_is_customer  # k is j's customer
                order.append(j)
    return parent, np.asarray(order, dtype=np.int64), parent_is_customer


def _topological_order(tree: GSMTree) -> I64:
    """Nodes ordered so that every supplier comes before its customers."""
    n = tree.size
    indegree = np.bincount(tree.customer, minlength=n)
    customers: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(tree.supplier.tolist(), tree.customer.tolist(), strict=True):
        customers[a].append(b)
    order = [int(k) for k in np.flatnonzero(indegree == 0)]
    for k in order:  # grows while iterating
        for j in customers[k]:
            indegree[j] -= 1
            if indegree[j] == 0:
                order.append(j)
    return np.asarray(order, dtype=np.int64)


def _longest_upstream_paths(tree: GSMTree) -> I64:
    """``M_j = T_j + max(si_j, max_{i -> j} M_i)``: the longest replenishment time, periods.

    Graves & Willems (2000), Section 5: the largest net lead time a node can face, so
    ``S_j <= M_j`` and ``SI_j <= M_j - T_j`` lose nothing.
    """
    upstream = tree.external_inbound_service_time.copy()
    longest = np.zeros(tree.size, dtype=np.int64)
    suppliers: list[list[int]] = [[] for _ in range(tree.size)]
    for a, b in zip(tree.supplier.tolist(), tree.customer.tolist(), strict=True):
        suppliers[b].append(a)
    for k in _topological_order(tree).tolist():
        for i in suppliers[k]:
            upstream[k] = max(upstream[k], longest[i])
        longest[k] = tree.processing_time[k] + upstream[k]
    return longest


def _net_demand(tree: GSMTree) -> tuple[F64, F64]:
    """Net demand mean and sd per period at each node: own plus all downstream demand.

    Customers are visited before their suppliers and pass their totals up; in a tree each
    downstream node is reached by one path, so every external demand is counted once at
    each node upstream of it (means add, and variances add for independent demands:
    Graves & Willems 2000).
    """
    n = tree.size
    order = _topological_order(tree)[::-1]  # customers before suppliers
    mean = tree.demand_mean.copy()
    variance = tree.demand_sd**2
    suppliers: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(tree.supplier.tolist(), tree.customer.tolist(), strict=True):
        suppliers[b].append(a)
    for k in order.tolist():
        for i in suppliers[k]:
            mean[i] += mean[k]
            variance[i] += variance[k]
    return mean, np.sqrt(variance)
