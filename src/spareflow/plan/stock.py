"""The stock plan: per item-site, the policy that meets its service target at least stock,
its expected service, the stock position and the order to place now.

Demand comes from the demand plan (``auto`` forecast and its variance per period),
converted to days: mean / days per period and variance / days per period (the periods'
demands independent). Facts per item-site come from the dataset, with documented
defaults where a table or a cell is missing:

* sourcing: lead time (days) and its spread, order cost, holding rate, MOQ, lot size;
  no sourcing row: ``DEFAULT_LEAD_TIME_DAYS`` and the defaults of ``stock.policy``;
* targets: the most specific row wins: item and site, item, criticality and site,
  criticality; else the plan's default target;
* stock: on hand, on order, backorders (0 when absent).

The order to place now follows design.md: when the inventory position (on hand + on
order - backorders) is at or below the reorder point, the smallest multiple of Q that
lifts it above the reorder point; it is needed (arrives) one lead time after the plan
date, the day after the last period of history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from spareflow.data.load import Dataset
from spareflow.data.periods import DemandMatrix, Period, period_start
from spareflow.demand.auto import AUTO_ORIGINS, AUTO_STEP, choose
from spareflow.demand.backtest import backtest_horizon, calibration_rows
from spareflow.demand.methods import MethodParams
from spareflow.errors import ParameterError
from spareflow.plan.budget import SystemCurve
from spareflow.plan.demand import (
    DEFAULT_LEVELS,
    DemandPlan,
    classify_matrix,
    matrix_from_dataset,
)
from spareflow.plan.engine import Engine, LocalEngine
from spareflow.plan.installed import SOURCES, installed_base
from spareflow.plan.partition import (
    BacktestPart,
    BudgetPart,
    StockPart,
    backtest_part,
    budget_part,
    merge_backtests,
    merge_forecasts,
    partitions,
    stock_part,
    take_choice,
)
from spareflow.plan.repairables import RepairablePlan, plan_repairables
from spareflow.simulate.demand import FamilyDemand
from spareflow.simulate.models import Bootstrap
from spareflow.simulate.monte_carlo import PolicyArrays, SimulationResult, simulate
from spareflow.stock.distributions import Family
from spareflow.stock.policy import Policy, StockInputs, concat_policies

Progress = Callable[[str, int, int], None]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

DAYS_PER_PERIOD: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0}
DEFAULT_TARGET = 0.95
DEFAULT_AVAILABILITY = 0.95
DEFAULT_LEAD_TIME_DAYS = 30

KEYS = ["item_id", "site_id"]


@dataclass(frozen=True, slots=True)
class PlanParams:
    """Options of a stock plan. ``target``: default unit fill rate; ``budget``: total
    inventory investment allowed (currency), None for none; ``horizon``: forecast
    periods; ``simulate_days`` and ``replications`` size the simulation (0 days: none);
    ``forecast_quantiles``: the forecasts also carry quantiles (the demo writes them);
    ``criticality_weights``: (criticality, weight) pairs for the budget's marginal
    analysis (units filled count that many times; others weigh 1); ``demand_source``:
    ``history`` (the forecast), ``installed-base`` (expected failures of the assets'
    parts wherever the dataset has them) or ``auto`` (the installed base for item-sites
    without demand history: new parts; the forecast elsewhere)."""

    target: float = DEFAULT_TARGET
    budget: float | None = None
    period: Period = "month"
    horizon: int = 12
    simulate_days: int = 3650
    replications: int = 5
    seed: int = 0
    criticality_weights: tuple[tuple[str, float], ...] = ()
    forecast_quantiles: bool = False
    demand_source: str = "auto"
    availability: float = DEFAULT_AVAILABILITY
    availability_per_base: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.target < 1.0:
            raise ParameterError("--target", f"must be between 0 and 1, got {self.target}")
        if self.budget is not None and self.budget < 0:
            raise ParameterError("--budget", f"must not be negative, got {self.budget}")
        if self.horizon < 1:
            raise ParameterError("--horizon", f"must be at least 1, got {self.horizon}")
        if not 0.0 < self.availability < 1.0:
            raise ParameterError(
                "--availability", f"must be between 0 and 1, got {self.availability}"
            )
        if self.demand_source not in SOURCES:
            raise ParameterError(
                "--demand-source",
                f"must be one of {', '.join(SOURCES)}, got {self.demand_source!r}",
            )


@dataclass(frozen=True)
class StockPlan:
    """The plan table (one row per item-site), the demand plan beneath it, the policies
    and the summary figures."""

    table: pl.DataFrame
    demand: DemandPlan
    policy: Policy
    as_of: date
    extras: dict[str, object] = field(default_factory=dict)


def item_site_facts(dataset: Dataset, keys: pl.DataFrame, default_target: float) -> pl.DataFrame:
    """Per item-site (rows of ``keys``, in order): unit cost, criticality, sourcing,
    stock and the resolved target fill rate; missing facts get the documented defaults."""
    items = dataset["items"]
    cols = ["item_id", "unit_cost"] + (["criticality"] if "criticality" in items.columns else [])
    facts = keys.join(items.select(cols), on="item_id", how="left", maintain_order="left")
    if "criticality" not in facts.columns:
        facts = facts.with_columns(pl.lit(None, dtype=pl.String).alias("criticality"))
    sourcing = dataset.get("sourcing")
    wanted = [
        "lead_time_days",
        "lead_time_sd_days",
        "order_cost",
        "holding_rate",
        "moq",
        "lot_size",
    ]
    if sourcing is not None:
        have = [c for c in wanted if c in sourcing.columns]
        facts = facts.join(
            sourcing.select(*KEYS, *have), on=KEYS, how="left", maintain_order="left"
        )
    for c in wanted:
        if c not in facts.columns:
            facts = facts.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    facts = facts.with_columns(
        pl.col("lead_time_days").is_null().alias("lead_time_assumed"),
        pl.col("lead_time_days").fill_null(float(DEFAULT_LEAD_TIME_DAYS)),
    )
    stock = dataset.get("stock")
    positions = ["on_hand", "on_order", "backorders"]
    if stock is not None:
        have = [c for c in positions if c in stock.columns]
        facts = facts.join(stock.select(*KEYS, *have), on=KEYS, how="left", maintain_order="left")
    facts = facts.with_columns(
        [
            (pl.col(c) if c in facts.columns else pl.lit(None, dtype=pl.Float64))
            .fill_null(0.0)
            .alias(c)
            for c in positions
        ]
    )
    target = resolve_targets(facts, dataset.get("targets"), default_target)
    return facts.with_columns(target)


def resolve_targets(facts: pl.DataFrame, targets: pl.DataFrame | None, default: float) -> pl.Series:
    """Target fill rate per row of ``facts`` (item_id, site_id, criticality): the most
    specific matching row of ``targets`` (item+site, item, criticality+site,
    criticality), else ``default``."""
    out = pl.Series("target_fill_rate", np.full(facts.height, default))
    if targets is None or "target_fill_rate" not in targets.columns:
        return out
    t = targets
    for c in ("item_id", "site_id", "criticality"):
        if c not in t.columns:
            t = t.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    base = facts.select([*KEYS, "criticality"]).with_row_index("_i")
    chosen = out.to_numpy().copy()
    found = np.zeros(facts.height, dtype=bool)
    # most specific first: the first match a row finds is kept
    item, site, crit = (pl.col(c).is_not_null() for c in ("item_id", "site_id", "criticality"))
    specs = [
        (["item_id", "site_id"], t.filter(item & site)),
        (["item_id"], t.filter(item & ~site)),
        (["criticality", "site_id"], t.filter(~item & crit & site)),
        (["criticality"], t.filter(~item & crit & ~site)),
    ]
    for on, rows in specs:
        if rows.height == 0:
            continue
        hit = base.join(
            rows.select(*on, "target_fill_rate").unique(subset=on, keep="first"),
            on=on,
            how="inner",
        )
        idx = hit["_i"].to_numpy()
        new = ~found[idx]
        chosen[idx[new]] = hit["target_fill_rate"].to_numpy()[new]
        found[idx[new]] = True
    return pl.Series("target_fill_rate", chosen)


def criticality_weights(facts: pl.DataFrame, params: PlanParams) -> F64:
    """Weight per item-site from its criticality (1 where none is given)."""
    table = dict(params.criticality_weights)
    if not table:
        return np.ones(facts.height)
    weight = facts["criticality"].replace_strict(table, default=1.0, return_dtype=pl.Float64)
    return weight.fill_null(1.0).to_numpy()


def stock_inputs(facts: pl.DataFrame, classes: pl.DataFrame) -> StockInputs:
    """Per item-site inputs of the policy engine from its facts and demand class; the
    daily demand is left at zero for each partition to fill from its forecast."""
    n = facts.height
    intermittent = np.isin(classes["demand_class"].to_numpy(), ["intermittent", "lumpy"])

    def col(name: str) -> F64:
        return facts.get_column(name).cast(pl.Float64).to_numpy()

    return StockInputs(
        mean_per_day=np.zeros(n),
        variance_per_day=np.zeros(n),
        intermittent=intermittent,
        lead_time_days=np.rint(col("lead_time_days")).astype(np.int64),
        unit_cost=np.nan_to_num(col("unit_cost")),
        target_fill_rate=col("target_fill_rate"),
        lead_time_sd_days=col("lead_time_sd_days"),
        order_cost=col("order_cost"),
        holding_rate=col("holding_rate"),
        moq=col("moq"),
        lot_size=col("lot_size"),
    )


def order_now(position: F64, reorder_point: NDArray[np.int64], quantity: NDArray[np.int64]) -> F64:
    """Units to order now: the smallest multiple of Q lifting the position above r.

    k Q + p > r  <=>  k = floor((r - p) / Q) + 1 for p <= r; exact for fractional
    positions too (stock kept in litres or metres), where ceil((r + 1 - p) / Q) over-orders.
    """
    q = np.maximum(quantity, 1)
    n = np.floor(np.maximum(reorder_point - position, 0.0) / q) + 1.0
    return np.where(position <= reorder_point, n * q, 0.0)


def stock_plan(
    dataset: Dataset,
    params: PlanParams = PlanParams(),
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> StockPlan:
    """Classify, forecast (``auto``), choose policies for the targets, position the
    stock and (with ``params.budget``) fit the plan to the budget.

    The item-sites are split into partitions that ``engine`` (default: this process's
    threads) works on; what the whole plan must agree on is computed once from the
    merged results (see ``plan.partition``).
    """
    engine = engine if engine is not None else LocalEngine()
    if progress:
        progress("prepare", 0, 1)
    matrix = matrix_from_dataset(dataset, params.period)
    classes = classify_matrix(matrix, dataset["items"])
    facts = item_site_facts(dataset, matrix.keys, params.target)
    base = stock_inputs(facts, classes)
    weights = criticality_weights(facts, params)
    n, spans = matrix.values.shape[0], partitions(matrix.values.shape[0])
    y = matrix.values
    method_params = MethodParams()
    bt_horizon = backtest_horizon(matrix.n_periods, params.horizon)
    as_of = _as_of(matrix)
    days = DAYS_PER_PERIOD[params.period]
    installed = _installed_demand(dataset, matrix, as_of, params, days)

    def bar(stage: str) -> Callable[[int, int], None] | None:
        return (lambda d, t: progress(stage, d, t)) if progress else None

    if progress:
        progress("prepare", 1, 1)

    # the calibration sample's backtest (with quantiles) runs as one more part
    settings = (bt_horizon, AUTO_ORIGINS, AUTO_STEP, method_params)
    calibration = BacktestPart(y[calibration_rows(n)], *settings, DEFAULT_LEVELS)
    parts_bt = engine.map(
        backtest_part,
        [calibration, *(BacktestPart(y[s], *settings) for s in spans)],
        bar("backtest"),
    )
    bt = merge_backtests(parts_bt[1:], parts_bt[0])
    del parts_bt
    choice = choose(bt)
    levels = DEFAULT_LEVELS if params.forecast_quantiles else ()
    stock_parts = [
        StockPart(
            matrix=DemandMatrix(matrix.keys[s], y[s], matrix.period, matrix.first),
            choice=take_choice(choice, s),
            inputs=base.take(s),  # type: ignore[arg-type]
            weights=weights[s],
            horizon=params.horizon,
            params=method_params,
            levels=levels,
            days_per_period=days,
            installed=None if installed is None else installed[s],
        )
        for s in spans
    ]
    results = engine.map(stock_part, stock_parts, bar("policies"))
    del stock_parts
    forecast = merge_forecasts([r.forecast for r in results], matrix, bt)
    demand = DemandPlan(classes=classes, forecast=forecast, backtest=bt)
    inputs = replace(
        base,
        mean_per_day=np.concatenate([r.mean_per_day for r in results]),
        variance_per_day=np.concatenate([r.variance_per_day for r in results]),
    )
    policy = concat_policies([r.policy for r in results])
    family = np.concatenate([r.family for r in results])
    system = SystemCurve.from_parts([r.curve for r in results])
    del results
    extras: dict[str, object] = {"_curve": system.points()}
    if progress:
        progress("table", 0, 1)
    if params.budget is not None:
        # the best weighted fill rate the budget buys, target or not
        level = system.level_for_budget(params.budget)
        budget_parts = [BudgetPart(inputs.take(s), weights[s], level) for s in spans]  # type: ignore[arg-type]
        policy = concat_policies(engine.map(budget_part, budget_parts, bar("budget")))
        extras["budget"] = params.budget
    table = plan_table(facts, demand, inputs, policy, family, as_of, params.period, installed)
    repairables = plan_repairables(
        dataset, table, inputs.mean_per_day, params.availability, params.availability_per_base
    )
    table = with_repairables(table, repairables)
    if repairables is not None:
        extras["repairable_availability"] = repairables.by_depot
    if progress:
        progress("table", 1, 1)
    if params.simulate_days > 0:
        table, fill, half_width, about = _simulate_sample(table, params, progress)
        extras["simulated_fill_rate"] = fill
        extras["simulated_fill_rate_ci"] = half_width
        extras["simulation"] = about
    return StockPlan(table=table, demand=demand, policy=policy, as_of=as_of, extras=extras)


def _installed_demand(
    dataset: Dataset, matrix: DemandMatrix, as_of: date, params: PlanParams, days: float
) -> F64 | None:
    """Demand per day from the installed base where ``params.demand_source`` takes it
    (NaN elsewhere), aligned with the matrix's rows; None when none is taken."""
    if params.demand_source == "history":
        return None
    fleet = installed_base(dataset, matrix.keys, as_of, params.horizon * days, params.horizon)
    if fleet is None:
        return None
    mean = fleet.mean_per_day.copy()
    if params.demand_source == "auto":
        mean[matrix.values.sum(axis=1) > 0] = np.nan  # history where there is any
    return None if np.isnan(mean).all() else mean


def with_repairables(table: pl.DataFrame, rp: RepairablePlan | None) -> pl.DataFrame:
    """The plan table with ``stock_model`` (``fill-rate`` or ``vari-metric``) and
    ``expected_availability``, and the repairables' rows as base-stock policies."""
    n = table.height
    if rp is None:  # constant columns: no per-row Python strings for a million rows
        return table.with_columns(
            pl.lit("fill-rate", dtype=pl.String).alias("stock_model"),
            pl.lit(None, dtype=pl.Float64).alias("expected_availability"),
        )
    model = np.full(n, "fill-rate", dtype=object)
    avail = np.full(n, np.nan)
    r = rp.rows
    model[r] = "vari-metric"
    avail[r] = rp.availability

    def put(column: str, values: NDArray[Any]) -> pl.Series:
        out = table[column].to_numpy().copy()
        out[r] = values
        return pl.Series(column, out)

    s = rp.stock
    policy = table["policy"].to_numpy().astype(object)
    policy[r] = "base_stock"
    unit_cost = table["unit_cost"].to_numpy()
    position = table["inventory_position"].to_numpy()
    order = table["order_now"].to_numpy().copy()
    order[r] = np.maximum(s - position[r], 0.0) * (position[r] <= s - 1)
    return table.with_columns(
        pl.Series("policy", policy, dtype=pl.String),
        put("reorder_point", s - 1),
        put("order_up_to", s),
        put("order_quantity", np.ones_like(s)),
        put("safety_stock", s - rp.pipeline),
        put("expected_fill_rate", rp.fill_rate),
        put("expected_backorders", rp.backorders),
        put("expected_on_hand", rp.on_hand),
        put("inventory_value", rp.on_hand * unit_cost[r]),
        pl.Series("order_now", order),
        pl.Series("stock_model", model, dtype=pl.String),
        pl.Series("expected_availability", avail).fill_nan(None),
    ).with_columns(
        pl.when(pl.col("order_now") > 0)
        .then(pl.col("need_date"))
        .otherwise(None)
        .alias("need_date")
    )


def aggregate_fill_rate(table: pl.DataFrame, column: str = "expected_fill_rate") -> float | None:
    """Demand-weighted mean of ``column`` (None without demand)."""
    demand = table["forecast_per_period"].to_numpy()
    if demand.sum() <= 0:
        return None
    return float(np.sum(table[column].to_numpy() * demand) / demand.sum())


#: Item-sites the plan simulates at most (a seeded sample beyond; the rest get null).
SIMULATE_ITEM_SITES = 6_000


def simulation_rows(n: int, seed: int) -> I64:
    """The plan rows simulated: all, or beyond ``SIMULATE_ITEM_SITES`` a seeded uniform
    sample of that many. The demo's 5,201 item-sites pin the aggregate simulated fill
    rate to +-0.1 point, enough to check the plan's promise; simulating a million
    item-sites for ten years would take longer than the plan itself."""
    if n <= SIMULATE_ITEM_SITES:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, SIMULATE_ITEM_SITES, replace=False)).astype(np.int64)


def _simulate_sample(
    table: pl.DataFrame, params: PlanParams, progress: Progress | None
) -> tuple[pl.DataFrame, float, float, dict[str, object]]:
    """Simulate the plan (or its sample of item-sites): the table with
    ``simulated_fill_rate`` (null where not simulated), the simulated aggregate fill rate,
    its 95 % half-width and what was simulated (with the expected fill rate of the
    same item-sites, the figure the simulation checks)."""
    # repairables' stock is checked by the repair-network simulation, not this one
    single = np.flatnonzero((table["stock_model"] != "vari-metric").to_numpy())
    rows = single[simulation_rows(single.size, params.seed)]
    sample = table if rows.size == table.height else table[rows]
    sim = simulate_plan(sample, params, progress)
    column = np.full(table.height, np.nan)
    column[rows] = sim.fill_rate
    table = table.with_columns(pl.Series("simulated_fill_rate", column).fill_nan(None))
    expected = aggregate_fill_rate(sample)
    about: dict[str, object] = {
        "days": params.simulate_days,
        "warmup_days": sim.warmup,
        "replications": params.replications,
        "seed": params.seed,
        "item_sites": int(rows.size),
        "sampled": bool(rows.size < table.height),
        "expected_fill_rate_of_simulated": expected,
    }
    return table, float(sim.total_fill_rate), float(sim.total_fill_rate_ci), about


def simulate_plan(
    table: pl.DataFrame,
    params: PlanParams,
    progress: Progress | None = None,
    history: F64 | None = None,
) -> SimulationResult:
    """Simulate the plan's policies day by day against its own demand model (random
    lead times where the sourcing gives a spread): the check of its expected service.

    ``history`` (plan rows, days): daily demand to resample instead (a bootstrap of the
    past, Efron & Tibshirani 1993; see :func:`daily_history`), which checks the plan
    against the demand it was fitted to rather than against its own model."""
    days = DAYS_PER_PERIOD[table["period"][0]] if table.height else 1.0
    demand: FamilyDemand | Bootstrap
    if history is not None:
        demand = Bootstrap(history)
    else:
        family = np.array(
            [Family[f].value for f in table["demand_family"].to_list()], dtype=np.int8
        )
        demand = FamilyDemand(
            family=family,
            mean=table["forecast_per_period"].to_numpy() / days,
            variance=table["demand_variance_per_period"].to_numpy() / days,
        )
    policy = PolicyArrays.rq(
        reorder_point=table["reorder_point"].to_numpy(),
        order_quantity=table["order_quantity"].to_numpy(),
        lead_time=table["lead_time_days"].to_numpy(),
    )
    sd = np.nan_to_num(table["lead_time_sd_days"].cast(pl.Float64).to_numpy())
    return simulate(
        policy,
        demand,
        periods=params.simulate_days,
        replications=params.replications,
        seed=params.seed,
        lead_time_sd=sd if (sd > 0).any() else None,
        progress=(lambda d, t: progress("simulate", d, t)) if progress else None,
    )


#: Cells (item-sites x days) a bootstrap history may hold (8 bytes each).
HISTORY_CELLS = 250_000_000


def daily_history(dataset: Dataset, table: pl.DataFrame) -> F64:
    """Daily demand of each plan row (item-site) over the dataset's history, shape (rows,
    days): NaN before an item's introduction, zeros where the dataset has no demand for
    the item-site. Raises ParameterError beyond ``HISTORY_CELLS`` cells."""
    matrix = matrix_from_dataset(dataset, "day")
    cells = table.height * matrix.n_periods
    if cells > HISTORY_CELLS:
        raise ParameterError(
            "--bootstrap",
            f"{table.height:,} item-sites x {matrix.n_periods:,} days of history is "
            f"{cells:,} cells, over the {HISTORY_CELLS:,} a bootstrap holds in memory; "
            "simulate against the demand model instead",
        )
    keys = matrix.keys.with_row_index("_row")
    on = [k for k in KEYS if k in keys.columns and k in table.columns]
    rows = table.select(on).join(keys, on=on, how="left", maintain_order="left")["_row"]
    history = np.zeros((table.height, matrix.n_periods))
    found = rows.is_not_null().to_numpy()
    history[found] = matrix.values[rows.drop_nulls().to_numpy()]
    return history


_FAMILY_NAMES = np.array([f.name for f in Family])


def _as_of(matrix: DemandMatrix) -> date:
    """The plan date: the first day after the last period of history."""
    return period_start(matrix.first + matrix.n_periods, matrix.period)


def plan_table(
    facts: pl.DataFrame,
    demand: DemandPlan,
    inputs: StockInputs,
    policy: Policy,
    family: NDArray[np.int8],
    as_of: date,
    period: Period,
    installed: F64 | None = None,
) -> pl.DataFrame:
    """The plan contract of design.md, plus the demand and value columns.
    ``demand_source`` says where each item-site's demand came from: ``history`` (the
    ``auto`` forecast) or ``installed_base`` (``installed`` demand per day, a number)."""
    fc = demand.forecast
    from_fleet = (
        np.isfinite(installed) if installed is not None else np.zeros(len(inputs), dtype=bool)
    )
    days = DAYS_PER_PERIOD[period]
    forecast = np.where(from_fleet, inputs.mean_per_day * days, np.nan_to_num(fc.point["auto"]))
    variance = np.where(
        from_fleet, inputs.variance_per_day * days, np.nan_to_num(fc.variance["auto"])
    )
    position = (
        facts["on_hand"].to_numpy() + facts["on_order"].to_numpy() - facts["backorders"].to_numpy()
    )
    order = order_now(position, policy.reorder_point, policy.order_quantity)
    lead = inputs.lead_time_days
    need = pl.Series(
        "need_date", np.datetime64(as_of, "D") + np.asarray(lead).astype("timedelta64[D]")
    )

    unit_cost = inputs.unit_cost
    svc = policy.service
    return pl.DataFrame(
        {
            "item_id": facts["item_id"],
            "site_id": facts["site_id"],
            "demand_class": demand.classes["demand_class"],
            "abc": demand.classes["abc"] if "abc" in demand.classes.columns else None,
            "method": fc.auto_method if fc.auto_method is not None else "auto",
            "demand_source": pl.Series(from_fleet).replace_strict(
                {True: "installed_base", False: "history"}, return_dtype=pl.String
            ),
            "forecast_per_period": forecast,
            "demand_variance_per_period": variance,
            "demand_family": _FAMILY_NAMES[family],
            "period": period,
            "policy": policy.policy,
            "review_period_days": np.zeros(len(inputs), dtype=np.int64),
            "lead_time_days": lead,
            "lead_time_sd_days": facts["lead_time_sd_days"].cast(pl.Float64),
            "lead_time_assumed": facts["lead_time_assumed"],
            "target_fill_rate": inputs.target_fill_rate,
            "safety_stock": policy.safety_stock,
            "reorder_point": policy.reorder_point,
            "order_up_to": policy.order_up_to,
            "order_quantity": policy.order_quantity,
            "expected_fill_rate": svc.fill_rate,
            "expected_ready_rate": svc.ready_rate,
            "expected_backorders": svc.backorders,
            "expected_on_hand": svc.on_hand,
            "unit_cost": unit_cost,
            "inventory_value": svc.on_hand * unit_cost,
            "on_hand": facts["on_hand"],
            "on_order": facts["on_order"],
            "backorders": facts["backorders"],
            "inventory_position": position,
            "order_now": order,
            "need_date": need.cast(pl.Date),
        }
    ).with_columns(
        pl.when(pl.col("order_now") > 0)
        .then(pl.col("need_date"))
        .otherwise(None)
        .alias("need_date")
    )
