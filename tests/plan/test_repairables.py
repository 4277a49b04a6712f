"""Repairable items in the plan: stocked across depot and bases by VARI-METRIC for the
fleet availability, the rest by fill rate, and the plan rows saying which."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from spareflow.data.demo import generate_dataset
from spareflow.data.load import Dataset
from spareflow.multiechelon.optimise import optimise
from spareflow.plan.repairables import _network, repairable_items
from spareflow.plan.stock import PlanParams, stock_plan


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    tables = generate_dataset(items=120, sites=3, seed=5)
    items = tables["items"]
    repairable = items.filter(pl.col("repairable"))["item_id"].head(12).to_list()
    rows = []
    for k, item in enumerate(repairable):
        rows.append(
            {"item_id": item, "site_id": "DC01", "repair_days": 20.0 + k, "repair_share": 1.0}
        )
        for site in tables["sites"]["site_id"].to_list()[1:]:
            rows.append({"item_id": item, "site_id": site, "repair_days": 4.0, "repair_share": 0.3})
    tables["repair"] = pl.DataFrame(rows)
    return Dataset(tables=tables, source="test")


def test_repairables_get_metric_stock_and_the_rest_fill_rate_policies(dataset: Dataset) -> None:
    plan = stock_plan(dataset, PlanParams(simulate_days=365, replications=2, availability=0.9))
    t = plan.table.with_row_index("_row")
    metric = t.filter(pl.col("stock_model") == "vari-metric")
    assert metric.height > 12  # bases and the depot of 12 items
    assert (metric["policy"] == "base_stock").all()
    assert (metric["order_up_to"] - metric["reorder_point"] == 1).all()
    assert (metric["order_quantity"] == 1).all()
    bases = metric.filter(pl.col("site_id") != "DC01")
    assert bases["expected_availability"].is_not_null().all()
    assert (bases["expected_availability"] >= 0.0).all()
    rest = t.filter(pl.col("stock_model") == "fill-rate")
    assert rest["expected_availability"].is_null().all()
    # the same levels as optimising the depot's network directly
    depot_rows = repairable_items(dataset)
    assert depot_rows is not None
    sites = dataset["sites"].filter(pl.col("parent_site_id") == "DC01")["site_id"].to_list()
    plan_view = plan.table.select("item_id", "site_id", "lead_time_days").with_row_index("_row")
    plan_view = plan_view.with_columns(_demand=plan.table["forecast_per_period"] / (365.25 / 12))
    net, base_rows, depot_row = _network(
        dataset, plan_view, dataset["repair"], depot_rows, "DC01", sites
    )
    alloc, _ = optimise(net, "vari-metric", availability=0.9)
    have = base_rows >= 0
    got = plan.table["order_up_to"].to_numpy()
    np.testing.assert_array_equal(got[base_rows[have]], alloc.base_stock[have])
    np.testing.assert_array_equal(got[depot_row[depot_row >= 0]], alloc.depot_stock[depot_row >= 0])
    # the single-echelon simulation leaves the repairables to the repair-network one
    assert metric["simulated_fill_rate"].is_null().all()
    assert plan.extras["repairable_availability"]["DC01"].keys() == set(sites)


def test_every_base_meets_the_availability_with_per_base(dataset: Dataset) -> None:
    plan = stock_plan(
        dataset, PlanParams(simulate_days=0, availability=0.9, availability_per_base=True)
    )
    bases = plan.table.filter(
        (pl.col("stock_model") == "vari-metric") & (pl.col("site_id") != "DC01")
    )
    assert (bases["expected_availability"] >= 0.9 - 1e-9).all()
