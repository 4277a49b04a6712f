"""The demo dataset generator: sizes, contract, reproducibility and a credible demand mix."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from spareflow.data.demo import DEMO_END, generate_dataset
from spareflow.data.schema import TABLES
from spareflow.errors import ParameterError

FIRST = date(2023, 11, 1)
KEY = ["item_id", "site_id"]


@pytest.fixture(scope="module")
def data() -> dict[str, pl.DataFrame]:
    return generate_dataset()


def _classes(data: dict[str, pl.DataFrame], first: date, last_month: date) -> pl.DataFrame:
    """SBC class per stocked item-site from zero-filled monthly totals (from introduction)."""
    monthly = (
        data["demand"]
        .group_by(*KEY, pl.col("date").dt.truncate("1mo").alias("month"))
        .agg(pl.col("quantity").sum())
        .group_by(KEY)
        .agg(
            nonzero=pl.len(),
            cv2=(pl.col("quantity").std(ddof=0) / pl.col("quantity").mean()) ** 2,
        )
    )
    start = pl.coalesce(pl.col("introduction_date").dt.truncate("1mo"), pl.lit(first))
    periods = (last_month.year - start.dt.year()) * 12 + last_month.month - start.dt.month() + 1
    adi = pl.col("periods") / pl.col("nonzero")
    return (
        data["stock"]
        .select(KEY)
        .join(data["items"].select("item_id", "introduction_date"), on="item_id")
        .with_columns(periods=periods)
        .join(monthly, on=KEY, how="left")
        .with_columns(
            cls=pl.when(pl.col("nonzero").is_null())
            .then(pl.lit("none"))
            .when(adi < 1.32)
            .then(pl.when(pl.col("cv2") < 0.49).then(pl.lit("smooth")).otherwise(pl.lit("erratic")))
            .when(pl.col("cv2") < 0.49)
            .then(pl.lit("intermittent"))
            .otherwise(pl.lit("lumpy"))
        )
    )


def test_default_sizes_and_history_span(data: dict[str, pl.DataFrame]) -> None:
    assert date(2026, 10, 31) == DEMO_END
    assert data["items"].height == 2000
    assert data["sites"].height == 3
    assert data["stock"].height >= 5000
    dem = data["demand"]
    assert dem["date"].min() == FIRST
    assert dem["date"].max() == DEMO_END
    assert dem["date"].dt.truncate("1mo").n_unique() == 36
    assert 100_000 < dem.height < 1_000_000


def test_tables_follow_the_schema(data: dict[str, pl.DataFrame]) -> None:
    assert set(data) == {"items", "sites", "demand", "stock", "sourcing", "targets"}
    for name, frame in data.items():
        table = TABLES[name]
        assert set(table.required) <= set(frame.columns), name
        assert all(table.column(c) is not None for c in frame.columns), name
        if table.key and name != "targets":
            assert frame.select(table.key).is_duplicated().sum() == 0, name
    assert data["items"].schema["introduction_date"] == pl.Date
    assert data["items"].schema["repairable"] == pl.Boolean
    assert data["demand"].schema == pl.Schema(
        {
            "item_id": pl.String,
            "site_id": pl.String,
            "date": pl.Date,
            "quantity": pl.Float64,
            "order_id": pl.String,
        }
    )
    for name in ("stock", "sourcing"):
        assert data[name].schema["item_id"] == pl.String
        assert all(
            t == pl.Float64 for c, t in data[name].schema.items() if c not in [*KEY, "supplier_id"]
        )
    assert data["items"]["item_id"].str.contains(r"^P\d{6}$").all()
    assert data["stock"].sort(KEY).select(KEY).equals(data["sourcing"].sort(KEY).select(KEY))


def test_reproducible_with_seed() -> None:
    a, b, c = generate_dataset(seed=3), generate_dataset(seed=3), generate_dataset(seed=4)
    assert all(a[name].equals(b[name]) for name in a)
    assert not a["demand"].equals(c["demand"])
    assert not a["items"]["unit_cost"].equals(c["items"]["unit_cost"])


def test_demand_references_stocked_item_sites(data: dict[str, pl.DataFrame]) -> None:
    dem = data["demand"]
    assert dem.join(data["items"], on="item_id", how="anti").height == 0
    assert dem.join(data["sites"], on="site_id", how="anti").height == 0
    assert dem.join(data["stock"], on=KEY, how="anti").height == 0
    q = dem["quantity"]
    assert (q > 0).all() and (q == q.round(0)).all()
    assert dem["order_id"].n_unique() == dem.height
    assert dem["order_id"].str.contains(r"^SO\d{7}$").all()
    assert dem["date"].is_sorted()


def test_class_mix_is_spare_parts_like(data: dict[str, pl.DataFrame]) -> None:
    share = dict(
        _classes(data, FIRST, date(2026, 10, 1))["cls"].value_counts(normalize=True).iter_rows()
    )
    assert 0.15 <= share["smooth"] <= 0.25, share
    assert 0.10 <= share["erratic"] <= 0.20, share
    assert 0.30 <= share["intermittent"] <= 0.45, share
    assert 0.20 <= share["lumpy"] <= 0.30, share
    assert 0.01 <= share["none"] <= 0.03, share


def test_items_are_credible(data: dict[str, pl.DataFrame]) -> None:
    items = data["items"]
    cost = items["unit_cost"]
    assert cost.quantile(0.99) / cost.quantile(0.01) >= 1e4  # type: ignore[operator]
    assert cost.min() >= 0.2 and cost.max() <= 25_000  # type: ignore[operator]
    assert (cost == cost.round(2)).all()
    crit = dict(items["criticality"].value_counts(normalize=True).iter_rows())
    assert crit.keys() == {"high", "medium", "low"}
    for level, expected in (("high", 0.15), ("medium", 0.35), ("low", 0.50)):
        assert abs(crit[level] - expected) < 0.04, crit
    by_cost = items.with_columns(expensive=pl.col("unit_cost") > pl.col("unit_cost").quantile(0.9))
    rep = dict(by_cost.group_by("expensive").agg(pl.col("repairable").mean()).iter_rows())
    assert rep[True] > 0.4 > 0.1 > rep[False]
    assert (items["unit_weight_kg"] > 0).all() and (items["unit_volume_m3"] > 0).all()
    heavy = items.filter(pl.col("unit_cost") > 5000)["unit_weight_kg"].median()
    light = items.filter(pl.col("unit_cost") < 5)["unit_weight_kg"].median()
    assert heavy > 100 * light  # type: ignore[operator]
    assert items["description"].n_unique() > 50
    assert items["description"].str.contains("Bearing").any()


def test_cheap_parts_move_faster_and_at_more_sites(data: dict[str, pl.DataFrame]) -> None:
    per_item = (
        data["items"]
        .join(
            data["demand"].group_by("item_id").agg(total=pl.col("quantity").sum()),
            on="item_id",
            how="left",
        )
        .join(data["stock"].group_by("item_id").agg(n_sites=pl.len()), on="item_id")
        .with_columns(pl.col("total").fill_null(0.0))
    )
    cheap = per_item.filter(pl.col("unit_cost") < pl.col("unit_cost").quantile(0.2))
    dear = per_item.filter(pl.col("unit_cost") > pl.col("unit_cost").quantile(0.8))
    assert cheap["total"].median() > 10 * dear["total"].median()  # type: ignore[operator]
    by_sites = dict(per_item.group_by("n_sites").agg(pl.col("total").median()).iter_rows())
    assert by_sites[3] > 2 * by_sites[1]
    assert per_item["n_sites"].min() == 1 and per_item["n_sites"].max() == 3


def test_supersessions_hand_demand_over(data: dict[str, pl.DataFrame]) -> None:
    items = data["items"]
    pairs = items.filter(pl.col("replaced_by").is_not_null()).join(
        items.select(
            pl.col("item_id").alias("replaced_by"),
            pl.col("introduction_date").alias("switch"),
            pl.col("replaced_by").alias("next"),
        ),
        on="replaced_by",
        how="left",
    )
    assert 30 <= pairs.height <= 50
    assert (pairs["replaced_by"] != pairs["item_id"]).all()
    assert pairs["switch"].null_count() == 0  # successor exists and starts inside the history
    assert pairs["next"].null_count() == pairs.height  # no chains, hence no cycles
    dem = data["demand"]
    late = dem.join(pairs.select("item_id", "switch"), on="item_id").filter(
        pl.col("date") >= pl.col("switch")
    )
    assert late.height == 0
    assert dem.filter(pl.col("item_id").is_in(pairs["replaced_by"].to_list())).height > 0
    assert dem.filter(pl.col("item_id").is_in(pairs["item_id"].to_list())).height > 0


def test_new_items_have_no_demand_before_introduction(data: dict[str, pl.DataFrame]) -> None:
    items = data["items"]
    new = items.filter(pl.col("introduction_date").is_not_null())
    assert 0.03 * items.height <= new.height <= 0.07 * items.height
    assert new["introduction_date"].min() > FIRST  # type: ignore[operator]
    assert new["introduction_date"].max() < DEMO_END  # type: ignore[operator]
    early = (
        data["demand"].join(new, on="item_id").filter(pl.col("date") < pl.col("introduction_date"))
    )
    assert early.height == 0
    assert data["demand"].join(new, on="item_id").height > 0


def test_sites_stock_sourcing_targets(data: dict[str, pl.DataFrame]) -> None:
    sites = data["sites"]
    assert sites["site_id"].to_list() == ["DC01", "S02", "S03"]
    assert sites["kind"].to_list() == ["warehouse", "service", "service"]
    assert sites["parent_site_id"].to_list() == [None, "DC01", "DC01"]
    assert sites["latitude"].is_between(35, 70).all()
    assert sites["longitude"].is_between(-10, 30).all()

    stock = data["stock"]
    on_hand = stock["on_hand"]
    assert (on_hand >= 0).all() and (on_hand == on_hand.round(0)).all()
    assert 0.02 < (on_hand == 0).mean() < 0.3  # type: ignore[operator]
    assert (stock["backorders"] == 0).mean() > 0.9  # type: ignore[operator]
    assert ((stock["backorders"] == 0) | (on_hand == 0)).all()
    assert (stock["on_order"] > 0).mean() > 0.05  # type: ignore[operator]

    src = data["sourcing"]
    dc = src.filter(pl.col("site_id") == "DC01")
    service = src.filter(pl.col("site_id") != "DC01")
    assert dc["lead_time_days"].is_between(7, 180).all()
    assert dc["lead_time_days"].max() > 90  # type: ignore[operator]
    assert service["lead_time_days"].is_between(2, 10).all()
    assert (service["supplier_id"] == "DC01").all()
    assert dc["supplier_id"].str.contains(r"^SUP\d{3}$").all()
    ratio = src["lead_time_sd_days"] / src["lead_time_days"]
    assert ratio.is_between(0.05, 0.35).all()
    assert src["holding_rate"].is_between(0.2, 0.3).all()
    assert src["order_cost"].is_between(25, 150).all()
    assert (src["moq"] % src["lot_size"] == 0).all()
    assert (src["lot_size"] == 1).mean() > 0.7  # type: ignore[operator]
    assert set(src["lot_size"].unique().to_list()) <= {1.0, 5.0, 10.0, 50.0}

    targets = data["targets"]
    by_crit = dict(
        targets.filter(pl.col("criticality").is_not_null())
        .select("criticality", "target_fill_rate")
        .iter_rows()
    )
    assert by_crit == {"high": 0.98, "medium": 0.95, "low": 0.90}
    overrides = targets.filter(pl.col("item_id").is_not_null())
    assert overrides.height >= 2
    assert overrides.join(data["items"], on="item_id", how="anti").height == 0


def test_other_sizes_and_end_dates() -> None:
    tiny = generate_dataset(items=1, sites=1, months=1)
    assert tiny["items"].height == 1 and tiny["stock"].height == 1
    wide = generate_dataset(items=20, sites=15, months=6)
    assert wide["sites"]["site_id"].n_unique() == 15
    assert wide["stock"].height == 20 + round(0.8 * 20 * 14)
    short = generate_dataset(items=100, sites=2, months=13, end=date(2026, 2, 10))
    assert short["demand"]["date"].min() >= date(2025, 2, 1)  # type: ignore[operator]
    assert short["demand"]["date"].max() <= date(2026, 2, 10)  # type: ignore[operator]


@pytest.mark.parametrize("name", ["items", "sites", "months"])
def test_bad_sizes_raise_parameter_error(name: str) -> None:
    with pytest.raises(ParameterError) as err:
        generate_dataset(**{name: 0})  # type: ignore[arg-type]
    assert err.value.name == name
