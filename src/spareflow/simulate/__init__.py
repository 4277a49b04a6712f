"""Simulation: Monte Carlo checks of inventory plans (pure computation)."""
