"""The logistics network in the store: lanes into sites and the sourcing rules over them.

A lane runs from a site or a supplier (partner) to a site, by one mode, with its transit
days (mean and spread) and cost model. A sourcing rule says where a site gets an item (or
every item without a rule of its own): rank 1 the primary sources, split by share, rank
2 and up the alternates. Each rule travels a lane: the one named, else the active lane
from its source to the site with the fewest transit days.

:func:`sourcing_frame` resolves the rules of the store into one row per item-site and
source (:func:`spareflow.network.model.resolve_sourcing`), the form the DRP and order
promising read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.data.load import find_table, read_table
from spareflow.data.schema import Column, Kind, Table
from spareflow.data.validate import FaultLog
from spareflow.errors import Conflict, Fault, InputError, NotFound, ParameterError
from spareflow.services.master import get_item, get_partner, get_site
from spareflow.services.plan_export import frame_of
from spareflow.store.models import LANE_MODES, Lane, SourcingRule

SUPPLIER_ROLES = ("supplier", "manufacturer", "distributor", "repair_vendor")


@dataclass(frozen=True, slots=True)
class LaneIn:
    lane_id: str
    destination_site_id: str
    mode: str
    transit_days: float
    origin_site_id: str | None = None
    origin_partner_id: str | None = None
    transit_days_sd: float = 0.0
    carrier_id: str | None = None
    distance_km: float | None = None
    cost_per_shipment: float = 0.0
    cost_per_kg: float = 0.0
    cost_per_unit: float = 0.0
    active: bool = True
    tariff_lane: str | None = None


@dataclass(frozen=True, slots=True)
class RuleIn:
    site_id: str
    source_site_id: str | None = None
    supplier_id: str | None = None
    item_id: str | None = None
    rank: int = 1
    share: float = 1.0
    lane_id: str | None = None


def add_lane(session: Session, lane: LaneIn) -> Lane:
    """A new lane, every field checked (the error names it)."""
    if not lane.lane_id or len(lane.lane_id) > 64:
        raise ParameterError("lane_id", "1 to 64 characters")
    if session.get(Lane, lane.lane_id) is not None:
        raise Conflict(f"lane {lane.lane_id!r} already exists", "lane_id")
    if (lane.origin_site_id is None) == (lane.origin_partner_id is None):
        raise ParameterError(
            "origin_site_id", "give exactly one of origin_site_id and origin_partner_id"
        )
    get_site(session, lane.destination_site_id)
    if lane.origin_site_id is not None:
        get_site(session, lane.origin_site_id)
        if lane.origin_site_id == lane.destination_site_id:
            raise ParameterError("destination_site_id", "a lane joins two different sites")
    else:
        _supplier(session, lane.origin_partner_id or "", "origin_partner_id")
    if lane.carrier_id is not None:
        get_partner(session, lane.carrier_id, "carrier")
    if lane.mode not in LANE_MODES:
        raise ParameterError("mode", f"one of {', '.join(LANE_MODES)}, got {lane.mode!r}")
    for name in (
        "transit_days", "transit_days_sd", "cost_per_shipment", "cost_per_kg", "cost_per_unit"
    ):  # fmt: skip
        _nonnegative(name, getattr(lane, name))
    if lane.distance_km is not None:
        _nonnegative("distance_km", lane.distance_km)
    if lane.tariff_lane is not None and not 0 < len(lane.tariff_lane) <= 64:
        raise ParameterError("tariff_lane", "1 to 64 characters")
    record = Lane(
        lane_id=lane.lane_id,
        origin_site_id=lane.origin_site_id,
        origin_partner_id=lane.origin_partner_id,
        destination_site_id=lane.destination_site_id,
        mode=lane.mode,
        carrier_id=lane.carrier_id,
        transit_days=float(lane.transit_days),
        transit_days_sd=float(lane.transit_days_sd),
        distance_km=lane.distance_km,
        cost_per_shipment=float(lane.cost_per_shipment),
        cost_per_kg=float(lane.cost_per_kg),
        cost_per_unit=float(lane.cost_per_unit),
        active=lane.active,
        tariff_lane=lane.tariff_lane,
    )
    session.add(record)
    session.flush()
    return record


def get_lane(session: Session, lane_id: str) -> Lane:
    lane = session.get(Lane, lane_id)
    if lane is None:
        raise NotFound(f"lane {lane_id!r} does not exist")
    return lane


def add_rule(session: Session, rule: RuleIn) -> SourcingRule:
    """A new sourcing rule; its lane must run from its source to its site (the named one,
    else the fastest active one)."""
    get_site(session, rule.site_id)
    if rule.item_id is not None:
        get_item(session, rule.item_id)
    if (rule.source_site_id is None) == (rule.supplier_id is None):
        raise ParameterError("source_site_id", "give exactly one of source_site_id and supplier_id")
    if rule.source_site_id is not None:
        get_site(session, rule.source_site_id)
        if rule.source_site_id == rule.site_id:
            raise ParameterError("source_site_id", "a site cannot resupply itself")
    else:
        _supplier(session, rule.supplier_id or "", "supplier_id")
    if isinstance(rule.rank, bool) or not isinstance(rule.rank, int) or rule.rank < 1:
        raise ParameterError("rank", f"1 (primary) or more (alternates), got {rule.rank!r}")
    if not (isinstance(rule.share, int | float) and 0 < rule.share <= 1):
        raise ParameterError("share", f"in (0, 1], got {rule.share!r}")
    origin = (
        Lane.origin_site_id == rule.source_site_id
        if rule.source_site_id is not None
        else Lane.origin_partner_id == rule.supplier_id
    )
    source = rule.source_site_id or rule.supplier_id
    if rule.lane_id is not None:
        lane = get_lane(session, rule.lane_id)
        if (
            lane.destination_site_id != rule.site_id
            or (lane.origin_site_id or lane.origin_partner_id) != source
        ):
            raise ParameterError(
                "lane_id",
                f"lane {lane.lane_id} runs from {lane.origin_site_id or lane.origin_partner_id} "
                f"to {lane.destination_site_id}, not from {source} to {rule.site_id}",
            )
    else:
        found = session.scalars(
            select(Lane)
            .where(origin, Lane.destination_site_id == rule.site_id, Lane.active.is_(True))
            .order_by(Lane.transit_days, Lane.lane_id)
            .limit(1)
        ).first()
        if found is None:
            raise ParameterError(
                "lane_id", f"no active lane from {source} to {rule.site_id}: add one first"
            )
        lane = found
    record = SourcingRule(
        site_id=rule.site_id,
        item_id=rule.item_id,
        rank=rule.rank,
        share=float(rule.share),
        source_site_id=rule.source_site_id,
        supplier_id=rule.supplier_id,
        lane_id=lane.lane_id,
    )
    session.add(record)
    session.flush()
    return record


def lanes_frame(session: Session) -> pl.DataFrame:
    """Every lane, as the engines read them."""
    return frame_of(
        session,
        select(
            Lane.lane_id,
            Lane.origin_site_id,
            Lane.origin_partner_id,
            Lane.destination_site_id,
            Lane.mode,
            Lane.carrier_id,
            Lane.transit_days,
            Lane.transit_days_sd,
            Lane.distance_km,
            Lane.cost_per_shipment,
            Lane.cost_per_kg,
            Lane.cost_per_unit,
            Lane.active,
            Lane.tariff_lane,
        ).order_by(Lane.lane_id),
        "lane_id origin_site_id origin_partner_id destination_site_id mode carrier_id "
        "transit_days:float transit_days_sd:float distance_km:float cost_per_shipment:float "
        "cost_per_kg:float cost_per_unit:float active:bool tariff_lane",
    )


def rules_frame(session: Session) -> pl.DataFrame:
    """Every sourcing rule with its lane's transit days."""
    return frame_of(
        session,
        select(
            SourcingRule.rule_id,
            SourcingRule.site_id,
            SourcingRule.item_id,
            SourcingRule.rank,
            SourcingRule.share,
            SourcingRule.source_site_id,
            SourcingRule.supplier_id,
            SourcingRule.lane_id,
            Lane.transit_days,
            Lane.transit_days_sd,
            Lane.mode,
        )
        .join(Lane, Lane.lane_id == SourcingRule.lane_id)
        .order_by(SourcingRule.rule_id),
        "rule_id:int site_id item_id rank:int share:float source_site_id supplier_id lane_id "
        "transit_days:float transit_days_sd:float mode",
    )


def _supplier(session: Session, partner_id: str, field: str) -> None:
    found = get_partner(session, partner_id)
    if not set(found.roles) & set(SUPPLIER_ROLES):
        raise ParameterError(
            field,
            f"partner {partner_id} supplies nothing (roles: {', '.join(found.roles)}); "
            f"it needs one of {', '.join(SUPPLIER_ROLES)}",
        )


def _nonnegative(name: str, value: float) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ParameterError(name, f"must be a finite number >= 0, got {value!r}")


# --- a network folder: lanes and sourcing_rules tables ------------------------------------------

LANES_TABLE = Table(
    "lanes",
    (
        Column("lane_id", Kind.ID),
        Column("destination_site_id", Kind.ID),
        Column("mode", Kind.ID),
        Column("transit_days", Kind.NONNEG),
        Column("origin_site_id", Kind.ID, False),
        Column("origin_partner_id", Kind.ID, False),
        Column("transit_days_sd", Kind.NONNEG, False),
        Column("carrier_id", Kind.ID, False),
        Column("distance_km", Kind.NONNEG, False),
        Column("cost_per_shipment", Kind.NONNEG, False),
        Column("cost_per_kg", Kind.NONNEG, False),
        Column("cost_per_unit", Kind.NONNEG, False),
        Column("active", Kind.BOOL, False),
        Column("tariff_lane", Kind.ID, False),
    ),
    key=("lane_id",),
)
RULES_TABLE = Table(
    "sourcing_rules",
    (
        Column("site_id", Kind.ID),
        Column("item_id", Kind.ID, False),
        Column("rank", Kind.NONNEG, False),
        Column("share", Kind.NONNEG, False),
        Column("source_site_id", Kind.ID, False),
        Column("supplier_id", Kind.ID, False),
        Column("lane_id", Kind.ID, False),
    ),
)


def load_folder(session: Session, folder: Path) -> dict[str, int]:
    """Add the lanes and sourcing rules of ``folder`` (tables ``lanes`` and
    ``sourcing_rules``, .csv, .parquet or .xlsx; either may be absent) in the caller's
    transaction: every row or none. InputError names file, row and column of each fault."""
    if not folder.is_dir():
        raise NotFound(f"{folder}: not a folder (expected lanes and sourcing_rules tables)")
    paths = {t.name: find_table(folder, t.name) for t in (LANES_TABLE, RULES_TABLE)}
    if not any(paths.values()):
        raise NotFound(f"{folder}: no lanes or sourcing_rules table (.csv, .parquet or .xlsx)")
    log = FaultLog(cap=50)
    frames: dict[str, pl.DataFrame] = {}
    for table in (LANES_TABLE, RULES_TABLE):
        path = paths[table.name]
        if path is not None:
            parsed = read_table(path, table, log)
            if parsed is not None and parsed.complete:
                frames[table.name] = parsed.frame.with_row_index("_row", offset=2)
    if log.total:
        raise InputError(log.faults, log.truncated)
    counts = {"lanes": 0, "sourcing_rules": 0}

    def apply(name: str, row: dict[str, Any], add: Any) -> None:
        try:
            with session.begin_nested():
                add()
            counts[name] += 1
        except (ParameterError, NotFound, Conflict) as exc:
            column = getattr(exc, "name", None) or getattr(exc, "field", None)
            message = str(exc).removeprefix(f"{column}: ") if column else str(exc)
            where = paths[name]
            file = where.name if where is not None else name
            log.add(Fault(file, message, row=int(row["_row"]), column=column))

    for row in frames.get("lanes", pl.DataFrame()).iter_rows(named=True):
        given = {k: v for k, v in row.items() if k in LaneIn.__dataclass_fields__ and v is not None}
        apply("lanes", row, lambda g=given: add_lane(session, LaneIn(**g)))
    for row in frames.get("sourcing_rules", pl.DataFrame()).iter_rows(named=True):
        given = {k: v for k, v in row.items() if k in RuleIn.__dataclass_fields__ and v is not None}
        if "rank" in given:
            given["rank"] = (
                int(given["rank"]) if float(given["rank"]).is_integer() else given["rank"]
            )
        apply("sourcing_rules", row, lambda g=given: add_rule(session, RuleIn(**g)))
    if log.total:
        raise InputError(log.faults, log.truncated)
    return counts
