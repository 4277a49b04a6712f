"""The README's "First steps" walkthrough, run as a new user would paste it: a fresh
directory, the project's ``spareflow`` first on PATH, SQLite, the server started by the
walkthrough itself, with curl."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from store_backends import require_mqtt

README = Path(__file__).resolve().parents[1] / "README.md"
TITLE = "### First steps: from an empty store to MTTR"
LOGISTICS = "### First steps in logistics: from lanes to a live alert"


def walkthrough(title: str = TITLE) -> str:
    """The one ```sh block of the README's subsection ``title``."""
    text = README.read_text(encoding="utf-8")
    assert text.count(title + "\n") == 1, f"README.md has no single {title!r} subsection"
    section = text.split(title + "\n", 1)[1]
    section = section.split("\n## ", 1)[0].split("\n### ", 1)[0]
    assert section.count("```sh\n") == 1, "the subsection should hold exactly one ```sh block"
    return section.split("```sh\n", 1)[1].split("\n```\n", 1)[0] + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop_group(pgid: int, port: int) -> None:
    """End every process the walkthrough left behind (the server, if it still runs)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + 10
        while listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not listening(port):
            return


def json_lines(output: str) -> list[dict[str, Any]]:
    found = []
    for line in output.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
    return found


def run_walkthrough(tmp_path: Path, text: str) -> tuple[str, Path]:
    """Run ``text`` with ``sh -e`` in a fresh directory, the venv's spareflow first on
    PATH and no SPAREFLOW_ variables; its output (and serve.log, if any) once it exited
    0 with no server left behind and a SQLite store in the directory."""
    script = tmp_path / "walkthrough.sh"
    script.write_text(text, encoding="utf-8")
    work = tmp_path / "store"
    work.mkdir()
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPAREFLOW_")}
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    assert shutil.which("spareflow", path=env["PATH"]) == str(Path(venv_bin) / "spareflow")
    port = free_port()
    env["PORT"] = str(port)
    log = tmp_path / "output.txt"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            ["sh", "-e", str(script)],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the server goes with it
        )
        try:
            code = proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            stop_group(proc.pid, port)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    output = log.read_text(encoding="utf-8")
    server_log = work / "serve.log"
    detail = output + (
        "\n--- serve.log ---\n" + server_log.read_text(encoding="utf-8")
        if server_log.exists()
        else ""
    )
    ended = "timed out" if code is None else f"exited {code}"
    assert code == 0, f"the walkthrough {ended}:\n{detail}"
    assert not listening(port), "a server still answers after the walkthrough"
    assert (work / "spareflow.db").exists(), "the store should be SQLite in the directory"
    return detail, work


def test_readme_first_steps_run_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not on PATH; the README walkthrough calls the API with curl")
    detail, _work = run_walkthrough(tmp_path, walkthrough())
    answers = json_lines(detail)
    orders = [a for a in answers if a.get("number") == "PO-000001"]
    assert [o["status"] for o in orders] == ["draft", "confirmed", "received"], detail
    assert orders[-1]["lines"][0]["quantity_received"] == "4", detail
    jobs = [a for a in answers if a.get("number") == "WO-000001"]
    assert [j["status"] for j in jobs] == ["open", "in_progress", "in_progress", "done"], detail
    done = jobs[-1]
    assert done["parts"][0]["quantity_issued"] == "1", detail
    assert done["downtime_start"] is not None and done["downtime_end"] is not None, detail
    stock = next(a for a in answers if "items" in a and "total" in a)
    assert stock["items"][0]["on_hand"] == "3", detail

    kpis = next(a for a in answers if "mttr" in a)
    assert kpis["mttr"] is not None and kpis["fill_rate"] is not None, detail
    assert kpis["mttr"]["hours"]["count"] == 1, detail
    assert 3.99 < kpis["mttr"]["hours"]["mean"] < 4.1, detail  # failed four hours ago
    assert kpis["fill_rate"]["value"] == 1.0, detail


def test_readme_logistics_first_steps_run_as_written(tmp_path: Path) -> None:
    """Lanes, a DRP released three days ahead, the transfers released and consolidated
    into rated shipments, a van route, and a tracker's messages through the real broker
    raising the late alert."""
    require_mqtt()
    detail, work = run_walkthrough(tmp_path, walkthrough(LOGISTICS))
    assert "2 lanes and 2 sourcing rules added" in detail, detail
    assert "4 orders ship in 2 shipments: 343.84 against 702.42 alone (saving 358.58)" in detail
    shipments = list(csv.DictReader((work / "ship" / "shipments.csv").open()))
    assert [(r["lane_id"], r["orders"]) for r in shipments] == [
        ("DC01-S02", "1"), ("DC01-S03", "3"),
    ], detail  # fmt: skip
    route = list(csv.DictReader((work / "route.csv").open()))
    assert sorted(r["stop_id"] for r in route) == ["HH-EAST", "HH-NORTH", "HH-SOUTH", "HH-WEST"]
    alerts = (work / "alerts.txt").read_text().splitlines()
    assert alerts == [
        "alert: SHP-20261102-0001 departed at 2026-11-03T12:00:00+00:00",
        "alert: SHP-20261102-0001 late at 2026-11-05T09:00:00+00:00",
    ], detail
    consolidation = next(a for a in json_lines(detail) if "consolidation_rate" in a)
    assert (consolidation["orders"], consolidation["consolidation_rate"]) == (4, 0.75), detail
    assert consolidation["saving"] == "358.58", detail
