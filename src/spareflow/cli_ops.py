"""Operations commands of the ``spareflow`` CLI: serve the API, manage users, the store.

Registered on the main app by ``spareflow.cli``; same rules: one line per user error on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from spareflow.errors import NotFound, ParameterError, SpareflowError

user_app = typer.Typer(help="Users of the operations service.", no_args_is_help=True)
db_app = typer.Typer(help="The operations store (SQLite or PostgreSQL).", no_args_is_help=True)
orders_app = typer.Typer(help="Orders in the operations store.", no_args_is_help=True)

UserOpt = Annotated[
    str, typer.Option("--user", help="The store user this is done as (recorded on every row).")
]


def fail(exc: SpareflowError) -> typer.Exit:
    """A user error as the CLI shows it: one line per fault on stderr, exit code 2."""
    for line in exc.lines():
        print(f"error: {line}", file=sys.stderr)
    return typer.Exit(code=2)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Server processes (one per core suits PostgreSQL).", min=1)
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
) -> None:
    """Serve the REST API (/openapi.json, /docs) on the store named by
    SPAREFLOW_DATABASE_URL, or ./spareflow.db (SQLite) with no set-up."""
    try:
        import uvicorn

        from spareflow.api.app import serving_app
        from spareflow.store.session import database_url

        app = serving_app()  # migrates the store and makes the signing key, once
        print(
            f"spareflow API on http://{host}:{port} (docs at /docs), store "
            f"{_safe(database_url())}, {workers} worker(s)",
            file=sys.stderr,
        )
    except SpareflowError as exc:
        raise fail(exc) from None
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
    else:  # each worker process builds its own app from the environment
        uvicorn.run(
            "spareflow.api.app:serving_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=access_log,
        )


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The username.")],
    role: Annotated[str, typer.Option(help="admin, planner, storekeeper, technician or viewer.")],
    site: Annotated[
        list[str] | None, typer.Option("--site", help="A site the user works at (repeatable).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user; the first user of a store must be an admin."""
    try:
        if not password_stdin:
            raise ParameterError("--password-stdin", "give the password on standard input")
        password = sys.stdin.readline().rstrip("\r\n")
        from spareflow.services import users
        from spareflow.store.session import make_engine, session_factory, unit_of_work, upgrade

        engine = make_engine()
        upgrade(engine)
        with unit_of_work(session_factory(engine)) as session:
            users.add_user(session, name, password, role, list(site or []))
        engine.dispose()
    except SpareflowError as exc:
        raise fail(exc) from None
    scope = ", ".join(site or []) or ("every site" if role == "admin" else "no site yet")
    print(f"user {name} added as {role} ({scope})", file=sys.stderr)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the store's schema to the latest migration."""
    try:
        from spareflow.store.session import current_revision, database_url, make_engine, upgrade

        engine = make_engine()
        upgrade(engine)
        print(
            f"store {_safe(database_url())} at revision {current_revision(engine)}", file=sys.stderr
        )
    except SpareflowError as exc:
        raise fail(exc) from None


@db_app.command("import")
def db_import(
    dataset: Annotated[Path, typer.Argument(help="Planning dataset folder.")],
    user: UserOpt,
) -> None:
    """Import a planning dataset (master data, stock, demand history, open orders) into
    the store in one transaction: all or nothing."""
    try:
        from spareflow.services.bulk_import import import_dataset
        from spareflow.store.session import unit_of_work

        factory, engine = _store()
        with unit_of_work(factory) as session:
            _check_user(session, user)
        with _bars() as progress:
            summary = import_dataset(factory, dataset, user, progress=progress)
        engine.dispose()
    except SpareflowError as exc:
        raise fail(exc) from None
    counts = summary.as_dict()
    seconds = counts.pop("elapsed_seconds")
    shown = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items() if v)
    print(f"imported {dataset} in {seconds:.1f} s: {shown}", file=sys.stderr)


def _bars() -> Any:
    """The main CLI's progress bars (rich, on stderr when it is a terminal)."""
    from spareflow.cli import _progress

    return _progress()


@orders_app.command("draft")
def orders_draft(
    plan: Annotated[Path, typer.Argument(help="A plan folder (plan.parquet) or plan table.")],
    user: UserOpt,
    default_supplier: Annotated[
        str | None, typer.Option(help="Supplier for purchases whose item has none on record.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print what would be ordered.")
    ] = False,
) -> None:
    """Turn a plan's orders to place now into draft purchase and transfer orders."""
    try:
        import polars as pl

        from spareflow.services.plan_bridge import draft_orders, orders_to_place

        table = plan / "plan.parquet" if plan.is_dir() else plan
        if not table.is_file():
            raise NotFound(f"{table}: no such plan table")
        if table.suffix not in (".parquet", ".csv"):
            raise ParameterError("PLAN", f"{table}: a .parquet or .csv plan table")
        try:
            frame = pl.read_parquet(table) if table.suffix == ".parquet" else pl.read_csv(table)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise ParameterError("PLAN", f"{table}: not a readable plan table ({exc})") from None
        if dry_run:
            todo = orders_to_place(frame, source=str(table))
            for row in todo.iter_rows(named=True):
                print(f"{row['site_id']}\t{row['item_id']}\t{row['quantity']:g}")
            print(f"{todo.height:,} item-sites would be ordered", file=sys.stderr)
            return
        factory, engine = _store()
        from spareflow.store.session import unit_of_work

        with unit_of_work(factory) as session:
            _check_user(session, user)
            made = draft_orders(
                session, frame, user, default_supplier=default_supplier, source=str(table)
            )
            lines = [
                f"{v.order.number}\t{v.order.kind}\t{v.order.site_id}\t"
                f"{v.order.partner_id or v.order.source_site_id}\t{len(v.lines)} lines"
                for v in made
            ]
        engine.dispose()
    except SpareflowError as exc:
        raise fail(exc) from None
    print("\n".join(lines)) if lines else None
    print(f"{len(lines):,} draft orders created", file=sys.stderr)


StartOpt = Annotated[str, typer.Option(help="Period start, YYYY-MM-DD (UTC) or ISO time.")]
EndOpt = Annotated[str, typer.Option(help="Period end (exclusive), YYYY-MM-DD or ISO time.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write the KPIs as JSON here.")]


def kpis(
    start: StartOpt,
    end: EndOpt,
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Only this site (repeatable).")
    ] = None,
    out: OutOpt = None,
) -> None:
    """Operations KPIs for a period: lead times, accuracy, fill rate, OTIF, MTTR ..."""
    from spareflow.services.kpis import compute

    _report(compute, start, end, site, out)


def logistics_kpis(
    start: StartOpt,
    end: EndOpt,
    site: Annotated[
        list[str] | None,
        typer.Option("--site", help="Only shipments to or from this site (repeatable)."),
    ] = None,
    out: OutOpt = None,
) -> None:
    """Logistics KPIs for a period: transit times, on-time delivery, freight cost ..."""
    from spareflow.services.logistics_kpis import compute

    _report(compute, start, end, site, out)


def _report(
    compute: Callable[[Any, datetime, datetime, list[str] | None], Any],
    start: str,
    end: str,
    site: list[str] | None,
    out: Path | None,
) -> None:
    """A KPI report of the store for [--start, --end) as JSON, on stdout or to ``out``."""
    try:
        import json

        from spareflow.data.write import write_text
        from spareflow.store.session import unit_of_work

        when = [_moment("--start", start), _moment("--end", end)]
        factory, engine = _store()
        with unit_of_work(factory) as session:
            report = compute(session, when[0], when[1], list(site) if site else None).as_dict()
        engine.dispose()
        text = json.dumps(report, indent=2)
        if out is None:
            print(text)
            return
        write_text(text + "\n", out)
    except SpareflowError as exc:
        raise fail(exc) from None
    print(f"wrote {out}", file=sys.stderr)


def _moment(option: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(option, f"a date YYYY-MM-DD or an ISO time, got {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _store() -> tuple[Any, Any]:
    """A session factory on the store (migrated), and its engine to dispose."""
    from spareflow.store.session import make_engine, session_factory, upgrade

    engine = make_engine()
    upgrade(engine)
    return session_factory(engine), engine


def _check_user(session: Any, username: str) -> None:
    from spareflow.store.models import User

    if session.get(User, username) is None:
        raise NotFound(f"--user: no user {username!r} in the store (spareflow user add)")


def _safe(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(kpis)
    app.command("logistics-kpis")(logistics_kpis)
    app.add_typer(user_app, name="user")
    app.add_typer(db_app, name="db")
    app.add_typer(orders_app, name="orders")
