"""``spareflow ingest mqtt`` and ``spareflow telemetry export|quarantine`` as a user runs
them: the broker keeps the ingest's session while it is down, so messages published in
between are stored on the next run."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import polars as pl

from cli_runner import spareflow
from ingest.test_mqtt import publish
from store_backends import require_mqtt


def test_messages_sent_while_the_ingest_is_down_are_stored_next_run(tmp_path: Path) -> None:
    require_mqtt()
    env = {"SPAREFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    device = f"dev-{uuid.uuid4().hex[:6]}"
    topic = f"spareflow/telemetry/{device}"  # this run's alone: other publishers stay out
    client = ["--client-id", f"test-cli-{uuid.uuid4().hex[:8]}", "--session-expiry", "60"]
    client += ["--topic", topic]
    first = spareflow(["ingest", "mqtt", *client, "--until-idle", "0.3"], tmp_path, env)
    assert first.returncode == 0, first.stderr
    assert "0 messages received" in first.stderr and f"subscribed to {topic} at" in first.stderr
    good = [
        orjson.dumps({"message_id": f"{device}-{k}", "device_id": device,
                      "time": f"2026-11-25T0{9 - k}:00:00+00:00", "readings": {"run_hours": k}})
        for k in range(3)
    ]  # fmt: skip
    publish([(topic, m) for m in [*good, good[1], b"not json"]])
    second = spareflow(
        ["ingest", "mqtt", *client, "--until-idle", "1", "--session-expiry", "0"], tmp_path, env
    )
    assert second.returncode == 0, second.stderr
    assert (
        "5 messages received: 3 stored (3 readings), 1 duplicates, 1 quarantined" in second.stderr
    )

    done = spareflow(["telemetry", "export", "--out", "readings.csv"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    readings = pl.read_csv(tmp_path / "readings.csv")
    assert readings.columns == ["device_id", "time", "variable", "value", "message_id"]
    assert readings["message_id"].to_list() == [f"{device}-2", f"{device}-1", f"{device}-0"]
    assert readings["value"].to_list() == [2.0, 1.0, 0.0]
    done = spareflow(["telemetry", "quarantine", "--out", "q.parquet"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    q = pl.read_parquet(tmp_path / "q.parquet")
    assert q["topic"].to_list() == [topic] and q["payload"].to_list() == ["not json"]
    assert q["reason"][0].startswith("payload is not JSON")


def test_bad_options_are_named(tmp_path: Path) -> None:
    env = {"SPAREFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    for args, message in (
        (["ingest", "mqtt", "--broker", "http://x"], "error: --broker: mqtt://host[:port]"),
        (["ingest", "mqtt", "--broker", "mqtt://127.0.0.1:9"], "cannot reach the MQTT broker"),
        (["ingest", "mqtt", "--until-idle", "0"], "error: --until-idle: a positive number"),
        (["telemetry", "export", "--out", "x.txt"], "error: --out: x.txt: use a file ending in"),
    ):
        done = spareflow(args, tmp_path, env)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr
