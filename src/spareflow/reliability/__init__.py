"""Reliability: life distributions of parts from failure and suspension records."""

from spareflow.reliability.weibull import LifeFit, fit_exponential, fit_weibull

__all__ = ["LifeFit", "fit_exponential", "fit_weibull"]
