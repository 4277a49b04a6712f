"""Exact steady state of a one-depot, many-base repair network with one-for-one
resupply, Poisson removals and fixed order-and-ship times (one indenture).

Graves (1985), "A multi-echelon inventory model for a repairable item with one-for-one
replenishment", *Management Science* 31(10), 1247-1256, sec. 3: the units owed to base j
at time t are the base's repairs in progress, the requests it sent the depot in
(t - O, t], and its share of the depot's backorders at t - O. The first two are Poisson
with mean ``m (r T + (1 - r) O)``; the depot's backorders are ``(X0 - s0)+`` with X0
Poisson(``m0 T0``) (Palm), and each is owed to base j with probability
``f = (1 - r) m / m0`` independently (Poisson splitting). So the base pipeline's pmf is
the Poisson pmf convolved with the binomial thinning of the depot backorders' pmf, and
every base measure follows exactly. Repair times at base and depot may have any
distribution with the given means (Palm); transit times must be fixed.

This is the reference the approximations (METRIC, VARI-METRIC) and the discrete-event
simulation are checked against. Cost: O(K**2) per item and base for K counts of
support, vectorised across items and bases. Units: days, units per day, units.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from spareflow.multiechelon.metric import Excess
from spareflow.multiechelon.network import RepairNetwork

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Probability mass left beyond the support the pmfs are computed on.
TAIL = 1e-12


def base_pipeline_pmf(network: RepairNetwork, depot_stock: I64) -> F64:
    """Exact pmf of the units owed to each base, shape (items, bases, K + 1)."""
    m0 = network.depot_demand
    mu0 = m0 * network.depot_repair_days
    s0 = np.asarray(depot_stock, dtype=np.int64)
    local = network.demand * network.base_cycle_days
    k0 = int(stats.poisson.isf(TAIL, mu0.max(initial=0.0))) + 2
    k = int(stats.poisson.isf(TAIL, local.max(initial=0.0))) + k0 + 2
    # depot backorders B0 = (X0 - s0)+, pmf over 0..k0
    x = np.arange(k0 + s0.max(initial=0) + 1)
    p0 = stats.poisson.pmf(x[None, :], mu0[:, None])
    b = np.arange(k0 + 1)
    pb = np.zeros((network.items, k0 + 1))
    pb[:, 0] = stats.poisson.cdf(s0, mu0)
    idx = np.minimum(s0[:, None] + b[None, 1:], x.size - 1)
    pb[:, 1:] = np.take_along_axis(p0, idx, axis=1)
    f = np.divide(
        (1.0 - network.repair_share) * network.demand,
        m0[:, None],
        out=np.zeros_like(network.demand),
        where=m0[:, None] > 0,
    )
    # thinning: P(Y = y) = sum_b P(B0 = b) C(b, y) f^y (1 - f)^(b - y)
    y = np.arange(k0 + 1)
    binom = stats.binom.pmf(y[None, None, None, :], b[None, None, :, None], f[:, :, None, None])
    thinned = np.einsum("ib,ijby->ijy", pb, binom)
    poisson = stats.poisson.pmf(np.arange(k + 1)[None, None, :], local[:, :, None])
    out = np.zeros((network.items, network.bases, k + 1))
    for shift in range(k0 + 1):  # convolution over the (short) thinned support
        out[:, :, shift:] += thinned[:, :, shift, None] * poisson[:, :, : k + 1 - shift]
    return out


def base_excess(network: RepairNetwork, depot_stock: I64, base_stock: I64) -> Excess:
    """Exact expected backorders, their variance and the fill rate at every base at stock
    ``base_stock`` (items, bases), the depot holding ``depot_stock`` (items,)."""
    pmf = base_pipeline_pmf(network, depot_stock)
    s = np.asarray(base_stock, dtype=np.int64)[:, :, None]
    x = np.arange(pmf.shape[2])[None, None, :]
    over = np.maximum(x - s, 0)
    ebo = (pmf * over).sum(axis=2)
    second = (pmf * over * over).sum(axis=2)
    fill = (pmf * (x < s)).sum(axis=2)
    return Excess(ebo, np.maximum(second - ebo**2, 0.0), fill)


def pipeline_moments(pmf: F64) -> tuple[F64, F64]:
    """Mean and variance of pmfs along the last axis."""
    x = np.arange(pmf.shape[-1])
    mean = (pmf * x).sum(axis=-1)
    return mean, np.maximum((pmf * x * x).sum(axis=-1) - mean**2, 0.0)


def base_availability(network: RepairNetwork, depot_stock: I64, base_stock: I64) -> F64:
    """Exact expected share of each base's fleet that is up (bases,), with the holes of
    item i placed at random over its ``N Z`` positions: the mean over the exact base
    backorders B of ``C(NZ - Z, B) / C(NZ, B)``, multiplied over items (independent)."""
    pmf = base_pipeline_pmf(network, depot_stock)
    s = np.asarray(base_stock, dtype=np.int64)[:, :, None]
    x = np.arange(pmf.shape[2])[None, None, :]
    holes = np.maximum(x - s, 0)  # (items, bases, K+1)
    z = network.quantity_per_unit[:, None, None]
    positions = network.fleet_size[None, :, None] * z
    k = np.arange(pmf.shape[2])
    # up(k) = prod_{m<k} (NZ - Z - m) / (NZ - m), tabulated for k = 0..K per item and base
    left = positions - k[None, None, :]
    factors = np.divide(left - z, left, out=np.zeros(left.shape), where=left > 0)
    np.clip(factors, 0.0, 1.0, out=factors)
    up = np.concatenate(
        (np.ones((*factors.shape[:2], 1)), np.cumprod(factors, axis=2)[:, :, :-1]), axis=2
    )
    expected = (pmf * np.take_along_axis(up, holes, axis=2)).sum(axis=2)
    lru = network.is_lru
    return np.asarray(np.prod(expected[lru], axis=0))
