"""Shipments built from released orders in the store: the I/O around
:func:`spareflow.transport.shipment_build.build_shipments`.

Which orders: transfer orders released for shipping (status ``released``), not yet on
a built shipment, with quantity still to ship (ordered - shipped). A caller scoped to
sites builds only orders with both sites among theirs. (Purchase orders ship on their
supplier's freight: they have no origin site to plan from.)

Each order travels its lane: the active LTL lane from its source site to its receiving
site, the fastest when there are several (then the lowest lane_id). The
lane's ``tariff_lane`` (else its lane_id) names the tariff lane it is rated on. An
order without such a lane, with a lane the tariff does not price, or with an item
lacking a unit weight or volume is left out and listed with the reason: the rest still
ship.

Units: items carry a unit weight (kg) and volume (m3), not dimensions, so each piece
is packed as a cube of its volume (side = cube root); open quantities are whole pieces
(a fraction is rounded up). Windows: an order may ship from today (day 0) until the
last day that still arrives by its earliest line due date (due - lane transit), kept
within [0, ``window_days``]; orders already late ship on day 0.

Writing: one Shipment per consolidated shipment (id ``SHP-YYYYMMDD-NNNN`` by ship
date, mode ltl, the lane's carrier, planned departure at 00:00 UTC of its ship day and
arrival after the lane's transit days, weight, rated freight cost) and a ShipmentOrder
row per order (its weight, handling units and what it would have cost alone), all in
the caller's transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spareflow.errors import ParameterError
from spareflow.services.master import get_site
from spareflow.services.plan_export import QUANTITY_SCALE, frame_of, scaled
from spareflow.services.shipments import ShipmentIn, create_shipment
from spareflow.store.models import Item, Lane, Order, OrderLine, Shipment, ShipmentOrder
from spareflow.transport.packing import STANDARD_PALLET
from spareflow.transport.rating import ClassRateTariff
from spareflow.transport.shipment_build import OrderLines, build_shipments

KG_TO_LB = 2.20462262185
M_TO_IN = 39.37007874015748
MAX_WINDOW_DAYS = 60
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BuildResult:
    """What a build made (or, dry, would make).

    ``shipments``: one row per shipment; ``orders``: one row per order placed on one;
    ``handling_units``: one row per pallet or loose piece; ``skipped``: orders left out
    (number and reason); ``summary``: totals, saving and consolidation rate."""

    shipments: pl.DataFrame
    orders: pl.DataFrame
    handling_units: pl.DataFrame
    skipped: list[dict[str, str]]
    summary: dict[str, Any] = field(default_factory=dict)


def build(
    session: Session,
    tariff: ClassRateTariff,
    today: date,
    *,
    window_days: int = 2,
    site_ids: list[str] | None = None,
    dry_run: bool = False,
) -> BuildResult:
    """Build, rate and (unless ``dry_run``) record shipments for the orders waiting to
    ship (module docstring). ParameterError for a bad window; an order that fits no
    trailer is refused naming the order."""
    if not isinstance(window_days, int) or not 0 <= window_days <= MAX_WINDOW_DAYS:
        raise ParameterError("window_days", f"a whole number 0 to {MAX_WINDOW_DAYS}")
    for site_id in site_ids or []:
        get_site(session, site_id)
    lines = _open_lines(session, site_ids)
    lanes = _lanes(session)
    skipped: list[dict[str, str]] = []
    lines, why = _with_lanes(lines, lanes, tariff)
    skipped += why
    lines, why = _with_items(lines)
    skipped += why
    if lines.is_empty():
        return _empty(tariff, today, skipped, dry_run)

    lines = lines.sort("order_id", "line_no")
    # the last ship day that still arrives by the order's earliest due date, in the window
    days_left = (pl.col("due") - pl.lit(today)).dt.total_days() - pl.col("transit_days").ceil()
    lines = lines.with_columns(
        latest=days_left.fill_null(window_days).min().over("order_id").clip(0, window_days)
    )
    side_in = np.cbrt(lines["unit_volume_m3"].to_numpy()) * M_TO_IN
    quantity = np.ceil(lines["quantity"].to_numpy() / QUANTITY_SCALE - 1e-9).astype(np.int64)
    tariff_index = {name: k for k, name in enumerate(tariff.lanes)}
    lane_index = np.array([tariff_index[t] for t in lines["tariff_lane"].to_list()], np.intp)
    try:
        built = build_shipments(
            OrderLines(
                order=lines["order_id"].to_numpy(),
                lane=lane_index,
                ready_day=np.zeros(lines.height, dtype=np.int64),
                due_day=lines["latest"].cast(pl.Int64).to_numpy(),
                quantity=quantity,
                unit_weight_lb=lines["unit_weight_kg"].to_numpy() * KG_TO_LB,
                length_in=side_in,
                width_in=side_in,
                height_in=side_in,
            ),
            tariff,
            today,
            pallet=STANDARD_PALLET,
        )
    except ParameterError as exc:
        raise _named(exc, lines) from None

    order_rows = lines.unique("order_id", keep="first", maintain_order=True)
    by_order = {r["order_id"]: r for r in order_rows.iter_rows(named=True)}
    # every shipment's lane is its first order's (one lane per shipment)
    _, first_order = np.unique(built.order_shipment, return_index=True)
    shipment_lane = [by_order[int(o)] for o in built.order_id[first_order]]
    ship_days = built.shipment_ship_day.tolist()
    ids = _shipment_ids(session, today, ship_days)
    unit_weight_kg = built.packing.weight_lb / KG_TO_LB
    unit_order = np.searchsorted(built.order_id, built.packing.group)  # packing groups: orders
    order_of_unit = built.order_id[unit_order]
    order_kg = np.bincount(unit_order, unit_weight_kg, built.order_id.size)
    order_units = np.bincount(unit_order, minlength=built.order_id.size)
    shipments = pl.DataFrame(
        {
            "shipment_id": ids,
            "lane_id": [r["lane_id"] for r in shipment_lane],
            "tariff_lane": [r["tariff_lane"] for r in shipment_lane],
            "origin": [r["origin"] for r in shipment_lane],
            "destination_site_id": [r["site_id"] for r in shipment_lane],
            "ship_date": [today + timedelta(days=d) for d in ship_days],
            "planned_arrival": [
                _departure(today, d) + timedelta(days=r["transit_days"])
                for d, r in zip(ship_days, shipment_lane, strict=True)
            ],
            "orders": np.bincount(built.order_shipment, minlength=len(ids)),
            "handling_units": built.shipment_units,
            "weight_kg": np.round(built.shipment_weight_lb / KG_TO_LB, 3),
            "freight_cost": np.round(built.shipment_price, 2),
            "alone_cost": np.round(  # the orders' costs in cents, as recorded
                np.bincount(built.order_shipment, np.round(built.order_alone_price, 2), len(ids)),
                2,
            ),
        }
    ).with_columns(saving=(pl.col("alone_cost") - pl.col("freight_cost")).round(2))
    shipments = shipments.cast(EMPTY_SHIPMENTS)  # type: ignore[arg-type]
    orders = pl.DataFrame(
        {
            "order_id": built.order_id,
            "number": [by_order[int(o)]["number"] for o in built.order_id],
            "kind": [by_order[int(o)]["kind"] for o in built.order_id],
            "shipment_id": [ids[s] for s in built.order_shipment],
            "handling_units": order_units,
            "weight_kg": np.round(order_kg, 3),
            "alone_cost": np.round(built.order_alone_price, 2),
        }
    )
    units = pl.DataFrame(
        {
            "shipment_id": [ids[s] for s in built.unit_shipment],
            "order_number": [by_order[int(o)]["number"] for o in order_of_unit],
            "kind": np.where(built.packing.loose, "loose", "pallet"),
            "pieces": built.packing.pieces,
            "length_in": np.round(built.packing.length_in, 2),
            "width_in": np.round(built.packing.width_in, 2),
            "height_in": np.round(built.packing.height_in, 2),
            "weight_lb": np.round(built.packing.weight_lb, 2),
            "density_pcf": np.round(built.unit_density_pcf, 3),
            "freight_class": built.unit_class,
        }
    )
    if not dry_run:
        _record(session, shipments, orders, shipment_lane)
    summary = _summary(tariff, today, orders.height, shipments, skipped, dry_run)
    summary["orders_per_shipment"] = built.consolidation_rate
    together = np.bincount(built.order_shipment)[built.order_shipment] > 1
    summary["consolidation_rate"] = float(together.mean())
    return BuildResult(shipments, orders, units, skipped, summary)


# --- reading ---------------------------------------------------------------------------------


def _open_lines(session: Session, site_ids: list[str] | None) -> pl.DataFrame:
    """Open lines (ordered - shipped) of released transfers not on a built shipment."""
    query = (
        select(
            Order.order_id,
            Order.number,
            Order.kind,
            Order.site_id,
            Order.source_site_id,
            OrderLine.line_no,
            OrderLine.item_id,
            scaled(OrderLine.quantity),
            scaled(OrderLine.quantity_shipped),
            OrderLine.due_date,
            Item.unit_weight_kg,
            Item.unit_volume_m3,
        )
        .join(OrderLine, OrderLine.order_id == Order.order_id)
        .join(Item, Item.item_id == OrderLine.item_id)
        .where(Order.kind == "transfer", Order.status == "released")
        .where(~Order.order_id.in_(select(ShipmentOrder.order_id)))
    )
    if site_ids is not None:
        query = query.where(Order.site_id.in_(site_ids), Order.source_site_id.in_(site_ids))
    frame = frame_of(
        session,
        query,
        "order_id:int number kind site_id origin line_no:int item_id quantity:int "
        "shipped:int due:date unit_weight_kg:float unit_volume_m3:float",
    )
    return frame.with_columns(quantity=pl.col("quantity") - pl.col("shipped")).filter(
        pl.col("quantity") > 0
    )


def _lanes(session: Session) -> pl.DataFrame:
    """Active site-to-site LTL lanes, the fastest per (origin, destination)."""
    query = select(
        Lane.lane_id,
        Lane.origin_site_id,
        Lane.destination_site_id,
        Lane.transit_days,
        Lane.carrier_id,
        Lane.tariff_lane,
    ).where(Lane.active.is_(True), Lane.mode == "ltl", Lane.origin_site_id.is_not(None))
    frame = frame_of(
        session, query, "lane_id origin site_id transit_days:float carrier_id tariff_lane"
    )
    return (
        frame.with_columns(tariff_lane=pl.coalesce("tariff_lane", "lane_id"))
        .sort("transit_days", "lane_id")
        .unique(["origin", "site_id"], keep="first", maintain_order=True)
    )


def _with_lanes(
    lines: pl.DataFrame, lanes: pl.DataFrame, tariff: ClassRateTariff
) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    """Lines with their order's lane; orders without a priced LTL lane left out."""
    joined = lines.join(lanes, on=["origin", "site_id"], how="left")
    no_lane = joined.filter(pl.col("lane_id").is_null())
    unpriced = joined.filter(
        pl.col("lane_id").is_not_null() & ~pl.col("tariff_lane").is_in(list(tariff.lanes))
    )
    skipped = [
        _skip(r, f"no active LTL lane from {r['origin']} to {r['site_id']}")
        for r in _first_per_order(no_lane)
    ] + [
        _skip(r, f"lane {r['lane_id']}: tariff {tariff.name!r} has no lane {r['tariff_lane']!r}")
        for r in _first_per_order(unpriced)
    ]
    bad = set(no_lane["order_id"].to_list()) | set(unpriced["order_id"].to_list())
    return joined.filter(~pl.col("order_id").is_in(list(bad))), skipped


def _with_items(lines: pl.DataFrame) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    """Orders with an item lacking a positive unit weight or volume left out."""
    weight, volume = pl.col("unit_weight_kg"), pl.col("unit_volume_m3")
    bad = lines.filter(weight.is_null() | (weight <= 0) | volume.is_null() | (volume <= 0))
    skipped = [
        _skip(r, f"item {r['item_id']} has no unit weight and volume (kg, m3) to pack it by")
        for r in _first_per_order(bad)
    ]
    return lines.filter(~pl.col("order_id").is_in(bad["order_id"].unique().to_list())), skipped


def _first_per_order(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return list(frame.unique("order_id", keep="first").sort("order_id").iter_rows(named=True))


def _skip(row: dict[str, Any], reason: str) -> dict[str, str]:
    return {"number": str(row["number"]), "kind": str(row["kind"]), "reason": reason}


def _named(exc: ParameterError, lines: pl.DataFrame) -> ParameterError:
    """The engine's "line k" as the order number and line it came from."""
    text = str(exc)
    found = re.search(r"line (\d+)", text)
    if found is None or not 0 < int(found.group(1)) <= lines.height:
        return exc
    row = lines.row(int(found.group(1)) - 1, named=True)
    message = text.replace(found.group(0), f"order {row['number']} line {row['line_no']}", 1)
    return ParameterError("orders", message.split(": ", 1)[-1])


# --- writing --------------------------------------------------------------------------------


def _departure(today: date, ship_day: int) -> datetime:
    day = today + timedelta(days=ship_day)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _shipment_ids(session: Session, today: date, ship_days: list[int]) -> list[str]:
    """SHP-YYYYMMDD-NNNN, numbered on from the ids already taken for that day."""
    out: list[str] = []
    taken: dict[str, int] = {}
    for d in ship_days:
        prefix = f"SHP-{today + timedelta(days=d):%Y%m%d}-"
        if prefix not in taken:
            last = session.scalar(
                select(func.max(Shipment.shipment_id)).where(
                    Shipment.shipment_id.like(prefix + "%")
                )
            )
            taken[prefix] = int(last.rsplit("-", 1)[-1]) if last else 0
        taken[prefix] += 1
        out.append(f"{prefix}{taken[prefix]:04d}")
    return out


def _record(
    session: Session,
    shipments: pl.DataFrame,
    orders: pl.DataFrame,
    shipment_lane: list[dict[str, Any]],
) -> None:
    for row, lane in zip(shipments.iter_rows(named=True), shipment_lane, strict=True):
        departure = _departure(row["ship_date"], 0)
        create_shipment(
            session,
            ShipmentIn(
                shipment_id=row["shipment_id"],
                origin_site_id=lane["origin"],
                destination_site_id=lane["site_id"],
                mode="ltl",
                planned_departure=departure,
                planned_arrival=row["planned_arrival"],
                carrier_id=lane["carrier_id"],
                weight_kg=float(row["weight_kg"]),
                freight_cost=_money(row["freight_cost"]),
                reference=f"built from {row['orders']} order(s)",
                lane_id=lane["lane_id"],
            ),
        )
    session.add_all(
        ShipmentOrder(
            shipment_id=r["shipment_id"],
            order_id=int(r["order_id"]),
            weight_kg=float(r["weight_kg"]),
            handling_units=int(r["handling_units"]),
            alone_cost=_money(r["alone_cost"]),
        )
        for r in orders.iter_rows(named=True)
    )
    session.flush()


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(CENT, rounding=ROUND_HALF_UP)


def _summary(
    tariff: ClassRateTariff,
    today: date,
    orders: int,
    shipments: pl.DataFrame,
    skipped: list[dict[str, str]],
    dry_run: bool,
) -> dict[str, Any]:
    alone = float(shipments["alone_cost"].sum()) if shipments.height else 0.0
    cost = float(shipments["freight_cost"].sum()) if shipments.height else 0.0
    return {
        "ship_date": today.isoformat(),
        "tariff": tariff.name,
        "sample_tariff": tariff.sample,
        "dry_run": dry_run,
        "orders": orders,
        "shipments": shipments.height,
        "skipped_orders": len(skipped),
        "alone_cost": round(alone, 2),
        "consolidated_cost": round(cost, 2),
        "saving": round(alone - cost, 2),
        "saving_share": None if alone == 0 else round((alone - cost) / alone, 4),
        "orders_per_shipment": None,
        "consolidation_rate": None,  # share of orders travelling with another order
    }


_TEXT, _INT, _REAL = pl.String, pl.Int64, pl.Float64
EMPTY_SHIPMENTS: dict[str, pl.DataType | type[pl.DataType]] = {
    "shipment_id": _TEXT, "lane_id": _TEXT, "tariff_lane": _TEXT, "origin": _TEXT,
    "destination_site_id": _TEXT, "ship_date": pl.Date,
    "planned_arrival": pl.Datetime("us", "UTC"), "orders": _INT, "handling_units": _INT,
    "weight_kg": _REAL, "freight_cost": _REAL, "alone_cost": _REAL, "saving": _REAL,
}  # fmt: skip
EMPTY_ORDERS: dict[str, pl.DataType | type[pl.DataType]] = {
    "order_id": _INT, "number": _TEXT, "kind": _TEXT, "shipment_id": _TEXT,
    "handling_units": _INT, "weight_kg": _REAL, "alone_cost": _REAL,
}  # fmt: skip
EMPTY_UNITS: dict[str, pl.DataType | type[pl.DataType]] = {
    "shipment_id": _TEXT, "order_number": _TEXT, "kind": _TEXT, "pieces": _INT,
    "length_in": _REAL, "width_in": _REAL, "height_in": _REAL, "weight_lb": _REAL,
    "density_pcf": _REAL, "freight_class": _TEXT,
}  # fmt: skip


def _empty(
    tariff: ClassRateTariff, today: date, skipped: list[dict[str, str]], dry_run: bool
) -> BuildResult:
    """Nothing to ship: empty tables with their columns."""
    shipments = pl.DataFrame(schema=EMPTY_SHIPMENTS)
    return BuildResult(
        shipments,
        pl.DataFrame(schema=EMPTY_ORDERS),
        pl.DataFrame(schema=EMPTY_UNITS),
        skipped,
        _summary(tariff, today, 0, shipments, skipped, dry_run),
    )


__all__ = ["BuildResult", "build"]
