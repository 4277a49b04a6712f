"""Part demand from assets at risk: each asset fails within the lead time with its own
probability (from the predictive-maintenance model) and then needs some units of a part,
so demand per site is a weighted Poisson-binomial sum, computed exactly by FFT."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import fft

from spareflow.errors import ParameterError

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class PartDemand:
    """Parts needed per site over the lead time: ``sites`` (labels, sorted), ``mean``
    and ``variance`` (units, (sites,)), ``pmf`` (sites, support): P(demand = k units)."""

    sites: NDArray[Any]
    mean: F64
    variance: F64
    pmf: F64


def part_demand(
    probability: ArrayLike, site: ArrayLike, quantity: ArrayLike = 1, tail: float = 1e-15
) -> PartDemand:
    """Demand per site when asset i (at ``site[i]``) fails within the lead time with
    ``probability[i]`` (independently) and then needs ``quantity[i]`` units of the part:
    ``D_s = sum_{i in s} q_i B_i``, ``B_i ~ Bernoulli(p_i)``: a (weighted) Poisson-binomial
    distribution; mean ``sum q p``, variance ``sum q^2 p (1 - p)``.

    The pmf is the inverse DFT of the characteristic function
    ``prod_i (1 - p_i + p_i exp(-2 pi j k q_i / N))`` (Fernández & Williams, "Closed-form
    expression for the Poisson-binomial probability density function", IEEE TAES 46(2),
    2010; Hong, "On computing the distribution function for the Poisson binomial
    distribution", CSDA 59, 2013), summed in logs per site for all sites at once. ``N``
    covers each site's largest possible demand, or Bernstein's bound beyond which at most
    ``tail`` probability lies (that mass would wrap around).
    """
    p = np.asarray(probability, dtype=np.float64).ravel()
    q = np.broadcast_to(np.asarray(quantity, dtype=np.int64), p.shape).ravel()
    labels, code = np.unique(np.asarray(site).ravel(), return_inverse=True)
    if code.size != p.size:
        raise ParameterError("site", f"{code.size} sites for {p.size} probabilities")
    if p.size and (not np.all((p >= 0) & (p <= 1)) or q.min() < 0):
        raise ParameterError("probability", "needs probabilities in [0, 1], quantities >= 0")
    m = labels.size
    mean = np.bincount(code, weights=q * p, minlength=m).astype(np.float64)
    var = np.bincount(code, weights=q * q * p * (1 - p), minlength=m).astype(np.float64)
    top = np.bincount(code, weights=q, minlength=m)
    qmax = np.zeros(m)
    np.maximum.at(qmax, code, q)
    ln = math.log(1.0 / tail)
    reach = mean + ln * qmax / 3 + np.sqrt((ln * qmax / 3) ** 2 + 2 * ln * var)
    size = int(np.max(np.minimum(top, np.ceil(reach)), initial=0.0)) + 1
    n = fft.next_fast_len(size, real=True)
    freq = np.arange(n // 2 + 1)
    order = np.argsort(code, kind="stable")
    logcf = np.zeros((m, freq.size), dtype=np.complex128)
    chunk = max(1, 2**21 // freq.size)
    with np.errstate(divide="ignore"):
        for lo in range(0, p.size, chunk):  # chunks of assets bound the memory
            idx = order[lo : lo + chunk]
            c = code[idx]
            phase = np.exp(-2j * np.pi * np.outer(q[idx], freq) / n)
            terms = np.log((1 - p[idx])[:, None] + p[idx][:, None] * phase)
            first = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
            logcf[c[first]] += np.add.reduceat(terms, first, axis=0)
    pmf = np.clip(fft.irfft(np.exp(logcf), n=n, axis=1)[:, :size], 0.0, None)
    pmf[np.arange(size)[None, :] > top[:, None]] = 0.0
    return PartDemand(labels, mean, var, pmf)
