"""Rolling-origin backtest against a plain per-series loop, RMSSE, quantile coverage, and
``auto`` judged out of sample on real spare-parts demand (oil: monthly, man: weekly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from numpy.typing import NDArray
from statsforecast.models import _croston_classic, _tsb

from spareflow.data.periods import demand_matrix
from spareflow.demand.auto import AUTO_ORIGINS, AUTO_STEP, AutoChoice, choose, combine, pick
from spareflow.demand.backtest import BacktestResult, backtest, rolling_origins
from spareflow.demand.methods import AUTO_CANDIDATES, MethodParams, point_forecasts
from spareflow.demand.metrics import naive_scale, rmsse
from spareflow.demand.uncertainty import demand_shape, quantile_hits, quantiles
from spareflow.errors import ParameterError

F64 = NDArray[np.float64]
NAN = np.nan
DATA = Path("/work/shared/data/intermittent")


# --------------------------------------------------------------------------- origins


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((24, 6, 3), [6, 12, 18]),
        ((24, 6, 3, 1), [16, 17, 18]),  # step 1: overlapping windows
        ((24, 6, 2, 9), [9, 18]),
        ((36, 12, 1), [24]),
        ((10, 4, 3), [2, 6]),  # 10-4-8 = -2 leaves too little history: dropped
        ((5, 3, 3), [2]),  # an origin needs two periods of history
    ],
)
def test_rolling_origins(args: tuple[int, ...], expected: list[int]) -> None:
    assert rolling_origins(*args) == expected


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((24, 0, 3), "horizon"),
        ((24, 6, 0), "origins"),
        ((24, 6, 3, 0), "step"),
        ((4, 3, 1), "horizon"),
    ],
)
def test_rolling_origins_rejects(args: tuple[int, ...], name: str) -> None:
    with pytest.raises(ParameterError) as info:
        rolling_origins(*args)
    assert info.value.name == name


# --------------------------------------------------------------------------- naive scale, RMSSE


def test_naive_scale_by_hand() -> None:
    y = np.array(
        [
            [1, 3, 2, 2],  # diffs 2, -1, 0 -> (4 + 1 + 0) / 3
            [NAN, 1, 1, 4],  # diffs 0, 3 -> 9 / 2
            [2, 2, 2, 2],  # never changes -> NaN
            [NAN, NAN, NAN, 5],  # no diff -> NaN
        ]
    )
    s = naive_scale(y)
    assert s[0] == pytest.approx(5 / 3, rel=1e-15)
    assert s[1] == pytest.approx(4.5, rel=1e-15)
    assert np.isnan(s[2:]).all()


def test_rmsse_definition() -> None:
    # sqrt(MSE / scale): MSE 8 over scale 2 -> 2; undefined scale -> NaN
    out = rmsse(np.array([[8.0, 2.0], [1.0, 1.0]]), np.array([[2.0], [NAN]]))
    np.testing.assert_allclose(out[0], [2.0, 1.0], rtol=1e-15)
    assert np.isnan(out[1]).all()


# --------------------------------------------------------------------------- backtest by hand

Y_SMALL = np.array(
    [
        [3, 0, 1, 4, 0, 0, 2, 5, 1, 0, 0, 3, 2, 0, 4, 1, 0, 2, 6, 0],
        [0, 0, 0, 7, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0],
        [0] * 20,
        [NAN] * 13 + [0, 2, 0, 0, 3, 0, 1],  # starts after the first two origins
        [NAN] * 5 + [1, 1, 2, 0, 3, 1, 0, 0, 2, 2, 1, 0, 4, 1, 1],
        [5, 6, 4, 5, 7, 5, 6, 4, 5, 6, 5, 7, 6, 5, 4, 6, 5, 6, 7, 5],  # smooth
    ],
    dtype=np.float64,
)
METHODS = ("naive", "ma", "ses", "croston", "tsb")
PARAMS = MethodParams(alpha_d=0.1, alpha_p=0.1, window=3)


def _hand_forecast(method: str, obs: F64) -> float:
    """One series' forecast from its observed history, written out independently."""
    if method == "naive":
        return float(obs[-1])
    if method == "ma":
        return float(obs[-3:].mean())
    if method == "ses":
        level = obs[0]
        for x in obs[1:]:
            level = 0.1 * x + 0.9 * level
        return float(level)
    if method == "croston":
        return float(_croston_classic(obs, 1, False)["mean"][0])
    if method == "tsb":
        return float(_tsb(obs, 1, False, 0.1, 0.1)["mean"][0])
    raise AssertionError(method)


def _hand_backtest(y: F64, horizon: int, origins: list[int]) -> dict[str, F64]:
    n, m = y.shape[0], len(METHODS)
    abs_sum, sq_sum, err_sum = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
    count = np.zeros(n)
    fc_total, act_total = np.zeros(m), np.zeros(m)
    for i in range(n):
        for o in origins:
            history = y[i, :o]
            obs = history[~np.isnan(history)]
            if obs.size == 0:
                continue  # not started by this origin: not scored
            actual = y[i, o : o + horizon]
            actual = actual[~np.isnan(actual)]
            count[i] += actual.size
            for j, meth in enumerate(METHODS):
                err = _hand_forecast(meth, obs) - actual
                abs_sum[i, j] += np.abs(err).sum()
                sq_sum[i, j] += (err**2).sum()
                err_sum[i, j] += err.sum()
                fc_total[j] += _hand_forecast(meth, obs) * actual.size
                act_total[j] += actual.sum()
    with np.errstate(invalid="ignore"):
        c = np.where(count > 0, count, np.nan)[:, None]
        return {
            "mae": abs_sum / c,
            "mse": sq_sum / c,
            "bias": err_sum / c,
            "forecast_total": fc_total,
            "actual_total": act_total,
        }


def test_backtest_equals_a_plain_loop() -> None:
    bt = backtest(Y_SMALL, METHODS, horizon=4, origins=3, params=PARAMS)
    assert bt.origins == (8, 12, 16)
    assert bt.methods == METHODS
    assert bt.mae.shape == (Y_SMALL.shape[0], len(METHODS))
    hand = _hand_backtest(Y_SMALL, 4, [8, 12, 16])
    for key in ("mae", "mse", "bias"):
        np.testing.assert_allclose(getattr(bt, key), hand[key], rtol=1e-12, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(bt.forecast_total, hand["forecast_total"], rtol=1e-12)
    np.testing.assert_allclose(bt.actual_total, hand["actual_total"], rtol=1e-12)
    # series 3 starts at period 13: only the origin at 16 scores it (4 periods)
    assert np.isfinite(bt.mae[3]).all()
    # a hand number: series 0, naive at origins 8, 12, 16 forecasts 5, 3, 1
    # actuals [1,0,0,3], [2,0,4,1], [0,2,6,0]: |errors| 4,5,5,2 + 1,3,1,2 + 1,1,5,1 = 31 over 12
    assert bt.mae[0, 0] == pytest.approx(31 / 12, rel=1e-15)
    # bias: errors 4,5,5,2 + 1,3,-1,2 + 1,-1,-5,1 = 17 over 12
    assert bt.bias[0, 0] == pytest.approx(17 / 12, rel=1e-15)


def test_backtest_overlapping_windows_with_step() -> None:
    bt = backtest(Y_SMALL, METHODS, horizon=4, origins=4, step=2, params=PARAMS)
    assert bt.origins == (10, 12, 14, 16)
    hand = _hand_backtest(Y_SMALL, 4, [10, 12, 14, 16])
    for key in ("mae", "mse", "bias"):
        np.testing.assert_allclose(getattr(bt, key), hand[key], rtol=1e-12, atol=1e-12, err_msg=key)


def test_backtest_rmsse_is_sqrt_mse_over_last_origin_naive_scale() -> None:
    bt = backtest(Y_SMALL, METHODS, horizon=4, origins=3, params=PARAMS)
    hand = _hand_backtest(Y_SMALL, 4, [8, 12, 16])
    # scale: mean squared one-step change of the history before the last origin (16)
    scale = np.full(Y_SMALL.shape[0], np.nan)
    for i, row in enumerate(Y_SMALL[:, :16]):
        d = np.diff(row[~np.isnan(row)])
        if d.size and (d**2).sum() > 0:
            scale[i] = (d**2).mean()
    np.testing.assert_allclose(bt.scale, scale, rtol=1e-15)
    expected = np.sqrt(hand["mse"] / scale[:, None])
    np.testing.assert_allclose(bt.rmsse, expected, rtol=1e-12)
    assert np.isfinite(bt.rmsse[np.isfinite(scale)]).all()


def test_backtest_keeps_forecasts_per_origin() -> None:
    bt = backtest(Y_SMALL, ["naive"], horizon=4, origins=3, params=PARAMS, keep_forecasts=True)
    assert sorted(bt.forecasts) == [8, 12, 16]
    np.testing.assert_array_equal(bt.forecasts[12]["naive"], Y_SMALL[:, 11])


# --------------------------------------------------------------------------- quantile coverage

LEVELS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


@pytest.fixture(scope="module")
def intermittent_panel() -> F64:
    rng = np.random.default_rng(7)
    n, t = 80, 48
    p = rng.uniform(0.05, 0.9, (n, 1))
    y = np.where(rng.random((n, t)) < p, rng.poisson(rng.uniform(1, 8, (n, 1)), (n, t)) + 1.0, 0.0)
    y[:10, :20] = np.nan  # some series start late
    return y


def test_quantile_coverage_is_a_share_and_grows_with_level(intermittent_panel: F64) -> None:
    methods = ("croston", "sba", "tsb", "imapa", "ses")
    bt = backtest(intermittent_panel, methods, horizon=6, origins=3, levels=LEVELS)
    assert bt.levels == LEVELS
    assert bt.coverage.shape == (len(methods), len(LEVELS))
    assert ((bt.coverage >= 0.0) & (bt.coverage <= 1.0)).all()
    assert (np.diff(bt.coverage, axis=1) >= 0.0).all()
    # not degenerate: the 99 % quantile covers far more than the median does
    assert (bt.coverage[:, -1] - bt.coverage[:, 0] > 0.2).all()


def test_quantile_coverage_equals_pooled_hit_share(intermittent_panel: F64) -> None:
    y = intermittent_panel
    bt = backtest(y, ["tsb"], horizon=6, origins=3, levels=LEVELS)
    hits = np.zeros(len(LEVELS))
    scored = 0
    for o in bt.origins:
        train, actual = y[:, :o], y[:, o : o + 6]
        f = np.nan_to_num(point_forecasts(train, ["tsb"], MethodParams())["tsb"])
        q = quantiles(f, demand_shape(train, 0.1), LEVELS)
        for i in range(y.shape[0]):
            if np.isnan(train[i]).all():
                continue
            a = actual[i][~np.isnan(actual[i])]
            scored += a.size
            hits += (a[:, None] <= q[i][None, :]).sum(axis=0)
    np.testing.assert_allclose(bt.coverage[0], hits / scored, rtol=1e-15)


# --------------------------------------------------------------------------- auto on real data


def _real_matrix(name: str, period: str) -> F64:
    path = DATA / f"{name}.csv"
    if not path.exists():
        pytest.skip(f"real spare-parts data not found: {path} (folder {DATA} absent)")
    df = pl.read_csv(path, schema={"item_id": pl.String, "date": pl.Date, "quantity": pl.Float64})
    return demand_matrix(df, period).values  # type: ignore[arg-type]


def _out_of_sample_rmsse(name: str, period: str, horizon: int) -> dict[str, float]:
    y = _real_matrix(name, period)
    train, test = y[:, :-horizon], y[:, -horizon:]
    bt = backtest(train, AUTO_CANDIDATES, horizon, origins=AUTO_ORIGINS, step=AUTO_STEP)
    forecasts = point_forecasts(train, AUTO_CANDIDATES, MethodParams())
    forecasts["auto"] = combine(forecasts, choose(bt))
    scale = naive_scale(train)
    keep = np.isfinite(scale) & (np.nan_to_num(train) > 0).any(axis=1)
    assert keep.sum() > 500
    assert np.isfinite(test[keep]).all()
    return {
        m: float(np.mean(np.sqrt(np.mean((f[keep, None] - test[keep]) ** 2, axis=1) / scale[keep])))
        for m, f in forecasts.items()
    }


@pytest.mark.parametrize(
    ("name", "period", "horizon"),
    [
        pytest.param("oil", "month", 12, id="oil-monthly-H12"),
        pytest.param("man", "week", 26, id="man-weekly-H26"),
    ],
)
def test_auto_beats_every_single_candidate_out_of_sample(
    name: str, period: str, horizon: int
) -> None:
    score = _out_of_sample_rmsse(name, period, horizon)
    best = min(AUTO_CANDIDATES, key=lambda m: score[m])
    assert score["auto"] <= score[best], (
        f"{name}: auto {score['auto']:.7f} > {best} {score[best]:.7f}; all: "
        + ", ".join(f"{m} {v:.7f}" for m, v in sorted(score.items(), key=lambda kv: kv[1]))
    )


# --------------------------------------------------------------------------- choose, combine


def _bt(mse: list[list[float]], rmsse_scale: float = 1.0) -> BacktestResult:
    arr = np.asarray(mse, dtype=np.float64)
    n, k = arr.shape
    zeros = np.zeros_like(arr)
    return BacktestResult(
        methods=("sba", "tsb", "imapa")[:k],
        origins=(10,),
        horizon=1,
        mae=zeros,
        mse=arr,
        bias=zeros,
        scale=np.full(n, rmsse_scale),
    )


def test_choose_weights_the_best_two_inverse_to_mse() -> None:
    bt = _bt(
        [
            [4.0, 1.0, 3.0],  # tsb then imapa: weights 3/4 and 1/4
            [0.0, 2.0, 5.0],  # a perfect fit takes all the weight
            [0.0, 0.0, 1.0],  # two perfect fits share
            [NAN, NAN, NAN],  # unscored: the pooled best alone
            [2.0, NAN, NAN],  # one scored method: alone
        ]
    )
    c = choose(bt)
    assert c.first.tolist() == ["tsb", "sba", "sba", c.fallback, "sba"]
    assert c.second.tolist() == ["imapa", "sba", "tsb", c.fallback, "sba"]
    np.testing.assert_allclose(c.weight, [0.75, 1.0, 0.5, 1.0, 1.0])
    assert c.method.tolist() == ["tsb+imapa", "sba", "sba+tsb", c.fallback, "sba"]
    # pooled over the series where every method is scored: sba (2.0 + 0 + 0) / 3 is best
    assert c.fallback == "sba"
    forecasts = {
        "sba": np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
        "tsb": np.array([10.0, 20.0, 30.0, 40.0, 50.0]),
        "imapa": np.array([100.0, 200.0, 300.0, 400.0, 500.0]),
    }
    np.testing.assert_allclose(
        combine(forecasts, c), [0.75 * 10 + 0.25 * 100, 2.0, 0.5 * 3 + 0.5 * 30, 4.0, 5.0]
    )


def test_auto_choice_is_a_dataclass_of_arrays() -> None:
    c = choose(_bt([[1.0, 2.0, 3.0]]))
    assert isinstance(c, AutoChoice)
    assert c.method.dtype.kind == "U"
    assert pick({"sba": np.array([7.0])}, c.first).tolist() == [7.0]


@pytest.mark.parametrize("seed", range(6))
def test_quantile_hits_equal_counting_under_each_quantile(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, h = 400, 7
    y = np.where(
        rng.random((n, 30)) < rng.uniform(0.05, 1.0, (n, 1)), rng.integers(1, 9, (n, 30)), 0
    )
    y = y.astype(np.float64)
    y[: n // 4] *= 0.37  # fractional units
    y[n // 4 : n // 3] = np.where(y[n // 4 : n // 3] > 0, 3.0, 0.0)  # constant sizes: cv2 = 0
    shape = demand_shape(y, 0.1)
    forecast = rng.uniform(0.0, 4.0, n)
    forecast[:10] = 0.0
    actual = rng.integers(0, 10, (n, h)).astype(np.float64) * np.where(
        rng.random((n, 1)) < 0.3, 0.37, 1.0
    )
    actual[rng.random((n, h)) < 0.1] = NAN
    levels = (0.3, 0.5, 0.8, 0.9, 0.95, 0.99)
    q = quantiles(forecast, shape, levels)
    scored = ~np.isnan(actual)
    expected = ((np.nan_to_num(actual)[:, :, None] <= q[:, None, :]) & scored[:, :, None]).sum(
        axis=(0, 1)
    )
    np.testing.assert_array_equal(quantile_hits(forecast, shape, actual, levels), expected)


def test_coverage_of_many_series_is_pooled_over_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    bt_module = sys.modules["spareflow.demand.backtest"]  # the package re-exports the function
    rng = np.random.default_rng(2)
    y = np.where(rng.random((300, 30)) < 0.4, rng.integers(1, 6, (300, 30)), 0).astype(float)
    full = backtest(y, ["tsb"], horizon=4, origins=3, levels=(0.5, 0.9))
    monkeypatch.setattr(bt_module, "CALIBRATION_SERIES", 120)
    sampled = backtest(y, ["tsb"], horizon=4, origins=3, levels=(0.5, 0.9))
    np.testing.assert_array_equal(sampled.mse, full.mse)  # accuracy uses every series
    assert not np.array_equal(sampled.coverage, full.coverage)
    np.testing.assert_allclose(sampled.coverage, full.coverage, atol=0.05)
