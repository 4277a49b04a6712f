"""Installed-base demand: the renewal function against closed forms and a Monte Carlo
of renewing positions, and the plan taking new parts' demand from the assets."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from spareflow.data.load import Dataset
from spareflow.reliability.installed_base import (
    expected_failures,
    renewal_function,
    weibull_survival,
)
from spareflow.reliability.weibull import fit_weibull


def test_exponential_renewal_function_is_linear() -> None:
    """Poisson failures: M(x) = x / scale (to the grid's O(step**2) error)."""
    m = renewal_function(
        np.array([1.0, 1.0]), np.array([1000.0, 300.0]), np.array([10.0, 5.0]), 200
    )
    x = np.arange(201)
    np.testing.assert_allclose(m[0], x * 10 / 1000, atol=2e-4)
    np.testing.assert_allclose(m[1], x * 5 / 300, atol=2e-4)


def test_without_renewal_it_is_the_conditional_failure_probability() -> None:
    shape, scale, age, use = 2.0, 5000.0, 3000.0, 12.0
    ef = expected_failures(
        np.array([shape]), np.array([scale]), np.array([age]), np.array([use]), 30.0, 6,
        renewal=False,
    )  # fmt: skip
    ends = age + use * 30.0 * np.arange(7)
    s = weibull_survival(ends, np.array(shape), np.array(scale)) / weibull_survival(
        np.array(age), np.array(shape), np.array(scale)
    )
    np.testing.assert_allclose(ef[0], -np.diff(s), rtol=1e-12)


def test_renewing_positions_against_monte_carlo() -> None:
    """Expected failures per month of a worn position (age 1500 h, Weibull 2.5 / 2000 h,
    10 h a day) over two years, against 200,000 simulated positions."""
    k, lam, age, use, days = 2.5, 2000.0, 1500.0, 10.0, 30.0
    ef = expected_failures(
        np.array([k]), np.array([lam]), np.array([age]), np.array([use]), days, 24
    )[0]
    rng = np.random.default_rng(0)
    n = 200_000
    # residual life of a part aged `age`, then new parts' lives
    t = lam * ((age / lam) ** k - np.log(rng.random(n))) ** (1 / k) - age
    counts = np.zeros(24)
    horizon = 24 * days * use
    live = np.arange(n)
    while live.size:
        live = live[t[live] < horizon]
        np.add.at(counts, (t[live] // (days * use)).astype(int), 1)
        t[live] += lam * (-np.log(rng.random(live.size))) ** (1 / k)
    mc = counts / n
    se = np.sqrt(mc / n)  # Poisson-like standard error of a monthly mean
    assert np.abs(ef - mc).max() < 4 * se.max()
    assert ef.sum() == pytest.approx(mc.sum(), rel=3e-3)


LIVES: list[tuple[float, bool]] = []  # the lives fleet_dataset drew: (hours, failed)


def fleet_dataset(as_of: date) -> Dataset:
    """Two sites, 30 assets of one model with a new part (no demand history) and an old
    one (with history); removals of the new part give its Weibull life."""
    rng = np.random.default_rng(1)
    items = pl.DataFrame({"item_id": ["OLD", "NEW"], "unit_cost": [100.0, 900.0]})
    sites = pl.DataFrame({"site_id": ["S1", "S2"]})
    months = [as_of - timedelta(days=30 * m) for m in range(24, 0, -1)]
    demand = pl.DataFrame(
        {
            "item_id": "OLD",
            "site_id": "S1",
            "date": months,
            "quantity": rng.poisson(3.0, 24).astype(float),
        }
    )
    assets = pl.DataFrame(
        {
            "asset_id": [f"A{k}" for k in range(30)],
            "site_id": ["S1"] * 20 + ["S2"] * 10,
            "model": "M",
            "install_date": [as_of - timedelta(days=int(d)) for d in rng.integers(200, 900, 30)],
            "utilisation_hours_per_day": 16.0,
        }
    )
    bop = pl.DataFrame(
        {"model": ["M", "M"], "item_id": ["OLD", "NEW"], "quantity_per_asset": [1.0, 2.0]}
    )
    # removals of NEW: lives drawn from Weibull(2, 6000 h); dated by hours / 16 per day
    rows = []
    LIVES.clear()
    for a, installed in zip(assets["asset_id"], assets["install_date"], strict=True):
        hours, limit = 0.0, (as_of - installed).days * 16.0
        while True:
            life = 6000.0 * rng.weibull(2.0)
            if hours + life >= limit:
                LIVES.append((limit - hours, False))  # still running: a suspension
                break
            LIVES.append((life, True))
            hours += life
            day = installed + timedelta(days=int(hours // 16))
            rows.append(
                {"asset_id": a, "item_id": "NEW", "date": day, "kind": "failure",
                 "operating_hours": hours}
            )  # fmt: skip
    removals = pl.DataFrame(rows)
    return Dataset(
        tables={
            "items": items,
            "sites": sites,
            "demand": demand,
            "assets": assets,
            "bill_of_positions": bop,
            "removals": removals,
        },
        source="fleet",
    )


def test_plan_takes_new_parts_demand_from_the_installed_base() -> None:
    from spareflow.plan.installed import installed_base, positions
    from spareflow.plan.stock import PlanParams, stock_plan

    as_of = date(2026, 6, 1)
    ds = fleet_dataset(as_of)
    plan = stock_plan(ds, PlanParams(simulate_days=0, horizon=12))
    table = plan.table.sort("item_id", "site_id")
    source = dict(
        zip(
            zip(table["item_id"], table["site_id"], strict=True),
            table["demand_source"],
            strict=True,
        )
    )
    assert source[("OLD", "S1")] == "history"
    assert source[("NEW", "S1")] == "installed_base"
    assert source[("NEW", "S2")] == "installed_base"
    # the forecast of NEW at S1 is the expected failures of its 40 positions per month
    keys = table.select("item_id", "site_id")
    fleet = installed_base(ds, keys, plan.as_of, 12 * 365.25 / 12, 12)
    assert fleet is not None
    new_s1 = table.with_row_index().filter(
        (pl.col("item_id") == "NEW") & (pl.col("site_id") == "S1")
    )
    row = int(new_s1["index"][0])
    assert fleet.positions[row] == 40.0
    assert new_s1["forecast_per_period"][0] == pytest.approx(fleet.mean_per_day[row] * 365.25 / 12)
    lives = fleet.lives.filter(pl.col("item_id") == "NEW")
    assert lives["life_model"][0] == "weibull"
    # the lives read back from removals and running positions are the ones drawn
    hours, failed = (np.array(v) for v in zip(*LIVES, strict=True))
    want = fit_weibull(hours, failed)
    assert lives["failures"][0] == int(failed.sum())
    assert lives["shape"][0] == pytest.approx(want.shape[0], rel=1e-6)
    assert lives["scale"][0] == pytest.approx(want.scale[0], rel=1e-6)
    # a worn fleet of 40 positions fails about 40 * 16 * 30.4 / mean life per month
    pos = positions(ds, plan.as_of)
    assert pos is not None
    mean_life = float(want.mean_life()[0])
    assert new_s1["forecast_per_period"][0] == pytest.approx(40 * 16 * 30.44 / mean_life, rel=0.3)
    # history only: NEW has no demand at all
    hist = stock_plan(ds, PlanParams(simulate_days=0, horizon=12, demand_source="history"))
    assert (hist.table.filter(pl.col("item_id") == "NEW")["forecast_per_period"] == 0).all()


def test_one_renewal_function_per_part_matches_one_per_position() -> None:
    """Positions of a part share its renewal function (interpolated in life units)."""
    rng = np.random.default_rng(6)
    n, parts = 400, 7
    part = rng.integers(0, parts, n)
    shape = rng.uniform(0.8, 3.0, parts)[part]
    scale = rng.uniform(2000.0, 20000.0, parts)[part]
    age, use = rng.uniform(0, 20000, n), rng.uniform(4, 20, n)
    shared = expected_failures(shape, scale, age, use, 30.4, 12, part=part)
    alone = expected_failures(shape, scale, age, use, 30.4, 12)
    np.testing.assert_allclose(shared, alone, rtol=2e-3, atol=2e-4)
