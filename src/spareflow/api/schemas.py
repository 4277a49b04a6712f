"""Request and response bodies. Inputs forbid unknown fields (no mass assignment);
quantities and money are exact decimals, sent back as strings so no digit is lost."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from spareflow.services.ledger import fmt

Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, strip_whitespace=False, pattern=r"^\S(.*\S)?$"),
]
Qty = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
# outputs: exact decimals as strings people write ("2.5", "10"), never floats
Dec = Annotated[Decimal, PlainSerializer(fmt, return_type=str, when_used="json")]
T = TypeVar("T")


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# --- master data ------------------------------------------------------------------------


class ItemIn(In):
    item_id: Id
    unit_cost: Money = Decimal(0)
    description: Annotated[str, Field(max_length=200)] = ""
    unit_of_measure: Annotated[str, Field(min_length=1, max_length=16)] = "EA"
    criticality: Annotated[str | None, Field(max_length=32)] = None
    repairable: bool = False
    serialised: bool = False
    replaced_by: Id | None = None
    interchangeability: Literal["one-way", "two-way"] | None = None
    unit_weight_kg: Annotated[float | None, Field(ge=0)] = None
    unit_volume_m3: Annotated[float | None, Field(ge=0)] = None


class ItemOut(Out):
    item_id: str
    unit_cost: Dec
    description: str
    unit_of_measure: str
    criticality: str | None
    repairable: bool
    serialised: bool
    replaced_by: str | None
    interchangeability: str | None
    unit_weight_kg: float | None
    unit_volume_m3: float | None


class SiteIn(In):
    site_id: Id
    name: Annotated[str, Field(max_length=200)] = ""
    kind: Annotated[str | None, Field(max_length=32)] = None
    parent_site_id: Id | None = None
    latitude: Annotated[float | None, Field(ge=-90, le=90)] = None
    longitude: Annotated[float | None, Field(ge=-180, le=180)] = None
    allow_negative_stock: bool = False


class SiteOut(Out):
    site_id: str
    name: str
    kind: str | None
    parent_site_id: str | None
    latitude: float | None
    longitude: float | None
    allow_negative_stock: bool


class LocationIn(In):
    location_id: Id
    site_id: Id
    kind: Literal["internal", "repair", "scrap", "transit"] = "internal"
    name: Annotated[str, Field(max_length=200)] = ""


class LocationOut(Out):
    location_id: str
    site_id: str | None
    kind: str
    name: str


class PartnerIn(In):
    partner_id: Id
    roles: Annotated[
        list[
            Literal[
                "supplier", "manufacturer", "distributor", "customer", "repair_vendor", "carrier"
            ]
        ],
        Field(min_length=1, max_length=6),
    ]
    name: Annotated[str, Field(max_length=200)] = ""
    lead_time_days: Annotated[float | None, Field(ge=0)] = None


class PartnerOut(Out):
    partner_id: str
    name: str
    roles: list[str]
    lead_time_days: float | None


class PositionIn(In):
    position: Annotated[str, Field(min_length=1, max_length=64)]
    item_id: Id
    quantity: Qty = Decimal(1)


class AssetIn(In):
    asset_id: Id
    site_id: Id
    model: Annotated[str, Field(min_length=1, max_length=64)]
    serial_number: Annotated[str | None, Field(max_length=64)] = None
    install_date: date | None = None
    operating_hours: Annotated[float | None, Field(ge=0)] = None
    utilisation_hours_per_day: Annotated[float | None, Field(ge=0, le=24)] = None
    positions: Annotated[list[PositionIn], Field(max_length=1000)] = []


class PositionOut(Out):
    position: str
    item_id: str
    quantity: Dec
    installed_serial: str | None


class AssetOut(Out):
    asset_id: str
    site_id: str
    model: str
    serial_number: str | None
    install_date: date | None
    operating_hours: float | None
    utilisation_hours_per_day: float | None
    status: str
    positions: list[PositionOut] = []


# --- ledger ------------------------------------------------------------------------------------


class MoveIn(In):
    item_id: Id
    quantity: Qty
    from_location_id: Id
    to_location_id: Id
    reason: Literal[
        "receipt", "issue", "transfer", "adjustment", "scrap", "status_change", "return", "removal"
    ]
    reference: Annotated[str, Field(max_length=100)] = ""
    lot: Annotated[str, Field(max_length=64)] = ""
    serial: Annotated[str, Field(max_length=64)] = ""
    from_status: Literal["serviceable", "unserviceable"] = "serviceable"
    to_status: Literal["serviceable", "unserviceable"] = "serviceable"
    moved_at: AwareDatetime | None = None


class MovesIn(In):
    """Moves posted together: all of them or none."""

    moves: Annotated[list[MoveIn], Field(min_length=1, max_length=1000)]


class BulkMovesIn(In):
    """Many moves posted together (all or none), e.g. a day's scans or an inventory count."""

    moves: Annotated[list[MoveIn], Field(min_length=1, max_length=50_000)]


class BulkMovesOut(BaseModel):
    posted: int


class ReversalIn(In):
    note: Annotated[str, Field(max_length=100)] = ""


class MoveOut(Out):
    move_id: int
    item_id: str
    quantity: Dec
    from_location_id: str
    to_location_id: str
    from_status: str
    to_status: str
    lot: str
    serial: str
    reason: str
    reference: str
    order_line_id: int | None
    work_order_id: int | None
    reverses_move_id: int | None
    moved_at: datetime
    recorded_at: datetime
    username: str


class StockOut(Out):
    item_id: str
    location_id: str
    site_id: str | None
    status: str
    on_hand: Dec
    reserved: Dec
    available: Dec


class UnitStockOut(Out):
    item_id: str
    location_id: str
    site_id: str | None
    lot: str
    serial: str
    status: str
    on_hand: Dec


# --- orders ------------------------------------------------------------------------------------


class LineIn(In):
    item_id: Id
    quantity: Qty
    unit_price: Money | None = None
    due_date: date | None = None
    serial: Annotated[str, Field(max_length=64)] = ""


class OrderIn(In):
    kind: Literal["purchase", "transfer", "customer", "repair"]
    site_id: Id
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=1000)]
    partner_id: Id | None = None
    source_site_id: Id | None = None
    priority: Annotated[int, Field(ge=1, le=9)] = 3
    promised_date: date | None = None
    note: Annotated[str, Field(max_length=2000)] = ""


class LineOut(Out):
    line_id: int
    line_no: int
    item_id: str
    quantity: Dec
    unit_price: Dec | None
    due_date: date | None
    serial: str
    quantity_allocated: Dec
    quantity_shipped: Dec
    quantity_received: Dec
    delivered_right_first_time: bool | None


class OrderOut(Out):
    order_id: int
    number: str
    kind: str
    status: str
    site_id: str
    source_site_id: str | None
    partner_id: str | None
    priority: int
    promised_date: date | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    note: str
    lines: list[LineOut] = []


class ReceivedLine(In):
    item_id: Id | None = None
    quantity: Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=3)] | None = None


class OrderActionIn(In):
    """Options of an order action; which apply depends on the action (see the route)."""

    quantities: Annotated[dict[int, Qty] | None, Field(max_length=1000)] = None
    location_id: Id | None = None
    received: Annotated[dict[int, ReceivedLine] | None, Field(max_length=1000)] = None
    reason: Annotated[str, Field(max_length=500)] = ""
    at: AwareDatetime | None = None


class OrderEventOut(Out):
    event_id: int
    action: str
    from_status: str | None
    to_status: str
    at: datetime
    username: str
    detail: dict[str, Any]


# --- work orders -------------------------------------------------------------------------------


class PartNeedIn(In):
    item_id: Id
    quantity: Qty


class WorkOrderIn(In):
    asset_id: Id
    kind: Literal["failure", "planned"]
    parts: Annotated[list[PartNeedIn], Field(max_length=200)] = []
    priority: Annotated[int | None, Field(ge=1, le=9)] = None
    description: Annotated[str, Field(max_length=2000)] = ""
    failed_at: AwareDatetime | None = None


class RemovedUnitIn(In):
    item_id: Id
    quantity: Qty = Decimal(1)
    serial: Annotated[str, Field(max_length=64)] = ""


class WorkOrderActionIn(In):
    removed: Annotated[list[RemovedUnitIn], Field(max_length=200)] = []
    partial: bool = False
    at: AwareDatetime | None = None


class PartOut(Out):
    part_id: int
    item_id: str
    quantity_required: Dec
    quantity_issued: Dec


class WorkOrderOut(Out):
    work_order_id: int
    number: str
    asset_id: str
    site_id: str
    kind: str
    status: str
    priority: int
    description: str
    opened_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    downtime_start: datetime | None
    downtime_end: datetime | None
    waiting_hours: float
    parts: list[PartOut] = []


# --- users and tokens --------------------------------------------------------------------------


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserIn(In):
    username: Id
    password: Annotated[str, Field(min_length=12, max_length=200)]
    role: Literal["admin", "planner", "storekeeper", "technician", "viewer"]
    sites: Annotated[list[Id], Field(max_length=1000)] = []


class UserPatchIn(In):
    role: Literal["admin", "planner", "storekeeper", "technician", "viewer"] | None = None
    sites: Annotated[list[Id] | None, Field(max_length=1000)] = None
    active: bool | None = None
    password: Annotated[str | None, Field(min_length=12, max_length=200)] = None


class UserOut(BaseModel):
    username: str
    role: str
    sites: list[str]
    active: bool = True


class ApiTokenIn(In):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class ApiTokenOut(Out):
    token_id: int
    username: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="the secret, shown only once")
