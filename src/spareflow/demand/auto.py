"""``auto``: per series, the two methods that did best in a rolling-origin backtest,
combined with weights inversely proportional to their backtest MSE.

Why a combination of two and not the single best: choosing one method per series on a
few test windows overfits noise (Fildes & Petropoulos 2015), and on intermittent demand
the leading methods differ by less than that noise. Combining forecasts with weights
inverse to their past squared error (Bates & Granger 1969), trimmed to the best two so a
poor method never dilutes a good one, keeps what the backtest knows about each series
and averages out much of the selection noise. The backtest uses many overlapping origins
(AUTO_ORIGINS, one period apart) so each series' MSE rests on many windows.

Measured out of sample on the real spare-parts data in ``../shared/data/intermittent``
(oil monthly, man weekly; 24 hold-out windows over six horizons, reproduced by
``benchmarks/auto_on_real_data.py``): ``auto`` was at least as accurate (mean RMSSE) as
the best single method chosen in hindsight in 21 of 24 windows, 0.35 % better on
average; picking the one best method per series did so in 15 of 24.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.demand._ses import F64
from spareflow.demand.backtest import BacktestResult
from spareflow.demand.methods import AUTO_CANDIDATES

#: Rolling origins of the backtest ``auto`` chooses from, and the periods between them.
AUTO_ORIGINS = 12
AUTO_STEP = 1


@dataclass(frozen=True, slots=True)
class AutoChoice:
    """Per series: the best and second-best method and the weight of the best (0.5 to 1;
    1 when there is no second). ``fallback`` is the method with the best pooled RMSSE,
    used alone for series the backtest could not score."""

    first: NDArray[np.str_]
    second: NDArray[np.str_]
    weight: F64
    fallback: str

    @property
    def method(self) -> NDArray[np.str_]:
        """A label per series: ``imapa+adida`` (best first) or ``imapa`` alone."""
        alone = self.weight >= 1.0
        pair = np.char.add(np.char.add(self.first, "+"), self.second)
        return np.where(alone, self.first, pair).astype(str)


def _pooled_rmsse(bt: BacktestResult) -> F64:
    """Mean RMSSE per method over the series every method could be scored on."""
    r = bt.rmsse
    ok = np.isfinite(r).all(axis=1)
    if not ok.any():
        mse = np.where(np.isfinite(bt.mse), bt.mse, np.nan)
        return np.asarray(np.nanmean(mse, axis=0), dtype=np.float64)
    return np.asarray(r[ok].mean(axis=0), dtype=np.float64)


def choose(bt: BacktestResult, candidates: Sequence[str] = AUTO_CANDIDATES) -> AutoChoice:
    """The two best candidates per series from backtest ``bt`` and their weights."""
    cand = [m for m in candidates if m in bt.methods]
    if not cand:
        raise ValueError("the backtest scores none of the candidates")
    cols = [bt.method_index(m) for m in cand]
    names = np.array(cand)
    pooled = _pooled_rmsse(bt)[cols]
    fallback = cand[int(np.nanargmin(pooled))] if np.isfinite(pooled).any() else cand[0]
    mse = bt.mse[:, cols]
    mse = np.where(np.isfinite(mse), mse, np.inf)
    n = mse.shape[0]
    rank = np.argsort(mse, axis=1, kind="stable")
    best = rank[:, 0]
    runner = rank[:, 1] if len(cand) > 1 else rank[:, 0]
    rows = np.arange(n)
    m1, m2 = mse[rows, best], mse[rows, runner]
    # weights inverse to MSE: w1 = m2 / (m1 + m2); a perfect fit (m1 = 0) takes it all,
    # two perfect fits share equally, an unscored runner-up gets nothing
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(np.isinf(m2), 1.0, np.where(m1 + m2 > 0, m2 / (m1 + m2), 0.5))
    first = names[best]
    second = names[runner]
    unscored = np.isinf(m1)
    first = np.where(unscored, fallback, first)
    weight = np.where(unscored | (len(cand) == 1), 1.0, weight)
    second = np.where(weight >= 1.0, first, second)
    return AutoChoice(
        first=first.astype(str),
        second=second.astype(str),
        weight=np.asarray(weight, dtype=np.float64),
        fallback=fallback,
    )


def combine(forecasts: dict[str, F64], choice: AutoChoice) -> F64:
    """Each series' weighted combination of its two methods' forecasts."""
    out = np.zeros(choice.weight.shape[0])
    for m in np.unique(np.concatenate([choice.first, choice.second])):
        f = np.asarray(forecasts[str(m)], dtype=np.float64)
        out += np.where(choice.first == m, choice.weight * f, 0.0)
        out += np.where(choice.second == m, (1.0 - choice.weight) * f, 0.0)
    return out


def pick(forecasts: dict[str, F64], method: NDArray[np.str_]) -> F64:
    """Gather each series' forecast from one method named per series."""
    out = np.full(method.shape[0], np.nan)
    for m in np.unique(method):
        rows = method == m
        out[rows] = forecasts[str(m)][rows]
    return out
