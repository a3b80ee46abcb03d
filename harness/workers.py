"""Real `rq worker` processes, started against a private Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
EXIT_GRACE = 3.0
"""Seconds a burst worker that has registered its death has to exit."""


def start_worker(
    url: str,
    queues: Sequence[str],
    *,
    name: str | None = None,
    burst: bool = False,
    quiet: bool = True,
    worker_class: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `rq worker` on `queues`; the project root is on its import path for the tasks.

    `worker_class` is passed as `--worker-class`, e.g. `qwatch.rq.Worker` for exact mode;
    `env` adds to the environment.
    """
    command = [str(Path(sys.executable).parent / "rq"), "worker", "--url", url]
    if name:
        command += ["--name", name]
    if worker_class:
        command += ["--worker-class", worker_class]
    if burst:
        command.append("--burst")
    if quiet:
        command.append("--quiet")
    command += ["--with-scheduler", *queues]
    environment = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        command, env=environment, stdout=output, stderr=output, cwd=ROOT, start_new_session=True
    )


def run_burst(
    url: str,
    queues: Sequence[str],
    timeout: float = 60.0,
    worker_class: str | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Run one burst worker until it has done every job it can, and check it ended well.

    RQ's worker can hang at its very end, after it has registered its death, closing its
    pubsub connection while the pubsub thread still holds it (seen about once in 15 burst
    runs with RQ 2.12 and redis-py 8.2): a worker that has registered its death and not
    exited `EXIT_GRACE` seconds later has done all it will do, and is killed."""
    name = f"burst-{uuid.uuid4().hex[:12]}"
    process = start_worker(url, queues, name=name, burst=True, worker_class=worker_class, env=env)
    prefix = (env or {}).get("RQ_KEY_PREFIX", os.environ.get("RQ_KEY_PREFIX", "rq"))
    client = redis.Redis.from_url(url)
    deadline, died_at = time.monotonic() + timeout, None
    try:
        while (code := process.poll()) is None:
            now = time.monotonic()
            if died_at is None and client.hexists(f"{prefix}:worker:{name}", "death"):
                died_at = now
            if died_at is not None and now - died_at > EXIT_GRACE:
                stop_worker(process)
                return
            if now > deadline:
                stop_worker(process)
                raise RuntimeError(f"rq worker --burst still running after {timeout:g} s")
            time.sleep(0.02)
    finally:
        client.close()
    if code != 0:
        raise RuntimeError(f"rq worker --burst exited with {code}")


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """Kill a worker, its work horse and its scheduler at once, as a crash would.

    RQ's work horse calls setsid(), so killing the worker's process group
    would leave the horse running its job and writing to Redis afterwards.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGSTOP)  # frozen, it forks no new horse while we look
    for pid in [*_descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


Start = Callable[..., subprocess.Popen[bytes]]


@contextlib.contextmanager
def stopped_after(
    start: Start, stop: Callable[[subprocess.Popen[bytes]], None] = stop_worker
) -> Iterator[Start]:
    """`start`, remembering each process it starts: each one still running is stopped by
    `stop` at the end (a test's worker fixtures)."""
    started: list[subprocess.Popen[bytes]] = []

    def remembered(*args: Any, **options: Any) -> subprocess.Popen[bytes]:
        process = start(*args, **options)
        started.append(process)
        return process

    try:
        yield remembered
    finally:
        for process in started:
            if process.poll() is None:
                stop(process)


def stop_worker_gracefully(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Stop a worker as `kill PID` would: RQ's warm shutdown, which unregisters it at once.

    A killed worker stays registered until its key expires minutes later. An
    idle worker stops right away; a busy one first finishes its job.
    """
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_worker(process)
        raise
    if code != 0:
        raise RuntimeError(f"rq worker exited with {code} on SIGTERM")


def _descendants(pid: int) -> list[int]:
    """Every living descendant of `pid`, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def mark_busy(worker: Any, job_id: str) -> None:
    """Make a registered worker busy with a job, as the worker's own RQ version records it:
    RQ 2 names the job in the worker's hash, RQ 3.0 adds an execution to the worker's set."""
    worker.set_state("busy")
    if hasattr(worker, "set_current_job_id"):
        worker.set_current_job_id(job_id)
        return
    from rq.executions import Execution

    execution = Execution(f"exec-{job_id}", job_id, worker.connection, worker_name=worker.name)
    worker.connection.sadd(execution.worker_executions_key, execution.composite_key)


def running_jobs(client: Any, worker: str) -> set[str]:
    """The jobs a worker runs now, read as its RQ version keeps them: RQ 2 in the worker's
    hash, RQ 3.0 in its set of executions (`<job id>:<execution id>`)."""
    current = client.hget(f"rq:worker:{worker}", "current_job")
    members = client.smembers(f"rq:worker:{worker}:executions")
    found = {member.decode().rpartition(":")[0] for member in members}
    return found | ({current.decode()} if current else set())
