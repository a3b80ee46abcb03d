"""Real `celery worker` processes on a private Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.celery_app import BROKER, TRANSPORT_OPTIONS
from harness.workers import ROOT, stop_worker


def start_celery_worker(
    url: str,
    queues: Sequence[str] = ("celery",),
    *,
    name: str = "worker1",
    task_events: bool = False,
    concurrency: int = 1,
    prefetch: int = 4,
    pool: str = "prefork",
    transport_options: dict[str, Any] | None = None,
    quiet: bool = True,
) -> subprocess.Popen[bytes]:
    """Start `celery worker` named `name@<host>`; `task_events` is `-E`."""
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "harness.celery_worker_main",
        "worker",
        "--hostname",
        f"{name}@%h",
        "--queues",
        ",".join(queues),
        "--concurrency",
        str(concurrency),
        "--prefetch-multiplier",
        str(prefetch),
        "--pool",
        pool,
        "--without-mingle",
        "--loglevel",
        "WARNING" if quiet else "INFO",
    ]
    if task_events:
        command.append("--task-events")
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        BROKER: url,
        TRANSPORT_OPTIONS: json.dumps(transport_options or {}),
    }
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        command, env=environment, stdout=output, stderr=output, cwd=ROOT, start_new_session=True
    )


stop_celery_worker = stop_worker
"""SIGKILL the worker and its pool at once, as a crash would."""
