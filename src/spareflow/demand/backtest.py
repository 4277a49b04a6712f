"""Rolling-origin evaluation of forecasting methods (Tashman 2000).

Origins are the last ``origins`` periods at which a forecast is made, ``step`` periods
apart (default: the horizon, so test windows do not overlap); at each, every method is
fitted on the periods before the origin and scored on the ``horizon`` periods from it.

Series are scored in blocks (memory stays bounded), all methods of a block together, and
each method forecasts from every origin at once: the fixed-alpha recursions in one pass
over time, ADIDA/IMAPA's alpha searches sharing passes over nested prefixes
(:mod:`spareflow.demand.rolling`). The numbers are those of one fit per method and origin,
bit for bit; pooled totals only add in another order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from spareflow.demand._ses import F64, first_valid, pairwise_sum
from spareflow.demand.methods import MethodParams
from spareflow.demand.metrics import naive_scale, rmsse
from spareflow.demand.rolling import demand_shape_at, point_forecasts_at
from spareflow.demand.uncertainty import DemandShape, quantile_hits_many
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


def calibration_rows(n_series: int) -> NDArray[np.int64]:
    """The series quantile coverage is pooled over: all, or beyond
    ``CALIBRATION_SERIES`` a seeded sample of that many, in order."""
    if n_series <= CALIBRATION_SERIES:
        return np.arange(n_series, dtype=np.int64)
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(n_series, CALIBRATION_SERIES, replace=False)).astype(np.int64)


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


#: Series scored together: the backtest works through the series in blocks of this many,
#: so its working memory does not grow with the number of series.
BLOCK_SERIES = 16_384

#: Series per step of the error sums (their (steps, methods, series) arrays stay in cache).
_ERROR_COLUMNS = 2048


def _add_errors(
    f: F64, actual0: F64, scored: NDArray[np.bool_] | None, sums: tuple[F64, F64, F64]
) -> None:
    """Add the sums over the test window of |error|, error^2 and error, per method and
    series, to ``sums`` (methods, series) each; ``f`` (methods, series) forecasts,
    ``actual0`` (steps, series) actuals with 0 where not ``scored`` (None: all scored).
    The error of a step is ``f - actual`` where scored, else 0; steps are summed in the
    order ``np.sum`` over them adds them (:func:`~spareflow.demand._ses.pairwise_sum`), a
    plane of steps at a time (no reduction along a short axis).
    """
    abs_sum, sq_sum, err_sum = sums
    n_methods, n_series = f.shape
    steps = actual0.shape[0]
    width = min(_ERROR_COLUMNS, n_series)
    err_buf = np.empty((steps, n_methods, width))
    sq_buf = np.empty_like(err_buf)
    abs_buf = np.empty_like(err_buf)
    for lo in range(0, n_series, _ERROR_COLUMNS):
        hi = min(lo + _ERROR_COLUMNS, n_series)
        err, sq, ab = err_buf[..., : hi - lo], sq_buf[..., : hi - lo], abs_buf[..., : hi - lo]
        np.subtract(f[None, :, lo:hi], actual0[:, None, lo:hi], out=err)
        if scored is not None:
            err *= scored[:, None, lo:hi]
        np.square(err, out=sq)
        np.abs(err, out=ab)
        err_sum[:, lo:hi] += pairwise_sum(err)
        sq_sum[:, lo:hi] += pairwise_sum(sq)
        abs_sum[:, lo:hi] += pairwise_sum(ab)


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
    """Score ``methods`` on ``y`` (series, periods) from rolling origins.

    Works through blocks of BLOCK_SERIES series; within a block every method forecasts
    from all origins at once (:func:`~spareflow.demand.rolling.point_forecasts_at`, equal
    to one fit per origin). ``progress(done, total)`` counts blocks.
    """
    n_series, n_periods = y.shape
    origin_list = rolling_origins(n_periods, horizon, origins, step)
    n_methods = len(methods)
    # sums of |error|, error^2 and error, (methods, series): a method's row is contiguous
    abs_sum = np.zeros((n_methods, n_series))
    sq_sum = np.zeros((n_methods, n_series))
    err_sum = np.zeros((n_methods, n_series))
    count = np.zeros(n_series)
    hits = np.zeros((n_methods, len(levels)))
    n_calibrated = 0
    fc_total = np.zeros(n_methods)
    act_total = 0.0
    kept: dict[int, dict[str, F64]] = {}
    if keep_forecasts:
        kept = {o: {m: np.empty(n_series) for m in methods} for o in origin_list}
    # scale: the naive error of the history before the last origin (before the first
    # origin most series of a short history would have none)
    scale = np.empty(n_series)
    calib = calibration_rows(n_series)
    blocks = list(range(0, n_series, BLOCK_SERIES)) or [0]
    # per origin, the calibration sample's forecasts, actuals and demand shapes by block
    calibration: list[list[tuple[F64, F64, DemandShape]]] = [[] for _ in origin_list]
    for b, lo in enumerate(blocks):
        hi = min(lo + BLOCK_SERIES, n_series)
        yb = y[lo:hi]
        scale[lo:hi] = naive_scale(yb[:, : origin_list[-1]])
        cal = calib[(calib >= lo) & (calib < hi)] - lo
        start = first_valid(yb)
        point_at = point_forecasts_at(yb, methods, params, origin_list)
        shapes = demand_shape_at(yb[cal], params.alpha_p, origin_list) if levels else []
        yt = np.ascontiguousarray(yb[:, : origin_list[-1] + horizon].T)  # (periods, series)
        sums = (abs_sum[:, lo:hi], sq_sum[:, lo:hi], err_sum[:, lo:hi])
        for k, origin in enumerate(origin_list):
            point = point_at[k]
            if keep_forecasts:
                for m in methods:
                    kept[origin][m][lo:hi] = point[m]
            actual = yt[origin : origin + horizon]  # (steps, series)
            # scored: observed and after the series' start (None: every step of every one)
            in_window = ~np.isnan(actual) & (start < origin)
            scored: NDArray[np.bool_] | None = None
            if in_window.all():
                actual0 = actual
                n_scored = np.full(hi - lo, actual.shape[0])
            else:
                scored = in_window
                actual0 = np.where(in_window, actual, 0.0)
                n_scored = in_window.sum(axis=0)
            count[lo:hi] += n_scored
            f = np.stack([np.nan_to_num(point[m]) for m in methods])  # (methods, series)
            _add_errors(f, actual0, scored, sums)
            fc_total += f @ n_scored.astype(np.float64)
            act_total += float(actual0.sum())
            if levels and cal.size:
                n_calibrated += int(in_window[:, cal].sum())
                observed = np.where(in_window[:, cal], actual0[:, cal], np.nan).T
                calibration[k].append((f[:, cal].T, observed, shapes[k]))
        if progress is not None:
            progress(b + 1, len(blocks))
    for parts in calibration:  # the hits of each origin, over the sample of every block
        if parts:
            shape = DemandShape(
                probability=np.concatenate([p[2].probability for p in parts]),
                size_cv2=np.concatenate([p[2].size_cv2 for p in parts]),
                whole_units=np.concatenate([p[2].whole_units for p in parts]),
            )
            forecast, observed = (np.concatenate([p[j] for p in parts]) for j in (0, 1))
            hits += quantile_hits_many(forecast, shape, observed, levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.where(count > 0, count, np.nan)
        coverage = hits / max(n_calibrated, 1)
        mae, mse, bias = (np.ascontiguousarray((v / denom).T) for v in (abs_sum, sq_sum, err_sum))
    return BacktestResult(
        methods=tuple(methods),
        origins=tuple(origin_list),
        horizon=horizon,
        mae=mae,
        mse=mse,
        bias=bias,
        scale=scale,
        levels=tuple(levels),
        coverage=coverage,
        forecast_total=fc_total,
        actual_total=np.full(n_methods, act_total),
        forecasts=kept,
    )
