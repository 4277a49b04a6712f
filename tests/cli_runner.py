"""Run ``spareflow`` as a user does, in a subprocess, for the command tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def spareflow(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``spareflow ARGS`` in ``cwd``, with ``env`` added to this process's environment
    and ``stdin`` (if any) as its input."""
    return subprocess.run(
        [sys.executable, "-m", "spareflow.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def sqlite_store(
    args: list[str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``spareflow ARGS`` on the SQLite store ``cwd/ops.db``."""
    database = {"SPAREFLOW_DATABASE_URL": f"sqlite:///{cwd / 'ops.db'}"}
    return spareflow(args, cwd, database, timeout=600, stdin=stdin)
