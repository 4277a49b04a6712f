"""Weibull and exponential life distributions fitted by maximum likelihood to failure
and suspension (right-censored) records, many parts at once.

Survival ``S(t) = exp(-(t / scale) ** shape)`` (times in the records' unit: hours,
cycles, days). With ``r`` failures among the records of a part, the log-likelihood is
``sum_failures [ln k - k ln(scale) + (k - 1) ln t] - sum_all (t / scale) ** k``
(Meeker & Escobar, *Statistical Methods for Reliability Data*, 1998, sec. 8.2; Lawless,
*Statistical Models and Methods for Lifetime Data*, 2nd ed., 2003, sec. 5.2).

For a given shape k the best scale is ``(sum_all t**k / r) ** (1/k)``; putting it back
leaves the profile equation in k alone,
``1/k + mean_failures(ln t) - sum t**k ln t / sum t**k = 0``, whose left side falls
as k grows, so a bisection in ln k finds its root for every part at once (sums per part
by ``bincount``; times divided by each part's largest, which leaves the root unchanged
and keeps t**k finite). Standard errors come from the observed information (the
negative Hessian at the optimum); the bounds are Wald bounds on the log of each
parameter, so they stay positive. The exponential (shape 1) has the closed form
``scale = total time / r`` with standard error ``scale / sqrt(r)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from spareflow.errors import ParameterError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Shapes searched: the profile equation's root is bracketed in [1e-3, 1e3].
_SHAPE_RANGE = (1e-3, 1e3)
_BISECTIONS = 64


@dataclass(frozen=True, slots=True)
class LifeFit:
    """Per part (arrays (parts,)): ``shape`` and ``scale`` (the records' time unit),
    their standard errors and covariance, the failures and suspensions counted and the
    log-likelihood. NaN where a part has too few failures (Weibull: 2, exponential: 1)."""

    shape: F64
    scale: F64
    shape_se: F64
    scale_se: F64
    covariance: F64
    failures: I64
    suspensions: I64
    log_likelihood: F64

    def bounds(self, level: float = 0.95) -> tuple[F64, F64, F64, F64]:
        """Two-sided ``level`` bounds: shape low, shape high, scale low, scale high
        (Wald on the log scale: ``p * exp(-+ z se / p)``)."""
        if not 0.0 < level < 1.0:
            raise ParameterError("level", f"must be between 0 and 1, got {level}")
        z = float(special.ndtri(0.5 + level / 2.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            ws = np.exp(z * self.shape_se / self.shape)
            wl = np.exp(z * self.scale_se / self.scale)
        return self.shape / ws, self.shape * ws, self.scale / wl, self.scale * wl

    def mean_life(self) -> F64:
        """Mean time to failure, ``scale * Gamma(1 + 1/shape)``."""
        return np.asarray(self.scale * special.gamma(1.0 + 1.0 / self.shape), dtype=np.float64)


def _records(
    time: ArrayLike, failed: ArrayLike, part: ArrayLike | None
) -> tuple[F64, NDArray[np.bool_], I64, int]:
    t = np.asarray(time, dtype=np.float64).ravel()
    f = np.asarray(failed).ravel()
    if f.shape != t.shape:
        raise ParameterError("failed", f"{f.size} flags for {t.size} times")
    bad = np.flatnonzero(~(np.isfinite(t) & (t > 0)))
    if bad.size:
        raise ParameterError("time", f"record {bad[0]}: must be a positive time (got {t[bad[0]]})")
    if part is None:
        code = np.zeros(t.size, dtype=np.int64)
    else:
        code = np.asarray(part).ravel()
        if code.shape != t.shape or (code.size and code.min() < 0):
            raise ParameterError("part", "one part code (0, 1, ...) per record is needed")
        code = code.astype(np.int64)
    n_parts = int(code.max()) + 1 if code.size else 0
    return t, f.astype(bool), code, n_parts


def fit_exponential(time: ArrayLike, failed: ArrayLike, part: ArrayLike | None = None) -> LifeFit:
    """Exponential fit per part: ``scale`` = total time on test / failures (the mean
    life), standard error ``scale / sqrt(r)``. ``part``: a code 0..P-1 per record."""
    t, f, code, n = _records(time, failed, part)
    r = np.bincount(code, weights=f, minlength=n).astype(np.int64)
    total = np.bincount(code, weights=t, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(r >= 1, total / r, np.nan)
        se = scale / np.sqrt(r)
        loglik = -r * np.log(scale) - total / scale
    ones = np.where(r >= 1, 1.0, np.nan)
    counts = np.bincount(code, minlength=n)
    return LifeFit(
        shape=ones,
        scale=scale,
        shape_se=ones * 0.0,
        scale_se=se,
        covariance=ones * 0.0,
        failures=r,
        suspensions=(counts - r).astype(np.int64),
        log_likelihood=loglik,
    )


def fit_weibull(time: ArrayLike, failed: ArrayLike, part: ArrayLike | None = None) -> LifeFit:
    """Weibull fit per part by maximum likelihood with right censoring (``failed``
    False: a suspension, the unit still working at ``time``). ``part``: a code 0..P-1
    per record (one part when None). Raises ParameterError for a time <= 0."""
    t, f, code, n = _records(time, failed, part)
    r = np.bincount(code, weights=f, minlength=n)
    top = np.zeros(n)
    np.maximum.at(top, code, t)
    u = t / top[code]  # each part's times divided by its largest: u in (0, 1]
    lnu = np.log(u)
    mean_lnu_f = np.bincount(code, weights=np.where(f, lnu, 0.0), minlength=n) / np.maximum(r, 1)

    def profile(k: F64) -> F64:
        w = u ** k[code]
        s0 = np.bincount(code, weights=w, minlength=n)
        s1 = np.bincount(code, weights=w * lnu, minlength=n)
        return np.asarray(1.0 / k + mean_lnu_f - s1 / s0, dtype=np.float64)

    lo = np.full(n, np.log(_SHAPE_RANGE[0]))
    hi = np.full(n, np.log(_SHAPE_RANGE[1]))
    for _ in range(_BISECTIONS):  # g falls in k: g(mid) > 0 puts the root above mid
        mid = 0.5 * (lo + hi)
        up = profile(np.exp(mid)) > 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    ok = r >= 2
    k = np.where(ok, np.exp(0.5 * (lo + hi)), np.nan)
    kk = np.where(ok, k, 1.0)
    s0 = np.bincount(code, weights=u ** kk[code], minlength=n)
    rr = np.maximum(r, 1)
    scale = np.where(ok, top * (s0 / rr) ** (1.0 / kk), np.nan)
    # observed information at the optimum (derivatives of the log-likelihood above)
    lam = np.where(ok, scale, 1.0)
    z = (t / lam[code]) ** kk[code]
    ln_ratio = np.log(t / lam[code])
    sz = np.bincount(code, weights=z, minlength=n)
    szl = np.bincount(code, weights=z * ln_ratio, minlength=n)
    szl2 = np.bincount(code, weights=z * ln_ratio**2, minlength=n)
    h_kk = -r / kk**2 - szl2
    h_ll = (kk / lam**2) * (r - (kk + 1.0) * sz)
    h_kl = (-r + sz + kk * szl) / lam
    det = h_kk * h_ll - h_kl**2
    with np.errstate(invalid="ignore", divide="ignore"):
        var_k = -h_ll / det
        var_l = -h_kk / det
        cov = h_kl / det
    lnt_f = np.bincount(code, weights=np.where(f, np.log(t), 0.0), minlength=n)
    loglik = r * np.log(kk) - r * kk * np.log(lam) + (kk - 1.0) * lnt_f - sz
    nan = np.where(ok, 1.0, np.nan)
    counts = np.bincount(code, minlength=n)
    return LifeFit(
        shape=k,
        scale=scale,
        shape_se=np.sqrt(var_k) * nan,
        scale_se=np.sqrt(var_l) * nan,
        covariance=cov * nan,
        failures=r.astype(np.int64),
        suspensions=(counts - r).astype(np.int64),
        log_likelihood=loglik * nan,
    )
