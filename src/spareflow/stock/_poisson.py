"""Shared kernels of the exact (s, S) and (r, Q) optimisers: inputs, Poisson tables, G(y).

Both policies are scored with the newsvendor cost of a Poisson demand ``D`` with mean
``mu`` (Zheng & Federgruen 1991; Federgruen & Zheng 1992):

    G(y) = h E[(y - D)+] + p E[(D - y)+] = h nbar(y) + p n(y)
         = (y - mu) ((h + p) F(y) - p) + (h + p) mu f(y),

with ``f`` and ``F`` the Poisson pmf and cdf (both 0 below 0), ``n`` the loss function and
``nbar`` its complement, so ``n(y) = -(y - mu)(1 - F(y)) + mu f(y)`` and
``nbar(y) = (y - mu) F(y) + mu f(y)`` (Snyder & Shen, *Fundamentals of Supply Chain
Theory*, 2nd ed. 2019, eqs. (C.41)-(C.42), the convention stockpyl follows). ``G`` is
convex in ``y`` and smallest at ``y* = min{y >= 0: F(y) >= p / (p + h)}``.

Everything here works on whole arrays, all items at once (tables: one column per item).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from spareflow.errors import ParameterError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """Validated inputs of an exact policy optimiser, each shaped (items,)."""

    demand_mean: F64
    lead_time: F64
    holding_cost: F64
    stockout_cost: F64
    fixed_cost: F64


def policy_inputs(
    demand_mean: ArrayLike,
    lead_time: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    *,
    integer_lead_time: bool,
) -> PolicyInputs:
    """Broadcast the five inputs to one shape (items,) and check them.

    Raises :class:`~spareflow.errors.ParameterError` naming the argument, the first bad
    item and its value: non-numeric, not one-dimensional after broadcasting, NaN or
    infinite, a negative mean, lead time or fixed cost, a holding or stockout cost that is
    not positive, or (``integer_lead_time``) a lead time that is not a whole number.
    """
    named = {
        "demand_mean": demand_mean,
        "lead_time": lead_time,
        "holding_cost": holding_cost,
        "stockout_cost": stockout_cost,
        "fixed_cost": fixed_cost,
    }
    arrays: dict[str, F64] = {}
    for name, value in named.items():
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ParameterError(name, f"must be numbers; got {value!r}") from exc
        if array.ndim > 1:
            raise ParameterError(name, f"must be a scalar or 1-D; got shape {array.shape}")
        arrays[name] = array
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        raise ParameterError("inputs", f"lengths differ: {shapes}") from exc
    if shape == ():
        shape = (1,)
    out = {k: np.ascontiguousarray(np.broadcast_to(v, shape)) for k, v in arrays.items()}

    def check(name: str, bad: NDArray[np.bool_], rule: str) -> None:
        if bad.any():
            i = int(np.argmax(bad))
            raise ParameterError(name, f"{rule}; got {float(out[name][i])!r} at item {i}")

    for name, a in out.items():
        check(name, ~np.isfinite(a), "must be finite")
    check("demand_mean", out["demand_mean"] < 0, "must be >= 0 (units per period)")
    check("lead_time", out["lead_time"] < 0, "must be >= 0")
    if integer_lead_time:
        lt = out["lead_time"]
        check("lead_time", lt != np.round(lt), "must be a whole number of periods")
    check("holding_cost", out["holding_cost"] <= 0, "must be > 0")
    check("stockout_cost", out["stockout_cost"] <= 0, "must be > 0")
    check("fixed_cost", out["fixed_cost"] < 0, "must be >= 0")
    return PolicyInputs(**out)


#: Largest Poisson mean (over the lead time) searched: tables run from level 0 upwards.
MAX_COVER_MEAN = 1e6


def check_cover(mean: F64, what: str) -> None:
    """Refuse demand over the lead time too large for an exact search of integer levels."""
    bad = mean > MAX_COVER_MEAN
    if bad.any():
        i = int(np.argmax(bad))
        raise ParameterError(
            "demand_mean",
            f"{what} must be <= {MAX_COVER_MEAN:g} units; got {float(mean[i])!r} at item {i}",
        )


def critical_level(alpha: F64, mean: F64) -> I64:
    """``y* = min{y >= 0: F(y) >= alpha}`` for Poisson(``mean``), shape (items,).

    Exact with respect to :func:`scipy.special.pdtr` (the cdf scipy's and stockpyl's
    Poisson use): a Cornish-Fisher guess (usually within one or two units), then unit
    steps, on the items still wrong only, until the definition holds.
    """
    z = special.ndtri(np.clip(alpha, 1e-300, 1 - 1e-16))
    guess = mean + z * np.sqrt(mean) + (z * z - 1.0) / 6.0
    k = np.maximum(np.floor(guess), 0.0)
    up = np.flatnonzero(special.pdtr(k, mean) < alpha)  # F(k) < alpha: k too low
    while up.size:
        k[up] += 1.0
        up = up[special.pdtr(k[up], mean[up]) < alpha[up]]
    down = np.flatnonzero(k > 0)
    while down.size:  # F(k - 1) >= alpha: k too high
        down = down[special.pdtr(k[down] - 1.0, mean[down]) >= alpha[down]]
        k[down] -= 1.0
        down = down[k[down] > 0]
    levels: I64 = np.asarray(k, dtype=np.int64)
    return levels


def log_factorials(last: int) -> F64:
    """``log(y!)`` for y = 0..last."""
    return np.asarray(special.gammaln(np.arange(last + 1, dtype=np.float64) + 1.0))


def pmf(levels: I64, mean: F64, log_fact: F64) -> F64:
    """Poisson pmf at integer ``levels`` (any shape broadcasting with ``mean``); 0 below 0.

    ``log_fact`` holds ``log(y!)`` at least up to ``levels.max()``.
    """
    y = np.maximum(levels, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mean = np.log(mean)
        value = y * log_mean
        value -= mean
        value -= log_fact[y]
        np.exp(value, out=value)
    np.copyto(value, 0.0, where=levels < 0)
    zero = mean == 0
    if np.any(zero):
        value = np.where(zero, (levels == 0).astype(np.float64), value)
    return value


def cdf(levels: I64, mean: F64) -> F64:
    """Poisson cdf at integer ``levels`` (0 below 0), by :func:`scipy.special.pdtr`."""
    value = special.pdtr(np.maximum(levels, 0).astype(np.float64), mean)
    return np.where(levels < 0, 0.0, value)


def newsvendor_cost(
    levels: I64, f: F64, F: F64, mean: F64, holding_cost: F64, stockout_cost: F64
) -> F64:
    """``G(y) = (y - mu)((h + p) F(y) - p) + (h + p) mu f(y)``, elementwise (see module)."""
    hp = holding_cost + stockout_cost
    out = hp * F
    out -= stockout_cost
    out *= levels - mean
    out += (hp * mean) * f
    return np.asarray(out)


def cost_table(
    lowest: I64, width: int, mean: F64, holding_cost: F64, stockout_cost: F64, log_fact: F64
) -> F64:
    """``G`` on the levels ``lowest + k``, k = 0..width-1: shape (width, items).

    Inputs shaped (items,); one column per item, so that running sums and reductions over
    levels run along the first axis with every item in one vector operation. The cdf is
    the exact cdf below the first level plus running sums of the pmf (absolute error
    about 1e-16 per level).
    """
    levels = lowest[None, :] + np.arange(width)[:, None]
    f = pmf(levels, mean, log_fact)
    F = np.cumsum(f, axis=0)
    F += cdf(lowest - 1, mean)
    np.minimum(F, 1.0, out=F)
    return newsvendor_cost(levels, f, F, mean, holding_cost, stockout_cost)


def default_threads() -> int:
    """Worker threads for the chunked searches: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def run_chunks(
    work: Callable[[I64], int],
    chunks: Sequence[I64],
    threads: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Call ``work(chunk)`` for every chunk, on up to ``threads`` threads.

    numpy releases the GIL inside its array loops, so chunks run side by side. ``work``
    writes its own rows of shared output arrays and returns the number of items done;
    ``progress`` gets the running total, called from the calling thread.
    """
    done = 0
    if threads <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            done += work(chunk)
            if progress is not None:
                progress(done)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="spareflow-policy") as pool:
        for future in as_completed([pool.submit(work, chunk) for chunk in chunks]):
            done += future.result()
            if progress is not None:
                progress(done)
