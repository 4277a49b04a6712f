"""``spareflow user add`` and ``spareflow serve`` as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

PASSWORD = "correct horse battery"
SPAREFLOW = [sys.executable, "-m", "spareflow.cli"]


def run(args: list[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SPAREFLOW_DATABASE_URL"}
    return subprocess.run(
        SPAREFLOW + args, cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_user_add_bootstraps_the_first_admin(tmp_path: Path) -> None:
    first = run(["user", "add", "ann", "--role", "viewer", "--password-stdin"], tmp_path, PASSWORD)
    assert first.returncode == 2
    assert first.stderr.strip() == (
        "error: role: the first user must be an admin (use --role admin)"
    )
    assert (
        run(
            ["user", "add", "root", "--role", "admin", "--password-stdin"],
            tmp_path,
            PASSWORD + "\n",
        ).returncode
        == 0
    )
    weak = run(["user", "add", "bob", "--role", "planner", "--password-stdin"], tmp_path, "short")
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr
    unknown = run(
        ["user", "add", "bob", "--role", "planner", "--site", "X", "--password-stdin"],
        tmp_path,
        PASSWORD,
    )
    assert unknown.returncode == 2 and "site 'X' does not exist" in unknown.stderr
    assert "Traceback" not in weak.stderr + unknown.stderr + first.stderr
    assert (tmp_path / "spareflow.db").exists()


def test_serve_answers_on_sqlite_with_no_set_up(tmp_path: Path) -> None:
    assert (
        run(
            ["user", "add", "root", "--role", "admin", "--password-stdin"], tmp_path, PASSWORD
        ).returncode
        == 0
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SPAREFLOW_DATABASE_URL"}
    server = subprocess.Popen(
        [*SPAREFLOW, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not come up")
        assert httpx.get(f"{base}/openapi.json").json()["openapi"].startswith("3.1")
        token = httpx.post(
            f"{base}/auth/token", data={"username": "root", "password": PASSWORD}
        ).json()
        h = {"Authorization": f"Bearer {token['access_token']}"}
        made = httpx.post(f"{base}/sites", json={"site_id": "HUB"}, headers=h)
        assert made.status_code == 201
        assert httpx.get(f"{base}/sites", headers=h).json()["total"] == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
