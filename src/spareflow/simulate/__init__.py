"""Simulation: Monte Carlo checks of inventory plans (pure computation)."""

from spareflow.simulate.demand import FamilyDemand
from spareflow.simulate.monte_carlo import (
    Bootstrap,
    CompoundPoisson,
    PolicyArrays,
    SimulationResult,
    simulate,
)

__all__ = [
    "Bootstrap",
    "CompoundPoisson",
    "FamilyDemand",
    "PolicyArrays",
    "SimulationResult",
    "simulate",
]
