"""Stock engine: demand distributions, service measures, inventory policies, exact
optimal policies and system optimisation (pure computation: arrays in, arrays out)."""

from spareflow.stock.distributions import (
    Family,
    IntervalDemand,
    LossTables,
    fit_interval_demand,
    loss_tables,
)
from spareflow.stock.optimise import Curve, efficient_curve, steps_for_budget, steps_for_target
from spareflow.stock.policy import Policy, StockInputs, order_quantity, policies_for_targets
from spareflow.stock.rq import RQResult, optimal_rq
from spareflow.stock.service import Horizon, Service, base_stock, horizon, rq, ss
from spareflow.stock.ss import SSResult, optimal_ss

__all__ = [
    "Curve",
    "Family",
    "Horizon",
    "IntervalDemand",
    "LossTables",
    "Policy",
    "RQResult",
    "SSResult",
    "Service",
    "StockInputs",
    "base_stock",
    "efficient_curve",
    "fit_interval_demand",
    "horizon",
    "loss_tables",
    "optimal_rq",
    "optimal_ss",
    "order_quantity",
    "policies_for_targets",
    "rq",
    "ss",
    "steps_for_budget",
    "steps_for_target",
]
