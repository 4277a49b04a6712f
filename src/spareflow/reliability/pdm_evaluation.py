"""Evaluating remaining-useful-life models: simple baselines (the fleet's mean life
minus age; ridge regression on the model's features), RMSE and the PHM08 score, and
cross-validation over assets with histories cut at random points, as the C-MAPSS test
set is cut.

**Scores**: RMSE and the PHM08 score ``sum exp(-d/13) - 1 (d < 0), exp(d/10) - 1
(d >= 0)``, ``d = predicted - true`` (Saxena, Goebel, Simon & Eklund, "Damage
propagation modeling for aircraft engine run-to-failure simulation", PHM 2008).
"""

from __future__ import annotations

import dataclasses
import time as _clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from sklearn.linear_model import Ridge  # type: ignore[import-untyped]

from spareflow.errors import ParameterError
from spareflow.reliability.pdm import (
    _A,
    PdmParams,
    RulEstimator,
    RulModel,
    _ages,
    _hours_or_number,
    _last,
    _matrix,
    _target,
    _variables,
    fit_rul_model,
    rul_features,
)

F64 = NDArray[np.float64]

__all__ = [
    "METHODS",
    "CvResult",
    "LinearBaseline",
    "MeanLifeBaseline",
    "cross_validate",
    "fit_linear",
    "fit_mean_life",
    "phm08_score",
    "rmse",
]


# ---------------------------------------------------------------- baselines


@dataclass(frozen=True)
class MeanLifeBaseline:
    """RUL = fleet-mean life - age, within [0, cap]."""

    mean_life: float
    cap: float

    def predict(self, telemetry: pl.DataFrame) -> pl.DataFrame:
        ages = _ages(telemetry)
        rul = (self.mean_life - pl.col("age")).clip(0.0, self.cap)
        return ages.select(_A, "time", rul=rul)


def fit_mean_life(train: pl.DataFrame, params: PdmParams | None = None) -> MeanLifeBaseline:
    """Mean life (last time - first time) over the training assets."""
    p = params or PdmParams()
    life = _ages(train)["age"].mean()
    return MeanLifeBaseline(float(life) if isinstance(life, (int, float)) else 0.0, p.cap)


@dataclass(frozen=True, eq=False)
class LinearBaseline:
    """Ridge regression (alpha 1) on the model's features, standardised, gaps as the
    training mean; RUL within [0, cap]."""

    params: PdmParams
    variables: tuple[str, ...]
    columns: tuple[str, ...]
    mean: F64
    scale: F64
    estimator: Any

    def _x(self, feats: pl.DataFrame) -> F64:
        z = (_matrix(feats, self.columns) - self.mean) / self.scale
        return np.nan_to_num(z, nan=0.0)

    def predict(self, telemetry: pl.DataFrame) -> pl.DataFrame:
        last = _last(rul_features(telemetry, self.variables, self.params))
        rul = np.clip(self.estimator.predict(self._x(last)), 0.0, self.params.cap)
        return last.select(_A, "time").with_columns(rul=pl.Series(rul))


def fit_linear(train: pl.DataFrame, params: PdmParams | None = None) -> LinearBaseline:
    """Least squares (ridge, alpha 1) on the same features and capped target."""
    p = params or PdmParams()
    variables = _variables(train)
    feats = rul_features(train, variables, p)
    columns = feats.columns[3:]
    X = _matrix(feats, columns)
    finite = np.isfinite(X)
    counts = np.maximum(finite.sum(axis=0), 1)
    mean = np.where(finite, X, 0.0).sum(axis=0) / counts
    sd = np.sqrt(np.where(finite, (X - mean) ** 2, 0.0).sum(axis=0) / counts)
    sd = np.where(sd > 0, sd, 1.0)
    base = LinearBaseline(p, tuple(variables), tuple(columns), mean, sd, None)
    model = Ridge(alpha=1.0).fit(base._x(feats), _target(feats, p.cap))
    return dataclasses.replace(base, estimator=model)


#: The methods cross-validated, by name: fit(train, params) -> a RulEstimator.
METHODS: dict[str, Callable[[pl.DataFrame, PdmParams], RulEstimator]] = {
    "gbm": fit_rul_model,
    "linear": fit_linear,
    "mean_life": fit_mean_life,
}


# ---------------------------------------------------------------- evaluation


def rmse(predicted: ArrayLike, true: ArrayLike) -> float:
    """Root mean squared error, in the time unit."""
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d)))


def phm08_score(predicted: ArrayLike, true: ArrayLike) -> float:
    """PHM08 score: sum of exp(-d/13) - 1 (early, d < 0) and exp(d/10) - 1 (late),
    d = predicted - true (Saxena et al. 2008). Lower is better; 0 is perfect.

    >>> round(phm08_score([0.0, 10.0], [13.0, 0.0]), 6)  # 2 (e - 1)
    3.436564
    """
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13.0), np.expm1(d / 10.0))))


@dataclass(frozen=True)
class CvResult:
    """``scores``: per method: engines, rmse, phm08 (summed over engines), brier and
    coverage (of the ``interval``; NaN for methods without a distribution), fit_seconds
    (mean per fold). ``predictions``: per method and engine: fold, asset_id, cut_time,
    true_rul (capped), rul, failure_probability."""

    scores: pl.DataFrame
    predictions: pl.DataFrame


def _cuts(telemetry: pl.DataFrame, folds: int, seed: int, min_history: int) -> pl.DataFrame:
    """Per asset with 2+ times: fold, the cut time and the true RUL there (uncapped)."""
    times = telemetry.select(_A, "time").unique()
    times = times.with_columns(_t=_hours_or_number(times["time"])).sort(_A, "_t")
    per = times.group_by(_A, maintain_order=True).agg(n=pl.len(), last=pl.col("_t").last())
    n = per["n"].to_numpy().astype(np.int64)
    rng = np.random.default_rng(seed)
    fold = np.empty(n.size, dtype=np.int64)
    fold[rng.permutation(n.size)] = np.arange(n.size) % folds
    low = np.maximum(1, np.minimum(min_history, n - 1))
    seen = rng.integers(low, np.maximum(n, low + 1))  # observations kept: [low, n - 1]
    offset = np.concatenate([[0], np.cumsum(n)[:-1]])
    cut = times["_t"].to_numpy()[offset + seen - 1]
    out = per.with_columns(fold=pl.Series(fold), cut_t=pl.Series(cut))
    return out.filter(pl.col("n") >= 2).select(
        _A, "fold", "cut_t", true_rul=pl.col("last") - pl.col("cut_t")
    )


def cross_validate(
    telemetry: pl.DataFrame,
    params: PdmParams | None = None,
    *,
    folds: int = 5,
    seed: int = 0,
    min_history: int = 31,
    horizon: float = 30.0,
    methods: Sequence[str] = tuple(METHODS),
    progress: Callable[[int, int], None] | None = None,
) -> CvResult:
    """Cross-validation over assets of run-to-failure ``telemetry``: assets dealt into
    ``folds`` folds (seeded); each validation asset's history cut after a uniformly drawn
    number of observations in [min_history, n - 1] (seeded; as the C-MAPSS test set,
    true RUL >= 1 step), its true RUL capped at ``cap``; every method fitted on the
    other folds and scored on the cut histories. ``horizon``: for the Brier score."""
    p = params or PdmParams()
    unknown = [m for m in methods if m not in METHODS]
    if unknown or folds < 2:
        raise ParameterError("methods" if unknown else "folds", f"got {unknown or folds}")
    cuts = _cuts(telemetry, folds, seed, min_history)
    tel = telemetry.with_columns(_t=_hours_or_number(telemetry["time"]))
    rows: list[pl.DataFrame] = []
    fit_seconds = dict.fromkeys(methods, 0.0)
    for f in range(folds):
        valid_ids = cuts.filter(pl.col("fold") == f)
        train = tel.filter(~pl.col(_A).is_in(valid_ids[_A])).drop("_t")
        valid = tel.join(valid_ids, on=_A).filter(pl.col("_t") <= pl.col("cut_t"))
        valid = valid.select(telemetry.columns)
        for j, name in enumerate(methods):
            t0 = _clock.perf_counter()
            model = METHODS[name](train, p)
            fit_seconds[name] += _clock.perf_counter() - t0
            if isinstance(model, RulModel):
                pred = model.predict_risk(valid, horizon)
            else:
                nan = pl.lit(float("nan"))
                pred = model.predict(valid).with_columns(
                    rul_low=nan, rul_high=nan, failure_probability=nan
                )
            rows.append(
                valid_ids.join(pred, on=_A).select(
                    pl.lit(name).alias("method"),
                    "fold",
                    _A,
                    cut_time="time",
                    true_rul=pl.min_horizontal(pl.col("true_rul"), p.cap),
                    event=pl.col("true_rul") <= horizon,
                    rul="rul",
                    rul_low="rul_low",
                    rul_high="rul_high",
                    failure_probability="failure_probability",
                )
            )
            if progress is not None:
                progress(f * len(methods) + j + 1, folds * len(methods))
    predictions = pl.concat(rows).sort("method", _A)
    d = pl.col("rul") - pl.col("true_rul")
    inside = (pl.col("true_rul") >= pl.col("rul_low")) & (pl.col("true_rul") <= pl.col("rul_high"))
    scores = predictions.group_by("method", maintain_order=True).agg(
        engines=pl.len(),
        rmse=(d * d).mean().sqrt(),
        phm08=pl.when(d < 0).then((-d / 13.0).exp() - 1).otherwise((d / 10.0).exp() - 1).sum(),
        brier=((pl.col("failure_probability") - pl.col("event").cast(pl.Float64)) ** 2).mean(),
        coverage=pl.when(pl.col("rul_low").is_nan()).then(None).otherwise(inside).mean(),
    )
    scores = scores.with_columns(
        fit_seconds=pl.col("method").replace_strict(fit_seconds, return_dtype=pl.Float64) / folds
    )
    order = {m: i for i, m in enumerate(methods)}
    scores = scores.sort(pl.col("method").replace_strict(order, return_dtype=pl.Int64))
    return CvResult(scores, predictions.drop("event"))
