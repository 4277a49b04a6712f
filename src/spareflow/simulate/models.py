"""Demand models of the Monte Carlo simulation: each draws one period's demand for
every item at once (compound Poisson, bootstrap of history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError
from spareflow.simulate._checks import _vector

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

__all__ = ["Bootstrap", "CompoundPoisson", "DemandModel"]


class DemandModel(Protocol):
    """One period's demand (units, >= 0) for every item, drawn from ``rng``.

    ``shape`` is (replications, items); the last axis is always items. Implementations
    draw the whole array with vectorised generator calls (no loop per item or draw).
    """

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> F64: ...


def _check_items(shape: tuple[int, ...], items: int) -> None:
    if shape[-1] != items:
        raise ParameterError("demand", f"model has {items} items, asked for shape {shape}")


@dataclass(frozen=True, slots=True)
class CompoundPoisson:
    """Compound Poisson demand per period: Poisson(``rate``) occurrences, each of a size
    geometric on {1, 2, ...} with mean ``mean_size`` (units; 1 gives plain Poisson).

    Arrays shaped (items,); ``rate`` in occurrences per period. Given n occurrences the
    total is ``n + NegBin(n, p)`` with ``p = 1 / mean_size`` (the sum of n geometrics,
    drawn as one geometric when n = 1; Feller, *An Introduction to Probability Theory*,
    vol. 1, 1968, XI.2), so demand has mean ``rate * mean_size`` and variance
    ``rate * mean_size * (2 * mean_size - 1)``.
    """

    rate: F64
    mean_size: F64

    def __post_init__(self) -> None:
        rate = _vector("rate", self.rate)
        size = np.broadcast_to(_vector("mean_size", self.mean_size), rate.shape).copy()
        bad = np.flatnonzero(rate < 0)
        if bad.size:
            raise ParameterError("rate", f"item {bad[0]} must be >= 0 (got {rate[bad[0]]})")
        bad = np.flatnonzero(size < 1)
        if bad.size:
            raise ParameterError("mean_size", f"item {bad[0]} must be >= 1 (got {size[bad[0]]})")
        object.__setattr__(self, "rate", rate)
        object.__setattr__(self, "mean_size", size)

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> F64:
        """Demand (units) shaped ``shape`` = (..., items)."""
        _check_items(shape, self.rate.size)
        n = rng.poisson(self.rate, size=shape)
        out = n.astype(np.float64)
        if np.any(self.mean_size > 1.0):
            flat_n, flat_out = n.reshape(-1), out.reshape(-1)
            one = np.flatnonzero(flat_n == 1)  # the common case: one geometric, cheaper
            flat_out[one] = rng.geometric(1.0 / self.mean_size[one % self.rate.size])
            more = np.flatnonzero(flat_n > 1)
            if more.size:
                p = 1.0 / self.mean_size[more % self.rate.size]
                flat_out[more] += rng.negative_binomial(flat_n[more], p)
        return out


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """Demand resampled from history (units), shape (items, periods).

    Each simulated period draws, per item, one observed historical period uniformly at
    random (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993). NaN marks a
    period not observed and is never drawn; an item with no observed period has demand 0.
    """

    history: F64
    _values: F64 = field(init=False, repr=False)  # observed values first, flattened
    _count: F64 = field(init=False, repr=False)  # observed periods per item
    _offset: I64 = field(init=False, repr=False)  # each item's start in _values

    def __post_init__(self) -> None:
        h = np.asarray(self.history, dtype=np.float64)
        if h.ndim != 2:
            raise ParameterError("history", f"expected shape (items, periods), got {h.shape}")
        observed = ~np.isnan(h)
        bad = np.argwhere(observed & ~((h >= 0) & np.isfinite(h)))
        if bad.size:
            i, j = bad[0]
            raise ParameterError("history", f"item {i}, period {j} must be >= 0 (got {h[i, j]})")
        order = np.argsort(~observed, axis=1, kind="stable")  # observed periods first
        values = np.take_along_axis(np.where(observed, h, 0.0), order, axis=1)
        if values.shape[1] == 0:  # no periods at all: demand 0
            values = np.zeros((h.shape[0], 1))
        object.__setattr__(self, "history", h)
        object.__setattr__(self, "_values", values.reshape(-1))
        object.__setattr__(self, "_count", observed.sum(axis=1).astype(np.float64))
        object.__setattr__(self, "_offset", np.arange(h.shape[0]) * values.shape[1])

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> F64:
        """Demand (units) shaped ``shape`` = (..., items).

        The period drawn is ``floor(u * count)``, u uniform on [0, 1): uniform over the
        observed periods up to 2^-53 (faster than ``Generator.integers`` with per-item
        bounds).
        """
        _check_items(shape, self._count.size)
        pick = (rng.random(shape) * self._count).astype(np.int64)
        return np.asarray(self._values[pick + self._offset], dtype=np.float64)
