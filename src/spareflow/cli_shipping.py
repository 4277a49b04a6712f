"""Shipment commands of the ``spareflow`` CLI: ``shipments build``. Same rules as the
rest: one line per user error on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from spareflow.cli_ops import UserOpt, _check_user, _store, fail, orders_app
from spareflow.errors import NotFound, ParameterError, SpareflowError

shipments_app = typer.Typer(help="Shipments in the store.", no_args_is_help=True)


@shipments_app.command("build")
def shipments_build(
    out: Annotated[Path, typer.Option("--out", help="Folder for the shipment files.")],
    tariff: Annotated[
        Path | None,
        typer.Option(help="LTL class-rate tariff (JSON); default: the shipped SAMPLE tariff."),
    ] = None,
    on: Annotated[
        str | None, typer.Option("--date", help="Ship date of day 0, YYYY-MM-DD (default: today).")
    ] = None,
    window_days: Annotated[
        int, typer.Option(help="Days after --date an order may wait for a consolidation.")
    ] = 2,
    site: Annotated[
        list[str] | None,
        typer.Option("--site", help="Only orders between these sites (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and rate, record nothing in the store.")
    ] = False,
) -> None:
    """Build shipments from released transfer orders: pack each order's lines into
    handling units, class them by density, consolidate orders per lane and ship window
    where the rated LTL cost falls, and record the shipments with their orders. Writes
    shipments.csv, shipment_orders.csv, handling_units.csv, skipped.csv and summary.json
    (saving against shipping each order alone)."""
    try:
        import polars as pl

        from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
        from spareflow.data.write import write_table
        from spareflow.services.shipment_builder import build
        from spareflow.store.session import unit_of_work

        try:
            today = date.fromisoformat(on) if on else date.today()
        except ValueError:
            raise ParameterError("--date", f"an ISO date like 2026-11-25, got {on!r}") from None
        rates = load_tariff(tariff or SAMPLE_TARIFF)
        factory, engine = _store()
        try:
            with unit_of_work(factory) as session:
                result = build(
                    session, rates, today, window_days=window_days, site_ids=site, dry_run=dry_run
                )
                # the files first: a folder that cannot be written leaves the store as it was
                out.mkdir(parents=True, exist_ok=True)
                write_table(result.shipments, out / "shipments.csv")
                write_table(result.orders, out / "shipment_orders.csv")
                write_table(result.handling_units, out / "handling_units.csv")
                skipped = pl.DataFrame(
                    result.skipped, schema={"number": pl.String, "kind": pl.String,
                                            "reason": pl.String},
                )  # fmt: skip
                write_table(skipped, out / "skipped.csv")
                (out / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
        finally:
            engine.dispose()
    except SpareflowError as exc:
        raise fail(exc) from None
    except OSError as exc:
        raise fail(ParameterError("--out", f"{out}: cannot write ({exc.strerror})")) from None
    s = result.summary
    if rates.sample:
        print("note: the SAMPLE tariff's rates are invented; pass --tariff for real ones",
              file=sys.stderr)  # fmt: skip
    verb = "would ship" if dry_run else "ship"
    print(
        f"{s['orders']:,} orders {verb} in {s['shipments']:,} shipments: "
        f"{s['consolidated_cost']:,.2f} against {s['alone_cost']:,.2f} alone "
        f"(saving {s['saving']:,.2f}); {s['skipped_orders']:,} orders left out "
        f"(skipped.csv); files in {out}"
    )


@orders_app.command("act")
def orders_act(
    action: Annotated[str, typer.Argument(help="release, confirm, cancel, ship, depart ...")],
    user: UserOpt,
    number: Annotated[
        list[str] | None, typer.Argument(help="Order numbers (default: --kind and --status).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="With no numbers: every order of this kind ...")
    ] = None,
    status: Annotated[str | None, typer.Option(help="... in this status.")] = None,
) -> None:
    """Take one lifecycle action on orders (e.g. release the DRP's draft transfers so they
    can ship): the numbers named, or every order of --kind in --status. One transaction:
    all or none; an order the action does not apply to is named with its status."""
    try:
        from sqlalchemy import select

        from spareflow.services import orders
        from spareflow.services.lifecycle import ORDER_LIFECYCLES
        from spareflow.store.models import Order
        from spareflow.store.session import unit_of_work

        known = sorted(
            {a for cycle in ORDER_LIFECYCLES.values() for s in cycle.values() for a in s}
        )
        if action not in known:
            raise ParameterError("ACTION", f"one of {', '.join(known)}, got {action!r}")
        if not number and (kind is None or status is None):
            raise ParameterError("NUMBER", "name orders, or give both --kind and --status")
        if number and (kind is not None or status is not None):
            raise ParameterError("--kind", "either order numbers or --kind and --status")
        factory, engine = _store()
        try:
            with unit_of_work(factory) as session:
                _check_user(session, user)
                query = select(Order.order_id, Order.number).order_by(Order.order_id)
                if number:
                    found = {
                        n: i for i, n in session.execute(query.where(Order.number.in_(number)))
                    }
                    missing = [n for n in number if n not in found]
                    if missing:
                        raise NotFound(f"NUMBER: no order {missing[0]!r}")
                    ids = [found[n] for n in dict.fromkeys(number)]
                else:
                    picked = query.where(Order.kind == kind, Order.status == status)
                    ids = [i for i, _n in session.execute(picked)]
                done = [orders.act(session, i, action, user) for i in ids]
        finally:
            engine.dispose()
    except SpareflowError as exc:
        raise fail(exc) from None
    for view in done:
        print(f"{view.order.number} {view.order.kind} {view.order.status}")
    print(f"{action}: {len(done):,} orders", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.add_typer(shipments_app, name="shipments")
