"""Demand over a protection interval (lead time, or lead time plus review period),
per item-site, as a discrete distribution on 0, 1, 2, ... units.

The model is fitted to two moments and the demand class (rules below) and kept as a
probability mass matrix shaped (items, K + 1), computed for all items at once:

======================  =========================================================
rule (first that holds) family
======================  =========================================================
mean 0                  degenerate at 0
mean > ``FAST_MEAN``    normal (CV <= 0.5) or gamma, discretised on the integers
variance <= 1.05 mean   Poisson (a dispersion this low is noise around Poisson)
intermittent or lumpy   compound Poisson with geometric sizes ("stuttering
                        Poisson", Pólya-Aeppli): demand occurs in orders of
                        several units (Silver, Pyke & Thomas 2017, sec. 7.10);
                        beyond ``STUTTER_MAX`` units of support the negative
                        binomial (its pmf is closed-form, the stuttering one a
                        recurrence over every unit)
otherwise               negative binomial (compound Poisson, logarithmic sizes)
======================  =========================================================

Moments over an interval of ``tau`` periods, from per-period mean ``mu`` and variance
``sigma2`` (periods independent): mean ``mu tau`` and variance ``sigma2 tau``, plus
``mu**2 var(tau)`` when the lead time is random (Silver, Pyke & Thomas 2017, eq. 6.10).

Units: demand in units per planning period; intervals in planning periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray
from scipy import special

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Mean demand over the interval above which a continuous family (normal or gamma,
#: discretised) replaces the count models: a fast mover.
FAST_MEAN = 100.0

#: Largest support (units) computed with the stuttering-Poisson recurrence.
STUTTER_MAX = 1000

#: Mass left beyond the last column of a pmf matrix (about, at most).
TAIL = 1e-8

#: Below this log-probability of zero units the negative binomial's pmf is summed in
#: log-gamma form rather than as a running product from P(0) (which would underflow).
_LOG_TINY = -600.0


class Family(IntEnum):
    """Distribution family of an item's interval demand."""

    ZERO = 0
    POISSON = 1
    NEGBIN = 2
    STUTTER = 3  # compound Poisson, geometric order sizes
    NORMAL = 4
    GAMMA = 5


@dataclass(frozen=True, slots=True)
class IntervalDemand:
    """Demand over each item's protection interval: family and its first two moments."""

    family: NDArray[np.int8]
    mean: F64
    variance: F64

    def __len__(self) -> int:
        return int(self.mean.shape[0])

    def take(self, rows: I64 | NDArray[np.bool_]) -> IntervalDemand:
        return IntervalDemand(self.family[rows], self.mean[rows], self.variance[rows])

    def support(self) -> I64:
        """Per item, the last count worth a column: mean + 8 sd + 10, plus for the
        skewed families enough of their exponential tail (decay rate ``d``: 18 / d more)
        that the mass left beyond is below about ``TAIL``."""
        m, v = self.mean, np.maximum(self.variance, 0.0)
        base = m + 8.0 * np.sqrt(v) + 10.0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(m > 0, v / np.where(m > 0, m, 1.0), 1.0)
            # per-unit tail decay: NB (1 - p) = 1 - mean/var; geometric theta = 1 - 1/a
            # with a = (var/mean + 1)/2; gamma exp(-y / scale), scale = var / mean
            nb = -np.log(np.clip(1.0 - 1.0 / ratio, 1e-300, 1.0 - 1e-12))
            st = -np.log(np.clip(1.0 - 2.0 / (ratio + 1.0), 1e-300, 1.0 - 1e-12))
            gm = 1.0 / np.maximum(ratio, 1e-12)
        decay = np.select(
            [self.family == Family.NEGBIN, self.family == Family.STUTTER,
             self.family == Family.GAMMA],
            [nb, st, gm],
            np.inf,
        )  # fmt: skip
        extra = np.where(np.isfinite(decay) & (decay > 0), 18.0 / decay, 0.0)
        return np.ceil(base + extra).astype(np.int64)

    def pmf(self, last: int | None = None) -> F64:
        """Probability of 0..last units, shape (items, last + 1); ``last`` defaults to the
        largest :meth:`support`. Mass beyond ``last`` is dropped (it is below ``TAIL``
        when ``last`` covers the support)."""
        if last is None:
            last = int(self.support().max(initial=0))
        return interval_pmf(self, last)


def fit_interval_demand(
    mean_per_period: F64,
    variance_per_period: F64,
    interval: F64,
    intermittent: NDArray[np.bool_],
    interval_variance: F64 | None = None,
) -> IntervalDemand:
    """Choose the family and moments of demand over ``interval`` periods per item.

    ``intermittent``: the item's demand class is intermittent or lumpy (ADI >= 1.32).
    ``interval_variance``: variance of the interval itself (periods squared) when the
    lead time is random; None for fixed lead times.
    """
    mu = np.maximum(np.nan_to_num(np.asarray(mean_per_period, dtype=np.float64)), 0.0)
    s2 = np.maximum(np.nan_to_num(np.asarray(variance_per_period, dtype=np.float64)), 0.0)
    tau = np.maximum(np.asarray(interval, dtype=np.float64), 0.0)
    mean = mu * tau
    var = s2 * tau
    if interval_variance is not None:
        var = var + mu**2 * np.maximum(np.asarray(interval_variance, dtype=np.float64), 0.0)
    fam = np.full(mean.shape, Family.NEGBIN, dtype=np.int8)
    fam[np.asarray(intermittent, dtype=bool)] = Family.STUTTER
    fam[var <= 1.05 * mean] = Family.POISSON
    fast = mean > FAST_MEAN
    cv2 = np.divide(var, mean**2, out=np.zeros_like(mean), where=mean > 0)
    fam[fast & (cv2 <= 0.25)] = Family.NORMAL
    fam[fast & (cv2 > 0.25)] = Family.GAMMA
    fam[mean <= 0.0] = Family.ZERO
    wide = fam == Family.STUTTER
    if wide.any():
        probe = IntervalDemand(fam[wide], mean[wide], var[wide]).support()
        fam[np.flatnonzero(wide)[probe > STUTTER_MAX]] = Family.NEGBIN
    # Poisson needs variance = mean; keep the moments the chosen family really has
    var = np.where(fam == Family.POISSON, mean, var)
    var = np.where(fam == Family.ZERO, 0.0, var)
    return IntervalDemand(family=fam, mean=mean, variance=var)


def interval_pmf(demand: IntervalDemand, last: int, out: F64 | None = None) -> F64:
    """Pmf matrix (items, last + 1) of :class:`IntervalDemand`, all items at once
    (written into ``out`` when given)."""
    n = len(demand)
    if out is None:
        out = np.zeros((n, last + 1))
    else:
        out[...] = 0.0
    fam, m, v = demand.family, demand.mean, demand.variance
    rows = np.flatnonzero(fam == Family.ZERO)
    out[rows, 0] = 1.0
    rows = np.flatnonzero(fam == Family.POISSON)
    if rows.size:
        # P(k) = P(k-1) m / k from P(0) = exp(-m); m <= FAST_MEAN keeps exp(-m) normal
        out[rows] = _ratio_products(np.exp(-m[rows]), None, m[rows], last)
    rows = np.flatnonzero(fam == Family.NEGBIN)
    if rows.size:
        out[rows] = _negative_binomial(m[rows], v[rows], last)
    rows = np.flatnonzero(fam == Family.STUTTER)
    if rows.size:
        out[rows] = _stuttering_poisson(m[rows], v[rows], last)
    for family, cdf in ((Family.NORMAL, _normal_cdf), (Family.GAMMA, _gamma_cdf)):
        rows = np.flatnonzero(fam == family)
        if rows.size:
            edges = np.arange(-0.5, last + 1.0, 1.0)[None, :]
            c = cdf(edges, m[rows, None], v[rows, None])
            c[:, 0] = 0.0  # the mass below 0.5 (negative values too) goes to 0 units
            out[rows] = np.diff(c, axis=1)
    return out


def _negative_binomial(mean: F64, var: F64, last: int) -> F64:
    """Negative binomial pmf (items, last + 1) matched to mean and variance (size
    ``r = mean**2 / (var - mean)``, ``p = mean / var``).

    ``P(k) = P(k-1) (r + k - 1) (1 - p) / k`` from ``P(0) = p**r``: a running product,
    a few times faster than log-gammas and as exact. Where ``p**r`` would underflow the
    log-gamma form keeps the mass."""
    r = mean**2 / (var - mean)
    p = mean / var
    log_p0 = r * np.log(p)
    deep = log_p0 < _LOG_TINY
    if not deep.any():
        return _ratio_products(np.exp(log_p0), r - 1.0, 1.0 - p, last)
    out = np.empty((mean.shape[0], last + 1))
    ok = ~deep
    out[ok] = _ratio_products(np.exp(log_p0[ok]), r[ok] - 1.0, 1.0 - p[ok], last)
    k = np.arange(last + 1, dtype=np.float64)[None, :]
    rd, pd = r[deep, None], p[deep, None]
    out[deep] = np.exp(
        special.gammaln(k + rd)
        - special.gammaln(rd)
        - special.gammaln(k + 1.0)
        + rd * np.log(pd)
        + k * np.log1p(-pd)
    )
    return out


def _ratio_products(first: F64, offset: F64 | None, factor: F64, last: int) -> F64:
    """Rows ``P(0) = first``, ``P(k) = P(k-1) (offset + k) factor / k`` for k = 1..last,
    or with no ``offset`` ``P(k) = P(k-1) factor / k`` (Poisson): one cumulative product
    along each row, shape (items, last + 1)."""
    k = np.arange(last + 1, dtype=np.float64)[None, :]
    inv_k = np.divide(1.0, k, out=np.ones_like(k), where=k > 0)
    if offset is None:
        out = factor[:, None] * inv_k
    else:
        out = offset[:, None] + k
        out *= inv_k
        out *= factor[:, None]
    out[:, 0] = first
    np.cumprod(out, axis=1, out=out)
    return out


def _stuttering_poisson(mean: F64, var: F64, last: int) -> F64:
    """Compound Poisson with geometric sizes on {1, 2, ...} (Pólya-Aeppli), matched to
    mean and variance: size mean ``a = (var/mean + 1) / 2``, order rate ``mean / a``.

    Recurrence (Johnson, Kemp & Kotz 2005, sec. 9.7), with ``theta = 1 - 1/a`` and
    ``lam`` the order rate: ``P0 = exp(-lam)``, ``P1 = lam (1 - theta) P0``,
    ``k Pk = (lam (1 - theta) + 2 theta (k - 1)) P(k-1) - theta**2 (k - 2) P(k-2)``.
    """
    a = (var / mean + 1.0) / 2.0
    lam = mean / a
    theta = 1.0 - 1.0 / a
    out = np.zeros((last + 1, mean.shape[0]))  # time-major: each step a contiguous row
    out[0] = np.exp(-lam)
    if last >= 1:
        out[1] = lam * (1.0 - theta) * out[0]
    c1 = lam * (1.0 - theta)
    t2 = theta**2
    two_theta = 2.0 * theta
    for j in range(2, last + 1):
        row = out[j]
        np.multiply(c1 + two_theta * (j - 1), out[j - 1], out=row)
        row -= t2 * (j - 2) * out[j - 2]
        row /= j
    return np.ascontiguousarray(out.T)


def _normal_cdf(x: F64, mean: F64, var: F64) -> F64:
    return np.asarray(special.ndtr((x - mean) / np.sqrt(var)), dtype=np.float64)


def _gamma_cdf(x: F64, mean: F64, var: F64) -> F64:
    shape = mean**2 / var
    scale = var / mean
    return np.asarray(special.gammainc(shape, np.maximum(x, 0.0) / scale), dtype=np.float64)


class LossTables:
    """Cumulative tables of a pmf matrix for service measures, each (items, K + 2) over
    y = 0..K+1: ``cdf[y] = P(D <= y)``, ``loss1[y] = E[(D - y)+]`` (first-order loss) and
    ``loss2[y] = sum over j >= y of loss1[j]`` (second-order loss; Zipkin 2000, sec. 6.2).

    :meth:`from_pmf` keeps all three. :meth:`lean` keeps only ``loss2`` (and the mean),
    built in place in the pmf's own buffer: what the (r, Q) measures need, at a third of
    the memory and none of the extra allocations. Its ``cdf`` and ``loss1`` are the
    differences ``loss1[y] = loss2[y] - loss2[y+1]`` and ``P(D > y) = loss1[y] -
    loss1[y+1]``, exact but for rounding (about 1e-16 x loss2[0]).
    """

    __slots__ = ("_cdf", "_loss1", "loss2", "mean")

    def __init__(
        self, mean: F64, loss2: F64, cdf: F64 | None = None, loss1: F64 | None = None
    ) -> None:
        self.mean = mean
        self.loss2 = loss2
        self._cdf = cdf
        self._loss1 = loss1

    @property
    def loss1(self) -> F64:
        if self._loss1 is None:
            out = np.zeros_like(self.loss2)
            np.subtract(self.loss2[:, :-1], self.loss2[:, 1:], out=out[:, :-1])
            out[:, -1] = self.loss2[:, -1]
            self._loss1 = out
        return self._loss1

    @property
    def cdf(self) -> F64:
        if self._cdf is None:
            loss1 = self.loss1
            out = np.ones_like(loss1)
            out[:, :-1] -= loss1[:, :-1] - loss1[:, 1:]
            self._cdf = out
        return self._cdf

    @classmethod
    def from_pmf(cls, pmf: F64) -> LossTables:
        # in place where it can be: these tables are the plan's largest arrays
        n, width = pmf.shape
        cdf = np.ones((n, width + 1))
        np.cumsum(pmf, axis=1, out=cdf[:, :width])
        np.minimum(cdf, 1.0, out=cdf)
        loss1 = np.subtract(1.0, cdf)  # P(D > y), then summed from the right:
        # loss1[y] = sum_{j >= y} P(D > j), the tail beyond the table being negligible
        np.cumsum(loss1[:, ::-1], axis=1, out=loss1[:, ::-1])
        loss2 = np.empty_like(loss1)
        np.cumsum(loss1[:, ::-1], axis=1, out=loss2[:, ::-1])
        return cls(loss1[:, 0].copy(), loss2, cdf=cdf, loss1=loss1)

    @classmethod
    def lean(cls, demand: IntervalDemand) -> LossTables:
        """The ``loss2`` table of ``demand`` over its support, computed in the buffer
        its pmf is written into: pmf, cdf, tail, loss1 and loss2 in turn."""
        last = int(demand.support().max(initial=0))
        buf = np.empty((len(demand), last + 2))
        body = buf[:, : last + 1]
        interval_pmf(demand, last, out=body)
        np.cumsum(body, axis=1, out=body)
        buf[:, -1] = 1.0
        np.minimum(buf, 1.0, out=buf)
        np.subtract(1.0, buf, out=buf)
        np.cumsum(buf[:, ::-1], axis=1, out=buf[:, ::-1])
        mean = buf[:, 0].copy()
        np.cumsum(buf[:, ::-1], axis=1, out=buf[:, ::-1])
        return cls(mean, buf)

    def _at(self, table: F64, y: I64, below: F64) -> F64:
        """``table`` at integer levels ``y`` (items, ...) with values for y < 0 from
        ``below`` and 0 beyond the table."""
        width = table.shape[1]
        yy = np.asarray(y, dtype=np.int64)
        idx = np.clip(yy, 0, width - 1)
        rows = np.arange(table.shape[0]).reshape((-1,) + (1,) * (yy.ndim - 1))
        val = table[rows, idx]
        val = np.where(yy >= width, 0.0, val)
        return np.where(yy < 0, below, val)

    def cdf_at(self, y: I64) -> F64:
        """P(D <= y)."""
        yy = np.asarray(y, dtype=np.int64)
        if self._cdf is None:  # lean: 1 - P(D > y), a difference of first-order losses
            return 1.0 - (self.loss1_at(yy) - self.loss1_at(yy + 1))
        width = self.cdf.shape[1]
        rows = np.arange(self.cdf.shape[0]).reshape((-1,) + (1,) * (yy.ndim - 1))
        val = self.cdf[rows, np.clip(yy, 0, width - 1)]
        return np.where(yy < 0, 0.0, np.where(yy >= width, 1.0, val))

    def loss1_at(self, y: I64) -> F64:
        """E[(D - y)+]; for y < 0 it is mean - y."""
        yy = np.asarray(y, dtype=np.int64)
        if self._loss1 is None:  # lean: a difference of second-order losses
            return self.loss2_at(yy) - self.loss2_at(yy + 1)
        mean = self.mean.reshape((-1,) + (1,) * (yy.ndim - 1))
        return self._at(self.loss1, yy, mean - yy)

    def loss2_at(self, y: I64) -> F64:
        """sum_{j >= y} E[(D - j)+]; for y < 0 it adds the terms mean - j, j = y..-1."""
        yy = np.asarray(y, dtype=np.int64)
        mean = self.mean.reshape((-1,) + (1,) * (yy.ndim - 1))
        n_neg = np.maximum(-yy, 0)
        # sum_{j=y}^{-1} (mean - j) = n mean + n (n + 1) / 2 with n = -y
        extra = n_neg * mean + n_neg * (n_neg + 1) / 2.0
        base = self._at(self.loss2, np.maximum(yy, 0), np.zeros_like(mean))
        return np.asarray(base + extra, dtype=np.float64)


def loss_tables(demand: IntervalDemand, lean: bool = False) -> LossTables:
    """Loss tables of ``demand`` over its support (one width for all items); ``lean``:
    only the second-order loss (see :class:`LossTables`)."""
    return LossTables.lean(demand) if lean else LossTables.from_pmf(demand.pmf())
