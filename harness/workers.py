"""Real `rq worker` processes, started against a private Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_worker(
    url: str,
    queues: Sequence[str],
    *,
    name: str | None = None,
    burst: bool = False,
    quiet: bool = True,
) -> subprocess.Popen[bytes]:
    """Start `rq worker` on `queues`; the project root is on its import path for the tasks."""
    command = [str(Path(sys.executable).parent / "rq"), "worker", "--url", url]
    if name:
        command += ["--name", name]
    if burst:
        command.append("--burst")
    if quiet:
        command.append("--quiet")
    command += ["--with-scheduler", *queues]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        command, env=env, stdout=output, stderr=output, cwd=ROOT, start_new_session=True
    )


def run_burst(url: str, queues: Sequence[str], timeout: float = 60.0) -> None:
    """Run one burst worker until it has done every job it can, and check it ended well."""
    process = start_worker(url, queues, burst=True)
    code = process.wait(timeout=timeout)
    if code != 0:
        raise RuntimeError(f"rq worker --burst exited with {code}")


def stop_worker(process: subprocess.Popen[bytes], grace: float = 0.0) -> None:
    """Stop a worker and its work horse: SIGTERM, then SIGKILL after `grace` seconds.

    RQ's warm shutdown waits for the current job, so `grace` bounds that wait.
    """
    if process.poll() is not None:
        return
    try:
        if grace > 0:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                pass
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
