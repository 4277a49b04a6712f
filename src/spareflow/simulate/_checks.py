"""Validation of the simulation's per-item arrays (errors name the item and value)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spareflow.errors import ParameterError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _vector(name: str, values: ArrayLike, shape: tuple[int, ...] | None = None) -> F64:
    """Finite float64 values shaped (items,); broadcast to ``shape`` when given."""
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if shape is not None and arr.shape != shape:
        if arr.size != 1:
            raise ParameterError(name, f"expected shape {shape}, got {arr.shape}")
        arr = np.full(shape, arr.reshape(-1)[0])
    if arr.ndim != 1:
        raise ParameterError(name, f"expected shape (items,), got {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ParameterError(name, f"item {bad[0]} is not finite (got {arr[bad[0]]})")
    return arr


def _whole(name: str, values: ArrayLike, minimum: int, shape: tuple[int, ...]) -> I64:
    arr = _vector(name, values, shape)
    bad = np.flatnonzero((arr != np.round(arr)) | (arr < minimum))
    if bad.size:
        raise ParameterError(
            name, f"item {bad[0]} must be whole and >= {minimum} (got {arr[bad[0]]})"
        )
    return arr.astype(np.int64)
