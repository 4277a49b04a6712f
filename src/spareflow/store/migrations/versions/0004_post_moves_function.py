"""a server-side posting function for plain moves on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:20:00

``sf_post_moves`` does in one round trip what ``spareflow.services.ledger`` does in
seven: check the items and locations, create and lock the balance rows in the ledger's
global order, check stock and reservations, update the balances and insert the moves.
It takes the moves as one JSON array (binding ten typed arrays cost more client time than
the posting) and only plain moves (no serial, reservation, order line, work order or reversal)
whose pure checks Python has already made, and answers no rows, having changed nothing
but zero balance rows the Python path would create too, whenever any check fails: the
caller then runs the Python path, which names the error. A caller may pass the sites the user may
post at (``p_sites``): a move elsewhere is refused like any failed check. Called on its
own (autocommit), the function is a whole transaction in one round trip. SQLite has no
such function and always takes the Python path.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# the deltas of a posting per balance key (item, location, lot, status); serial is ''
_DELTAS = """
    SELECT k.item, k.loc, k.lot, k.status, sum(k.q) AS delta FROM (
        SELECT r.item, r.loc, r.lot, r.status, -r.q AS q
        FROM unnest(p_item, p_from, p_lot, p_from_status, p_quantity) AS r(item, loc, lot, status, q)
        UNION ALL
        SELECT r.item, r.loc, r.lot, r.status, r.q
        FROM unnest(p_item, p_to, p_lot, p_to_status, p_quantity) AS r(item, loc, lot, status, q)
    ) AS k GROUP BY k.item, k.loc, k.lot, k.status
"""

# the keys whose stock a posting takes at a location that must not go negative
_GUARDED = """
    SELECT d.item, d.loc, d.lot, d.status, d.delta
    FROM d JOIN locations l ON l.location_id = d.loc
    LEFT JOIN sites s ON s.site_id = l.site_id
    WHERE d.delta < 0 AND l.kind = 'internal' AND NOT coalesce(s.allow_negative_stock, false)
"""

FUNCTION = f"""
CREATE FUNCTION sf_post_moves(
    p_moves jsonb, p_recorded_at timestamptz, p_username text, p_sites text[]
) RETURNS TABLE (
    move_id integer, item_id text, quantity bigint, from_location_id text,
    to_location_id text, from_status text, to_status text, lot text, serial text,
    reason text, reference text, order_line_id integer, work_order_id integer,
    reverses_move_id integer, moved_at timestamptz, recorded_at timestamptz,
    username text, from_site_id text, to_site_id text
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    p_item text[]; p_quantity bigint[]; p_from text[]; p_to text[]; p_from_status text[];
    p_to_status text[]; p_lot text[]; p_reason text[]; p_reference text[];
    p_moved_at timestamptz[];
BEGIN
    -- the moves as parallel arrays, in the order given (quantities in thousandths)
    SELECT array_agg(m.item_id ORDER BY m.n), array_agg(m.quantity ORDER BY m.n),
           array_agg(m.from_location_id ORDER BY m.n), array_agg(m.to_location_id ORDER BY m.n),
           array_agg(m.from_status ORDER BY m.n), array_agg(m.to_status ORDER BY m.n),
           array_agg(m.lot ORDER BY m.n), array_agg(m.reason ORDER BY m.n),
           array_agg(m.reference ORDER BY m.n), array_agg(m.moved_at ORDER BY m.n)
    INTO p_item, p_quantity, p_from, p_to, p_from_status, p_to_status, p_lot, p_reason,
         p_reference, p_moved_at
    FROM ROWS FROM (jsonb_to_recordset(p_moves) AS (
        item_id text, quantity bigint, from_location_id text, to_location_id text,
        from_status text, to_status text, lot text, reason text, reference text,
        moved_at timestamptz
    )) WITH ORDINALITY AS m(
        item_id, quantity, from_location_id, to_location_id, from_status, to_status, lot,
        reason, reference, moved_at, n
    );
    -- every item known and not serialised; unserviceable stock only of repairables
    IF EXISTS (
        SELECT 1 FROM unnest(p_item, p_from_status, p_to_status) AS r(item, fs, ts)
        LEFT JOIN items i ON i.item_id = r.item
        WHERE i.item_id IS NULL OR i.serialised
           OR (NOT i.repairable AND (r.fs <> 'serviceable' OR r.ts <> 'serviceable'))
    ) THEN RETURN; END IF;
    -- every location known, and at one of p_sites (NULL: any site; virtual ones: no site)
    IF EXISTS (
        SELECT 1 FROM unnest(p_from || p_to) AS r(loc)
        LEFT JOIN locations l ON l.location_id = r.loc
        WHERE l.location_id IS NULL
           OR (p_sites IS NOT NULL AND l.site_id IS NOT NULL AND l.site_id <> ALL(p_sites))
    ) THEN RETURN; END IF;

    -- the balance rows of every key, created if new, in one global order
    INSERT INTO balances AS b (item_id, location_id, lot, serial, status, quantity)
    SELECT d.item, d.loc, d.lot, '', d.status, 0 FROM ({_DELTAS}) AS d
    ORDER BY d.item, d.loc, d.lot, d.status
    ON CONFLICT DO NOTHING;
    -- lock every row of each (item, location) touched, in the ledger's global order
    PERFORM 1 FROM balances b
    WHERE (b.item_id, b.location_id) IN (
        SELECT DISTINCT r.item, r.loc FROM unnest(p_item || p_item, p_from || p_to) AS r(item, loc)
    )
    ORDER BY b.item_id, b.location_id, b.lot, b.serial, b.status
    FOR UPDATE;

    -- no guarded key below zero
    IF EXISTS (
        WITH d AS ({_DELTAS}), g AS ({_GUARDED})
        SELECT 1 FROM g JOIN balances b
          ON b.item_id = g.item AND b.location_id = g.loc AND b.lot = g.lot
         AND b.serial = '' AND b.status = g.status
        WHERE b.quantity + g.delta < 0
    ) THEN RETURN; END IF;
    -- no guarded (item, location) with serviceable stock below its reservations
    IF EXISTS (
        WITH d AS ({_DELTAS}), g AS ({_GUARDED})
        SELECT 1 FROM (SELECT DISTINCT g.item, g.loc FROM g WHERE g.status = 'serviceable') AS p
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(r.quantity), 0) AS held FROM reservations r
            WHERE r.item_id = p.item AND r.location_id = p.loc
        ) AS h
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(b.quantity), 0) AS stock FROM balances b
            WHERE b.item_id = p.item AND b.location_id = p.loc AND b.status = 'serviceable'
        ) AS s
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(d.delta), 0) AS change FROM d
            WHERE d.item = p.item AND d.loc = p.loc AND d.status = 'serviceable'
        ) AS c
        WHERE h.held > 0 AND s.stock + c.change < h.held
    ) THEN RETURN; END IF;

    UPDATE balances AS b SET quantity = b.quantity + d.delta FROM ({_DELTAS}) AS d
    WHERE b.item_id = d.item AND b.location_id = d.loc AND b.lot = d.lot
      AND b.serial = '' AND b.status = d.status AND d.delta <> 0;
    RETURN QUERY
    WITH written AS (
        INSERT INTO moves AS m (
            item_id, quantity, from_location_id, to_location_id, from_status, to_status,
            lot, serial, reason, reference, moved_at, recorded_at, username
        )
        SELECT r.item, r.q, r.f, r.t, r.fs, r.ts, r.lot, '', r.reason, r.reference,
               coalesce(r.moved_at, p_recorded_at), p_recorded_at, p_username
        FROM unnest(
            p_item, p_quantity, p_from, p_to, p_from_status, p_to_status, p_lot, p_reason,
            p_reference, p_moved_at
        ) WITH ORDINALITY AS r(item, q, f, t, fs, ts, lot, reason, reference, moved_at, n)
        ORDER BY r.n
        RETURNING m.*
    )
    SELECT w.move_id, w.item_id::text, w.quantity, w.from_location_id::text,
           w.to_location_id::text, w.from_status::text, w.to_status::text, w.lot::text,
           w.serial::text, w.reason::text, w.reference::text, w.order_line_id,
           w.work_order_id, w.reverses_move_id, w.moved_at, w.recorded_at,
           w.username::text, lf.site_id::text, lt.site_id::text
    FROM written w
    JOIN locations lf ON lf.location_id = w.from_location_id
    JOIN locations lt ON lt.location_id = w.to_location_id
    ORDER BY w.move_id;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS sf_post_moves(jsonb, timestamptz, text, text[])")
