"""Forecasts from many origins at once: what :func:`~spareflow.demand.methods.point_forecasts`
gives on ``y[:, :o]`` for each origin ``o``, bit for bit, at a fraction of the cost.

The fixed-alpha methods (SES, Croston, SBA, TSB) are recursions over time whose state
after period ``o - 1`` is their forecast from origin ``o``, so one pass over the series
that records the state at every origin replaces one fit per origin (Tashman 2000 on
rolling-origin evaluation; the recursions as in ``_ses``, ``croston`` and ``tsb``).
ADIDA and IMAPA search alpha per origin; their searches share passes over nested
prefixes (:func:`spareflow.demand.aggregation.level_forecasts_at`).

Units: ``y`` demand per period (series, periods), leading NaN before a series starts;
each forecast is demand per period, shape (series,).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from spareflow.demand._ses import F64, first_valid, pairwise_sum
from spareflow.demand.aggregation import level_forecasts_at
from spareflow.demand.croston import events_at
from spareflow.demand.methods import COMBO, MethodParams, _combo
from spareflow.demand.uncertainty import DemandShape


def ses_at(y: F64, alpha: float, origins: Sequence[int]) -> F64:
    """:func:`~spareflow.demand._ses.ses_forecast` of ``y[:, :o]`` for each of
    ``origins`` (ascending), shaped (origins, series), from one pass over time."""
    n_series = y.shape[0]
    out = np.empty((len(origins), n_series))
    if not origins:
        return out
    last = max(origins)
    start = first_valid(y)
    order = np.argsort(start, kind="stable")
    ys = y[order, :last].T.copy()  # (periods, series), sorted by start: active ones a prefix
    s_start = start[order]
    bounds = np.searchsorted(s_start, np.arange(last), side="right")
    c = 1.0 - alpha
    level = np.full(n_series, np.nan)
    step = np.empty(n_series)
    at = {o: k for k, o in enumerate(origins)}
    sorted_out = np.empty_like(out)
    for t in range(last):
        k0, k1 = (int(bounds[t - 1]) if t else 0), int(bounds[t])
        level[k0:k1] = ys[t, k0:k1]
        if k1:  # level <- alpha x + (1 - alpha) level, rounded as ses_forecast rounds it
            lv, w = level[:k1], step[:k1]
            np.multiply(ys[t, :k1], alpha, out=w)
            lv *= c
            lv += w
        k = at.get(t + 1)
        if k is not None:
            sorted_out[k] = level
            single = s_start == t  # a single observation forecasts itself
            sorted_out[k, single] = ys[t, single]
    out[:, order] = sorted_out
    return out


def moving_average_at(y: F64, window: int, origins: Sequence[int]) -> F64:
    """:func:`~spareflow.demand.simple.moving_average` of ``y[:, :o]`` for each of
    ``origins``, (origins, series): the window summed time-major, in the order
    ``np.nansum`` sums it (:func:`~spareflow.demand._ses.pairwise_sum`)."""
    last = max(origins, default=0)
    yt = np.ascontiguousarray(y[:, :last].T)
    observed = ~np.isnan(yt)
    filled = np.where(observed, yt, 0.0)
    out = np.empty((len(origins), y.shape[0]))
    for k, o in enumerate(origins):
        lo = max(o - window, 0)
        total = pairwise_sum(filled[lo:o].copy())
        count = observed[lo:o].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k] = np.where(count > 0, total / count, np.nan)
    return out


def demand_shape_at(y: F64, alpha_p: float, origins: Sequence[int]) -> list[DemandShape]:
    """:func:`~spareflow.demand.uncertainty.demand_shape` of ``y[:, :o]`` for each of
    ``origins`` (ascending): the occurrence probability from one pass, the size moments
    summed time-major in the order ``np.nansum`` sums them."""
    last = max(origins, default=0)
    yt = np.ascontiguousarray(y[:, :last].T)
    occurred = np.where(np.isnan(y), np.nan, (y > 0).astype(np.float64))
    probability = np.nan_to_num(ses_at(occurred, alpha_p, origins))
    positive = yt > 0
    sizes = np.where(positive, yt, np.nan)
    filled = np.nan_to_num(sizes)
    whole = np.isnan(yt) | (yt == np.round(yt))
    out: list[DemandShape] = []
    for k, o in enumerate(origins):
        count = positive[:o].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = pairwise_sum(filled[:o].copy()) / count
            var = pairwise_sum(np.nan_to_num((sizes[:o] - mean) ** 2)) / count
            cv2 = np.where(count > 1, var / mean**2, 0.0)
        out.append(
            DemandShape(
                probability=probability[k],
                size_cv2=np.nan_to_num(cv2),
                whole_units=whole[:o].all(axis=0),
            )
        )
    return out


def point_forecasts_at(
    y: F64, methods: Sequence[str], params: MethodParams, origins: Sequence[int]
) -> list[dict[str, F64]]:
    """``[point_forecasts(y[:, :o], methods, params) for o in origins]``, bit for bit.

    ``origins`` must be ascending, each in [1, periods].
    """
    origins = list(origins)
    ascending = all(a < b for a, b in pairwise(origins))
    if not ascending or (origins and (origins[0] < 1 or origins[-1] > y.shape[1])):
        raise ValueError(f"origins must be ascending within [1, {y.shape[1]}]: {origins}")
    wanted = set(methods) | (set(COMBO) if "combo" in methods else set())
    out: list[dict[str, F64]] = [{} for _ in origins]
    if "adida" in wanted or "imapa" in wanted:
        both = "imapa" in wanted
        at_level, mean = level_forecasts_at(y, origins, every_level=both)
        for k, f in enumerate(out):
            if "adida" in wanted:
                f["adida"] = at_level[k]
            if both:
                f["imapa"] = mean[k]
    if wanted & {"croston", "sba", "tsb"}:
        events = events_at(y, params.alpha_d, params.alpha_d, origins)
        probability = None
        if "tsb" in wanted:
            occurred = np.where(np.isnan(y), np.nan, (y != 0).astype(np.float64))
            probability = ses_at(occurred, params.alpha_p, origins)
            demand = np.nan_to_num(y) != 0
            first_demand = np.where(demand.any(axis=1), np.argmax(demand, axis=1), y.shape[1])
        for k, (o, ev) in enumerate(zip(origins, events, strict=True)):
            f = out[k]
            if wanted & {"croston", "sba"}:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(ev.interval != 0.0, ev.size / ev.interval, ev.size)
                f["croston"] = np.where(ev.count > 0, ratio, y[:, o - 1])
                if "sba" in wanted:
                    f["sba"] = f["croston"] * 0.95
            if probability is not None:
                f["tsb"] = np.where(first_demand < o, probability[k] * ev.size, 0.0)
    if "ses" in wanted:
        level = ses_at(y, params.alpha_d, origins)
        for k, f in enumerate(out):
            f["ses"] = level[k]
    if "ma" in wanted:
        average = moving_average_at(y, params.window, origins)
        for k, f in enumerate(out):
            f["ma"] = average[k]
    for k, o in enumerate(origins):
        f = out[k]
        if "naive" in wanted:
            f["naive"] = np.asarray(y[:, o - 1], dtype=np.float64).copy()
        if "combo" in wanted:
            f["combo"] = _combo(f)
    return [{m: f[m] for m in methods} for f in out]
