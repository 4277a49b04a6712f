"""Class-rate tariffs from JSON files, validated with every fault named by its field path.

A tariff file holds the weight breaks, a discount, a fuel surcharge share, FAK mappings,
accessorial amounts and, per lane, the floors and one rate per CWT for each class and
weight group (``null``: that class is not rated on the lane). The package ships
``SAMPLE_TARIFF``: invented rates, marked as a sample in the file itself; never quote
them to a customer.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from spareflow.errors import Fault, InputError, NotFound
from spareflow.transport.rating import CLASSES, ClassRateTariff

SAMPLE_TARIFF = Path(__file__).resolve().parent.parent / "transport" / "sample_tariff.json"

Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Lane(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lane: Annotated[str, Field(min_length=1)]
    minimum_charge: Money = 0.0
    absolute_minimum_charge: Money = 0.0
    rates: dict[str, list[Money | None]]


class _Tariff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1)]
    sample: bool = False
    currency: str = "USD"
    weight_breaks_lb: Annotated[list[Money], Field(min_length=1)]
    discount: Annotated[float, Field(ge=0, lt=1)] = 0.0
    fuel_surcharge: Annotated[float, Field(ge=0, le=2)] = 0.0
    fak: dict[str, str] = {}
    accessorials: dict[str, Money] = {}
    lanes: Annotated[list[_Lane], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> _Tariff:
        breaks = self.weight_breaks_lb
        if breaks[0] != 0 or any(b <= a for a, b in pairwise(breaks)):
            raise ValueError("weight_breaks_lb: ascending, starting at 0")
        for c in [*self.fak, *self.fak.values()]:
            if c not in CLASSES:
                raise ValueError(f"fak: {c!r} is not an NMFC class")
        seen: set[str] = set()
        for n, lane in enumerate(self.lanes):
            if lane.lane in seen:
                raise ValueError(f"lanes[{n}].lane: {lane.lane!r} appears twice")
            seen.add(lane.lane)
            for c, rates in lane.rates.items():
                if c not in CLASSES:
                    raise ValueError(f"lanes[{n}].rates: {c!r} is not an NMFC class")
                if len(rates) != len(breaks):
                    raise ValueError(
                        f"lanes[{n}].rates.{c}: {len(breaks)} rates (one per weight break) "
                        f"expected, got {len(rates)}"
                    )
        return self


def load_tariff(path: str | Path) -> ClassRateTariff:
    """The tariff in ``path`` (JSON); InputError names every fault by its field path."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"{p}: file not found")
    try:
        parsed = _Tariff.model_validate_json(p.read_bytes())
    except ValidationError as exc:
        faults = [
            Fault(p.name, f"{'.'.join(str(x) for x in e['loc']) or 'tariff'}: {e['msg']}")
            for e in exc.errors()
        ]
        raise InputError(faults) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError([Fault(p.name, f"cannot be read: {exc}")]) from None
    rates = np.full((len(parsed.lanes), len(CLASSES), len(parsed.weight_breaks_lb)), np.nan)
    for i, lane in enumerate(parsed.lanes):
        for c, values in lane.rates.items():
            rates[i, CLASSES.index(c), :] = [np.nan if v is None else v for v in values]
    return ClassRateTariff(
        name=parsed.name,
        lanes=tuple(lane.lane for lane in parsed.lanes),
        breaks_lb=np.array(parsed.weight_breaks_lb, dtype=np.float64),
        rates=rates,
        minimum_charge=np.array([lane.minimum_charge for lane in parsed.lanes]),
        absolute_minimum_charge=np.array([lane.absolute_minimum_charge for lane in parsed.lanes]),
        discount=parsed.discount,
        fak=dict(parsed.fak),
        fuel_surcharge=parsed.fuel_surcharge,
        accessorials=dict(parsed.accessorials),
        sample=parsed.sample,
    )
