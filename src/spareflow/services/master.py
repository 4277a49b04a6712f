"""Master data: items, sites and their locations, partners, assets and their part positions.

Each create checks the references it makes (a replacing item, a parent site, an asset's
site) and refuses duplicates with a Conflict naming the field, so that an API or import
can report it as the user's error.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.errors import Conflict, NotFound, ParameterError
from spareflow.services.ledger import quantity
from spareflow.store.models import (
    LOCATION_KINDS,
    PARTNER_ROLES,
    Asset,
    AssetPosition,
    Item,
    Location,
    Partner,
    Site,
)


def default_location_id(site_id: str) -> str:
    """The internal stock location every site gets on creation."""
    return f"{site_id}/STOCK"


def add_item(
    session: Session,
    item_id: str,
    *,
    unit_cost: Decimal | float | str = 0,
    description: str = "",
    unit_of_measure: str = "EA",
    criticality: str | None = None,
    repairable: bool = False,
    serialised: bool = False,
    replaced_by: str | None = None,
    interchangeability: str | None = None,
    unit_weight_kg: float | None = None,
    unit_volume_m3: float | None = None,
) -> Item:
    _key("item_id", item_id)
    if session.get(Item, item_id) is not None:
        raise Conflict(f"item {item_id!r} already exists", "item_id")
    cost = Decimal(str(unit_cost))
    if not cost.is_finite() or cost < 0:
        raise ParameterError("unit_cost", f"must be a number >= 0, got {unit_cost!r}")
    if replaced_by is not None:
        if replaced_by == item_id:
            raise ParameterError("replaced_by", "an item cannot replace itself")
        if session.get(Item, replaced_by) is None:
            raise NotFound(f"replaced_by: item {replaced_by!r} does not exist")
    if interchangeability not in (None, "one-way", "two-way"):
        raise ParameterError(
            "interchangeability", f"one-way or two-way, got {interchangeability!r}"
        )
    if interchangeability is not None and replaced_by is None:
        raise ParameterError("interchangeability", "needs replaced_by (the superseding item)")
    item = Item(
        item_id=item_id,
        unit_cost=cost,
        description=description,
        unit_of_measure=unit_of_measure,
        criticality=criticality,
        repairable=repairable,
        serialised=serialised,
        replaced_by=replaced_by,
        interchangeability=interchangeability or ("one-way" if replaced_by else None),
        unit_weight_kg=unit_weight_kg,
        unit_volume_m3=unit_volume_m3,
    )
    session.add(item)
    session.flush()
    return item


def substitutes(session: Session, item_id: str) -> list[str]:
    """Items that may be used for ``item_id``: its superseding chain, then two-way partners."""
    out: list[str] = []
    item = get_item(session, item_id)
    nxt = item.replaced_by
    while nxt is not None and nxt not in out and nxt != item_id:
        out.append(nxt)
        nxt = get_item(session, nxt).replaced_by
    for older in session.scalars(
        select(Item).where(Item.replaced_by == item_id, Item.interchangeability == "two-way")
    ):
        if older.item_id not in out:
            out.append(older.item_id)
    return out


def get_item(session: Session, item_id: str) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id!r} does not exist")
    return item


def add_site(
    session: Session,
    site_id: str,
    *,
    name: str = "",
    kind: str | None = None,
    parent_site_id: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    allow_negative_stock: bool = False,
) -> Site:
    """A site and its default internal location ``{site_id}/STOCK``."""
    _key("site_id", site_id)
    if session.get(Site, site_id) is not None:
        raise Conflict(f"site {site_id!r} already exists", "site_id")
    if parent_site_id is not None and session.get(Site, parent_site_id) is None:
        raise NotFound(f"parent_site_id: site {parent_site_id!r} does not exist")
    if latitude is not None and not -90 <= latitude <= 90:
        raise ParameterError("latitude", f"must be within [-90, 90], got {latitude}")
    if longitude is not None and not -180 <= longitude <= 180:
        raise ParameterError("longitude", f"must be within [-180, 180], got {longitude}")
    site = Site(
        site_id=site_id,
        name=name,
        kind=kind,
        parent_site_id=parent_site_id,
        latitude=latitude,
        longitude=longitude,
        allow_negative_stock=allow_negative_stock,
    )
    session.add(site)
    session.flush()
    session.add(
        Location(
            location_id=default_location_id(site_id),
            site_id=site_id,
            kind="internal",
            name=f"{site_id} stock",
        )
    )
    session.flush()
    return site


def get_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"site {site_id!r} does not exist")
    return site


def add_location(
    session: Session, location_id: str, site_id: str, *, kind: str = "internal", name: str = ""
) -> Location:
    _key("location_id", location_id)
    if kind not in LOCATION_KINDS:
        raise ParameterError("kind", f"one of {', '.join(LOCATION_KINDS)}, got {kind!r}")
    get_site(session, site_id)
    if session.get(Location, location_id) is not None:
        raise Conflict(f"location {location_id!r} already exists", "location_id")
    location = Location(location_id=location_id, site_id=site_id, kind=kind, name=name)
    session.add(location)
    session.flush()
    return location


def get_location(session: Session, location_id: str) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound(f"location {location_id!r} does not exist")
    return location


def add_partner(
    session: Session,
    partner_id: str,
    roles: list[str],
    *,
    name: str = "",
    lead_time_days: float | None = None,
) -> Partner:
    _key("partner_id", partner_id)
    if session.get(Partner, partner_id) is not None:
        raise Conflict(f"partner {partner_id!r} already exists", "partner_id")
    bad = [r for r in roles if r not in PARTNER_ROLES]
    if bad or not roles:
        raise ParameterError("roles", f"one or more of {', '.join(PARTNER_ROLES)}, got {roles!r}")
    if lead_time_days is not None and lead_time_days < 0:
        raise ParameterError("lead_time_days", f"must be >= 0, got {lead_time_days}")
    partner = Partner(
        partner_id=partner_id, name=name, roles=sorted(set(roles)), lead_time_days=lead_time_days
    )
    session.add(partner)
    session.flush()
    return partner


def get_partner(session: Session, partner_id: str, role: str | None = None) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"partner {partner_id!r} does not exist")
    if role is not None and role not in partner.roles:
        raise ParameterError(
            "partner_id",
            f"partner {partner_id} is not a {role} (roles: {', '.join(partner.roles)})",
        )
    return partner


def add_asset(
    session: Session,
    asset_id: str,
    site_id: str,
    model: str,
    *,
    serial_number: str | None = None,
    install_date: date | None = None,
    operating_hours: float | None = None,
    utilisation_hours_per_day: float | None = None,
    positions: dict[str, tuple[str, Decimal | int]] | None = None,
) -> Asset:
    """An asset with its part positions: ``{position: (item_id, quantity)}``."""
    _key("asset_id", asset_id)
    if session.get(Asset, asset_id) is not None:
        raise Conflict(f"asset {asset_id!r} already exists", "asset_id")
    get_site(session, site_id)
    if serial_number is not None and session.scalar(
        select(Asset.asset_id).where(Asset.serial_number == serial_number)
    ):
        raise Conflict(f"serial number {serial_number!r} belongs to another asset", "serial_number")
    for field, value in (
        ("operating_hours", operating_hours),
        ("utilisation_hours_per_day", utilisation_hours_per_day),
    ):
        if value is not None and value < 0:
            raise ParameterError(field, f"must be >= 0, got {value}")
    if utilisation_hours_per_day is not None and utilisation_hours_per_day > 24:
        raise ParameterError(
            "utilisation_hours_per_day", f"at most 24, got {utilisation_hours_per_day}"
        )
    asset = Asset(
        asset_id=asset_id,
        site_id=site_id,
        model=model,
        serial_number=serial_number,
        install_date=install_date,
        operating_hours=operating_hours,
        utilisation_hours_per_day=utilisation_hours_per_day,
    )
    session.add(asset)
    session.flush()
    for position, (item_id, amount) in (positions or {}).items():
        get_item(session, item_id)
        q = quantity(amount, "positions.quantity")
        if q <= 0:
            raise ParameterError("positions.quantity", f"must be > 0 at {position}, got {q}")
        session.add(
            AssetPosition(asset_id=asset_id, position=position, item_id=item_id, quantity=q)
        )
    session.flush()
    return asset


def get_asset(session: Session, asset_id: str) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"asset {asset_id!r} does not exist")
    return asset


def _key(field: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 64 or value != value.strip():
        raise ParameterError(field, f"a non-empty id of at most 64 characters, got {value!r}")
