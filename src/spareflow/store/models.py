"""The operations store: master data, the inventory ledger, orders and work orders.

Business keys (item_id, site_id, location_id, partner_id, asset_id, username) are the
primary keys of master data, as in the planning dataset, so that files, the API and the
store all name things the same way. Moves are append-only: the migrations install
triggers that refuse UPDATE and DELETE on them, in SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from spareflow.store.types import Money, Quantity, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LOCATION_KINDS = (
    "internal",
    "supplier",
    "customer",
    "scrap",
    "repair",
    "adjustment",
    "transit",
    "consumption",
)
PARTNER_ROLES = ("supplier", "manufacturer", "distributor", "customer", "repair_vendor", "carrier")
ROLES = ("admin", "planner", "storekeeper", "technician", "viewer")
STOCK_STATUSES = ("serviceable", "unserviceable")
ORDER_KINDS = ("purchase", "transfer", "customer", "repair")

Key = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- master data ------------------------------------------------------------------------


class Item(Base):
    __tablename__ = "items"

    item_id: Mapped[str] = mapped_column(Key, primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    unit_of_measure: Mapped[str] = mapped_column(String(16), default="EA")
    unit_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    criticality: Mapped[str | None] = mapped_column(String(32))
    repairable: Mapped[bool] = mapped_column(Boolean, default=False)
    serialised: Mapped[bool] = mapped_column(Boolean, default=False)
    replaced_by: Mapped[str | None] = mapped_column(ForeignKey("items.item_id"))
    # one-way: the new part may replace the old, not back; two-way: either replaces either
    interchangeability: Mapped[str | None] = mapped_column(String(8))
    unit_weight_kg: Mapped[float | None] = mapped_column(Float)
    unit_volume_m3: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        CheckConstraint(
            "interchangeability IS NULL OR interchangeability IN ('one-way', 'two-way')",
            name="interchangeability_kind",
        ),
        CheckConstraint("replaced_by IS NULL OR replaced_by <> item_id", name="not_self"),
    )


class Site(Base):
    __tablename__ = "sites"

    site_id: Mapped[str] = mapped_column(Key, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str | None] = mapped_column(String(32))
    parent_site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    allow_negative_stock: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Location(Base):
    """A place stock can be: a bin or store at a site, or a virtual source or sink."""

    __tablename__ = "locations"

    location_id: Mapped[str] = mapped_column(Key, primary_key=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in LOCATION_KINDS) + ")", name="kind"
        ),
        CheckConstraint("kind <> 'internal' OR site_id IS NOT NULL", name="internal_at_site"),
    )


class Partner(Base):
    __tablename__ = "partners"

    partner_id: Mapped[str] = mapped_column(Key, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    lead_time_days: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Asset(Base):
    """A piece of equipment at a site: the installed base."""

    __tablename__ = "assets"

    asset_id: Mapped[str] = mapped_column(Key, primary_key=True)
    serial_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    model: Mapped[str] = mapped_column(String(64))
    install_date: Mapped[date | None] = mapped_column(Date)
    operating_hours: Mapped[float | None] = mapped_column(Float)
    utilisation_hours_per_day: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="operating")

    __table_args__ = (CheckConstraint("status IN ('operating', 'down', 'retired')", name="status"),)


class AssetPosition(Base):
    """A part position on an asset (e.g. engine 2's fuel pump) and the part fitted there."""

    __tablename__ = "asset_positions"

    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id"), primary_key=True)
    position: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.item_id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(1))
    installed_serial: Mapped[str | None] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(Key, primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role"),
    )


class UserSite(Base):
    """The sites a user may read and act on (admins see every site)."""

    __tablename__ = "user_sites"

    username: Mapped[str] = mapped_column(ForeignKey("users.username"), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), primary_key=True)


class ApiToken(Base):
    """A long-lived token for a machine, stored only as its SHA-256 hash."""

    __tablename__ = "api_tokens"

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- the ledger ---------------------------------------------------------------------------


class Move(Base):
    """One immutable change of stock: quantity of an item from one location to another."""

    __tablename__ = "moves"

    move_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.item_id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    from_location_id: Mapped[str] = mapped_column(ForeignKey("locations.location_id"))
    to_location_id: Mapped[str] = mapped_column(ForeignKey("locations.location_id"))
    from_status: Mapped[str] = mapped_column(String(16), default="serviceable")
    to_status: Mapped[str] = mapped_column(String(16), default="serviceable")
    lot: Mapped[str] = mapped_column(String(64), default="")
    serial: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(100), default="")
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.line_id"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.work_order_id"))
    reverses_move_id: Mapped[int | None] = mapped_column(ForeignKey("moves.move_id"), unique=True)
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "from_location_id <> to_location_id OR from_status <> to_status", name="moves_something"
        ),
        CheckConstraint("from_status IN ('serviceable', 'unserviceable')", name="from_status"),
        CheckConstraint("to_status IN ('serviceable', 'unserviceable')", name="to_status"),
        Index("ix_moves_item_moved_at", "item_id", "moved_at"),
        Index("ix_moves_moved_at", "moved_at"),  # period queries (KPIs, exports)
        Index("ix_moves_from_location", "from_location_id"),
        Index("ix_moves_to_location", "to_location_id"),
        Index("ix_moves_order_line", "order_line_id"),
    )


class Balance(Base):
    """On hand per item, location, lot, serial and status: the running sum of the moves.

    Kept in the same transaction as every move; ``spareflow.services.ledger.reconcile``
    proves it equal to the sum of the moves.
    """

    __tablename__ = "balances"

    item_id: Mapped[str] = mapped_column(ForeignKey("items.item_id"), primary_key=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.location_id"), primary_key=True)
    lot: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    serial: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    status: Mapped[str] = mapped_column(String(16), primary_key=True, default="serviceable")
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))

    __table_args__ = (Index("ix_balances_location", "location_id"),)


class Reservation(Base):
    """Serviceable stock held for an order line or a work order's part."""

    __tablename__ = "reservations"

    reservation_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.item_id"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.location_id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.line_id"))
    work_order_part_id: Mapped[int | None] = mapped_column(ForeignKey("work_order_parts.part_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_reservations_item_location", "item_id", "location_id"),
    )


# --- orders ---------------------------------------------------------------------------------


class Order(Base):
    """A purchase, transfer, customer or repair order with its lifecycle status."""

    __tablename__ = "orders"

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    # purchase, transfer, repair: the receiving site; customer: the shipping site
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    source_site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.partner_id"))
    priority: Mapped[int] = mapped_column(Integer, default=3)
    promised_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in ORDER_KINDS) + ")", name="kind"),
        CheckConstraint("priority BETWEEN 1 AND 9", name="priority"),
        Index("ix_orders_kind_status", "kind", "status"),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    line_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.order_id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.item_id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    due_date: Mapped[date | None] = mapped_column(Date)
    serial: Mapped[str] = mapped_column(String(64), default="")
    quantity_allocated: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    quantity_shipped: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    quantity_received: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    # customer orders: first delivery of this line had the right item and quantity
    delivered_right_first_time: Mapped[bool | None] = mapped_column(Boolean)
    first_receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("order_id", "line_no", name="uq_order_lines_order_line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class OrderEvent(Base):
    """Every status change of an order: who, when, from what to what."""

    __tablename__ = "order_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.order_id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- maintenance ------------------------------------------------------------------------------


class WorkOrder(Base):
    """A maintenance job on an asset: a failure repair or a planned task."""

    __tablename__ = "work_orders"

    work_order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer, default=3)
    description: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the asset was down from failure to completion (failures), or for the job (planned)
    downtime_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downtime_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_hours: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("kind IN ('failure', 'planned')", name="kind"),
        CheckConstraint("priority BETWEEN 1 AND 9", name="priority"),
    )


class WorkOrderPart(Base):
    __tablename__ = "work_order_parts"

    part_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.work_order_id"), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.item_id"))
    quantity_required: Mapped[Decimal] = mapped_column(Quantity)
    quantity_issued: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))

    __table_args__ = (CheckConstraint("quantity_required > 0", name="quantity_positive"),)


class WorkOrderEvent(Base):
    __tablename__ = "work_order_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.work_order_id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))


# --- plan runs ---------------------------------------------------------------------------------


class PlanRun(Base):
    """A stock plan computed from the store, kept so its orders can become drafts later."""

    __tablename__ = "plan_runs"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    item_sites: Mapped[int] = mapped_column(Integer, default=0)
    drafted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drafted_by: Mapped[str | None] = mapped_column(String(64))
    # sites whose orders were drafted (each site once; other sites may still draft theirs)
    drafted_sites: Mapped[list[str]] = mapped_column(JSON, default=list)


class PlanRunLine(Base):
    """One item-site of a plan run: its policy and the order to place now (0: none)."""

    __tablename__ = "plan_run_lines"

    run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.run_id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(Key, primary_key=True)
    site_id: Mapped[str] = mapped_column(Key, primary_key=True)
    policy: Mapped[str] = mapped_column(String(16))
    review_period_days: Mapped[float] = mapped_column(Float)
    lead_time_days: Mapped[float] = mapped_column(Float)
    reorder_point: Mapped[float] = mapped_column(Float)
    order_up_to: Mapped[float] = mapped_column(Float)
    order_quantity: Mapped[float] = mapped_column(Float)
    expected_fill_rate: Mapped[float] = mapped_column(Float)
    unit_cost: Mapped[float] = mapped_column(Float)
    on_hand: Mapped[float] = mapped_column(Float)
    order_now: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_plan_run_lines_run_site", "run_id", "site_id"),)


# --- API bookkeeping ----------------------------------------------------------------------------


class IdempotencyRecord(Base):
    """The first response to a create carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_keys"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method_path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppSetting(Base):
    """Store-wide settings that must survive restarts (e.g. the token signing key)."""

    __tablename__ = "app_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Counter(Base):
    """Document number sequences (PO-000001, WO-000001 ...), portable across backends."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


VIRTUAL_LOCATIONS = {
    "VIRTUAL/SUPPLIER": "supplier",
    "VIRTUAL/CUSTOMER": "customer",
    "VIRTUAL/SCRAP": "scrap",
    "VIRTUAL/REPAIR": "repair",
    "VIRTUAL/ADJUSTMENT": "adjustment",
    "VIRTUAL/TRANSIT": "transit",
    "VIRTUAL/CONSUMED": "consumption",
}


# --- shipments and tracking --------------------------------------------------------------

SHIPMENT_STATUSES = ("planned", "in_transit", "arrived", "delivered", "cancelled")
SHIPMENT_MODES = ("parcel", "ltl", "ftl", "air", "ocean")


class Shipment(Base):
    """Goods on their way from one site to another, with the tracker that travels with
    them and what tracking has learnt: departure, arrival, the current ETA, alerts."""

    __tablename__ = "shipments"

    shipment_id: Mapped[str] = mapped_column(Key, primary_key=True)
    origin_site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"))
    destination_site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"))
    mode: Mapped[str] = mapped_column(String(8))
    carrier_id: Mapped[str | None] = mapped_column(ForeignKey("partners.partner_id"))
    lane_id: Mapped[str | None] = mapped_column(ForeignKey("lanes.lane_id"))  # None: unknown
    status: Mapped[str] = mapped_column(String(16), default="planned")
    planned_departure: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_arrival: Mapped[datetime] = mapped_column(UTCDateTime)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime)
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    temperature_min: Mapped[float | None] = mapped_column(Float)
    temperature_max: Mapped[float | None] = mapped_column(Float)
    geofence_m: Mapped[float] = mapped_column(Float, default=1000.0)
    speed_kmh: Mapped[float] = mapped_column(Float, default=60.0)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    freight_cost: Mapped[Decimal | None] = mapped_column(Money)
    reference: Mapped[str] = mapped_column(String(100), default="")
    # tracking state: the last position by event time, open excursion, late alert raised
    position_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    temperature_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    excursion_open: Mapped[bool] = mapped_column(Boolean, default=False)
    late_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in SHIPMENT_STATUSES) + ")", name="status"
        ),
        CheckConstraint(
            "mode IN (" + ", ".join(f"'{m}'" for m in SHIPMENT_MODES) + ")", name="mode"
        ),
        CheckConstraint("planned_arrival >= planned_departure", name="arrival_after_departure"),
        CheckConstraint("geofence_m > 0 AND speed_kmh > 0", name="tracking_positive"),
        Index("ix_shipments_status", "status"),
    )


class ShipmentLeg(Base):
    """One leg of a shipment: a lane travelled by one mode and carrier."""

    __tablename__ = "shipment_legs"

    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.shipment_id"), primary_key=True)
    leg_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin_site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"))
    destination_site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"))
    mode: Mapped[str] = mapped_column(String(8))
    carrier_id: Mapped[str | None] = mapped_column(ForeignKey("partners.partner_id"))
    planned_departure: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_arrival: Mapped[datetime] = mapped_column(UTCDateTime)


class ShipmentOrder(Base):
    """An order carried by a shipment that ``spareflow shipments build`` made, with what
    it weighs, its handling units and what it would have cost shipped alone."""

    __tablename__ = "shipment_orders"

    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.shipment_id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.order_id"), primary_key=True)
    weight_kg: Mapped[float] = mapped_column(Float)
    handling_units: Mapped[int] = mapped_column(Integer)
    alone_cost: Mapped[Decimal] = mapped_column(Money)

    __table_args__ = (Index("ix_shipment_orders_order", "order_id", unique=True),)


class ShipmentEvent(Base):
    """A status change or alert on a shipment, at the event time that caused it."""

    __tablename__ = "shipment_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.shipment_id"))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_id: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_shipment_events_shipment_time", "shipment_id", "time"),)


class TelemetryMessage(Base):
    """One accepted MQTT telemetry message (design.md's payload), stored once per
    message_id: a redelivered or republished message is a duplicate."""

    __tablename__ = "telemetry_messages"

    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str] = mapped_column(String(255))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    shipment_id: Mapped[str | None] = mapped_column(String(64))
    asset_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_telemetry_messages_device_time", "device_id", "time"),)


class TelemetryReading(Base):
    """One reading of a message (variable and value), kept with its device and event time
    so that exports and condition models read in event order without a join."""

    __tablename__ = "telemetry_readings"

    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    variable: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_telemetry_readings_device_time", "device_id", "time"),)


class QuarantinedMessage(Base):
    """A message the ingest refused, kept with its topic, raw payload and the reason."""

    __tablename__ = "telemetry_quarantine"

    quarantine_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(500))


# --- GS1 EPCIS 2.0 --------------------------------------------------------------------------


class EpcisCapture(Base):
    """One POST /epcis/capture: the capture job the standard's REST bindings expose."""

    __tablename__ = "epcis_captures"

    capture_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    username: Mapped[str] = mapped_column(String(64))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class EpcisEvent(Base):
    """A captured EPCIS event, kept as the standard's JSON (field names never renamed)
    with the fields queries filter on pulled out beside it."""

    __tablename__ = "epcis_events"

    event_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("epcis_captures.capture_id"))
    event_type: Mapped[str] = mapped_column(String(32))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    record_time: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str | None] = mapped_column(String(8))
    biz_step: Mapped[str | None] = mapped_column(String(255))
    disposition: Mapped[str | None] = mapped_column(String(255))
    shipment_id: Mapped[str | None] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_epcis_events_event_time", "event_time"),
        Index("ix_epcis_events_record_time", "record_time"),
    )


LANE_MODES = SHIPMENT_MODES
PLANNED_ORDER_KINDS = ("purchase", "transfer")


class Lane(Base):
    """A way goods travel into a site: from another site or a supplier, by one mode, with
    its transit time (mean and spread, days) and cost model (per shipment, per kg, per
    unit). Sourcing rules and the DRP read their lead times from lanes."""

    __tablename__ = "lanes"

    lane_id: Mapped[str] = mapped_column(Key, primary_key=True)
    origin_site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))
    origin_partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.partner_id"))
    destination_site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    carrier_id: Mapped[str | None] = mapped_column(ForeignKey("partners.partner_id"))
    transit_days: Mapped[float] = mapped_column(Float)
    transit_days_sd: Mapped[float] = mapped_column(Float, default=0.0)
    distance_km: Mapped[float | None] = mapped_column(Float)
    cost_per_shipment: Mapped[float] = mapped_column(Float, default=0.0)
    cost_per_kg: Mapped[float] = mapped_column(Float, default=0.0)
    cost_per_unit: Mapped[float] = mapped_column(Float, default=0.0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the lane's name in an LTL class-rate tariff (e.g. a zone pair); None: its lane_id
    tariff_lane: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "(origin_site_id IS NULL) <> (origin_partner_id IS NULL)", name="one_origin"
        ),
        CheckConstraint("mode IN (" + ", ".join(f"'{m}'" for m in LANE_MODES) + ")", name="mode"),
        CheckConstraint("transit_days >= 0 AND transit_days_sd >= 0", name="transit"),
        CheckConstraint(
            "cost_per_shipment >= 0 AND cost_per_kg >= 0 AND cost_per_unit >= 0", name="cost"
        ),
    )


class SourcingRule(Base):
    """Where a site gets an item (or, with no item, every item without a rule of its
    own): rank 1 the primary sources, split by share; rank 2 and up the alternates, in
    order. Each rule names one source (a site or a supplier) and the lane it travels."""

    __tablename__ = "sourcing_rules"

    rule_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    item_id: Mapped[str | None] = mapped_column(ForeignKey("items.item_id"))
    rank: Mapped[int] = mapped_column(Integer, default=1)
    share: Mapped[float] = mapped_column(Float, default=1.0)
    source_site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))
    supplier_id: Mapped[str | None] = mapped_column(ForeignKey("partners.partner_id"))
    lane_id: Mapped[str] = mapped_column(ForeignKey("lanes.lane_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("(source_site_id IS NULL) <> (supplier_id IS NULL)", name="one_source"),
        CheckConstraint("rank >= 1 AND share > 0 AND share <= 1", name="rank_share"),
    )


class DrpRun(Base):
    """A distribution requirements plan computed from the store: its options (bucket,
    horizon, start) and summary; its planned orders and pegging are kept with it."""

    __tablename__ = "drp_runs"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    item_sites: Mapped[int] = mapped_column(Integer, default=0)


class DrpPlannedOrder(Base):
    """A planned order of a DRP run: a transfer from a source site or a purchase from a
    supplier, released on ``release_date`` to be received on ``receipt_date``; once
    released, the order it became."""

    __tablename__ = "drp_planned_orders"

    run_id: Mapped[int] = mapped_column(ForeignKey("drp_runs.run_id"), primary_key=True)
    planned_order_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(Key)
    site_id: Mapped[str] = mapped_column(Key)
    source_site_id: Mapped[str | None] = mapped_column(Key)
    supplier_id: Mapped[str | None] = mapped_column(Key)
    lane_id: Mapped[str | None] = mapped_column(Key)
    release_date: Mapped[date] = mapped_column(Date)
    receipt_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    past_due: Mapped[bool] = mapped_column(Boolean, default=False)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.order_id"))

    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in PLANNED_ORDER_KINDS) + ")", name="kind"
        ),
        Index("ix_drp_planned_orders_site", "run_id", "site_id"),
    )


class DrpPeg(Base):
    """One peg of a DRP run: a supply (on hand, a scheduled receipt, a planned order) at an
    item-site covering a demand (a customer order, a work order, a transfer out, a
    planned order of a site it resupplies, the forecast, the safety stock), or a demand
    left short (no supply) or a supply left over (no demand)."""

    __tablename__ = "drp_pegs"

    run_id: Mapped[int] = mapped_column(ForeignKey("drp_runs.run_id"), primary_key=True)
    peg_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str] = mapped_column(Key)
    site_id: Mapped[str] = mapped_column(Key)
    supply_kind: Mapped[str] = mapped_column(String(20))
    supply_ref: Mapped[str] = mapped_column(String(64), default="")
    supply_date: Mapped[date | None] = mapped_column(Date)
    demand_kind: Mapped[str] = mapped_column(String(20))
    demand_ref: Mapped[str] = mapped_column(String(64), default="")
    demand_date: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_drp_pegs_item_site", "run_id", "item_id", "site_id"),)
