"""The plan as the reorder rules ERPs import, so a team can act on it at once.

Both ERPs order when the projected quantity falls below a level; the plan orders when
the inventory position is at or below the reorder point r, by the smallest multiple of
Q that lifts it above r. So the level is r + 1 (whole units), and:

* Odoo (Inventory > Replenishment, ``stock.warehouse.orderpoint`` import):
  ``product_id, warehouse_id, product_min_qty, product_max_qty, qty_multiple`` with
  min = max = r + 1 and multiple Q: below the minimum Odoo orders max - forecast rounded
  up to the multiple, which is exactly the plan's smallest multiple of Q lifting the
  position above r. (A max of r + Q would order up to r + Q, i.e. one Q too many when
  a large demand takes the position below r.)
* ERPNext (Item > Auto Re-order; data import of the "Item Reorder" child table):
  ``item_code, warehouse, warehouse_reorder_level, warehouse_reorder_qty,
  material_request_type`` with level r + 1 and quantity Q. ERPNext requests the larger
  of the re-order quantity and the shortfall below the level, so it matches the plan
  except when the position falls more than Q below the level at once (it then orders
  the shortfall, not a multiple of Q).

Sites are written as warehouses under their site_id; map them to the ERP's warehouse
names on import if they differ.
"""

from __future__ import annotations

import polars as pl


def erpnext_reorder(plan: pl.DataFrame) -> pl.DataFrame:
    """ERPNext Item Reorder rows, one per item-site."""
    return plan.select(
        pl.col("item_id").alias("item_code"),
        pl.col("site_id").alias("warehouse"),
        (pl.col("reorder_point") + 1).alias("warehouse_reorder_level"),
        pl.col("order_quantity").alias("warehouse_reorder_qty"),
        pl.lit("Purchase").alias("material_request_type"),
    )


def odoo_reordering_rules(plan: pl.DataFrame) -> pl.DataFrame:
    """Odoo reordering rules (min, max, multiple), one per item-site."""
    return plan.select(
        pl.col("item_id").alias("product_id"),
        pl.col("site_id").alias("warehouse_id"),
        (pl.col("reorder_point") + 1).alias("product_min_qty"),
        (pl.col("reorder_point") + 1).alias("product_max_qty"),
        pl.col("order_quantity").alias("qty_multiple"),
    )
