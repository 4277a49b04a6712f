"""shipments built from orders: the shipment-orders link; lanes name their tariff lane

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spareflow.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lanes", sa.Column("tariff_lane", sa.String(length=64), nullable=True))
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("lane_id", sa.String(length=64), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_shipments_lane_id_lanes"), "lanes", ["lane_id"], ["lane_id"]
        )
    op.create_table(
        "shipment_orders",
        sa.Column("shipment_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=False),
        sa.Column("handling_units", sa.Integer(), nullable=False),
        sa.Column("alone_cost", spareflow.store.types.Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name=op.f("fk_shipment_orders_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.shipment_id"],
            name=op.f("fk_shipment_orders_shipment_id_shipments"),
        ),
        sa.PrimaryKeyConstraint("shipment_id", "order_id", name=op.f("pk_shipment_orders")),
    )
    op.create_index("ix_shipment_orders_order", "shipment_orders", ["order_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_shipment_orders_order", table_name="shipment_orders")
    op.drop_table("shipment_orders")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_constraint("fk_shipments_lane_id_lanes", type_="foreignkey")
        batch.drop_column("lane_id")
    with op.batch_alter_table("lanes") as batch:
        batch.drop_column("tariff_lane")
