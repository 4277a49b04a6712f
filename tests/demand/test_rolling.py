"""The backtest's fast paths pinned to the straightforward computation.

* Forecasts from many origins at once (one pass over time for the fixed-alpha methods,
  shared passes over nested prefixes for ADIDA/IMAPA) equal one ``point_forecasts`` per
  origin, bit for bit, including series that start late, series without demand, single
  observations and fractional demand.
* The prefix-shared alpha search equals ``optimal_alpha`` per prefix.
* The summation helpers add in numpy's order.
* ``quantile_hits_many`` equals ``quantile_hits`` per method.
* ``backtest`` (blocks of series, vectorised error sums) equals a plain loop over origins
  and methods.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from numpy.typing import NDArray

from spareflow.demand import _prefix as prefix_module
from spareflow.demand._prefix import distinct_layout, prefix_optimal_alpha, prefix_ses_optimal
from spareflow.demand._ses import first_valid, optimal_alpha, pairwise_sum, ses_forecast
from spareflow.demand.aggregation import (
    _WindowSums,
    aggregation_level,
    aggregation_levels_at,
    bucket_sums,
    level_forecasts,
    level_forecasts_at,
)
from spareflow.demand.backtest import backtest, rolling_origins
from spareflow.demand.croston import smooth_events
from spareflow.demand.methods import AUTO_CANDIDATES, METHODS, MethodParams, point_forecasts
from spareflow.demand.metrics import naive_scale
from spareflow.demand.rolling import (
    demand_shape_at,
    events_at,
    moving_average_at,
    point_forecasts_at,
    ses_at,
)
from spareflow.demand.simple import moving_average
from spareflow.demand.uncertainty import demand_shape, quantile_hits, quantile_hits_many

F64 = NDArray[np.float64]
NAN = np.nan
LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)


def _panel(seed: int = 3, n: int = 400, t: int = 36, scale: float = 1.0) -> F64:
    """Intermittent series of every density (levels 1 to beyond 12), late starts, no
    demand, a single observation, constant and smooth series; ``scale`` != 1 makes the
    demand fractional."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 1.0, (n, 1))
    y = np.where(rng.random((n, t)) < p, rng.integers(1, 9, (n, t)), 0).astype(np.float64)
    start = rng.integers(0, t, n)
    start[: n // 2] = 0
    y[np.arange(t)[None, :] < start[:, None]] = NAN
    y[0] = 0.0  # never a demand
    y[1, :-3] = NAN  # starts three periods before the end
    y[2, :30] = NAN  # starts late with a single demand
    y[2, 30:] = [0, 0, 4, 0, 0, 0]
    y[3] = 5.0  # constant
    y[4] = rng.uniform(3, 7, t)  # smooth, fractional
    y[5, :] = NAN  # never observed
    y[6] = 0.0
    y[6, 7] = 3.0  # one demand in all
    return y * scale


PANELS = [
    pytest.param(_panel(), id="whole-units"),
    pytest.param(_panel(seed=5, scale=0.37), id="fractional"),
]


# --------------------------------------------------------------------------- many origins


@pytest.mark.parametrize("y", PANELS)
@pytest.mark.parametrize(
    "params",
    [MethodParams(), MethodParams(alpha_d=0.3, alpha_p=0.2, window=5), MethodParams(window=20)],
    ids=["default", "a0.3-p0.2-w5", "w20"],
)
def test_point_forecasts_at_equal_one_fit_per_origin(y: F64, params: MethodParams) -> None:
    methods = sorted(METHODS)
    origins = [1, 2, 5, *range(16, 28), 36]
    fast = point_forecasts_at(y, methods, params, origins)
    for o, got in zip(origins, fast, strict=True):
        want = point_forecasts(y[:, :o], methods, params)
        for m in methods:
            np.testing.assert_array_equal(got[m], want[m], err_msg=f"{m} at origin {o}")


@pytest.mark.parametrize("methods", [["adida"], ["imapa"], ["tsb"], ["combo", "ma"], ["sba"]])
def test_point_forecasts_at_any_subset(methods: list[str]) -> None:
    y = _panel(seed=8, n=120)
    origins = rolling_origins(36, 9, 12, 1)
    fast = point_forecasts_at(y, methods, MethodParams(), origins)
    for o, got in zip(origins, fast, strict=True):
        want = point_forecasts(y[:, :o], methods, MethodParams())
        assert list(got) == methods
        for m in methods:
            np.testing.assert_array_equal(got[m], want[m], err_msg=f"{m} at origin {o}")


def test_point_forecasts_at_rejects_unordered_origins() -> None:
    with pytest.raises(ValueError, match="ascending"):
        point_forecasts_at(_panel(n=10), ["ses"], MethodParams(), [5, 3])
    with pytest.raises(ValueError, match="ascending"):
        point_forecasts_at(_panel(n=10), ["ses"], MethodParams(), [5, 40])


@pytest.mark.parametrize("y", PANELS)
def test_recursions_at_origins_equal_per_origin_fits(y: F64) -> None:
    origins = [1, 3, 10, 11, 12, 35, 36]
    for k, level in enumerate(ses_at(y, 0.2, origins)):
        np.testing.assert_array_equal(level, ses_forecast(y[:, : origins[k]], 0.2))
    for o, ev in zip(origins, events_at(y, 0.1, 0.3, origins), strict=True):
        want = smooth_events(y[:, :o], 0.1, 0.3)
        np.testing.assert_array_equal(ev.size, want.size)
        np.testing.assert_array_equal(ev.interval, want.interval)
        np.testing.assert_array_equal(ev.count, want.count)
    for window in (1, 5, 12, 40):
        average = moving_average_at(y, window, origins)
        for k, o in enumerate(origins):
            np.testing.assert_array_equal(average[k], moving_average(y[:, :o], window))
    levels = aggregation_levels_at(y, origins)
    for k, o in enumerate(origins):
        np.testing.assert_array_equal(levels[k], aggregation_level(y[:, :o]))
    for o, shape in zip(origins, demand_shape_at(y, 0.15, origins), strict=True):
        want = demand_shape(y[:, :o], 0.15)
        np.testing.assert_array_equal(shape.probability, want.probability)
        np.testing.assert_array_equal(shape.size_cv2, want.size_cv2)
        np.testing.assert_array_equal(shape.whole_units, want.whole_units)


@pytest.mark.parametrize("y", PANELS)
@pytest.mark.parametrize("every_level", [True, False])
def test_level_forecasts_at_equal_per_origin(y: F64, every_level: bool) -> None:
    origins = [*range(16, 28), 30, 36]
    at_level, mean = level_forecasts_at(y, origins, every_level=every_level)
    for k, o in enumerate(origins):
        want_at, want_mean = level_forecasts(y[:, :o], aggregation_level(y[:, :o]), every_level)
        np.testing.assert_array_equal(at_level[k], want_at, err_msg=f"origin {o}")
        np.testing.assert_array_equal(mean[k], want_mean, err_msg=f"origin {o}")


def test_level_forecasts_at_origins_far_apart() -> None:
    # origins a horizon apart share no bucket grid for most levels: chains of one
    y = _panel(seed=9, n=150)
    origins = [6, 15, 24, 33]
    at_level, mean = level_forecasts_at(y, origins)
    for k, o in enumerate(origins):
        want_at, want_mean = level_forecasts(y[:, :o], aggregation_level(y[:, :o]), True)
        np.testing.assert_array_equal(at_level[k], want_at)
        np.testing.assert_array_equal(mean[k], want_mean)


# --------------------------------------------------------------------------- prefix search


def _prefix_problems(x: F64) -> tuple[F64, NDArray[np.bool_], NDArray[np.int64]]:
    """Columns of ``x`` (series, periods) as a layout with every prefix of 2 periods or
    more a problem."""
    ends = np.arange(2, x.shape[1] + 1)
    valid = np.ones((ends.size, x.shape[0]), dtype=bool)
    return np.ascontiguousarray(x.T), valid, ends


@pytest.mark.parametrize("scale", [1.0, 0.37])
def test_prefix_optimal_alpha_equals_optimal_alpha_per_prefix(scale: float) -> None:
    rng = np.random.default_rng(4)
    n, t = 300, 14
    x = np.where(rng.random((n, t)) < rng.uniform(0.1, 1, (n, 1)), rng.integers(1, 6, (n, t)), 0)
    x = x.astype(np.float64) * scale
    x[:40] = np.tile(x[40:80], 1)  # repeated series: solved once
    x[80:100, :5] = NAN  # late starts
    x[100, :-1] = NAN  # one observation
    x[101] = 2.0 * scale  # flat SSE
    x[102, :-2] = NAN  # two observations: SSE flat in exact arithmetic
    xt, valid, ends = _prefix_problems(x)
    valid[:, 200:] = rng.random((ends.size, n - 200)) < 0.5  # some prefixes not asked for
    layout, inverse = distinct_layout(xt, valid, ends)
    assert layout.xt.shape[1] < n - 30  # the repeated series are solved once
    assert (np.diff(layout.start) >= 0).all()
    alpha = prefix_optimal_alpha(layout)[:, inverse]
    forecast = prefix_ses_optimal(layout)[:, inverse]
    for s, end in enumerate(ends):
        rows = np.flatnonzero(valid[s] & (first_valid(x[:, :end]) < end))
        want = optimal_alpha(x[rows, :end])
        np.testing.assert_array_equal(alpha[s, rows], want, err_msg=f"prefix {end}")
        np.testing.assert_array_equal(forecast[s, rows], ses_forecast(x[rows, :end], want))
        assert np.isnan(alpha[s, ~valid[s]]).all()


@pytest.mark.parametrize("collide", [False, True], ids=["hashed", "every-hash-equal"])
def test_distinct_layout_keeps_each_column_once(
    collide: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if collide:  # every column hashes alike: the exact grouping must take over
        same = lambda bits: np.zeros(bits.shape[1], np.uint64)  # noqa: E731
        monkeypatch.setattr(prefix_module, "_column_hash", same)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, (5, 200)).astype(np.float64)
    x[:2, :50] = NAN
    valid = rng.random((3, 200)) < 0.7
    layout, inverse = distinct_layout(x, valid, np.array([3, 4, 5]))
    np.testing.assert_array_equal(layout.xt[:, inverse], x)
    distinct = np.unique(np.nan_to_num(x, nan=-1.0), axis=1).shape[1]
    assert layout.xt.shape[1] == distinct
    assert (np.diff(layout.start) >= 0).all()
    np.testing.assert_array_equal(layout.start, first_valid(layout.xt.T))
    for s in range(3):  # each distinct column: the union of its copies' problems
        union = np.zeros(distinct, dtype=bool)
        np.logical_or.at(union, inverse, valid[s])
        np.testing.assert_array_equal(layout.valid[s], union)


# --------------------------------------------------------------------------- sums


@pytest.mark.parametrize("n", [*range(1, 40), 127, 128, 129, 200, 301])
def test_pairwise_sum_adds_as_numpy_sums(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal((50, n)) * 10.0 ** rng.uniform(-4, 4, (50, n))
    got = pairwise_sum(np.ascontiguousarray(x.T).copy())
    np.testing.assert_array_equal(got, x.sum(axis=1))


def test_window_sums_equal_bucket_sums() -> None:
    rng = np.random.default_rng(2)
    t = 150
    y = rng.standard_normal((30, t)) * 10.0 ** rng.uniform(-4, 4, (30, t))
    windows = _WindowSums(np.ascontiguousarray(y.T))
    for level in range(1, t + 1):
        sums = windows.next()
        assert sums.shape == (t - level + 1, 30)
        for r in {0, level // 2, t % level}:
            n_buckets = (t - r) // level
            if n_buckets:
                got = sums[r : r + n_buckets * level : level].T
                want = bucket_sums(y[:, : r + n_buckets * level], level)
                np.testing.assert_array_equal(got, want, err_msg=f"level {level}, offset {r}")


# --------------------------------------------------------------------------- quantile hits


@pytest.mark.parametrize("seed", range(4))
def test_quantile_hits_many_equal_per_method(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, h = 500, 9
    y = np.where(rng.random((n, 30)) < rng.uniform(0.02, 1, (n, 1)), rng.integers(1, 9, (n, 30)), 0)
    y = y.astype(np.float64)
    y[: n // 4] *= 0.37  # fractional units
    y[n // 4 : n // 3] = np.where(y[n // 4 : n // 3] > 0, 3.0, 0.0)  # constant sizes: cv2 = 0
    y[n // 3 : n // 3 + 20] = 0.0  # no demand: probability 0
    shape = demand_shape(y, 0.1)
    forecasts = rng.uniform(0.0, 4.0, (n, 6))
    forecasts[:30, 2] = 0.0
    forecasts[:, 5] = forecasts[:, 4]  # two methods alike
    actual = rng.integers(0, 4, (n, h)).astype(np.float64) * np.where(
        rng.random((n, 1)) < 0.3, 0.37, 1.0
    )
    actual[rng.random((n, h)) < 0.1] = NAN
    levels = (0.3, 0.5, 0.8, 0.9, 0.95, 0.99)
    want = np.stack([quantile_hits(forecasts[:, j], shape, actual, levels) for j in range(6)])
    np.testing.assert_array_equal(quantile_hits_many(forecasts, shape, actual, levels), want)


# --------------------------------------------------------------------------- backtest


def _plain_backtest(
    y: F64, methods: tuple[str, ...], horizon: int, origins: list[int], calib: NDArray[np.int64]
) -> dict[str, F64]:
    """The backtest written plainly: one fit per origin, one error array per method."""
    n, m = y.shape[0], len(methods)
    abs_sum, sq_sum, err_sum = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
    count = np.zeros(n)
    hits = np.zeros((m, len(LEVELS)))
    n_cal = 0
    fc_total, act_total = np.zeros(m), np.zeros(m)
    for o in origins:
        train, actual = y[:, :o], y[:, o : o + horizon]
        scored = ~np.isnan(actual) & ~np.isnan(train).all(axis=1)[:, None]
        actual0 = np.where(scored, actual, 0.0)
        count += scored.sum(axis=1)
        n_cal += int(scored[calib].sum())
        point = point_forecasts(train, methods, MethodParams())
        shape = demand_shape(train[calib], 0.1)
        for j, meth in enumerate(methods):
            f = np.nan_to_num(point[meth])
            err = np.where(scored, f[:, None] - actual0, 0.0)
            abs_sum[:, j] += np.abs(err).sum(axis=1)
            sq_sum[:, j] += (err**2).sum(axis=1)
            err_sum[:, j] += err.sum(axis=1)
            fc_total[j] += (f[:, None] * scored).sum()
            act_total[j] += actual0.sum()
            observed = np.where(scored[calib], actual0[calib], np.nan)
            hits[j] += quantile_hits(f[calib], shape, observed, LEVELS)
    with np.errstate(invalid="ignore"):
        c = np.where(count > 0, count, np.nan)[:, None]
    return {
        "mae": abs_sum / c,
        "mse": sq_sum / c,
        "bias": err_sum / c,
        "coverage": hits / n_cal,
        "forecast_total": fc_total,
        "actual_total": act_total,
        "scale": naive_scale(y[:, : origins[-1]]),
    }


@pytest.mark.parametrize("y", PANELS)
def test_backtest_in_blocks_equals_a_plain_loop(y: F64, monkeypatch: pytest.MonkeyPatch) -> None:
    bt_module = sys.modules["spareflow.demand.backtest"]
    monkeypatch.setattr(bt_module, "BLOCK_SERIES", 150)  # three blocks, the last shorter
    monkeypatch.setattr(bt_module, "_ERROR_COLUMNS", 64)
    monkeypatch.setattr(bt_module, "CALIBRATION_SERIES", 250)  # a sample across blocks
    y = y.copy()
    y[7, 30] = NAN  # a gap inside a test window: that step is not scored
    calls: list[tuple[int, int]] = []
    bt = backtest(
        y,
        AUTO_CANDIDATES,
        horizon=9,
        origins=12,
        step=1,
        levels=LEVELS,
        keep_forecasts=True,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    rng = np.random.default_rng(0)
    calib = np.sort(rng.choice(y.shape[0], 250, replace=False))
    plain = _plain_backtest(y, AUTO_CANDIDATES, 9, list(bt.origins), calib)
    for key in ("mae", "mse", "bias", "scale"):
        np.testing.assert_allclose(getattr(bt, key), plain[key], rtol=1e-12, atol=0, err_msg=key)
    np.testing.assert_array_equal(bt.coverage, plain["coverage"])
    np.testing.assert_allclose(bt.forecast_total, plain["forecast_total"], rtol=1e-12)
    np.testing.assert_allclose(bt.actual_total, plain["actual_total"], rtol=1e-12)
    for o in bt.origins:
        want = point_forecasts(y[:, :o], AUTO_CANDIDATES, MethodParams())
        for m in AUTO_CANDIDATES:
            np.testing.assert_array_equal(bt.forecasts[o][m], want[m])


def test_backtest_of_no_series() -> None:
    bt = backtest(np.empty((0, 24)), ["ses", "imapa"], horizon=6, origins=3, levels=LEVELS)
    assert bt.mae.shape == (0, 2)
    assert bt.coverage.shape == (2, len(LEVELS))
