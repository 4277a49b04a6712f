"""Network and DRP commands of the ``spareflow`` CLI: ``network load``, ``network show``
and ``drp``. Same rules as the rest: one line per user error on stderr and exit code 2,
never a traceback."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from spareflow.cli_ops import UserOpt, _check_user, _store, fail
from spareflow.errors import ParameterError, SpareflowError

network_app = typer.Typer(help="Lanes and sourcing rules in the store.", no_args_is_help=True)


@network_app.command("load")
def network_load(
    folder: Annotated[Path, typer.Argument(help="Folder with lanes and/or sourcing_rules tables.")],
) -> None:
    """Add the folder's lanes and sourcing rules to the store, all or none."""
    try:
        from spareflow.services.network import load_folder
        from spareflow.store.session import unit_of_work

        factory, engine = _store()
        with unit_of_work(factory) as session:
            counts = load_folder(session, folder)
        engine.dispose()
    except SpareflowError as exc:
        raise fail(exc) from None
    print(f"{counts['lanes']:,} lanes and {counts['sourcing_rules']:,} sourcing rules added")


@network_app.command("show")
def network_show(
    out: Annotated[
        Path | None, typer.Option(help="Write the resolved sourcing (.csv or .parquet).")
    ] = None,
) -> None:
    """Print the lanes and sourcing rules; with --out, write every rule resolved."""
    try:
        from spareflow.data.write import write_table
        from spareflow.services.network import lanes_frame, rules_frame
        from spareflow.store.session import unit_of_work

        factory, engine = _store()
        with unit_of_work(factory) as session:
            lanes, rules = lanes_frame(session), rules_frame(session)
        engine.dispose()
        if out is not None:
            write_table(rules, out)
    except SpareflowError as exc:
        raise fail(exc) from None
    for row in lanes.iter_rows(named=True):
        origin = row["origin_site_id"] or row["origin_partner_id"]
        print(
            f"lane {row['lane_id']}\t{origin} -> {row['destination_site_id']}\t{row['mode']}\t"
            f"{row['transit_days']:g} d (sd {row['transit_days_sd']:g})"
        )
    for row in rules.iter_rows(named=True):
        source = row["source_site_id"] or row["supplier_id"]
        print(
            f"rule {row['rule_id']}\t{row['item_id'] or '*'} at {row['site_id']}\trank "
            f"{row['rank']}\tshare {row['share']:g}\tfrom {source} via {row['lane_id']}"
        )


def drp(
    out: Annotated[Path, typer.Option(help="Folder for records, planned orders, pegging.")],
    user: UserOpt,
    bucket: Annotated[str, typer.Option(help="day or week.")] = "week",
    horizon: Annotated[int, typer.Option(help="Buckets planned.")] = 26,
    start: Annotated[
        str | None, typer.Option(help="First day (YYYY-MM-DD); default today.")
    ] = None,
    history_days: Annotated[int, typer.Option(help="Days of demand history per forecast.")] = 365,
    periods_of_supply: Annotated[
        int, typer.Option(help="Buckets of net requirements per planned order (1: lot-for-lot).")
    ] = 1,
    safety_stock: Annotated[
        bool,
        typer.Option(
            "--safety-stock/--no-safety-stock", help="Keep the last plan run's safety stock."
        ),
    ] = True,
    release: Annotated[
        bool, typer.Option("--release", help="Draft the orders due now (and past due).")
    ] = False,
    default_supplier: Annotated[
        str | None, typer.Option(help="Supplier of released purchases with none known.")
    ] = None,
    through: Annotated[
        str | None,
        typer.Option(
            help="With --release: draft those due up to this day (YYYY-MM-DD), one order "
            "per lane and release day; default the first bucket."
        ),
    ] = None,
) -> None:
    """Distribution requirements planning over the store's network: every echelon,
    planned orders pegged to their demand, kept as a run (and drafted with --release)."""
    try:
        from spareflow.data.write import write_table
        from spareflow.services import drp as service
        from spareflow.store.session import unit_of_work

        try:
            first = None if start is None else date.fromisoformat(start)
        except ValueError:
            raise ParameterError("--start", f"a date YYYY-MM-DD, got {start!r}") from None
        try:
            last = None if through is None else date.fromisoformat(through)
        except ValueError:
            raise ParameterError("--through", f"a date YYYY-MM-DD, got {through!r}") from None
        if last is not None and not release:
            raise ParameterError("--through", "goes with --release")
        options = service.DrpOptions(
            bucket=bucket, horizon=horizon, start=first, history_days=history_days,
            periods_of_supply=periods_of_supply, safety_stock=safety_stock,
        )  # fmt: skip
        factory, engine = _store()
        with unit_of_work(factory) as session:
            _check_user(session, user)
            result = service.compute(session, options)
            run = service.store_run(session, result, user)
            run_id = run.run_id
            made = (
                service.release(
                    session, run_id, user, default_supplier=default_supplier, through=last
                )
                if release
                else []
            )
            released = [f"{v.order.number}\t{v.order.kind}\t{v.order.site_id}\t"
                        f"{v.order.partner_id or v.order.source_site_id}\t{len(v.lines)} lines"
                        for v in made]  # fmt: skip
            # the files before the commit: a folder we cannot write keeps nothing
            out.mkdir(parents=True, exist_ok=True)
            write_table(result.records, out / "records.parquet")
            write_table(result.planned_orders, out / "planned_orders.csv")
            write_table(result.pegs, out / "pegging.csv")
            summary = {"run_id": run_id, **result.summary, "released_orders": len(made)}
            (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        engine.dispose()
    except SpareflowError as exc:
        raise fail(exc) from None
    except OSError as exc:
        raise fail(ParameterError("--out", f"{out}: cannot write ({exc.strerror})")) from None
    s = result.summary
    print(
        f"DRP run {run_id}: {s['item_sites']:,} item-sites over {s['echelons']} echelons, "
        f"{s['planned_orders']:,} planned orders ({s['purchase_orders']:,} purchases, "
        f"{s['transfer_orders']:,} transfers, {s['past_due_orders']:,} past due); files in {out}"
    )
    for line in released:
        print(line)
    if release:
        print(f"{len(made):,} draft orders released", file=sys.stderr)


def _row_fault(exc: SpareflowError, file: Path) -> SpareflowError:
    """A service error naming ``lines[k]`` as a fault of the file's row k + 1."""
    import re

    from spareflow.errors import Fault, InputError

    found = re.match(r"lines\[(\d+)\](?:\.(\w+))?:? ?(.*)", str(exc), re.S)
    if not found:
        return exc
    k, column, message = found.groups()
    return InputError([Fault(file.name, message, row=int(k) + 1, column=column)])


def promise(
    lines: Annotated[
        Path,
        typer.Argument(
            metavar="LINES",
            help="Order lines: item_id, site_id, quantity, optional wanted (date), priority "
            "(1-9) and line_id (CSV, Parquet or Excel).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Promises to write (.csv or .parquet).")],
    horizon_days: Annotated[int, typer.Option(help="Days ahead to look for supply.")] = 90,
    today: Annotated[str | None, typer.Option(help="The first day (default: today).")] = None,
) -> None:
    """Available-to-promise for order lines: what can be promised for when, from the
    site's stock and receipts, a superseding part, or another site over a lane (with its
    cost). Lines are promised by priority; each takes what it gets before the next."""
    try:
        import polars as pl

        from spareflow.data.load import load_promise_lines
        from spareflow.data.write import check_table_path, write_table
        from spareflow.services.promising import LineRequest
        from spareflow.services.promising import promise as promise_lines
        from spareflow.store.session import unit_of_work

        try:
            first = date.fromisoformat(today) if today else None
        except ValueError:
            raise ParameterError("--today", f"an ISO date like 2026-11-25, got {today!r}") from None
        check_table_path(out)
        frame = load_promise_lines(lines)
        requests = [
            LineRequest(
                r["item_id"],
                r["site_id"],
                float(r["quantity"]),
                r.get("wanted"),
                int(r["priority"]) if r.get("priority") is not None else 5,
            )
            for r in frame.iter_rows(named=True)
        ]
        factory, engine = _store()
        try:
            with unit_of_work(factory) as session:
                got = promise_lines(session, requests, horizon_days=horizon_days, today=first)
        except SpareflowError as exc:
            raise _row_fault(exc, lines) from None
        finally:
            engine.dispose()
        table = pl.DataFrame([p.as_dict() for p in got])
        if "line_id" in frame.columns:
            table = table.with_columns(frame["line_id"].alias("line_id"))
        write_table(table, out)
    except SpareflowError as exc:
        raise fail(exc) from None
    full = sum(1 for p in got if p.short == 0)
    print(f"{len(got):,} lines: {full:,} promised in full, {len(got) - full:,} short; wrote {out}")


def allocate(
    site: Annotated[str, typer.Option("--site", help="The site whose stock is shared.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the allocation files.")],
    item: Annotated[
        list[str] | None, typer.Option("--item", help="Only these items (repeatable).")
    ] = None,
) -> None:
    """Share a site's scarce stock between its open demands (equipment down, then service
    contracts, then replenishment of other sites by fair share) and suggest lateral
    transshipments for what stays short. Writes allocation.csv, transshipments.csv and
    summary.json; reserves nothing."""
    try:
        from spareflow.data.write import write_table
        from spareflow.services.allocation import allocate as allocate_site
        from spareflow.store.session import unit_of_work

        factory, engine = _store()
        with unit_of_work(factory) as session:
            result = allocate_site(session, site, item_ids=item)
        engine.dispose()
        out.mkdir(parents=True, exist_ok=True)
        write_table(result.demands, out / "allocation.csv")
        write_table(result.transshipments, out / "transshipments.csv")
        (out / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    except SpareflowError as exc:
        raise fail(exc) from None
    except OSError as exc:
        raise fail(ParameterError("--out", f"{out}: cannot write ({exc.strerror})")) from None
    s = result.summary
    print(
        f"{site}: {s['demands']:,} demands, {s['allocated']:g} of {s['asked']:g} allocated, "
        f"{s['short']:g} short; {s['transshipments']:,} transshipments suggested "
        f"({s['transshipped']:g} units); files in {out}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(network_app, name="network")
    app.command(name="drp")(drp)
    app.command(name="promise")(promise)
    app.command(name="allocate")(allocate)
