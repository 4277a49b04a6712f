"""Part demand from the installed base: the expected failures of every part position
in each future period, given the part's Weibull life, the position's current age and
the asset's utilisation, with failed parts replaced by new ones (renewal).

For a position of current age ``a`` (operating hours since its part was fitted) the
first failure comes after the residual life, with survival ``S(a + x) / S(a)``; every
later one after a full life of a new part. So the expected number of failures by
operating time ``x`` from now is the delayed renewal function
``H(x) = F_a(x) + integral_0^x M(x - u) dF_a(u)`` with ``F_a(x) = 1 - S(a + x) / S(a)``
and ``M`` the ordinary renewal function of new parts, ``M = F + M * F``
(Cox, *Renewal Theory*, 1962, ch. 2; Tijms, *A First Course in Stochastic Models*, 2003,
sec. 8.1). Both are computed on a grid of ``GRID`` steps per period by the discretised
renewal equation, all positions at once (one matrix product per item). Without
replacement (``renewal=False``) the expectation is ``F_a(x)``, the conditional failure
probability. Units: life and ages in operating hours; periods in days with
``hours_per_day`` of use.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Grid steps per period of the renewal computation.
GRID = 8


def weibull_survival(x: F64, shape: F64, scale: F64) -> F64:
    """S(x) = exp(-(x / scale) ** shape) (x >= 0)."""
    return np.asarray(np.exp(-((np.maximum(x, 0.0) / scale) ** shape)))


def renewal_function(shape: F64, scale: F64, step: F64, steps: int) -> F64:
    """Ordinary renewal function M at x = step * (0..steps) per item (items, steps + 1):
    the expected failures by operating time x of a position fitted with a new part and
    renewed at each failure (hours). Discretised renewal equation with each step's
    failure mass at its midpoint, where M is the mean of its two ends (error O(step**2)):
    ``M_j (1 - p_1 / 2) = F_j + p_1 M_{j-1} / 2 + sum_{i=2..j} p_i (M_{j-i} + M_{j-i+1}) / 2``.
    """
    shape, scale, step = (np.asarray(v, dtype=np.float64) for v in (shape, scale, step))
    k = np.arange(steps + 1)
    cdf = 1.0 - weibull_survival(step[:, None] * k[None, :], shape[:, None], scale[:, None])
    p = np.diff(cdf, axis=1, prepend=0.0)  # p[:, i]: failure in step i (p[:, 0] = 0)
    m = np.zeros((shape.size, steps + 1))
    mid = np.zeros((shape.size, steps + 1))  # (M_l + M_{l+1}) / 2, known for l < j - 1
    for j in range(1, steps + 1):
        known = (p[:, 2 : j + 1] * mid[:, j - 2 :: -1][:, : j - 1]).sum(axis=1) if j > 1 else 0.0
        m[:, j] = (cdf[:, j] + 0.5 * p[:, 1] * m[:, j - 1] + known) / (1.0 - 0.5 * p[:, 1])
        mid[:, j - 1] = 0.5 * (m[:, j - 1] + m[:, j])
    return m


def expected_failures(
    shape: F64,
    scale: F64,
    age_hours: F64,
    hours_per_day: F64,
    period_days: float,
    periods: int,
    renewal: bool = True,
    part: I64 | None = None,
) -> F64:
    """Expected failures of each position in each of ``periods`` periods of
    ``period_days`` days from now, (positions, periods). ``shape``/``scale``: the
    position's part life (hours); ``age_hours``: its part's current age;
    ``hours_per_day``: the asset's use. The delayed renewal sum is a convolution,
    done by FFT for all positions at once.

    ``part``: a code per position naming its part (positions of one part share its
    shape and scale). Then the renewal function is computed once per part, in life
    units on ``PART_GRID`` times as many points as a position has steps, up to the
    part's farthest-reaching position, and read at each position's points by linear
    interpolation (errors O(step**2)); without it, once per position."""
    shape, scale, age, use = (
        np.asarray(v, dtype=np.float64) for v in (shape, scale, age_hours, hours_per_day)
    )
    if periods < 1 or not period_days > 0:
        raise ParameterError("periods", "need at least one period of positive length")
    steps = periods * GRID
    step = np.maximum(use * period_days / GRID, 1e-12)  # operating hours per grid step
    x = step[:, None] * np.arange(steps + 1)[None, :]
    s_age = weibull_survival(age, shape, scale)
    survive = weibull_survival(age[:, None] + x, shape[:, None], scale[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        first = np.where(s_age[:, None] > 0, 1.0 - survive / s_age[:, None], 1.0)
    first[:, 0] = 0.0
    total = first
    if renewal:
        if part is None:
            m = renewal_function(shape, scale, step, steps)
        else:
            m = _renewal_by_part(shape, scale, step, steps, np.asarray(part, dtype=np.int64))
        mid = 0.5 * (m[:, :-1] + m[:, 1:])  # M at the middle of each lag, (n, steps)
        q = np.diff(first, axis=1)  # first failure in step i = 1..steps, (n, steps)
        # H_j = F_a(j) + sum_{i=1..j} q_i mid_{j-i}: a causal convolution of q and mid
        size = 2 * steps
        conv = np.fft.irfft(np.fft.rfft(q, size) * np.fft.rfft(mid, size), size)[:, :steps]
        total = first.copy()
        total[:, 1:] += np.maximum(conv, 0.0)
    at_period_end = total[:, ::GRID]
    return np.asarray(np.diff(at_period_end, axis=1))


#: A part's renewal grid has this many times the points of a position's.
PART_GRID = 4


def _renewal_by_part(shape: F64, scale: F64, step: F64, steps: int, part: I64) -> F64:
    """M at x = step * (0..steps) per position, from one renewal function per part in
    life units u = x / scale (M depends on shape and u only), linearly interpolated."""
    codes, first, inverse = np.unique(part, return_index=True, return_inverse=True)
    u_step = step / scale  # each position's step in life units
    reach = np.zeros(codes.size)
    np.maximum.at(reach, inverse, u_step * steps)
    points = PART_GRID * steps
    du = np.maximum(reach / points, 1e-12)
    table = renewal_function(shape[first], np.ones(codes.size), du, points)  # (parts, points+1)
    u = u_step[:, None] * np.arange(steps + 1)[None, :] / du[inverse][:, None]
    lo = np.minimum(np.floor(u).astype(np.int64), points - 1)
    frac = u - lo
    rows = inverse[:, None]
    return np.asarray(table[rows, lo] * (1.0 - frac) + table[rows, lo + 1] * frac)
