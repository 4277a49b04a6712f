"""Stock across echelons: repairable items in depot-and-bases networks (METRIC,
VARI-METRIC, their marginal-analysis optimisation and Graves' exact model), and
consumables on trees and serial lines (guaranteed-service model, Clark-Scarf)."""

from spareflow.multiechelon.gsm import (
    GSMSolution,
    GSMTree,
    NetworkError,
    evaluate_service_times,
    optimise_service_times,
)
from spareflow.multiechelon.metric import MODELS, Excess, MetricResult, evaluate, excess
from spareflow.multiechelon.network import RepairNetwork
from spareflow.multiechelon.optimise import (
    Allocation,
    AvailabilityCurve,
    availability_along,
    optimise,
)
from spareflow.multiechelon.serial import (
    SerialSolution,
    optimise_serial_base_stock,
    serial_expected_cost,
)

__all__ = [
    "MODELS",
    "Allocation",
    "AvailabilityCurve",
    "Excess",
    "GSMSolution",
    "GSMTree",
    "MetricResult",
    "NetworkError",
    "RepairNetwork",
    "SerialSolution",
    "availability_along",
    "evaluate",
    "evaluate_service_times",
    "excess",
    "optimise",
    "optimise_serial_base_stock",
    "optimise_service_times",
    "serial_expected_cost",
]
