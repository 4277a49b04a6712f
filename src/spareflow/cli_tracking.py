"""Tracking commands of the ``spareflow`` CLI (design.md's MQTT contract):
``ingest mqtt``, ``telemetry export`` and ``telemetry quarantine``. Same rules as the
rest: one line per user error on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from spareflow.cli_ops import _store, fail
from spareflow.errors import ParameterError, SpareflowError

ingest_app = typer.Typer(help="Bring data in from devices and partners.", no_args_is_help=True)
telemetry_app = typer.Typer(help="Stored MQTT telemetry.", no_args_is_help=True)


@ingest_app.command("mqtt")
def ingest_mqtt(
    broker: Annotated[str, typer.Option(help="Broker URL, mqtt:// or mqtts://.")] = (
        "mqtt://127.0.0.1:1883"
    ),
    topic: Annotated[
        list[str] | None,
        typer.Option(
            help="Topic filter to subscribe to (QoS 1); repeatable. Default: spareflow/telemetry/#."
        ),
    ] = None,
    until_idle: Annotated[
        float | None,
        typer.Option("--until-idle", help="Stop after this many seconds without a message."),
    ] = None,
    client_id: Annotated[
        str, typer.Option(help="MQTT client id; the broker keeps its session while down.")
    ] = "spareflow-ingest",
    session_expiry: Annotated[
        int, typer.Option(help="Seconds the broker keeps queued messages while we are down.")
    ] = 86_400,
) -> None:
    """Subscribe to tracker and equipment telemetry and store it: duplicates once, event
    order kept, malformed messages quarantined; tracking alerts raised on shipments."""
    try:
        from spareflow.ingest.mqtt import Broker, IngestSummary, MqttIngest

        if until_idle is not None and until_idle <= 0:
            raise ParameterError("--until-idle", f"a positive number of seconds, got {until_idle}")
        if session_expiry < 0:
            raise ParameterError("--session-expiry", f"0 or more seconds, got {session_expiry}")
        address = Broker.from_url(broker)
        factory, engine = _store()
        interactive = sys.stderr.isatty()

        def show(s: IngestSummary) -> None:
            if interactive:
                print(
                    f"\r{s.received:,} received, {s.stored:,} stored, {s.duplicates:,} "
                    f"duplicates, {s.quarantined:,} quarantined, {len(s.alerts):,} alerts",
                    end="", file=sys.stderr, flush=True,
                )  # fmt: skip

        topics = topic or ["spareflow/telemetry/#"]
        ingest = MqttIngest(factory, address, topics, client_id, session_expiry)

        def subscribed() -> None:  # once the broker has confirmed: publish from now on
            print(
                f"subscribed to {', '.join(topics)} at {address.host}:{address.port}",
                file=sys.stderr,
                flush=True,
            )

        summary = ingest.run(until_idle, show, on_subscribed=subscribed)
        engine.dispose()
    except SpareflowError as exc:
        raise fail(exc) from None
    if interactive:
        print(file=sys.stderr)
    for shipment_id, kind, when in summary.alerts:
        print(f"alert: {shipment_id} {kind} at {when.isoformat()}")
    print(
        f"{summary.received:,} messages received: {summary.stored:,} stored "
        f"({summary.readings:,} readings), {summary.duplicates:,} duplicates, "
        f"{summary.quarantined:,} quarantined, {len(summary.alerts):,} alerts",
        file=sys.stderr,
    )


OutOpt = Annotated[Path, typer.Option("--out", help="Table to write (.csv, .parquet or .xlsx).")]


@telemetry_app.command("export")
def telemetry_export(out: OutOpt) -> None:
    """One row per reading (device_id, time, variable, value, message_id) in event-time
    order per device."""
    _export(out, "readings")


@telemetry_app.command("quarantine")
def telemetry_quarantine(out: OutOpt) -> None:
    """Each refused message with its topic, raw payload and the reason."""
    _export(out, "quarantine")


def _export(out: Path, what: str) -> None:
    try:
        from spareflow.data.write import check_table_path, write_table
        from spareflow.services.telemetry import quarantine_frame, readings_frame
        from spareflow.store.session import unit_of_work

        check_table_path(out)
        factory, engine = _store()
        with unit_of_work(factory) as session:
            frame = (readings_frame if what == "readings" else quarantine_frame)(session)
        engine.dispose()
        write_table(frame, out)
    except SpareflowError as exc:
        raise fail(exc) from None
    print(f"wrote {frame.height:,} {what} to {out}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(telemetry_app, name="telemetry")
