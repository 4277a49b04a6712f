"""Demand engine: classification, intermittent-demand forecasting, backtesting, ``auto``.

Kernels take demand per period shaped (series, periods) and return (series,) arrays;
``forecast`` and ``classify`` take polars demand tables and return polars tables.
"""

from spareflow.demand.aggregation import adida, imapa
from spareflow.demand.backtest import BacktestResult, backtest
from spareflow.demand.classify import Cutoffs, abc_class, adi_cv2, classify, sbc_class, xyz_class
from spareflow.demand.croston import croston, sba
from spareflow.demand.forecast import ForecastResult, run_forecast
from spareflow.demand.methods import METHODS, MethodParams, point_forecasts
from spareflow.demand.simple import moving_average, naive, ses
from spareflow.demand.tsb import tsb

forecast = run_forecast

__all__ = [
    "METHODS",
    "BacktestResult",
    "Cutoffs",
    "ForecastResult",
    "MethodParams",
    "abc_class",
    "adi_cv2",
    "adida",
    "backtest",
    "classify",
    "croston",
    "forecast",
    "imapa",
    "moving_average",
    "naive",
    "point_forecasts",
    "run_forecast",
    "sba",
    "sbc_class",
    "ses",
    "tsb",
    "xyz_class",
]
