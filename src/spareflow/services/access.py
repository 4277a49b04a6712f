"""Who may do what where: object- and function-level checks in one place.

Every route calls one of these before acting, so the rules (OWASP API1 object level, API5
function level) are written once. Objects outside the caller's sites are reported as not
found, so their existence does not leak; actions the role may not take are Forbidden.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from spareflow.errors import NotFound
from spareflow.services import orders, work_orders
from spareflow.services.users import Principal
from spareflow.store.models import Lane, Location, Move, Shipment

# order actions that plan (planner) vs handle goods (storekeeper)
PLAN_ACTIONS = frozenset({"confirm", "release", "allocate", "cancel", "close"})
HANDLE_ACTIONS = frozenset(
    {"receive", "ship", "depart", "pick", "deliver", "send", "return", "condemn"}
)
# which site a transfer action happens at: the source ships, the destination receives
SOURCE_SIDE = frozenset({"release", "ship", "depart"})


def move_guard(who: Principal) -> Callable[[str | None], None]:
    """For ``ledger.post(guard=...)``: the caller may post moves (checked now), and every
    site the moves touch must be theirs (checked by the ledger as it loads the locations,
    without a query of its own)."""
    who.require("moves.write")
    return who.require_site


def move_for(session: Session, who: Principal, move_id: int) -> Move:
    move = session.get(Move, move_id)
    if move is None:
        raise NotFound(f"move {move_id} does not exist")
    sites = session.scalars(
        select(Location.site_id).where(
            Location.location_id.in_([move.from_location_id, move.to_location_id])
        )
    )
    if not all(who.sees(s) for s in sites):
        raise NotFound(f"move {move_id} does not exist")
    return move


def check_sites(who: Principal, action: str, *site_ids: str | None) -> None:
    """The caller may take ``action`` and every site named is theirs (None: no site, a
    supplier end, say): new orders, lanes, sourcing rules and shipments."""
    who.require(action)
    for site_id in site_ids:
        if site_id is not None:
            who.require_site(site_id)


def check_new_order(who: Principal, kind: str, site_id: str, source_site_id: str | None) -> None:
    check_sites(
        who, "repair.create" if kind == "repair" else "orders.plan", site_id, source_site_id
    )


def order_for(
    session: Session, who: Principal, order_id: int, action: str | None = None
) -> orders.OrderView:
    """The order if the caller may see it (and take ``action`` on it)."""
    view = orders.get(session, order_id)
    order = view.order
    ends = [s for s in (order.site_id, order.source_site_id) if s is not None]
    if not any(who.sees(s) for s in ends):
        raise NotFound(f"order {order_id} does not exist")
    if action is None:
        return view
    if order.kind == "repair" and action in ("cancel",):
        who.require("repair.create")
    elif action in PLAN_ACTIONS:
        who.require("orders.plan")
    else:
        who.require("orders.handle")
    acting_site = (
        order.source_site_id
        if order.kind == "transfer" and action in SOURCE_SIDE
        else order.site_id
    )
    who.require_site(acting_site)
    return view


def check_new_work_order(session: Session, who: Principal, asset_id: str) -> None:
    from spareflow.services.master import get_asset

    who.require("work_orders.write")
    asset = get_asset(session, asset_id)
    if not who.sees(asset.site_id):
        raise NotFound(f"asset {asset_id!r} does not exist")


def work_order_for(
    session: Session, who: Principal, work_order_id: int, action: str | None = None
) -> work_orders.WorkOrderView:
    view = work_orders.get(session, work_order_id)
    if not who.sees(view.work_order.site_id):
        raise NotFound(f"work order {work_order_id} does not exist")
    if action is not None:
        who.require("work_orders.issue" if action == "issue_parts" else "work_orders.write")
    return view


def lane_for(session: Session, who: Principal, lane_id: str) -> Lane:
    lane = session.get(Lane, lane_id)
    if lane is None or not (
        who.sees(lane.destination_site_id)
        or (lane.origin_site_id is not None and who.sees(lane.origin_site_id))
    ):
        raise NotFound(f"lane {lane_id!r} does not exist")
    return lane


def shipment_for(session: Session, who: Principal, shipment_id: str) -> Shipment:
    """The shipment if either end is the caller's."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or not (
        who.sees(shipment.origin_site_id) or who.sees(shipment.destination_site_id)
    ):
        raise NotFound(f"shipment {shipment_id!r} does not exist")
    return shipment
