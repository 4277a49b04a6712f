"""Plain postings in one round trip on PostgreSQL (the ``sf_post_moves`` function).

The ledger's Python path makes seven statements per posting; on a busy 2-core server
the round trips, not the checks, are the cost. Migration 0004 puts the same checks,
locks and writes in a server-side function for *plain* moves (no serial, reservation,
order line, work order or reversal). It answers no rows, having written nothing that
matters, whenever a check fails; the caller then takes the Python path, which finds the
same failure and names it, so an error reads the same on every backend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from spareflow.store.models import Move
from spareflow.store.types import QUANTITY_PLACES

if TYPE_CHECKING:
    from spareflow.services.ledger import MoveRequest

_POST = text(
    "SELECT * FROM sf_post_moves("
    "CAST(:moves AS jsonb), :recorded_at, :username, CAST(:sites AS text[]))"
)


def available(bind: Session | Connection | Engine) -> bool:
    """Whether this database has the function (PostgreSQL at revision 0004+)."""
    target = bind.get_bind() if isinstance(bind, Session) else bind
    return target.dialect.name == "postgresql"


def is_plain(request: MoveRequest) -> bool:
    """A move the function takes: no serial, reservation, order link or reversal (and
    no time without a zone, which the Python path refuses by name)."""
    return (
        not request.serial
        and request.reservation_id is None
        and request.order_line_id is None
        and request.work_order_id is None
        and request.reverses_move_id is None
        and (request.moved_at is None or request.moved_at.tzinfo is not None)
    )


def post(
    connection: Connection,
    requests: Sequence[MoveRequest],
    amounts: Sequence[Decimal],
    username: str,
    now: datetime,
    sites: Sequence[str] | None = None,
) -> tuple[list[Move], dict[str, str | None]] | None:
    """Post plain ``requests`` (quantities already parsed into ``amounts``) in one call;
    ``sites``: the only sites they may touch (None: any).

    Returns the moves written (detached, ids included) and the site of every location
    they touch, for the caller's site guard; or None when a check failed and nothing
    was posted."""
    rows = connection.execute(_POST, _params(requests, amounts, username, now, sites)).all()
    if not rows:
        return None
    moves, places = [], {}
    for row in rows:
        m = row._mapping
        places[m["from_location_id"]] = m["from_site_id"]
        places[m["to_location_id"]] = m["to_site_id"]
        moves.append(
            Move(
                move_id=m["move_id"],
                item_id=m["item_id"],
                quantity=Decimal(m["quantity"]).scaleb(-QUANTITY_PLACES),
                from_location_id=m["from_location_id"],
                to_location_id=m["to_location_id"],
                from_status=m["from_status"],
                to_status=m["to_status"],
                lot=m["lot"],
                serial=m["serial"],
                reason=m["reason"],
                reference=m["reference"],
                order_line_id=None,
                work_order_id=None,
                reverses_move_id=None,
                moved_at=m["moved_at"].astimezone(UTC),
                recorded_at=m["recorded_at"].astimezone(UTC),
                username=m["username"],
            )
        )
    return moves, places


def _params(
    requests: Sequence[MoveRequest],
    amounts: Sequence[Decimal],
    username: str,
    now: datetime,
    sites: Sequence[str] | None,
) -> dict[str, Any]:
    moves = [
        {
            "item_id": r.item_id,
            "quantity": int(q.scaleb(QUANTITY_PLACES)),
            "from_location_id": r.from_location_id,
            "to_location_id": r.to_location_id,
            "from_status": r.from_status,
            "to_status": r.to_status,
            "lot": r.lot,
            "reason": r.reason,
            "reference": r.reference,
            "moved_at": None if r.moved_at is None else r.moved_at.isoformat(),
        }
        for r, q in zip(requests, amounts, strict=True)
    ]
    return {
        "moves": json.dumps(moves),
        "recorded_at": now,
        "username": username,
        "sites": None if sites is None else list(sites),
    }
