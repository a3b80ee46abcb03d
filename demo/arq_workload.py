"""The demo's arq side: an asyncio service's jobs, on the same Redis, from `.venv-arq`.

arq pins redis-py below 6, so its workers and its producer run in
`.venv-arq`'s interpreter, started from here as processes; this module
imports nothing of arq's. Two workers: the one on arq's default queue runs
qwatch's hooks, so that queue is counted exactly; the one on `arq:reports`
runs plain arq, so that queue shows what arq keeps (results for an hour).
The producer (`demo.arq_producer`) sends a trickle of jobs: emails, slow
renders, crawls that fail, jobs retried once and jobs deferred a minute.
"""

from __future__ import annotations

import subprocess
import sys

from harness.arq_workers import start_arq_worker
from harness.workers import ROOT
from qwatch.arq.layout import DEFAULT_QUEUE

PYTHON = ROOT / ".venv-arq" / "bin" / "python"
"""The interpreter that has arq: `make .venv-arq/.installed` builds it."""
REPORTS = "arq:reports"
ARQ_WORKERS = ((DEFAULT_QUEUE, True), (REPORTS, False))
"""Each worker's queue, and whether it runs qwatch's hooks (exact mode)."""
HEALTH_INTERVAL = 5.0
"""How often the demo's workers write their health check; qwatch is told the same."""


def start_arq(url: str) -> list[subprocess.Popen[bytes]]:
    """The demo's arq workers and its producer, on the Redis at `url`."""
    if not PYTHON.exists():
        raise SystemExit(f"{PYTHON} is missing: make demo builds it (make .venv-arq/.installed)")
    workers = [
        start_arq_worker(url, queue, health_interval=HEALTH_INTERVAL, exact=exact, python=PYTHON)
        for queue, exact in ARQ_WORKERS
    ]
    producer = subprocess.Popen(
        [str(PYTHON), "-m", "demo.arq_producer", url, REPORTS], cwd=ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=sys.stderr, start_new_session=True,
    )  # fmt: skip
    return [*workers, producer]
