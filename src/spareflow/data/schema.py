"""The planning dataset contract: tables, columns, their kinds, keys and references.

Mirrors the table in ``shared/design.md`` ("Planning dataset"). Unknown columns are kept
and passed through. ``introduction_date`` on items is our extension: where given, an
item's demand series is zero-filled from that date instead of the dataset's first period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Kind(Enum):
    """How a column's text is parsed and checked."""

    ID = "id"  # non-empty text
    TEXT = "text"  # any text, may be empty
    NUMBER = "number"  # any real number
    NONNEG = "nonneg"  # real number >= 0
    SHARE = "share"  # real number in [0, 1]
    DATE = "date"  # ISO date (time of day allowed and dropped)
    TIME = "time"  # ISO timestamp, or a plain number (cycles, hours)
    BOOL = "bool"  # true/false, yes/no, 1/0


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    required: bool = True


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the dataset.

    ``key``: columns whose combination must be unique. ``references``: column -> table
    whose id it must name (``items`` or ``sites``); empty cells are allowed in optional
    reference columns. ``one_of``: at least one of these columns must be present.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    references: dict[str, str] = field(default_factory=dict)
    one_of: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None


def _req(name: str, kind: Kind) -> Column:
    return Column(name, kind, True)


def _opt(name: str, kind: Kind) -> Column:
    return Column(name, kind, False)


ITEMS = Table(
    "items",
    (
        _req("item_id", Kind.ID),
        _req("unit_cost", Kind.NONNEG),
        _opt("description", Kind.TEXT),
        _opt("criticality", Kind.TEXT),
        _opt("repairable", Kind.BOOL),
        _opt("unit_weight_kg", Kind.NONNEG),
        _opt("unit_volume_m3", Kind.NONNEG),
        _opt("replaced_by", Kind.ID),
        _opt("introduction_date", Kind.DATE),
    ),
    key=("item_id",),
    references={"replaced_by": "items"},
)

SITES = Table(
    "sites",
    (
        _req("site_id", Kind.ID),
        _opt("name", Kind.TEXT),
        _opt("kind", Kind.TEXT),
        _opt("parent_site_id", Kind.ID),
        _opt("latitude", Kind.NUMBER),
        _opt("longitude", Kind.NUMBER),
    ),
    key=("site_id",),
    references={"parent_site_id": "sites"},
)

DEMAND = Table(
    "demand",
    (
        _req("item_id", Kind.ID),
        _req("site_id", Kind.ID),
        _req("date", Kind.DATE),
        _req("quantity", Kind.NONNEG),
        _opt("order_id", Kind.TEXT),
    ),
    references={"item_id": "items", "site_id": "sites"},
)

STOCK = Table(
    "stock",
    (
        _req("item_id", Kind.ID),
        _req("site_id", Kind.ID),
        _req("on_hand", Kind.NONNEG),
        _opt("on_order", Kind.NONNEG),
        _opt("backorders", Kind.NONNEG),
    ),
    key=("item_id", "site_id"),
    references={"item_id": "items", "site_id": "sites"},
)

SOURCING = Table(
    "sourcing",
    (
        _req("item_id", Kind.ID),
        _req("site_id", Kind.ID),
        _req("lead_time_days", Kind.NONNEG),
        _opt("lead_time_sd_days", Kind.NONNEG),
        _opt("order_cost", Kind.NONNEG),
        _opt("holding_rate", Kind.NONNEG),
        _opt("moq", Kind.NONNEG),
        _opt("lot_size", Kind.NONNEG),
        _opt("supplier_id", Kind.TEXT),
    ),
    key=("item_id", "site_id"),
    references={"item_id": "items", "site_id": "sites"},
)

TARGETS = Table(
    "targets",
    (
        _opt("item_id", Kind.ID),
        _opt("criticality", Kind.TEXT),
        _req("target_fill_rate", Kind.SHARE),
        _opt("site_id", Kind.ID),
        _opt("target_availability", Kind.SHARE),
    ),
    key=("item_id", "criticality", "site_id"),
    references={"item_id": "items", "site_id": "sites"},
    one_of=("item_id", "criticality"),
)

ASSETS = Table(
    "assets",
    (
        _req("asset_id", Kind.ID),
        _req("site_id", Kind.ID),
        _req("model", Kind.ID),
        _opt("install_date", Kind.DATE),
        _opt("operating_hours", Kind.NONNEG),
        _opt("utilisation_hours_per_day", Kind.NONNEG),
    ),
    key=("asset_id",),
    references={"site_id": "sites"},
)

BILL_OF_POSITIONS = Table(
    "bill_of_positions",
    (
        _req("model", Kind.ID),
        _req("item_id", Kind.ID),
        _req("quantity_per_asset", Kind.NONNEG),
        _opt("indenture", Kind.NONNEG),
        _opt("parent_item_id", Kind.ID),
    ),
    key=("model", "item_id", "parent_item_id"),
    references={"item_id": "items", "parent_item_id": "items"},
)

REMOVALS = Table(
    "removals",
    (
        _req("asset_id", Kind.ID),
        _req("item_id", Kind.ID),
        _req("date", Kind.DATE),
        _req("kind", Kind.ID),
        _opt("operating_hours", Kind.NONNEG),
        _opt("repaired_at", Kind.TEXT),
    ),
    references={"item_id": "items"},
)

REPAIR = Table(
    "repair",
    (
        _req("item_id", Kind.ID),
        _req("site_id", Kind.ID),
        _req("repair_days", Kind.NONNEG),
        _req("repair_share", Kind.SHARE),
        _opt("condemnation_share", Kind.SHARE),
        _opt("repair_cost", Kind.NONNEG),
    ),
    key=("item_id", "site_id"),
    references={"item_id": "items", "site_id": "sites"},
)

TELEMETRY = Table(
    "telemetry",
    (
        _req("asset_id", Kind.ID),
        _req("time", Kind.TIME),
        _req("variable", Kind.ID),
        _req("value", Kind.NUMBER),
        _opt("unit", Kind.TEXT),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ITEMS,
        SITES,
        DEMAND,
        STOCK,
        SOURCING,
        TARGETS,
        ASSETS,
        BILL_OF_POSITIONS,
        REMOVALS,
        REPAIR,
        TELEMETRY,
    )
}

#: A demand table given alone (``spareflow forecast``): site_id optional, no references.
STANDALONE_DEMAND = Table(
    "demand",
    (
        _req("item_id", Kind.ID),
        _opt("site_id", Kind.ID),
        _req("date", Kind.DATE),
        _req("quantity", Kind.NONNEG),
        _opt("order_id", Kind.TEXT),
    ),
)

#: Parameters of ``spareflow policy``: one exact cost-optimal policy per row.
POLICY_PARAMS = Table(
    "params",
    (
        _req("item_id", Kind.ID),
        _req("policy", Kind.TEXT),
        _req("demand_mean", Kind.NONNEG),
        _req("lead_time", Kind.NONNEG),
        _req("holding_cost", Kind.NONNEG),
        _req("stockout_cost", Kind.NONNEG),
        _req("fixed_cost", Kind.NONNEG),
    ),
    key=("item_id",),
)

#: Handling units to classify (``spareflow freight-class``): inches and pounds, pallet and
#: overhang included; ``ship_date`` picks the density scale in force (absent: today's).
HANDLING_UNITS = Table(
    "units",
    (
        _req("unit_id", Kind.ID),
        _req("length_in", Kind.NONNEG),
        _req("width_in", Kind.NONNEG),
        _req("height_in", Kind.NONNEG),
        _req("weight_lb", Kind.NONNEG),
        _opt("ship_date", Kind.DATE),
    ),
    key=("unit_id",),
)

#: Freight lines to rate (``spareflow rate``): one row per handling unit or freight line,
#: pounds and inches; every line of a shipment on one lane of the tariff. The class is
#: ``freight_class`` where given (a fixed-class item), else from density on the scale in
#: force on ``ship_date``; ``accessorials`` are names separated by ";", charged once per
#: shipment; ``miles`` (the same on every line of a shipment) also prices a truckload.
RATE_LINES = Table(
    "lines",
    (
        _req("shipment_id", Kind.ID),
        _req("lane", Kind.ID),
        _req("weight_lb", Kind.NONNEG),
        _opt("freight_class", Kind.TEXT),
        _opt("length_in", Kind.NONNEG),
        _opt("width_in", Kind.NONNEG),
        _opt("height_in", Kind.NONNEG),
        _opt("ship_date", Kind.DATE),
        _opt("accessorials", Kind.TEXT),
        _opt("miles", Kind.NONNEG),
    ),
)

#: Stops to route (``spareflow route``): coordinates in degrees, loads in the vehicles'
#: capacity unit, windows as HH:MM of the planning day (service starts within them).
STOPS = Table(
    "stops",
    (
        _req("stop_id", Kind.ID),
        _req("lat", Kind.NUMBER),
        _req("lon", Kind.NUMBER),
        _req("delivery", Kind.NONNEG),
        _opt("pickup", Kind.NONNEG),
        _req("window_open", Kind.TEXT),
        _req("window_close", Kind.TEXT),
        _opt("service_minutes", Kind.NONNEG),
    ),
    key=("stop_id",),
)

#: Order lines to promise (``spareflow promise``): quantity in the item's unit, wanted the
#: date it is wanted (absent: today), priority 1 (most urgent) to 9, promised in that order.
PROMISE_LINES = Table(
    "lines",
    (
        _req("item_id", Kind.ID),
        _req("site_id", Kind.ID),
        _req("quantity", Kind.NONNEG),
        _opt("wanted", Kind.DATE),
        _opt("priority", Kind.NONNEG),
        _opt("line_id", Kind.ID),
    ),
)

#: Tables a planning dataset must have.
REQUIRED_TABLES: tuple[str, ...] = ("items", "sites", "demand")

#: File endings read, in order of preference when a table exists in several formats.
SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".xlsx")
