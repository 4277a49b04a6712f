"""The forecasting methods by name: one interface, one registry.

Every method maps demand per period ``y`` (series, periods; leading NaN before a series
starts) to a flat per-period forecast, shape (series,): all these methods forecast the
same demand rate for every future period. ``alpha_d`` smooths demand sizes (and Croston's
intervals, and SES); ``alpha_p`` smooths TSB's demand probability.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from spareflow.demand._ses import F64
from spareflow.demand.aggregation import adida, adida_imapa, imapa
from spareflow.demand.croston import croston, sba, smooth_events
from spareflow.demand.simple import moving_average, naive, ses
from spareflow.demand.tsb import tsb
from spareflow.errors import ParameterError


@dataclass(frozen=True, slots=True)
class MethodParams:
    """Smoothing constants and window shared by the methods (validated on creation)."""

    alpha_d: float = 0.1
    alpha_p: float = 0.1
    window: int = 12

    def __post_init__(self) -> None:
        for name in ("alpha_d", "alpha_p"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ParameterError(name.replace("_", "-"), f"must be in (0, 1], got {value}")
        if self.window < 1:
            raise ParameterError("window", f"must be at least 1, got {self.window}")


Forecaster = Callable[[F64, MethodParams], F64]

METHODS: dict[str, Forecaster] = {
    "croston": lambda y, p: croston(y, p.alpha_d),
    "sba": lambda y, p: sba(y, p.alpha_d),
    "tsb": lambda y, p: tsb(y, p.alpha_d, p.alpha_p),
    "adida": lambda y, p: adida(y),
    "imapa": lambda y, p: imapa(y),
    "naive": lambda y, p: naive(y),
    "ma": lambda y, p: moving_average(y, p.window),
    "ses": lambda y, p: ses(y, p.alpha_d),
    "combo": lambda y, p: _combo(point_forecasts(y, COMBO, p)),
}

#: Members of ``combo``, the equal-weight combination (Petropoulos et al. 2018 show simple
#: combinations of intermittent methods are hard to beat).
COMBO: tuple[str, ...] = ("sba", "tsb", "imapa")

#: The intermittent-demand methods, the default set.
INTERMITTENT: tuple[str, ...] = ("croston", "sba", "tsb", "adida", "imapa")

#: Candidates ``auto`` chooses from.
AUTO_CANDIDATES: tuple[str, ...] = ("croston", "sba", "tsb", "adida", "imapa", "ma", "ses", "combo")


def _combo(parts: dict[str, F64]) -> F64:
    total = sum(parts[m] for m in COMBO)
    return np.asarray(total, dtype=np.float64) / len(COMBO)


def check_methods(methods: Sequence[str], allow_auto: bool = True) -> list[str]:
    """Validate method names (case-insensitive), keeping order and dropping repeats."""
    out: list[str] = []
    for m in methods:
        name = m.strip().lower()
        if not name:
            continue
        if name not in METHODS and not (allow_auto and name == "auto"):
            known = ", ".join([*METHODS, "auto"] if allow_auto else METHODS)
            raise ParameterError("method", f"unknown method {m!r}; known: {known}")
        if name not in out:
            out.append(name)
    if not out:
        raise ParameterError("method", "no method given")
    return out


def point_forecasts(y: F64, methods: Sequence[str], params: MethodParams) -> dict[str, F64]:
    """Per-period forecast of each named method, shape (series,) each.

    ADIDA and IMAPA requested together share one pass (ADIDA is IMAPA's top level).
    """
    out: dict[str, F64] = {}
    wanted = set(methods) | (set(COMBO) if "combo" in methods else set())
    if "adida" in wanted and "imapa" in wanted:
        out["adida"], out["imapa"] = adida_imapa(y)
    if "croston" in wanted or "sba" in wanted:
        # one smoothing pass serves Croston, SBA (Croston x 0.95) and TSB's sizes
        events = smooth_events(y, params.alpha_d, params.alpha_d)
        out["croston"] = croston(y, params.alpha_d, events)
        if "sba" in wanted:
            out["sba"] = out["croston"] * 0.95
        if "tsb" in wanted:
            out["tsb"] = tsb(y, params.alpha_d, params.alpha_p, events)
    for m in [*COMBO, *methods]:
        if m in wanted and m not in out:
            out[m] = _combo(out) if m == "combo" else METHODS[m](y, params)
    return {m: out[m] for m in methods}
