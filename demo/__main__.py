"""`make demo`: qwatch watching a real RQ, Celery, Dramatiq and arq workload on one private Redis.

The story qwatch grew from: a team moving from Celery to RQ runs both for
months, and its newer service runs on Dramatiq. Starts a redis-server on a
free port, four `rq worker` processes on several queues, and a producer that
keeps enqueueing a realistic mix: fast emails, slow crawls that sometimes
time out, long encodings, jobs that fail with real tracebacks, retried jobs,
scheduled jobs and jobs waiting on a dependency. Next to them, two `celery
worker`s (one without task events) and a trickle of Celery tasks:
priorities, countdowns, failures, retries. And two Dramatiq workers, one
with qwatch's middleware (its queue counted exactly) and one without (its
queue unseen), and a trickle of Dramatiq messages: deliveries, retries that
end as dead letters, failures, delayed and long messages. And two arq
workers, one with qwatch's hooks (exact mode) and one without, fed by an arq
producer: emails, retries, deferred jobs, failing crawls and slow reports.
Then it opens qwatch on that Redis. Ctrl-C (or quitting qwatch) stops everything it
started, Celery's pool processes and Dramatiq's worker processes and arq's included.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from demo.arq_workload import ARQ_WORKERS, HEALTH_INTERVAL, start_arq
from demo.celery_workload import CELERY_WORKERS, produce_celery, start_celery_workers
from demo.dramatiq_workload import DRAMATIQ_WORKERS, produce_dramatiq, start_dramatiq_workers
from demo.producer import produce
from harness.redis_server import RedisServer
from harness.workers import start_worker, stop_worker
from qwatch.arq.layout import DEFAULT_QUEUE, ArqLayout

WORKERS = (
    ("emails", "default"),
    ("emails", "default", "crawl"),
    ("crawl", "reports"),
    ("video", "reports"),
)
START_SECONDS = 10.0
"""How long qwatch waits for the first Celery tasks and Dramatiq messages before it opens anyway."""


def main() -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument(
        "--view",
        choices=("top", "snapshot"),
        default="top" if sys.stdout.isatty() else "snapshot",
        help="qwatch top in a terminal (the default there), else a refreshing snapshot",
    )
    parser.add_argument(
        "--duration", type=float, metavar="SECONDS", help="stop by itself after SECONDS"
    )
    args = parser.parse_args()

    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _exit)
    stop = threading.Event()
    celery_started, dramatiq_started = threading.Event(), threading.Event()
    with RedisServer() as server:
        workers: list[subprocess.Popen[bytes]] = []
        producers = [
            threading.Thread(target=produce, args=(server.client(), stop), daemon=True),
            threading.Thread(
                target=produce_celery,
                args=(server.url, stop, celery_started),
                daemon=True,
            ),
            threading.Thread(
                target=produce_dramatiq,
                args=(server.url, stop, dramatiq_started),
                daemon=True,
            ),
        ]
        try:
            workers += [start_worker(server.url, queues) for queues in WORKERS]
            workers += start_celery_workers(server.url)
            workers += start_dramatiq_workers(server.url)
            workers += start_arq(server.url)
            for producer in producers:
                producer.start()
            deadline = time.monotonic() + START_SECONDS
            for started in (celery_started, dramatiq_started):
                started.wait(timeout=max(0.0, deadline - time.monotonic()))
            _wait_for_arq(server, deadline)
            print(
                f"demo Redis at {server.url}; {len(WORKERS)} RQ workers, "
                f"{len(CELERY_WORKERS)} Celery workers, {len(DRAMATIQ_WORKERS)} Dramatiq "
                f"workers, {len(ARQ_WORKERS)} arq workers; Ctrl-C stops everything",
                flush=True,
            )
            return _watch(server.url, args.view, args.duration)
        except KeyboardInterrupt:
            return 0
        finally:
            stop.set()
            for producer in producers:
                if producer.is_alive():
                    producer.join(timeout=5)
            for worker in workers:
                stop_worker(worker)


def _exit(_signum: int, _frame: FrameType | None) -> None:
    """A closed terminal or a kill stops the demo like Ctrl-C does: cleanly."""
    raise KeyboardInterrupt


def _wait_for_arq(server: RedisServer, deadline: float) -> None:
    """Until arq's first job is queued and each worker's health check is written (they start
    a second interpreter), so that qwatch, opened after, finds every arq queue at once."""
    layout = ArqLayout()
    keys = [DEFAULT_QUEUE, *(layout.health_check_key(queue) for queue, _exact in ARQ_WORKERS)]
    client = server.client()
    try:
        while client.exists(*keys) < len(keys) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        client.close()


def _watch(url: str, view: str, duration: float | None) -> int:
    qwatch = str(Path(sys.executable).parent / "qwatch")
    told = ["--url", url, "--arq-health-check-interval", str(HEALTH_INTERVAL)]
    command = (
        [qwatch, "top", *told] if view == "top" else [qwatch, "snapshot", "--watch", "2", *told]
    )
    process = subprocess.Popen(command)
    try:
        process.wait(timeout=duration)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait()
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
