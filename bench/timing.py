"""Timing `crm` as a user runs it: a new process, start-up included (the benches share it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def crm_seconds(path: Path, user: str, *args: str, env: dict | None = None) -> float:
    """The wall time of one `crm ARGS` on the database at `path`, acting as `user`
    (its output discarded, a failure raised)."""
    environment = {**os.environ, "CRM_DB": str(path), "CRM_USER": user, **(env or {})}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crmcli", *args], env=environment, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started
