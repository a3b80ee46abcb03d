"""`make demo` really runs its RQ, Celery, Dramatiq and arq workloads, shows them, and leaves
nothing running."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import redis

from harness import arq_workers
from harness.celery_app import BROKER
from harness.polling import wait_until
from qwatch.model import CELERY
from qwatch.watch import Watch

ROOT = Path(__file__).resolve().parent.parent
CELERY_QUEUES = {"celery", "emails", "thumbnails"}


def processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(command)
    return found


def processes_given(url: str, variable: str) -> list[int]:
    """Processes handed `url` in their environment, and their children, which inherit it:
    Celery's workers and pool processes (`BROKER`), arq's workers (`arq_workers.REDIS`)."""
    wanted = f"{variable}={url}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            variables = environ.read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in variables:
            found.append(int(environ.parent.name))
    return found


def demo_url(output: Path) -> str:
    match = re.search(r"demo Redis at (redis://127\.0\.0\.1:\d+/0)", output.read_text())
    return match.group(1) if match else ""


def celery_in_full_swing(watch: Watch) -> bool:
    """Whether a reading shows Celery's queues (`emails` apart from RQ's), an ETA-held
    task, both workers, and the note naming the one without task events."""
    snapshot = watch.read()
    queues = {queue.name: queue for queue in snapshot.queues if queue.system == CELERY}
    workers = {worker.name.split("@")[0] for worker in snapshot.workers if worker.system == CELERY}
    held = queues["celery"].scheduled if "celery" in queues else None
    quiet = any("no task events from legacy-quiet@" in note for note in snapshot.notes)
    ready = set(queues) >= CELERY_QUEUES and bool(held) and quiet
    return ready and workers == {"legacy-events", "legacy-quiet"}


def test_demo_shows_every_system_live_and_stops_every_process(tmp_path: Path) -> None:
    output = tmp_path / "demo.out"
    with output.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "demo", "--view", "snapshot", "--duration", "120"],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        url = wait_until(lambda: demo_url(output), "the demo's Redis URL", timeout=30)
        client = redis.Redis.from_url(url, protocol=2)
        watch = Watch(client)
        try:
            wait_until(lambda: celery_in_full_swing(watch), "the demo's Celery side", timeout=60)
        finally:
            watch.close()
            client.close()
        celery_processes = processes_given(url, BROKER)
        arq_processes = processes_given(url, arq_workers.REDIS)
        wait_until(lambda: "legacy-quiet@" in output.read_text(), "the demo's view", timeout=30)
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
    shown = output.read_text()
    assert demo.returncode == 0, shown[-2000:]
    for queue in ("emails", "crawl", "video"):
        assert queue in shown
    assert "busy" in shown or "idle" in shown
    assert "thumbnails" in shown and "celery" in shown
    assert len(celery_processes) >= 3, "two workers and the prefork worker's pool process"
    assert len(arq_processes) == 2, "arq's two workers"
    assert "arq:queue" in shown and "arq:reports" in shown
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the demo's redis-server still runs"
    assert processes_mentioning(url) == []
    assert processes_given(url, BROKER) == []
    assert processes_given(url, arq_workers.REDIS) == []
