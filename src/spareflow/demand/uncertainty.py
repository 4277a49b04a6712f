"""Per-period demand distribution around a forecast: variance and quantiles.

Intermittent demand per period is modelled as a compound Bernoulli variable (Croston
1972; Syntetos & Boylan 2005): demand occurs with probability ``p`` and its size has mean
``mu = forecast / p`` (so the distribution's mean is the method's forecast) and squared
coefficient of variation ``cv2`` estimated from the series' nonzero demands.
Then ``Var = p * mu**2 * (1 + cv2) - forecast**2``. Quantiles: 0 below ``1 - p``, above it
the gamma size distribution (shape ``1/cv2``), rounded up to whole units for series
recorded in whole units. ``p`` is the SES-smoothed occurrence (TSB's probability).

Units: forecast and quantiles in demand per period; variance in (demand per period)^2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.demand._ses import F64, ses_forecast


@dataclass(frozen=True, slots=True)
class DemandShape:
    """What the distribution needs beyond the mean, per series."""

    probability: F64  # chance of demand in a period, in [0, 1]
    size_cv2: F64  # squared coefficient of variation of nonzero demand sizes
    whole_units: NDArray[np.bool_]  # recorded in whole units (counts)


def demand_shape(y: F64, alpha_p: float = 0.1) -> DemandShape:
    """Occurrence probability and size variability per series of ``y`` (series, periods)."""
    occurred = np.where(np.isnan(y), np.nan, (y > 0).astype(np.float64))
    probability = np.nan_to_num(ses_forecast(occurred, alpha_p))
    sizes = np.where(y > 0, y, np.nan)
    count = (y > 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(np.nan_to_num(sizes), axis=1) / count
        var = np.nansum(np.nan_to_num((sizes - mean[:, None]) ** 2), axis=1) / count
        cv2 = np.where(count > 1, var / mean**2, 0.0)
    whole = np.all(np.isnan(y) | (y == np.round(y)), axis=1)
    return DemandShape(probability=probability, size_cv2=np.nan_to_num(cv2), whole_units=whole)


def variance(forecast: F64, shape: DemandShape) -> F64:
    """Variance of demand per period under the compound Bernoulli model."""
    p = shape.probability
    with np.errstate(invalid="ignore", divide="ignore"):
        v = forecast**2 * ((1.0 + shape.size_cv2) / p - 1.0)
    return np.where((p > 0) & (forecast > 0), np.maximum(v, 0.0), 0.0)


def quantiles(forecast: F64, shape: DemandShape, levels: Sequence[float]) -> F64:
    """Per-period demand quantiles, shape (series, len(levels))."""
    from scipy.special import gammaincinv  # imported here: only quantile users pay for it

    p = np.clip(shape.probability, 0.0, 1.0)[:, None]
    tau = np.asarray(levels, dtype=np.float64)[None, :]
    positive = (p > 0) & (forecast[:, None] > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = forecast[:, None] / p
        u = (tau - (1.0 - p)) / p
        cv2 = shape.size_cv2[:, None]
        k = 1.0 / np.where(cv2 > 0, cv2, 1.0)
        size_q = np.where(cv2 > 0, gammaincinv(k, np.clip(u, 0.0, 1.0)) * mu / k, mu)
    q = np.where(positive & (u > 0), size_q, 0.0)
    q = np.where(shape.whole_units[:, None], np.ceil(q - 1e-9), q)
    return np.asarray(np.nan_to_num(q), dtype=np.float64)


def quantile_hits(forecast: F64, shape: DemandShape, actual: F64, levels: Sequence[float]) -> F64:
    """For each level, how many of ``actual`` (series, steps; NaN = not scored) are at
    or below the :func:`quantiles` at that level, counted without inverting the size
    distribution: one cdf per nonzero actual instead of one inverse per level.

    An actual 0 is always covered (quantiles are >= 0). For a > 0, with ``u`` the level
    mapped into the size distribution G, ``a <= q`` holds iff ``u > 0`` and
    ``G(ceil(a) - 1) < u`` (whole units: q = ceil of the size quantile) or ``G(a) <= u``.
    """
    from scipy.special import gammainc

    tau = np.asarray(levels, dtype=np.float64)
    scored = ~np.isnan(actual)
    hits = np.zeros(tau.size)
    zeros = scored & (actual <= 0)
    hits += zeros.sum()
    rows, cols = np.nonzero(scored & (actual > 0))
    if rows.size == 0:
        return hits
    a = actual[rows, cols]
    p = np.clip(shape.probability[rows], 0.0, 1.0)
    f = forecast[rows]
    whole = shape.whole_units[rows]
    cv2 = shape.size_cv2[rows]
    positive = (p > 0) & (f > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = f / p
        x = np.where(whole, np.ceil(a) - 1.0 + 1e-9, a)  # ceil(raw - 1e-9) >= a
        k = 1.0 / np.where(cv2 > 0, cv2, 1.0)
        g = np.where(cv2 > 0, gammainc(k, np.maximum(x, 0.0) * k / mu), (x >= mu).astype(float))
        u = (tau[None, :] - (1.0 - p[:, None])) / p[:, None]
    # deterministic sizes (cv2 = 0): the size quantile is mu itself
    covered = np.where(
        whole[:, None],
        g[:, None] < u,
        np.where((cv2 > 0)[:, None], g[:, None] <= u, (a <= mu)[:, None]),
    )
    whole_det = whole & ~(cv2 > 0)
    covered = np.where(whole_det[:, None], (a <= np.ceil(mu - 1e-9))[:, None], covered)
    covered &= positive[:, None] & (u > 0)
    return np.asarray(hits + covered.sum(axis=0), dtype=np.float64)


def quantile_column(level: float) -> str:
    """Column name for a quantile level: 0.9 -> 'q90', 0.975 -> 'q97.5'."""
    pct = round(level * 100, 6)
    return f"q{int(pct)}" if pct == int(pct) else f"q{pct:g}"


#: Margin by which the size cdf of the forecasts with the lowest and highest mean must
#: clear a level for :func:`quantile_hits_many` to count every forecast in between alike
#: (scipy's regularised incomplete gamma is accurate to far better than this).
_CDF_MARGIN = 1e-9


def quantile_hits_many(
    forecasts: F64, shape: DemandShape, actual: F64, levels: Sequence[float]
) -> F64:
    """:func:`quantile_hits` of each column of ``forecasts`` (series, methods) against the
    same ``actual`` and ``shape``, (methods, levels): the same counts, at a fraction of the
    cost. What does not depend on the forecast is computed once, per distinct actual of a
    series; the actuals are split by kind (whole or fractional units, gamma or
    deterministic size) so each kind is one comparison. The gamma size cdf G(x) falls as
    the mean size ``mu`` grows, so where G at the methods' largest and smallest ``mu``
    clears every level by _CDF_MARGIN on the same side, every method in between counts
    alike; only the other actuals need G for each method."""
    from scipy.special import gammainc

    tau = np.asarray(levels, dtype=np.float64)
    n_methods = forecasts.shape[1]
    scored = ~np.isnan(actual)
    hits = np.zeros((n_methods, tau.size))
    hits += (scored & (actual <= 0)).sum()
    # one entry per distinct (series, actual), weighted by its count: same series and
    # actual, same answer
    at = np.ascontiguousarray(actual.T)  # (steps, series): whole rows per comparison
    steps = at.shape[0]
    repeat = np.zeros(at.shape, dtype=bool)
    count = np.ones(at.shape)
    for h in range(steps):
        for h2 in range(h + 1, steps):
            same = at[h] == at[h2]
            repeat[h2] |= same
            count[h] += same
            count[h2] += same
    cols, rows = np.nonzero((scored & (actual > 0)).T & ~repeat)
    if rows.size == 0:
        return hits
    weight = count[cols, rows]
    a = at[cols, rows]
    p = np.clip(shape.probability, 0.0, 1.0)[rows]
    whole = shape.whole_units[rows]
    cv2 = shape.size_cv2[rows]
    gamma = cv2 > 0
    # (methods, entries) and (levels, entries): reductions run across rows, not along
    f = np.take(forecasts.T, rows, axis=1)
    live = (f > 0) & (p > 0)  # a forecast of 0 has no hits
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = f / p
        u = (tau[:, None] - (1.0 - p)) / p
    # a level counts only where u > 0: elsewhere make every comparison fail (G >= 0)
    u = np.where(u > 0, u, -1.0)
    some = (u > 0).any(axis=0) & live.any(axis=0)
    for kind, in_kind in enumerate((gamma & whole, gamma & ~whole)):
        # G(x) of a gamma size: x one unit below the actual, in whole units
        e = np.flatnonzero(in_kind & some)
        k = 1.0 / cv2[e]
        x = np.maximum(np.ceil(a[e]) - 1.0 + 1e-9 if kind == 0 else a[e], 0.0) * k
        ue, le, we, mue = u[:, e], live[:, e], weight[e], mu[:, e]
        with np.errstate(invalid="ignore", divide="ignore"):
            top = gammainc(k, x / np.where(le, mue, np.inf).min(axis=0))
            bottom = gammainc(k, x / np.where(le, mue, -np.inf).max(axis=0))
        below = top < ue - _CDF_MARGIN  # every method covered at that level
        decided = (below | (bottom > ue + _CDF_MARGIN)).all(axis=0)
        hits += (le[:, decided] * we[decided]) @ below[:, decided].T
        rest = np.flatnonzero(~decided)
        pair = np.nonzero(le[:, rest])  # (method, entry among rest)
        g = np.full((n_methods, rest.size), 2.0)  # > every u: not covered
        with np.errstate(invalid="ignore", divide="ignore"):
            g[pair] = gammainc(k[rest][pair[1]], x[rest][pair[1]] / mue[:, rest][pair])
        ur = ue[:, rest]
        for level in range(tau.size):
            covered = g < ur[level] if kind == 0 else g <= ur[level]
            hits[:, level] += covered @ we[rest]
    for kind, in_kind in enumerate((~gamma & whole, ~gamma & ~whole)):
        # deterministic sizes (cv2 = 0): the size quantile is mu itself
        e = np.flatnonzero(in_kind)
        with np.errstate(invalid="ignore"):
            ok = a[e] <= (np.ceil(mu[:, e] - 1e-9) if kind == 0 else mu[:, e])
        ok &= live[:, e]
        hits += (ok * weight[e]) @ (u[:, e] > 0).T
    return hits
