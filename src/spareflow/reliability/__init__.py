"""Reliability: life distributions of parts from failure and suspension records,
demand from the installed base, final buys, and remaining useful life from condition
telemetry (predictive maintenance).

The predictive-maintenance and final-buy names load on first use (PEP 562): they bring
scikit-learn and scipy.stats, which the plan, importing this package for installed-base
demand, does not need."""

from importlib import import_module
from typing import Any

from spareflow.reliability.installed_base import expected_failures, renewal_function
from spareflow.reliability.weibull import LifeFit, fit_exponential, fit_weibull

_LAZY = {
    "FinalBuy": "lifetime_buy",
    "final_buy": "lifetime_buy",
    "PartDemand": "risk_demand",
    "part_demand": "risk_demand",
    "PdmParams": "pdm",
    "RulModel": "pdm",
    "fit_rul_model": "pdm",
    "rank_at_risk": "pdm",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"spareflow.reliability.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'spareflow.reliability' has no attribute {name!r}")


__all__ = [
    "FinalBuy",
    "LifeFit",
    "PartDemand",
    "PdmParams",
    "RulModel",
    "expected_failures",
    "final_buy",
    "fit_exponential",
    "fit_rul_model",
    "fit_weibull",
    "part_demand",
    "rank_at_risk",
    "renewal_function",
]
