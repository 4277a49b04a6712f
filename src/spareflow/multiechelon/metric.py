"""METRIC and VARI-METRIC: backorders, fill rates and availability of a repair network
at given stock levels, all items and bases at once.

Both models follow one-for-one (S - 1, S) resupply: each removal at a base triggers a
repair (at the base, share ``r``) or a shipment of a serviceable unit from the depot
(share ``1 - r``), and the failed unit goes to the depot for repair. By Palm's theorem
the depot's repair pipeline is Poisson with mean ``m0 T0`` (``m0``: the depot's demand,
``T0``: its repair time). A base waits for the depot only when the depot is short; its
expected delay is ``EBO0(s0) / m0`` (Little's law).

* **METRIC** (Sherbrooke 1968, "METRIC: a multi-echelon technique for recoverable item
  control", *Operations Research* 16(1); Sherbrooke 2004, eq. 3.1-3.5): the base
  pipeline is Poisson with mean ``m (r T + (1 - r)(O + EBO0(s0) / m0))``.
* **VARI-METRIC** (Graves 1985, "A multi-echelon inventory model for a repairable item
  with one-for-one replenishment", *Management Science* 31(10); Sherbrooke 1986,
  "VARI-METRIC: improved approximations for multi-indenture, multi-echelon availability
  models", *Operations Research* 34(2); Sherbrooke 2004, ch. 4-5): each depot backorder
  is owed to base j with probability ``f = (1 - r) m / m0``, so the base's pipeline has
  mean ``m (r T + (1 - r) O) + f EBO0`` and variance
  ``m (r T + (1 - r) O) + f (1 - f) EBO0 + f**2 VBO0`` (``VBO0``: the variance of the
  depot's backorders) and is fitted by a negative binomial (Poisson where the variance
  does not exceed the mean).
* **Two indentures** (Sherbrooke 1986; 2004, ch. 5): a backorder of an SRU at a base
  holds one of its LRU in repair there, so the LRU's base pipeline adds the SRU's
  expected backorders to its mean (and, in VARI-METRIC, their variance to its
  variance); at the depot the SRU's backorders are owed partly to the bases (their
  resupply) and partly to the depot's own LRU repairs (its removals there), and only
  that share lengthens the LRU's depot pipeline, which is then fitted like a base's.

Per base, expected availability of a fleet of ``N`` units with ``Z`` of item ``i``
installed per unit is the product over LRUs of ``(1 - EBO_i / (N Z_i))**Z_i``
(Sherbrooke 2004, ch. 5; a unit is up when none of its positions
waits for a part). Units: days, units per day, units of stock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError
from spareflow.multiechelon.network import RepairNetwork
from spareflow.stock.distributions import Family, IntervalDemand, interval_pmf

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

Model = Literal["metric", "vari-metric"]
MODELS: tuple[Model, ...] = ("metric", "vari-metric")


@dataclass(frozen=True, slots=True)
class Excess:
    """Backorders of a pipeline X at stock level s: E[(X - s)+], Var[(X - s)+] and the
    fill rate P(X < s) (a demand is filled at once when fewer than s units are in
    resupply)."""

    backorders: F64
    backorder_variance: F64
    fill_rate: F64


def excess(mean: F64, variance: F64, level: I64, model: Model = "vari-metric") -> Excess:
    """:class:`Excess` of a Poisson (``metric``, or variance <= mean) or negative binomial
    pipeline with ``mean`` and ``variance`` (units) at stock ``level`` (units >= 0), all
    arrays of one shape. Sums over the few counts below the level:
    ``E[(X-s)+] = E[X] - s + sum_{x<s} (s - x) p(x)`` and
    ``E[(X-s)+**2] = Var X + (E[X] - s)**2 - sum_{x<s} (s - x)**2 p(x)``."""
    mu = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    var = np.asarray(variance, dtype=np.float64)
    s = np.asarray(level, dtype=np.int64)
    shape = np.broadcast_shapes(mu.shape, var.shape, s.shape)
    mu, var, s = (np.broadcast_to(a, shape).ravel() for a in (mu, var, s))
    if (s < 0).any():
        raise ParameterError("stock", "stock levels must be >= 0")
    nb = (var > mu * (1.0 + 1e-9)) if model == "vari-metric" else np.zeros(mu.shape, bool)
    var = np.where(nb, var, mu)
    family = np.where(mu <= 0.0, Family.ZERO, np.where(nb, Family.NEGBIN, Family.POISSON))
    last = int(s.max(initial=0))
    fill = np.zeros(mu.shape)
    below1 = np.zeros(mu.shape)
    below2 = np.zeros(mu.shape)
    if last > 0:
        pmf = interval_pmf(IntervalDemand(family.astype(np.int8), mu, var), last - 1)
        gap = s[:, None] - np.arange(last)[None, :]  # s - x, counted where x < s
        inside = gap > 0
        weighted = np.where(inside, pmf, 0.0)
        fill = weighted.sum(axis=1)
        below1 = (weighted * gap).sum(axis=1)
        below2 = (weighted * gap * gap).sum(axis=1)
    ebo = np.maximum(mu - s + below1, 0.0)
    second = var + (mu - s) ** 2 - below2
    vbo = np.maximum(second - ebo**2, 0.0)
    return Excess(ebo.reshape(shape), vbo.reshape(shape), np.minimum(fill, 1.0).reshape(shape))


@dataclass(frozen=True, slots=True)
class MetricResult:
    """Per item at the depot (items,) and per item and base (items, bases): pipeline
    (units in resupply) mean and variance, expected backorders and their variance, fill
    rate; per base (bases,) the expected equipment availability."""

    depot_pipeline_mean: F64
    depot_pipeline_variance: F64
    depot: Excess
    base_pipeline_mean: F64
    base_pipeline_variance: F64
    base: Excess
    availability: F64

    @property
    def fleet_availability(self) -> float:
        """Availability of all bases' equipment together (the mean over units)."""
        return float(self.availability.mean()) if self.availability.size else 1.0


def evaluate(
    network: RepairNetwork, depot_stock: I64, base_stock: I64, model: Model = "vari-metric"
) -> MetricResult:
    """METRIC or VARI-METRIC at stock levels ``depot_stock`` (items,) and ``base_stock``
    (items, bases), in units (see the module doc for the formulas)."""
    if model not in MODELS:
        raise ParameterError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")
    s0 = np.asarray(depot_stock, dtype=np.int64)
    sb = np.asarray(base_stock, dtype=np.int64)
    n, j = network.items, network.bases
    if s0.shape != (n,) or sb.shape != (n, j):
        raise ParameterError(
            "stock", f"stock levels must be ({n},) at the depot and ({n}, {j}) at bases"
        )
    lru = network.is_lru
    d_mean = np.zeros(n)
    d_var = np.zeros(n)
    b_mean = np.zeros((n, j))
    b_var = np.zeros((n, j))
    depot = Excess(np.zeros(n), np.zeros(n), np.ones(n))
    base = Excess(np.zeros((n, j)), np.zeros((n, j)), np.ones((n, j)))
    # SRUs first: their backorders lengthen their LRUs' repair pipelines
    for rows in (np.flatnonzero(~lru), np.flatnonzero(lru)):
        if rows.size == 0:
            continue
        sub = network.take(rows) if rows.size < n else network
        extra = _child_backorders(network, rows, depot, base)
        out = _echelons(sub, s0[rows], sb[rows], model, extra)
        d_mean[rows], d_var[rows] = out[0], out[1]
        b_mean[rows], b_var[rows] = out[2], out[3]
        _put(depot, rows, out[4])
        _put(base, rows, out[5])
    return MetricResult(
        d_mean, d_var, depot, b_mean, b_var, base, availability(network, base.backorders)
    )


def availability(network: RepairNetwork, base_backorders: F64) -> F64:
    """Per base, prod over LRUs of (1 - EBO / (N Z))**Z (0 when backorders exceed the
    positions)."""
    lru = network.is_lru
    z = network.quantity_per_unit[lru][:, None]
    share = base_backorders[lru] / (network.fleet_size[None, :] * z)
    up = np.clip(1.0 - share, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        log_up = z * np.log(up)
    return np.asarray(np.exp(log_up.sum(axis=0)))


def _put(target: Excess, rows: I64, values: Excess) -> None:
    target.backorders[rows] = values.backorders
    target.backorder_variance[rows] = values.backorder_variance
    target.fill_rate[rows] = values.fill_rate


def _child_backorders(
    network: RepairNetwork, rows: I64, depot: Excess, base: Excess
) -> tuple[F64, F64, F64, F64] | None:
    """For LRU rows: the sums over their SRUs of the backorders (means, variances) that
    hold an LRU in repair, at the depot (rows,) and the bases (rows, bases); None when
    no SRU is in the network. At a base every SRU backorder holds one (Sherbrooke 2004,
    ch. 5); at the depot only the share owed to the depot's own LRU repairs, ``h`` =
    depot removals / depot demand, each backorder independently (as for the bases:
    mean ``h EBO``, variance ``h (1 - h) EBO + h**2 VBO``)."""
    sru = np.flatnonzero(~network.is_lru)
    if sru.size == 0 or not network.is_lru[rows].all():
        return None
    n, j = network.items, network.bases
    parent = network.parent[sru]
    m0 = network.depot_demand[sru]
    h = np.divide(network.removed_at_depot[sru], m0, out=np.zeros(sru.size), where=m0 > 0)
    ebo0, vbo0 = depot.backorders[sru], depot.backorder_variance[sru]
    sums = [np.zeros(n), np.zeros(n), np.zeros((n, j)), np.zeros((n, j))]
    np.add.at(sums[0], parent, h * ebo0)
    np.add.at(sums[1], parent, h * (1.0 - h) * ebo0 + h**2 * vbo0)
    np.add.at(sums[2], parent, base.backorders[sru])
    np.add.at(sums[3], parent, base.backorder_variance[sru])
    return sums[0][rows], sums[1][rows], sums[2][rows], sums[3][rows]


def _echelons(
    net: RepairNetwork,
    s0: I64,
    sb: I64,
    model: Model,
    extra: tuple[F64, F64, F64, F64] | None,
) -> tuple[F64, F64, F64, F64, Excess, Excess]:
    """Depot then bases for one indenture: pipelines and their excess over stock."""
    m0 = net.depot_demand
    d_mean = m0 * net.depot_repair_days
    d_var = d_mean.copy()
    poisson_base = net.demand * net.base_cycle_days
    b_mean = poisson_base.copy()
    b_var = poisson_base.copy()
    if extra is not None:
        d_mean = d_mean + extra[0]
        b_mean = b_mean + extra[2]
        if model == "vari-metric":
            d_var = d_var + extra[1]
            b_var = b_var + extra[3]
        else:
            d_var = d_mean.copy()
    depot = excess(d_mean, d_var, s0, model)
    f = np.divide(
        (1.0 - net.repair_share) * net.demand,
        m0[:, None],
        out=np.zeros_like(net.demand),
        where=m0[:, None] > 0,
    )
    ebo0 = depot.backorders[:, None]
    b_mean = b_mean + f * ebo0
    if model == "vari-metric":
        b_var = b_var + f * (1.0 - f) * ebo0 + f**2 * depot.backorder_variance[:, None]
    else:
        b_var = b_mean.copy()
    return d_mean, d_var, b_mean, b_var, depot, excess(b_mean, b_var, sb, model)
