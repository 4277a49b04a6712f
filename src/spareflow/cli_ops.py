"""Operations commands of the ``spareflow`` CLI: serve the API, manage users, the store.

Registered on the main app by ``spareflow.cli``; same rules: one line per user error on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from spareflow.errors import ParameterError, SpareflowError

user_app = typer.Typer(help="Users of the operations service.", no_args_is_help=True)
db_app = typer.Typer(help="The operations store (SQLite or PostgreSQL).", no_args_is_help=True)


def _fail(exc: SpareflowError) -> typer.Exit:
    for line in exc.lines():
        print(f"error: {line}", file=sys.stderr)
    return typer.Exit(code=2)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the REST API (/openapi.json, /docs) on the store named by
    SPAREFLOW_DATABASE_URL, or ./spareflow.db (SQLite) with no set-up."""
    try:
        import uvicorn

        from spareflow.api import create_app
        from spareflow.store.session import database_url

        app = create_app()
        print(f"spareflow API on http://{host}:{port} (docs at /docs), store "
              f"{_safe(database_url())}", file=sys.stderr)
    except SpareflowError as exc:
        raise _fail(exc) from None
    uvicorn.run(app, host=host, port=port, log_level="info")


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
        raise _fail(exc) from None
    scope = ", ".join(site or []) or ("every site" if role == "admin" else "no site yet")
    print(f"user {name} added as {role} ({scope})", file=sys.stderr)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the store's schema to the latest migration."""
    try:
        from spareflow.store.session import current_revision, database_url, make_engine, upgrade

        engine = make_engine()
        upgrade(engine)
        print(f"store {_safe(database_url())} at revision {current_revision(engine)}",
              file=sys.stderr)
    except SpareflowError as exc:
        raise _fail(exc) from None


def _safe(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(db_app, name="db")
