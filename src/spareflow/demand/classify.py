"""Demand classification: ADI/CV² (Syntetos, Boylan & Croston 2005), ABC and XYZ.

ADI is the average inter-demand interval, (observed periods) / (periods with demand);
CV² is the squared coefficient of variation of the nonzero demand sizes (population
variance). Cut-offs 1.32 and 0.49 (Syntetos, Boylan & Croston 2005, JORS 56(5)):

=================  ===========  ============
                   CV² < 0.49   CV² >= 0.49
ADI < 1.32         smooth       erratic
ADI >= 1.32        intermittent lumpy
=================  ===========  ============

A series without demand is ``none``. ABC ranks series by annual usage value (demand per
year x unit cost) with cumulative-share cut-offs (default 80 % / 95 %); XYZ by the
coefficient of variation of demand per period, zeros included (default 0.5 / 1.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.demand._ses import F64
from spareflow.errors import ParameterError

SBC_CLASSES: tuple[str, ...] = ("smooth", "erratic", "intermittent", "lumpy", "none")


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Classification thresholds; validated on creation."""

    adi: float = 1.32
    cv2: float = 0.49
    abc: tuple[float, float] = (0.80, 0.95)
    xyz: tuple[float, float] = (0.5, 1.0)

    def __post_init__(self) -> None:
        if self.adi <= 1.0 or self.cv2 <= 0.0:
            raise ParameterError("cutoffs", f"need adi > 1 and cv2 > 0, got {self.adi}, {self.cv2}")
        a, b = self.abc
        if not 0.0 < a < b <= 1.0:
            raise ParameterError("abc", f"cut-offs must satisfy 0 < A < B <= 1, got {self.abc}")
        x, y = self.xyz
        if not 0.0 < x < y:
            raise ParameterError("xyz", f"cut-offs must satisfy 0 < X < Y, got {self.xyz}")


@dataclass(frozen=True, slots=True)
class Classification:
    """Per-series statistics and classes, arrays shaped (series,)."""

    adi: F64
    cv2: F64
    demand_class: NDArray[np.str_]
    cv: F64
    xyz: NDArray[np.str_]


#: Series per block of the row-wise statistics (small temporaries, reused pages).
_BLOCK = 32_768


def adi_cv2(y: F64) -> tuple[F64, F64]:
    """ADI and CV² per row of ``y`` (series, periods); ADI is inf without demand."""
    if y.shape[0] > _BLOCK:
        parts = [_adi_cv2(y[a : a + _BLOCK]) for a in range(0, y.shape[0], _BLOCK)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _adi_cv2(y)


def _adi_cv2(y: F64) -> tuple[F64, F64]:
    missing = np.isnan(y)
    observed = y.shape[1] - missing.sum(axis=1)
    demand = np.where(missing, 0.0, y)
    positive = demand > 0
    count = positive.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = np.where(count > 0, observed / count, np.inf)
        mean = demand.sum(axis=1) / count
        dev = demand - mean[:, None]  # in place from here: (series, periods) temporaries
        np.square(dev, out=dev)
        dev[~positive] = 0.0
        sq = dev.sum(axis=1) / count
        cv2 = np.where(count > 1, sq / mean**2, 0.0)
    return adi.astype(np.float64), cv2.astype(np.float64)


def sbc_class(adi: F64, cv2: F64, cutoffs: Cutoffs = Cutoffs()) -> NDArray[np.str_]:
    """Smooth, erratic, intermittent, lumpy or none per series."""
    frequent = adi < cutoffs.adi
    variable = cv2 >= cutoffs.cv2
    out = np.where(
        frequent,
        np.where(variable, "erratic", "smooth"),
        np.where(variable, "lumpy", "intermittent"),
    )
    return np.where(np.isinf(adi), "none", out)


def coefficient_of_variation(y: F64) -> F64:
    """Std / mean of demand per period, zeros included (inf for a series without demand)."""
    if y.shape[0] > _BLOCK:
        blocks = range(0, y.shape[0], _BLOCK)
        return np.concatenate([_cv(y[a : a + _BLOCK]) for a in blocks])
    return _cv(y)


def _cv(y: F64) -> F64:
    missing = np.isnan(y)
    if not missing.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = y.mean(axis=1)
            return np.where(mean > 0, y.std(axis=1) / mean, np.inf).astype(np.float64)
    # nanmean / nanstd, with one zero-filled copy instead of several
    observed = y.shape[1] - missing.sum(axis=1)
    values = np.where(missing, 0.0, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = values.sum(axis=1) / observed
        values -= mean[:, None]
        values[missing] = 0.0
        np.square(values, out=values)
        std = np.sqrt(values.sum(axis=1) / observed)
        return np.where(mean > 0, std / mean, np.inf).astype(np.float64)


def xyz_class(cv: F64, cutoffs: Cutoffs = Cutoffs()) -> NDArray[np.str_]:
    x, y = cutoffs.xyz
    return np.where(cv <= x, "X", np.where(cv <= y, "Y", "Z"))


def abc_class(annual_value: F64, cutoffs: Sequence[float] = (0.80, 0.95)) -> NDArray[np.str_]:
    """A, B or C by cumulative share of annual usage value, largest first.

    A series is A while the cumulative share *before* it is below the A cut-off, so the
    top series is always A and ties at a boundary fall to the better class. With no usage
    value at all there is nothing to rank: every series is C.
    """
    value = np.nan_to_num(np.asarray(annual_value, dtype=np.float64))
    order = np.argsort(-value, kind="stable")
    total = value.sum()
    before = np.cumsum(value[order]) - value[order]
    share = before / total if total > 0 else np.ones_like(before)
    ranked = np.where(share < cutoffs[0], "A", np.where(share < cutoffs[1], "B", "C"))
    out = np.empty(value.size, dtype=ranked.dtype)
    out[order] = ranked
    return out


def classify(y: F64, cutoffs: Cutoffs = Cutoffs()) -> Classification:
    """ADI/CV² and XYZ classes for every row of ``y`` (series, periods)."""
    adi, cv2 = adi_cv2(y)
    cv = coefficient_of_variation(y)
    return Classification(
        adi=adi,
        cv2=cv2,
        demand_class=sbc_class(adi, cv2, cutoffs),
        cv=cv,
        xyz=xyz_class(cv, cutoffs),
    )
