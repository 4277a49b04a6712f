"""Rolling-origin evaluation of forecasting methods (Tashman 2000).

Origins are the last ``origins`` periods at which a forecast is made, ``step`` periods
apart (default: the horizon, so test windows do not overlap); at each, every method is
fitted on the periods before the origin and scored on the ``horizon`` periods from it.
All series and methods are scored together: one vectorised fit per method and origin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from spareflow.demand._ses import F64
from spareflow.demand.methods import MethodParams, point_forecasts
from spareflow.demand.metrics import naive_scale, rmsse
from spareflow.demand.uncertainty import demand_shape, quantile_hits
from spareflow.errors import ParameterError

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Per series and method (arrays shaped (series, methods)) accuracy over all origins.

    ``coverage[m, q]``: share of actual per-period demands at or below the method's
    ``levels[q]`` quantile, pooled over series, origins and steps (calibrated when it is
    close to the level); beyond ``CALIBRATION_SERIES`` series it is pooled over a seeded
    sample of that many (a share known to about +-0.5 point).
    ``forecast_total``/``actual_total`` (methods,) give aggregate bias.
    """

    methods: tuple[str, ...]
    origins: tuple[int, ...]
    horizon: int
    mae: F64
    mse: F64
    bias: F64
    scale: F64
    levels: tuple[float, ...] = ()
    coverage: F64 = field(default_factory=lambda: np.empty((0, 0)))
    forecast_total: F64 = field(default_factory=lambda: np.empty(0))
    actual_total: F64 = field(default_factory=lambda: np.empty(0))
    forecasts: dict[int, dict[str, F64]] = field(default_factory=dict)

    @property
    def rmsse(self) -> F64:
        return rmsse(self.mse, self.scale[:, None])

    def method_index(self, method: str) -> int:
        return self.methods.index(method)


#: Series over which quantile coverage is pooled at most (a seeded sample beyond).
CALIBRATION_SERIES = 20_000


def backtest_horizon(n_periods: int, horizon: int) -> int:
    """Test-window length for a history of ``n_periods``: the forecast horizon, capped at a
    quarter of the history so that three origins still leave most of it for fitting."""
    return min(horizon, max(1, n_periods // 4))


def rolling_origins(
    n_periods: int, horizon: int, origins: int, step: int | None = None
) -> list[int]:
    """Origin periods, oldest first; each leaves at least two periods of history."""
    if horizon < 1:
        raise ParameterError("horizon", f"must be at least 1, got {horizon}")
    if origins < 1:
        raise ParameterError("origins", f"must be at least 1, got {origins}")
    step = horizon if step is None else step
    if step < 1:
        raise ParameterError("step", f"must be at least 1, got {step}")
    out = [n_periods - horizon - k * step for k in range(origins)]
    out = [o for o in out if o >= 2]
    if not out:
        raise ParameterError(
            "horizon",
            f"{n_periods} periods of history are too few to backtest a horizon of {horizon}",
        )
    return sorted(out)


def backtest(
    y: F64,
    methods: Sequence[str],
    horizon: int,
    origins: int = 3,
    step: int | None = None,
    params: MethodParams = MethodParams(),
    levels: Sequence[float] = (),
    keep_forecasts: bool = False,
    progress: Progress | None = None,
) -> BacktestResult:
    """Score ``methods`` on ``y`` (series, periods) from rolling origins."""
    n_series, n_periods = y.shape
    origin_list = rolling_origins(n_periods, horizon, origins, step)
    n_methods = len(methods)
    abs_sum = np.zeros((n_series, n_methods))
    sq_sum = np.zeros((n_series, n_methods))
    err_sum = np.zeros((n_series, n_methods))
    count = np.zeros(n_series)
    hits = np.zeros((n_methods, len(levels)))
    n_calibrated = 0
    fc_total = np.zeros(n_methods)
    act_total = np.zeros(n_methods)
    kept: dict[int, dict[str, F64]] = {}
    # scale: the naive error of the history before the last origin (before the first
    # origin most series of a short history would have none)
    scale = naive_scale(y[:, : origin_list[-1]])
    calib = np.arange(n_series)
    if n_series > CALIBRATION_SERIES:
        rng = np.random.default_rng(0)
        calib = np.sort(rng.choice(n_series, CALIBRATION_SERIES, replace=False))
    for k, origin in enumerate(origin_list):
        train = y[:, :origin]
        actual = y[:, origin : origin + horizon]
        fitted = np.asarray(~np.isnan(train).all(axis=1), dtype=bool)
        scored = ~np.isnan(actual) & fitted[:, None]
        actual0 = np.where(scored, actual, 0.0)
        count += scored.sum(axis=1)
        n_calibrated += int(scored[calib].sum())
        point = point_forecasts(train, methods, params)
        if keep_forecasts:
            kept[origin] = point
        shape = demand_shape(train[calib], params.alpha_p) if levels else None
        for j, m in enumerate(methods):
            f = np.nan_to_num(point[m])
            err = np.where(scored, f[:, None] - actual0, 0.0)
            abs_sum[:, j] += np.abs(err).sum(axis=1)
            sq_sum[:, j] += (err**2).sum(axis=1)
            err_sum[:, j] += err.sum(axis=1)
            fc_total[j] += (f[:, None] * scored).sum()
            act_total[j] += actual0.sum()
            if shape is not None:
                observed = np.where(scored[calib], actual0[calib], np.nan)
                hits[j] += quantile_hits(f[calib], shape, observed, levels)
        if progress is not None:
            progress(k + 1, len(origin_list))
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.where(count > 0, count, np.nan)[:, None]
        coverage = hits / max(n_calibrated, 1)
    return BacktestResult(
        methods=tuple(methods),
        origins=tuple(origin_list),
        horizon=horizon,
        mae=abs_sum / denom,
        mse=sq_sum / denom,
        bias=err_sum / denom,
        scale=scale,
        levels=tuple(levels),
        coverage=coverage,
        forecast_total=fc_total,
        actual_total=act_total,
        forecasts=kept,
    )
