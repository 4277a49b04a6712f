"""``auto``: choose a forecasting method per series from a rolling-origin backtest.

Choosing per series on a few test windows overfits noise (Fildes & Petropoulos 2015), so
the choice is shrunk: each series starts from the method that is best for its demand
class (pooled backtest RMSSE over the class) and moves to its own best method only when
that method's backtest MSE on the series is lower by more than ``margin`` (a share).
Candidates include ``combo``, the equal-weight mean of SBA, TSB and IMAPA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.demand._ses import F64
from spareflow.demand.backtest import BacktestResult
from spareflow.demand.methods import AUTO_CANDIDATES


@dataclass(frozen=True, slots=True)
class AutoChoice:
    """The method chosen for each series and the class defaults it was shrunk to."""

    method: NDArray[np.str_]
    class_default: dict[str, str]


def _pooled_rmsse(bt: BacktestResult, rows: NDArray[np.bool_]) -> F64:
    """Mean RMSSE per method over the given series (series with undefined RMSSE skipped)."""
    r = bt.rmsse[rows]
    ok = np.isfinite(r).all(axis=1)
    if not ok.any():
        return np.asarray(
            np.nanmean(np.where(np.isfinite(bt.mse[rows]), bt.mse[rows], np.nan), axis=0)
        )
    return np.asarray(r[ok].mean(axis=0), dtype=np.float64)


def choose(
    bt: BacktestResult,
    classes: NDArray[np.str_],
    margin: float = 0.25,
    candidates: Sequence[str] = AUTO_CANDIDATES,
    by_class: bool = False,
) -> AutoChoice:
    """Per series method from backtest ``bt`` (which must score every candidate)."""
    cand = [m for m in candidates if m in bt.methods]
    cols = np.array([bt.method_index(m) for m in cand])
    overall = cand[int(np.nanargmin(_pooled_rmsse(bt, np.ones(len(classes), dtype=bool))[cols]))]
    defaults: dict[str, str] = {}
    chosen = np.full(len(classes), overall, dtype=object)
    mse = bt.mse[:, cols]
    for cls in np.unique(classes) if by_class else []:
        rows = classes == cls
        pooled = _pooled_rmsse(bt, rows)[cols]
        best = cand[int(np.nanargmin(pooled))] if np.isfinite(pooled).any() else overall
        defaults[str(cls)] = best
        chosen[rows] = best
    default_col = np.array([cand.index(m) for m in chosen])
    default_mse = mse[np.arange(len(classes)), default_col]
    own = np.nanargmin(np.where(np.isfinite(mse), mse, np.inf), axis=1)
    own_mse = mse[np.arange(len(classes)), own]
    switch = np.isfinite(own_mse) & (own_mse < (1.0 - margin) * default_mse)
    chosen[switch] = np.array(cand, dtype=object)[own[switch]]
    return AutoChoice(method=chosen.astype(str), class_default=defaults)


def pick(forecasts: dict[str, F64], method: NDArray[np.str_]) -> F64:
    """Gather each series' forecast from the method chosen for it."""
    out = np.full(method.shape[0], np.nan)
    for m in np.unique(method):
        rows = method == m
        out[rows] = forecasts[str(m)][rows]
    return out
