"""Freight: NMFC density classes of handling units (no store, no site: pure reckoning)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter
from pydantic import Field

from spareflow.api.deps import User
from spareflow.api.schemas import Id, In, Out

router = APIRouter(tags=["freight"])
Inches = Annotated[float, Field(gt=0, le=10_000)]


class HandlingUnitIn(In):
    unit_id: Id
    length_in: Inches
    width_in: Inches
    height_in: Inches
    weight_lb: Annotated[float, Field(gt=0, le=1_000_000)]
    ship_date: date | None = None


class FreightClassIn(In):
    units: Annotated[list[HandlingUnitIn], Field(min_length=1, max_length=10_000)]
    rounding: Literal["exact", "ceil", "nearest"] = "exact"


class FreightClassOut(Out):
    unit_id: str
    cubic_feet: float
    density_pcf: float | None  # None: a side rounds to 0 (the lightest class, NMFC Item 170)
    freight_class: str
    scale_id: str


@router.post("/freight-class", response_model=list[FreightClassOut])
def freight_class(body: FreightClassIn, who: User) -> list[FreightClassOut]:
    """The NMFC density class of each handling unit: the 13-sub scale of Docket 2025-1
    for units shipped from 19 July 2025, the 11-sub scale before (``ship_date``; today
    when absent). Densities in pounds per cubic foot."""
    from spareflow.transport.freight import classify

    units = body.units

    def column(name: str) -> np.ndarray:
        return np.array([getattr(u, name) for u in units], dtype=np.float64)

    ship = np.array(
        [np.datetime64(u.ship_date, "D") if u.ship_date else np.datetime64("NaT") for u in units],
        dtype="datetime64[D]",
    )
    result = classify(
        column("length_in"),
        column("width_in"),
        column("height_in"),
        column("weight_lb"),
        ship,
        rounding=body.rounding,
    )
    return [
        FreightClassOut(
            unit_id=u.unit_id,
            cubic_feet=round(float(result.cubic_feet[k]), 4),
            density_pcf=round(float(result.density_pcf[k]), 4) if result.density_known[k] else None,
            freight_class=str(result.freight_class[k]),
            scale_id=str(result.scale_id[k]),
        )
        for k, u in enumerate(units)
    ]
