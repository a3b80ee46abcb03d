"""Real arq worker processes, started against a private Redis from any interpreter.

arq pins redis-py below 6, so it lives in `.venv-arq`; this module imports
nothing of arq's, so `.venv` (the demo) starts workers in `.venv-arq` too.
A worker runs `harness.arq_app.WorkerSettings`, which reads its Redis URL,
queue, health-check interval and exact mode from these variables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.workers import ROOT, stop_worker
from qwatch.arq.layout import DEFAULT_QUEUE

REDIS = "QWATCH_ARQ_REDIS"
QUEUE = "QWATCH_ARQ_QUEUE"
HEALTH_INTERVAL = "QWATCH_ARQ_HEALTH_INTERVAL"
EXACT = "QWATCH_ARQ_EXACT"
"""Set to 1 for a worker with qwatch's hooks: exact mode."""


def start_arq_worker(
    url: str,
    queue: str = DEFAULT_QUEUE,
    *,
    health_interval: float = 1.0,
    exact: bool = False,
    quiet: bool = True,
    python: str | Path = sys.executable,
) -> subprocess.Popen[bytes]:
    """`arq harness.arq_app.WorkerSettings` on `queue`, writing its health check every
    `health_interval` seconds; `exact`: with qwatch's hooks; `python`: an interpreter that
    has arq, its `arq` command beside it."""
    arq = Path(python).parent / "arq"
    environment = {
        **os.environ, "PYTHONPATH": str(ROOT), REDIS: url, QUEUE: queue,
        HEALTH_INTERVAL: str(health_interval), EXACT: "1" if exact else "",
    }  # fmt: skip
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        [str(arq), "harness.arq_app.WorkerSettings"], env=environment, stdout=output,
        stderr=output, cwd=ROOT, start_new_session=True,
    )  # fmt: skip


stop_arq_worker = stop_worker
"""SIGKILL the worker at once, as a crash would."""
