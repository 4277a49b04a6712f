"""Run ``spareflow`` as a user does, in a subprocess, for the command tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def spareflow(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``spareflow ARGS`` in ``cwd``, with ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "spareflow.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
