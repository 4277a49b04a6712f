"""The ``spareflow`` command line: parse, validate, call the engines, present.

User errors (bad data, bad options) print one line per fault on stderr and exit with
code 2, never a traceback. Progress bars go to stderr, only when it is a terminal.
Heavy modules are imported inside the commands so that each command starts fast.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from spareflow.cli_network import register as _register_network
from spareflow.cli_ops import fail as _fail
from spareflow.cli_ops import register as _register_ops
from spareflow.cli_shipping import register as _register_shipping
from spareflow.cli_tracking import register as _register_tracking
from spareflow.cli_transport import register as _register_transport
from spareflow.errors import NotFound, ParameterError, SpareflowError

app = typer.Typer(
    name="spareflow",
    help="Spare-parts planning and logistics coordination: classify, forecast, plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ProgressFn = Callable[[str, int, int], None]


@contextlib.contextmanager
def _progress(enabled: bool | None = None) -> Iterator[ProgressFn]:
    """A progress callback drawing rich bars on stderr; silent when stderr is not a tty."""
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        yield lambda stage, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _weights(text: str) -> tuple[tuple[str, float], ...]:
    """``high=3,low=0.5`` as pairs; every weight a non-negative number."""
    out: list[tuple[str, float]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            weight = float(value) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if not name.strip() or not weight >= 0.0:
            raise ParameterError(
                "--criticality-weights", f"expected NAME=WEIGHT (weight >= 0), got {part!r}"
            )
        out.append((name.strip(), weight))
    return tuple(out)


def _floats(text: str, option: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(option, f"expected comma-separated numbers, got {text!r}") from None


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the dataset into.")],
    items: Annotated[int, typer.Option(help="Number of items (parts).")] = 2000,
    sites: Annotated[
        int, typer.Option(help="Number of sites (one warehouse, the rest service sites).")
    ] = 3,
    months: Annotated[int, typer.Option(help="Months of demand history.")] = 36,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or xlsx.")] = "csv",
) -> None:
    """Generate a realistic, reproducible spare-parts planning dataset."""
    try:
        from spareflow.data.demo import generate_dataset
        from spareflow.data.write import write_dataset

        _started()

        if fmt not in ("csv", "parquet", "xlsx"):
            raise ParameterError("--format", f"must be csv, parquet or xlsx, got {fmt!r}")
        tables = generate_dataset(items=items, sites=sites, months=months, seed=seed)
        paths = write_dataset(tables, out, fmt)
    except SpareflowError as exc:
        raise _fail(exc) from None
    sizes = ", ".join(f"{name} {frame.height:,}" for name, frame in tables.items())
    print(f"wrote {len(paths)} tables to {out} ({sizes} rows)")


@app.command(name="classify")
def classify_cmd(
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder or demand table (.csv/.parquet/.xlsx).")
    ],
    period: Annotated[str, typer.Option(help="day, week or month.")] = "month",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write one row per series here.")
    ] = None,
    abc: Annotated[str, typer.Option(help="ABC cut-offs: cumulative value shares.")] = "0.8,0.95",
    xyz: Annotated[
        str, typer.Option(help="XYZ cut-offs on the coefficient of variation.")
    ] = "0.5,1.0",
) -> None:
    """Classify every series: ADI/CV² (smooth, erratic, intermittent, lumpy), ABC, XYZ."""
    try:
        import polars as pl

        from spareflow.data.periods import check_period
        from spareflow.data.write import check_table_path, write_table
        from spareflow.demand.classify import Cutoffs
        from spareflow.plan import classify_matrix, matrix_from_dataset

        _started()

        p = check_period(period)
        a, b = [*_floats(abc, "--abc"), 0.0, 0.0][:2]
        x, z = [*_floats(xyz, "--xyz"), 0.0, 0.0][:2]
        cutoffs = Cutoffs(abc=(a, b), xyz=(x, z))
        if out is not None:
            check_table_path(out)
        unit_cost = None
        if _has_table(dataset, "items"):
            from spareflow.data.load import load_dataset

            ds = load_dataset(dataset)
            matrix = matrix_from_dataset(ds, p)
            unit_cost = ds["items"]
        else:
            from spareflow.data.load import load_demand_matrix

            matrix = load_demand_matrix(dataset, p)
        classes = classify_matrix(matrix, unit_cost, cutoffs)
        if out is not None:
            write_table(classes, out)
    except SpareflowError as exc:
        raise _fail(exc) from None
    _print_class_summary(classes, pl)
    if out is not None:
        print(f"wrote {classes.height:,} series to {out}")


def _has_table(folder: Path, name: str) -> bool:
    from spareflow.data.load import find_table

    return folder.is_dir() and find_table(folder, name) is not None


def _print_class_summary(classes: Any, pl: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{classes.height:,} series")
    table.add_column("demand class")
    table.add_column("series", justify="right")
    table.add_column("share", justify="right")
    counts = classes.group_by("demand_class").len().sort("demand_class")
    for cls, n in counts.iter_rows():
        table.add_row(cls, f"{n:,}", f"{n / classes.height:.1%}")
    Console().print(table)
    for col in ("abc", "xyz"):
        if col in classes.columns:
            c = classes.group_by(col).len().sort(col)
            print(f"{col.upper()}: " + ", ".join(f"{k} {n:,}" for k, n in c.iter_rows()))


@app.command()
def forecast(
    demand: Annotated[
        Path, typer.Argument(help="Demand table: item_id, date, quantity[, site_id].")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).")],
    method: Annotated[
        str,
        typer.Option(help="Comma-separated: croston,sba,tsb,adida,imapa,naive,ma,ses,combo,auto."),
    ] = "croston,sba,tsb,adida,imapa",
    horizon: Annotated[int, typer.Option(help="Periods ahead.")] = 12,
    period: Annotated[str, typer.Option(help="day, week or month.")] = "month",
    alpha_d: Annotated[
        float, typer.Option("--alpha-d", help="Smoothing of demand sizes (Croston, SBA, TSB, SES).")
    ] = 0.1,
    alpha_p: Annotated[
        float, typer.Option("--alpha-p", help="Smoothing of demand probability (TSB).")
    ] = 0.1,
    quantiles: Annotated[
        str, typer.Option(help="Quantile levels to add as columns, e.g. 0.5,0.9,0.95.")
    ] = "",
    window: Annotated[int, typer.Option(help="Window of the moving average (ma).")] = 12,
    uncertainty: Annotated[
        bool,
        typer.Option(
            "--uncertainty", help="Add the variance of demand per period (implied by --quantiles)."
        ),
    ] = False,
) -> None:
    """Forecast demand per series: a long table item_id[, site_id], step, date, method, forecast."""
    try:
        import polars as pl

        from spareflow.data.load import load_demand_matrix
        from spareflow.data.periods import check_period
        from spareflow.data.write import check_table_path, write_table_parts
        from spareflow.demand.forecast import check_levels, forecast_blocks
        from spareflow.demand.methods import MethodParams, check_methods

        _started()

        check_table_path(out)
        names = check_methods(method.split(","))
        params = MethodParams(alpha_d=alpha_d, alpha_p=alpha_p, window=window)
        levels = check_levels(_floats(quantiles, "--quantiles"))
        if horizon < 1:
            raise ParameterError("--horizon", f"must be at least 1, got {horizon}")
        p = check_period(period)
        matrix = load_demand_matrix(demand, p)
        n_series, n_methods = matrix.values.shape[0], 0

        def blocks() -> Iterator[pl.DataFrame]:
            nonlocal n_methods
            with _progress() as progress:
                for result in forecast_blocks(
                    matrix,
                    names,
                    horizon,
                    params,
                    levels,
                    progress=progress,
                    uncertainty=uncertainty,
                ):
                    n_methods = len(result.point)
                    yield from result.table_parts(categorical=True)

        write_table_parts(blocks(), out)
    except SpareflowError as exc:
        raise _fail(exc) from None
    print(
        f"wrote {n_series:,} series x {n_methods} methods x {horizon} steps to {out}",
        file=sys.stderr,
    )


@app.command()
def plan(
    dataset: Annotated[
        Path | None, typer.Argument(help="Planning dataset folder (or give --from-store).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the plan, summary and report.")
    ] = Path("plan-out"),
    target: Annotated[
        float, typer.Option(help="Default target fill rate (targets table rows win).")
    ] = 0.95,
    budget: Annotated[
        float | None, typer.Option(help="Total inventory investment allowed (currency).")
    ] = None,
    period: Annotated[str, typer.Option(help="Demand period: day, week or month.")] = "month",
    horizon: Annotated[int, typer.Option(help="Forecast periods.")] = 12,
    csv: Annotated[bool, typer.Option("--csv", help="Also write plan.csv.")] = False,
    criticality_weights: Annotated[
        str,
        typer.Option(help="Budget weights per criticality, e.g. high=3,medium=1,low=0.5."),
    ] = "",
    engine: Annotated[
        str,
        typer.Option(help="local (threads in this process) or dask (a Dask cluster)."),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --engine dask: the scheduler's address (tcp://host:8786) or 'local' "
            "(a cluster on this machine; the default)."
        ),
    ] = None,
    demand_source: Annotated[
        str,
        typer.Option(
            help="auto (installed base for item-sites without history, the forecast "
            "elsewhere), history, or installed-base (expected failures of the assets' "
            "parts wherever the dataset has assets and positions)."
        ),
    ] = "auto",
    availability: Annotated[
        float,
        typer.Option(
            help="Fleet availability that repairable items (repairable, with repair rows "
            "at a depot) are stocked for across the depot and its bases (VARI-METRIC)."
        ),
    ] = 0.95,
    per_base: Annotated[
        bool, typer.Option("--per-base", help="Every base meets --availability, not the fleet.")
    ] = False,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="Plan the operations store (SPAREFLOW_DATABASE_URL or ./spareflow.db): "
            "demand from issues and consumption, stock on hand, on order from open orders. "
            "The exported dataset is kept in OUT/dataset.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="With --from-store: end of the demand history (YYYY-MM-DD, UTC; "
            "default the start of the current period)."
        ),
    ] = None,
) -> None:
    """Plan stock for every item-site: policies for the targets, the orders to place now."""
    try:
        from spareflow.data.load import load_dataset
        from spareflow.data.periods import check_period
        from spareflow.job import run_plan
        from spareflow.plan.engine import ENGINES, make_engine
        from spareflow.plan.stock import PlanParams

        _started()

        if engine not in ENGINES:
            raise ParameterError(
                "--engine", f"unknown engine {engine!r}; known: {', '.join(ENGINES)}"
            )
        if scheduler is not None and engine != "dask":
            raise ParameterError("--scheduler", "only goes with --engine dask")
        params = PlanParams(
            target=target,
            budget=budget,
            period=check_period(period),
            horizon=horizon,
            criticality_weights=_weights(criticality_weights),
            demand_source=demand_source,
            availability=availability,
            availability_per_base=per_base,
        )
        if (dataset is None) == (not from_store):
            raise ParameterError("DATASET", "give a dataset folder or --from-store, not both")
        if as_of is not None and not from_store:
            raise ParameterError("--as-of", "only goes with --from-store")
        runner = make_engine(engine, scheduler)
        try:
            with _progress() as progress:
                if from_store:
                    paths = _plan_store(out, params, as_of, csv, progress, runner)
                else:
                    ds = load_dataset(dataset)  # type: ignore[arg-type]
                    _, paths = run_plan(ds, out, params, csv=csv, progress=progress, engine=runner)
        finally:
            runner.close()
    except SpareflowError as exc:
        raise _fail(exc) from None
    for label, path in paths.items():
        print(f"{label:>9}: {path}")


def _plan_store(
    out: Path, params: Any, as_of: str | None, csv: bool, progress: Any, runner: Any
) -> dict[str, Path]:
    """``plan --from-store``: export the store beside the plan, then plan it."""
    from datetime import UTC, datetime

    from spareflow.services.plan_bridge import plan_from_store
    from spareflow.store.session import make_engine as make_store
    from spareflow.store.session import session_factory, upgrade

    when = None
    if as_of is not None:
        try:
            when = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
        except ValueError:
            raise ParameterError("--as-of", f"a date YYYY-MM-DD, got {as_of!r}") from None
    store = make_store()
    upgrade(store)
    try:
        result = plan_from_store(
            session_factory(store),
            out,
            params,
            as_of=when,
            dataset_dir=out / "dataset",
            csv=csv,
            progress=progress,
            engine=runner,
        )
    finally:
        store.dispose()
    return {**result.paths, "dataset": out / "dataset"}


@app.command()
def policy(
    params_file: Annotated[
        Path,
        typer.Argument(
            metavar="PARAMS",
            help="CSV or Parquet: item_id, policy (sS or rQ), demand_mean, lead_time, "
            "holding_cost, stockout_cost, fixed_cost.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).")],
) -> None:
    """Exact cost-optimal (s, S) and (r, Q) policies for Poisson demand, per item."""
    try:
        from spareflow.data.load import load_policy_params
        from spareflow.data.write import check_table_path, write_table
        from spareflow.plan.exact import optimal_policies

        _started()

        check_table_path(out)
        result = optimal_policies(load_policy_params(params_file))
        write_table(result, out)
    except SpareflowError as exc:
        raise _fail(exc) from None
    print(f"wrote {result.height:,} policies to {out}", file=sys.stderr)


@app.command()
def simulate(
    plan_dir: Annotated[Path, typer.Argument(metavar="PLAN", help="A plan folder (plan.parquet).")],
    days: Annotated[int, typer.Option(help="Days simulated per replication.")] = 3650,
    replications: Annotated[int, typer.Option(help="Independent replications.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    bootstrap: Annotated[
        Path | None,
        typer.Option(
            metavar="DATASET",
            help="Resample each day's demand from this dataset's daily history "
            "instead of drawing it from the plan's demand model.",
        ),
    ] = None,
) -> None:
    """Simulate a plan day by day: simulated service per item-site and overall.

    Writes PLAN/simulation.parquet next to the plan and prints the overall figures."""
    try:
        import polars as pl

        from spareflow.data.write import write_table
        from spareflow.plan.stock import PlanParams, aggregate_fill_rate, simulate_plan

        _started()

        source = plan_dir / "plan.parquet" if plan_dir.is_dir() else plan_dir
        if not source.is_file():
            raise NotFound(f"{source}: no plan here (run spareflow plan DATASET --out DIR)")
        if days < 2 or replications < 2:
            raise ParameterError("--days", "simulate at least 2 days and 2 replications")
        try:
            table = pl.read_parquet(source)
        except Exception as exc:
            raise NotFound(
                f"{source}: cannot be read as a plan ({exc.__class__.__name__})"
            ) from exc
        needed = {"forecast_per_period", "demand_variance_per_period", "demand_family",
                  "reorder_point", "order_quantity", "lead_time_days", "lead_time_sd_days",
                  "period", "expected_fill_rate"}  # fmt: skip
        missing = sorted(needed - set(table.columns))
        if missing:
            raise NotFound(f"{source}: not a spareflow plan (missing {', '.join(missing)})")
        params = PlanParams(simulate_days=days, replications=replications, seed=seed)
        history = None
        if bootstrap is not None:
            from spareflow.data.load import load_dataset
            from spareflow.plan.stock import daily_history

            history = daily_history(load_dataset(bootstrap), table)
        with _progress() as progress:
            sim = simulate_plan(table, params, progress, history)
        out = table.select("item_id", "site_id", "expected_fill_rate").with_columns(
            pl.Series("simulated_fill_rate", sim.fill_rate),
            pl.Series("simulated_fill_rate_ci", sim.fill_rate_ci),
            pl.Series("simulated_ready_rate", sim.ready_rate),
            pl.Series("simulated_on_hand", sim.mean_on_hand),
            pl.Series("simulated_backorders", sim.mean_backorders),
            pl.Series("orders_per_day", sim.orders_per_period),
            pl.lit("bootstrap" if history is not None else "model").alias("demand_model"),
        )
        target = write_table(out, source.parent / "simulation.parquet")
    except SpareflowError as exc:
        raise _fail(exc) from None
    print(f"expected fill rate:  {aggregate_fill_rate(table):.4f}")
    print(f"simulated fill rate: {sim.total_fill_rate:.4f} +- {sim.total_fill_rate_ci:.4f} (95 %)")
    print(f"wrote {target}")


@app.command()
def metric(
    network_dir: Annotated[
        Path,
        typer.Argument(
            metavar="NETWORK",
            help="Folder with items, sites (parent_site_id), repair and optional stock tables.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for metric.csv and summary.json.")],
    model: Annotated[
        str, typer.Option(help="metric (Sherbrooke 1968) or vari-metric (Sherbrooke 1986).")
    ] = "vari-metric",
    availability: Annotated[
        float | None,
        typer.Option(help="Optimise: least investment for this fleet availability (0..1)."),
    ] = None,
    budget: Annotated[
        float | None, typer.Option(help="Optimise: most availability for this investment.")
    ] = None,
    per_base: Annotated[
        bool,
        typer.Option(
            "--per-base", help="With --availability: every base meets it, not the fleet only."
        ),
    ] = False,
    simulate_days: Annotated[
        float,
        typer.Option(help="Also simulate the levels this many days per replication (0: no)."),
    ] = 0.0,
    replications: Annotated[int, typer.Option(help="Simulation replications.")] = 5,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 0,
) -> None:
    """Repairable stock across depot and bases: evaluate the stock table, or optimise it
    for an availability target or a budget (METRIC / VARI-METRIC)."""
    try:
        from spareflow.data.network import load_network
        from spareflow.multiechelon.metric import MODELS
        from spareflow.plan.repair import run_metric

        _started()

        if model not in MODELS:
            raise ParameterError("--model", f"must be one of {', '.join(MODELS)} (got {model!r})")
        if availability is not None and budget is not None:
            raise ParameterError("--availability/--budget", "give one of them, not both")
        data = load_network(network_dir)
        with _progress() as progress:

            def items_done(done: int, total: int) -> None:
                progress("optimise", done, total)

            summary = run_metric(
                data, out, model, availability, budget, items_done, per_base=per_base,
                simulate_days=simulate_days, replications=replications, seed=seed,
            )  # fmt: skip
    except SpareflowError as exc:
        raise _fail(exc) from None
    bases = summary["availability"]
    low = min(bases.values()) if bases else 1.0
    print(
        f"{summary['mode']}: {summary['items']:,} items at {summary['bases']} bases, "
        f"investment {summary['investment']:,.0f}, fleet availability "
        f"{summary['fleet_availability']:.4f} (lowest base {low:.4f}); wrote {out}",
        file=sys.stderr,
    )


reliability_app = typer.Typer(
    help="Life distributions of parts from failure and suspension records.",
    no_args_is_help=True,
)
app.add_typer(reliability_app, name="reliability")


@reliability_app.command("fit")
def reliability_fit(
    events: Annotated[
        Path,
        typer.Argument(
            metavar="EVENTS",
            help="Life records (item_id, time, kind: failure or suspension), or a dataset "
            "folder whose removals, assets and bill_of_positions give them.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).")],
    level: Annotated[float, typer.Option(help="Confidence level of the bounds.")] = 0.95,
    report: Annotated[
        Path | None, typer.Option(help="Also write Weibull probability plots to this HTML file.")
    ] = None,
) -> None:
    """Weibull (and exponential) life per item by maximum likelihood, with bounds."""
    try:
        from spareflow.data.lives import load_lives
        from spareflow.data.write import check_table_path, write_table, write_text
        from spareflow.reliability.table import life_table
        from spareflow.report.repair import weibull_report

        _started()

        if not 0.0 < level < 1.0:
            raise ParameterError("--level", f"must be between 0 and 1, got {level}")
        check_table_path(out)
        records = load_lives(events)
        table = life_table(records, level)
        page = weibull_report(records, table) if report is not None else None
        write_table(table, out)
        if page is not None and report is not None:
            write_text(page, report)
    except SpareflowError as exc:
        raise _fail(exc) from None
    fitted = int((table["life_model"] != "none").sum())
    print(f"fitted {fitted:,} of {table.height:,} items; wrote {out}", file=sys.stderr)


@app.command()
def pdm(
    telemetry: Annotated[
        Path,
        typer.Argument(
            metavar="TELEMETRY",
            help="Condition readings now: asset_id, time, variable, value (or C-MAPSS .txt).",
        ),
    ],
    train: Annotated[
        Path,
        typer.Option(help="Run-to-failure readings (each asset fails at its last time)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for rul.csv and the report.")],
    horizon: Annotated[
        float, typer.Option(help="Failure probability within this many time units.")
    ] = 30.0,
    assets: Annotated[
        Path | None,
        typer.Option(help="asset_id, site_id[, quantity]: also write part demand per site."),
    ] = None,
) -> None:
    """Remaining useful life and failure risk per asset from condition telemetry."""
    try:
        from spareflow.data.telemetry import load_asset_sites, load_telemetry
        from spareflow.plan.pdm import run_pdm

        _started()

        current = load_telemetry(telemetry)
        history = load_telemetry(train)
        fleet = None if assets is None else load_asset_sites(assets)
        summary = run_pdm(current, history, out, horizon, fleet)
    except SpareflowError as exc:
        raise _fail(exc) from None
    print(
        f"scored {summary['assets']:,} assets; expected failures within {horizon:g}: "
        f"{summary['expected_failures_within_horizon']:.1f}; wrote {out}",
        file=sys.stderr,
    )


@app.command(name="final-buy")
def final_buy_cmd(
    params_file: Annotated[
        Path,
        typer.Argument(
            metavar="PARAMS",
            help="item_id, failures_per_year, years, unit_cost, shortage_cost [, repair_share, "
            "repair_days, salvage_value, holding_rate, decline_per_year, successor_after_years].",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).")],
    service_level: Annotated[
        float, typer.Option(help="Chance the buy covers the remaining life.")
    ] = 0.95,
    curve: Annotated[
        Path | None, typer.Option(help="Also write the cost of every candidate quantity.")
    ] = None,
) -> None:
    """Lifetime (final) buy per item whose production ends, with its cost trade-off."""
    try:
        from spareflow.data.load import load_table
        from spareflow.data.write import check_table_path, write_table
        from spareflow.plan.final_buy import FINAL_BUY_PARAMS, final_buy_table

        _started()

        if not 0.0 < service_level < 1.0:
            raise ParameterError("--service-level", f"must be between 0 and 1, got {service_level}")
        check_table_path(out)
        if curve is not None:
            check_table_path(curve, "--curve")
        params, _ = load_table(params_file, FINAL_BUY_PARAMS)
        table, costs = final_buy_table(params, service_level)
        write_table(table, out)
        if curve is not None:
            write_table(costs, curve)
    except SpareflowError as exc:
        raise _fail(exc) from None
    print(f"wrote final buys of {table.height:,} items to {out}", file=sys.stderr)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the dataset, forecast, summary and report.")
    ] = Path("demo-out"),
    items: Annotated[int, typer.Option(help="Items in the generated dataset.")] = 2000,
    sites: Annotated[int, typer.Option(help="Sites in the generated dataset.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """The main job on generated data: classify, backtest, forecast; write the report."""
    try:
        from spareflow.job import run_demo

        _started()

        with _progress() as progress:
            paths = run_demo(out, items=items, sites=sites, seed=seed, progress=progress)
    except SpareflowError as exc:
        raise _fail(exc) from None
    for label, path in paths.items():
        print(f"{label:>9}: {path}")


_register_ops(app)
_register_transport(app)
_register_tracking(app)
_register_network(app)
_register_shipping(app)


def _started() -> None:
    """End of start-up: a command has imported what it needs. The cyclic garbage
    collector, paused while the many long-lived objects of imports are created (a
    tenth of start-up time), resumes; those objects are frozen out of its scans."""
    gc.freeze()
    gc.enable()


def main() -> None:
    """Entry point of the ``spareflow`` script."""
    gc.disable()  # until _started(): see there
    try:
        app()
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
