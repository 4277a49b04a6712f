"""The network model the engines read: sourcing resolved per item-site, as one frame of
edges (one row per item-site and source, with the lane's transit days).

Sourcing rules (columns site_id, item_id (null: every item of the site), rank, share,
source_site_id or supplier_id, lane_id, transit_days, transit_days_sd, rule_id) resolve
per item-site:

* the item's own rules at the site replace the site's general ones of the same rank
  for that item (an item may have its own alternate and keep the site's primary);
* rank 1 is the primary source, split by share (shares add up to 1); ranks 2 and up are
  alternates, in order (for order promising when the primary cannot serve);
* an item-site without any rule takes its ``fallback`` rows (the parent site or the last
  supplier, with measured lead times: :func:`spareflow.services.plan_export.sourcing_of`).
"""

from __future__ import annotations

import polars as pl

from spareflow.errors import ParameterError

KEYS = ["item_id", "site_id"]
EDGE_COLUMNS = [
    "item_id",
    "site_id",
    "rank",
    "share",
    "source_site_id",
    "supplier_id",
    "lane_id",
    "transit_days",
    "transit_days_sd",
    "rule_id",
    "origin",
]
_TYPES = {
    "rank": pl.Int64,
    "share": pl.Float64,
    "source_site_id": pl.String,
    "supplier_id": pl.String,
    "lane_id": pl.String,
    "transit_days": pl.Float64,
    "transit_days_sd": pl.Float64,
    "rule_id": pl.Int64,
    "origin": pl.String,
}


def resolve_sourcing(
    item_sites: pl.DataFrame, rules: pl.DataFrame, fallback: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every sourcing edge of every item-site in ``item_sites`` (columns EDGE_COLUMNS;
    ``origin`` is ``item_rule``, ``site_rule`` or ``fallback``), sorted by item-site and
    rank. ParameterError names the site, item and rules where the primary shares do not
    add up to 1 or an item-site has alternates but no primary."""
    keys = item_sites.select(KEYS).unique()
    rule_cols = [c for c in EDGE_COLUMNS if c not in (*KEYS, "origin")]
    own = keys.join(
        rules.filter(pl.col("item_id").is_not_null()).select(*KEYS, *rule_cols), on=KEYS
    ).with_columns(pl.lit("item_rule").alias("origin"))
    general = (
        keys.join(
            rules.filter(pl.col("item_id").is_null()).select("site_id", *rule_cols), on="site_id"
        )
        .join(own.select(*KEYS, "rank").unique(), on=[*KEYS, "rank"], how="anti")
        .with_columns(pl.lit("site_rule").alias("origin"))
    )
    ruled = pl.concat([own.select(EDGE_COLUMNS), general.select(EDGE_COLUMNS)])
    _check_shares(ruled)
    parts = [ruled]
    if fallback is not None and fallback.height:
        rest = keys.join(ruled.select(KEYS).unique(), on=KEYS, how="anti").join(fallback, on=KEYS)
        parts.append(
            rest.select(
                *KEYS,
                pl.lit(1).alias("rank"),
                pl.lit(1.0).alias("share"),
                pl.col("source_site_id").cast(pl.String),
                pl.col("supplier_id").cast(pl.String),
                pl.lit(None, pl.String).alias("lane_id"),
                pl.col("lead_time_days").cast(pl.Float64).alias("transit_days"),
                pl.col("lead_time_sd_days")
                .cast(pl.Float64)
                .fill_null(0.0)
                .alias("transit_days_sd"),
                pl.lit(None, pl.Int64).alias("rule_id"),
                pl.lit("fallback").alias("origin"),
            )
        )
    return pl.concat(
        [p.select([pl.col(c).cast(_TYPES.get(c, pl.String)) for c in EDGE_COLUMNS]) for p in parts]
    ).sort([*KEYS, "rank", "rule_id"], nulls_last=True)


def _check_shares(ruled: pl.DataFrame) -> None:
    totals = ruled.group_by(KEYS).agg(
        pl.col("share").filter(pl.col("rank") == 1).sum().alias("total"),
        pl.col("rule_id").filter(pl.col("rank") == 1).alias("rules"),
        pl.col("rule_id").alias("all_rules"),
    )
    bad = totals.filter((pl.col("total") - 1.0).abs() > 1e-9).sort(KEYS)
    if bad.height:
        row = bad.row(0, named=True)
        rules = row["rules"] or row["all_rules"]
        what = (
            f"primary (rank 1) shares add up to {row['total']:g}, not 1"
            if row["rules"]
            else "has alternates but no primary (rank 1) source"
        )
        raise ParameterError(
            "sourcing_rules",
            f"item {row['item_id']} at site {row['site_id']}: {what} "
            f"(rules {', '.join(str(r) for r in rules)})",
        )
