"""Full truckload and parcel prices, LTL capacity rules, and the cheapest feasible mode
per shipment (../shared/reference/freight.md, sections 8.10 and 8.11).

- **FTL**: a rate per mile by equipment, a minimum per load and fuel per mile; a load
  fits a 53-ft trailer by weight, floor positions and cube.
- **Parcel**: each package billed at the greater of its weight and its dimensional weight
  (L x W x H / divisor, rounded up to the pound), from a rate per pound-step by zone;
  packages over the weight or the length + girth limit cannot go by parcel.
- **LTL** is refused where a carrier's capacity rules take over (more than a set number
  of linear feet of floor, or a large cube of light freight): those loads are quoted as
  volume or truckload instead.

Every price is per shipment, vectorised; an infeasible mode is priced at infinity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spareflow.errors import ParameterError

FloatArray = NDArray[np.float64]
MODES = ("parcel", "ltl", "ftl")


@dataclass(frozen=True)
class FtlTariff:
    """Truckload pricing for one equipment type (a 53-ft dry van by default)."""

    rate_per_mile: float
    minimum_charge: float
    fuel_per_mile: float = 0.0
    max_weight_lb: float = 45_000.0
    max_floor_positions: int = 26  # 48 x 40 pallets, single-stacked, loaded straight
    max_cubic_feet: float = 3_800.0


@dataclass(frozen=True)
class ParcelTariff:
    """Parcel prices: ``rates[zone, pounds - 1]`` for billable pounds 1..max."""

    rates: FloatArray
    dim_divisor: float = 139.0  # cubic inches per pound (US domestic express carriers)
    max_weight_lb: float = 150.0
    max_length_plus_girth_in: float = 165.0
    fuel_surcharge: float = 0.0


@dataclass(frozen=True)
class LtlCapacityRules:
    """When a carrier's LTL price stops applying (section 8.10): more floor than
    ``max_linear_feet``, or more than ``cube_threshold_cf`` at an average density below
    ``min_density_pcf``."""

    max_linear_feet: float = 12.0
    cube_threshold_cf: float = 750.0
    min_density_pcf: float = 6.0


def linear_feet(floor_positions: FloatArray) -> FloatArray:
    """Trailer floor used by 48 x 40 pallets two abreast, 48 in along the trailer."""
    out: FloatArray = np.ceil(np.asarray(floor_positions, dtype=np.float64) / 2) * 4.0
    return out


def ltl_allowed(
    weight_lb: FloatArray,
    cubic_feet: FloatArray,
    floor_positions: FloatArray,
    rules: LtlCapacityRules | None = None,
) -> NDArray[np.bool_]:
    """Shipments an LTL class rate may price (the capacity rules do not take over)."""
    rules = rules or LtlCapacityRules()
    cube = np.asarray(cubic_feet, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(cube > 0, np.asarray(weight_lb) / cube, np.inf)
    light_and_big = (cube > rules.cube_threshold_cf) & (density < rules.min_density_pcf)
    allowed: NDArray[np.bool_] = (linear_feet(floor_positions) <= rules.max_linear_feet) & (
        ~light_and_big
    )
    return allowed


def ftl_price(
    miles: FloatArray,
    weight_lb: FloatArray,
    floor_positions: FloatArray,
    cubic_feet: FloatArray,
    tariff: FtlTariff,
) -> FloatArray:
    """Linehaul (at least the minimum) plus fuel per mile; infinity where the load does
    not fit one trailer."""
    distance = np.asarray(miles, dtype=np.float64)
    if np.any(distance < 0):
        raise ParameterError("miles", "distances must be >= 0")
    price = np.maximum(distance * tariff.rate_per_mile, tariff.minimum_charge)
    price = price + distance * tariff.fuel_per_mile
    fits = (
        (np.asarray(weight_lb) <= tariff.max_weight_lb)
        & (np.asarray(floor_positions) <= tariff.max_floor_positions)
        & (np.asarray(cubic_feet) <= tariff.max_cubic_feet)
    )
    out: FloatArray = np.where(fits, price, np.inf)
    return out


def billable_pounds(
    length_in: FloatArray,
    width_in: FloatArray,
    height_in: FloatArray,
    weight_lb: FloatArray,
    dim_divisor: float,
) -> FloatArray:
    """Per package: the greater of actual and dimensional weight, up to the whole pound."""
    dimensional = np.asarray(length_in) * np.asarray(width_in) * np.asarray(height_in)
    out: FloatArray = np.ceil(
        np.maximum(np.asarray(weight_lb, dtype=np.float64), dimensional / dim_divisor) - 1e-9
    )
    return out


def parcel_price(
    shipment: NDArray[np.intp],
    zone: NDArray[np.intp],
    length_in: FloatArray,
    width_in: FloatArray,
    height_in: FloatArray,
    weight_lb: FloatArray,
    tariff: ParcelTariff,
    shipments: int,
) -> FloatArray:
    """Per shipment (its packages summed): rate of each package's billable pounds in the
    shipment's zone, plus fuel; infinity if any package is over a parcel limit.
    ``zone`` is per shipment."""
    dims = np.sort(np.stack([length_in, width_in, height_in]).astype(np.float64), axis=0)
    longest, girth = dims[2], 2 * (dims[0] + dims[1])
    pounds = billable_pounds(length_in, width_in, height_in, weight_lb, tariff.dim_divisor)
    too_big = (
        (np.asarray(weight_lb) > tariff.max_weight_lb)
        | (longest + girth > tariff.max_length_plus_girth_in)
        | (pounds > tariff.rates.shape[1])
    )
    steps = np.clip(pounds.astype(np.int64), 1, tariff.rates.shape[1]) - 1
    package = tariff.rates[np.asarray(zone)[shipment], steps] * (1 + tariff.fuel_surcharge)
    price = np.bincount(shipment, weights=package, minlength=shipments)
    blocked = np.bincount(shipment, weights=too_big.astype(np.float64), minlength=shipments)
    out: FloatArray = np.where(blocked > 0, np.inf, price)
    return out


def cheapest_mode(prices: dict[str, FloatArray]) -> tuple[NDArray[np.str_], FloatArray]:
    """The mode of least price per shipment and that price ('none' and infinity where no
    mode can carry it). ``prices``: mode -> price per shipment (infinity: infeasible)."""
    names = [m for m in MODES if m in prices] + [m for m in prices if m not in MODES]
    table = np.stack([np.asarray(prices[m], dtype=np.float64) for m in names])
    best = np.argmin(table, axis=0)
    price = table[best, np.arange(table.shape[1])]
    mode = np.where(np.isfinite(price), np.array(names)[best], "none")
    return mode.astype(str), price
