"""Per-period demand drawn from the plan's own demand model, item by item.

Each item's family is the one the plan chose for its protection interval
(``stock.distributions``); the per-period law is the member of that family whose sum
over k periods is the interval law (all four are infinitely divisible):

* Poisson: Poisson(mean) per period;
* stuttering Poisson: Poisson(mean / a) orders of geometric size with mean
  a = (var/mean + 1) / 2 (``monte_carlo.CompoundPoisson``);
* negative binomial: NB(r, p) with p = mean/var, r = mean p / (1 - p) per period
  (sums of NB(r, p) are NB(k r, p));
* normal or gamma (fast movers): gamma with scale var/mean and shape mean/scale per
  period (sums stay gamma); amounts are not rounded.

Units: demand per period (a day in the plan), variance in units squared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.simulate.models import CompoundPoisson
from spareflow.stock.distributions import Family

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FamilyDemand:
    """Per-period demand of each item from its family, mean and variance (items,)."""

    family: NDArray[np.int8]
    mean: F64
    variance: F64

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> F64:
        out = np.zeros(shape)
        m = np.maximum(np.nan_to_num(self.mean), 0.0)
        v = np.maximum(np.nan_to_num(self.variance), 0.0)
        fam = self.family
        poisson = (fam == Family.POISSON) | ((v <= m) & (fam != Family.ZERO))
        cols = np.flatnonzero(poisson & (m > 0))
        if cols.size:
            out[..., cols] = rng.poisson(m[cols], size=(*shape[:-1], cols.size))
        cols = np.flatnonzero((fam == Family.STUTTER) & ~poisson & (m > 0))
        if cols.size:
            a = (v[cols] / m[cols] + 1.0) / 2.0
            sub = CompoundPoisson(rate=m[cols] / a, mean_size=a)
            out[..., cols] = sub.sample(rng, (*shape[:-1], cols.size))
        cols = np.flatnonzero((fam == Family.NEGBIN) & ~poisson & (m > 0))
        if cols.size:
            p = m[cols] / v[cols]
            r = m[cols] * p / (1.0 - p)
            out[..., cols] = rng.negative_binomial(r, p, size=(*shape[:-1], cols.size))
        cols = np.flatnonzero(np.isin(fam, [Family.NORMAL, Family.GAMMA]) & ~poisson & (m > 0))
        if cols.size:
            scale = v[cols] / m[cols]
            out[..., cols] = rng.gamma(m[cols] / scale, scale, size=(*shape[:-1], cols.size))
        return out
