"""Churn soak: `qwatch serve` under thousands of short-lived workers, a stream of jobs
and Redis restarts, scraped every second; its memory, threads, descriptors and series.

    .venv/bin/python -m benchmarks.soak --help

Workers are registered and unregistered with RQ's own API, as `rq worker`
does at start and at a warm shutdown; one in ten dies without unregistering
(its hash is gone, its name stays in `rq:workers` for a while, as after a
crash). Jobs are enqueued and marked finished or failed through RQ's Job and
registry API, with result ttls of 5, 60 and 500 s. Redis is killed and
restarted (empty) every --restart-every seconds. What should stay flat
is printed every --report-every seconds, and the growth at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer, free_port

QWATCH = Path(sys.executable).parent / "qwatch"
ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def process_figures(pid: int) -> tuple[float, int, int]:
    """Resident MB, threads and open file descriptors of a process, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    rss_mb = int(fields["VmRSS"].split()[0]) / 1024
    return rss_mb, int(fields["Threads"]), len(os.listdir(f"/proc/{pid}/fd"))


class Scraper(threading.Thread):
    """GETs /metrics every second as Prometheus does; keeps the last series count."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.series = 0
        self.seconds = 0.0
        self.scrapes = 0
        self.errors = 0

    def run(self) -> None:
        request = urllib.request.Request(self.url, headers={"Accept": ACCEPT})
        while not self.stop.wait(1.0):
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    body = response.read().decode()
            except OSError:
                self.errors += 1
                continue
            self.seconds = time.perf_counter() - start
            self.series = sum(1 for line in body.splitlines() if line and line[0] != "#")
            self.scrapes += 1


class Churn:
    """Workers born and dying, and jobs ending, at steady rates."""

    def __init__(self, client: redis.Redis, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args
        self.queues = [f"soak-{n:02d}" for n in range(args.queues)]
        self.living: deque[tuple[float, Worker]] = deque()
        self.crashed: deque[tuple[float, str]] = deque()
        self.born = 0
        self.jobs = 0

    def step(self, now: float, elapsed: float) -> None:
        """Births, deaths and jobs due by `elapsed` seconds into the soak."""
        while self.born < elapsed * self.args.workers_per_second:
            self._birth(now)
        while self.living and self.living[0][0] <= now:
            self._death(self.living.popleft()[1], now)
        while self.crashed and self.crashed[0][0] <= now:
            self.client.srem("rq:workers", f"rq:worker:{self.crashed.popleft()[1]}")
        due = int(elapsed * self.args.jobs_per_second) - self.jobs
        if due > 0:
            self._end_jobs(due)

    def forget(self) -> None:
        """After a Redis restart nothing registered before it exists."""
        self.living.clear()
        self.crashed.clear()

    def _birth(self, now: float) -> None:
        self.born += 1
        queues = random.sample(self.queues, 2)
        worker = Worker(queues, connection=self.client, name=f"soak-{self.born}-{os.getpid()}")
        worker.register_birth()
        worker.set_state(random.choice(["idle", "busy"]))
        self.living.append((now + random.uniform(0.5, 2) * self.args.lifetime, worker))

    def _death(self, worker: Worker, now: float) -> None:
        if random.random() < 0.1:
            self.client.delete(worker.key)  # crashed: its hash expired, its name lingers
            self.crashed.append((now + 30, worker.name))
        else:
            worker.register_death()

    def _end_jobs(self, count: int) -> None:
        ended = datetime.now(timezone.utc)
        with self.client.pipeline() as pipe:
            for _ in range(count):
                self.jobs += 1
                queue = random.choice(self.queues)
                failed = random.random() < 0.1
                job = Job.create(
                    tasks.add, args=(self.jobs, 1), connection=self.client, origin=queue
                )
                job.enqueued_at = ended - timedelta(seconds=random.uniform(0, 5))
                job.started_at = ended - timedelta(seconds=random.uniform(0, 1))
                job.ended_at = ended
                status = JobStatus.FAILED if failed else JobStatus.FINISHED
                job.set_status(status, pipeline=pipe)
                job.save(pipeline=pipe)
                ttl = random.choice([5, 60, 500])
                registry = FailedJobRegistry if failed else FinishedJobRegistry
                registry(queue, connection=self.client).add(job, ttl, pipeline=pipe)
            pipe.execute()
        for queue in random.sample(self.queues, 2):
            Queue(queue, connection=self.client).enqueue(tasks.add, 1, 1)


def soak(args: argparse.Namespace) -> None:
    with RedisServer() as server:
        client = server.client()
        port = free_port()
        command = [str(QWATCH), "serve", "--url", server.url, "--listen", f"127.0.0.1:{port}"]
        command += ["--ttl", "5", "--ttl", "60"]
        exporter = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        stop = threading.Event()
        scraper = Scraper(f"http://127.0.0.1:{port}/metrics", stop)
        try:
            wait_until(lambda: _answers(scraper.url), "qwatch serve to answer", timeout=60)
            scraper.start()
            run(args, server, client, exporter.pid, scraper)
        finally:
            stop.set()
            exporter.terminate()
            exporter.wait(timeout=30)


def run(
    args: argparse.Namespace,
    server: RedisServer,
    client: redis.Redis,
    pid: int,
    scraper: Scraper,
) -> None:
    churn = Churn(client, args)
    print(
        f"{args.duration:g} s: {args.workers_per_second:g} workers born a second, living"
        f" {args.lifetime:g} s on average; {args.jobs_per_second:g} jobs ending a second in"
        f" {args.queues} queues; Redis restarted every {args.restart_every:g} s; /metrics every 1 s"
    )
    print(
        f"{'seconds':>8}{'workers born':>14}{'jobs':>9}{'restarts':>10}{'RSS MB':>9}"
        f"{'threads':>9}{'fds':>6}{'series':>8}{'scrape':>9}{'errors':>8}"
    )
    start = time.monotonic()
    next_report = next_restart = 0.0
    restarts = 0
    first: tuple[float, int, int] | None = None
    while (elapsed := time.monotonic() - start) < args.duration:
        if args.restart_every and elapsed >= next_restart + args.restart_every:
            next_restart = elapsed
            server.stop()
            server.start()
            churn.forget()
            restarts += 1
        with contextlib.suppress(redis.ConnectionError):
            churn.step(time.time(), elapsed)
        if elapsed >= next_report:
            next_report += args.report_every
            rss, threads, fds = process_figures(pid)
            if first is None and elapsed >= args.warm_up:
                first = (rss, churn.born, restarts)
            print(
                f"{elapsed:>8.0f}{churn.born:>14,}{churn.jobs:>9,}{restarts:>10}{rss:>9.1f}"
                f"{threads:>9}{fds:>6}{scraper.series:>8,}{scraper.seconds * 1000:>7.1f}ms"
                f"{scraper.errors:>8}",
                flush=True,
            )
        time.sleep(0.01)
    rss, threads, fds = process_figures(pid)
    if first is not None:
        born, restarted = churn.born - first[1], restarts - first[2]
        print(
            f"after the {args.warm_up:g} s warm-up: {rss - first[0]:+.1f} MB resident over"
            f" {born:,} workers born and {restarted} Redis restarts"
            f" ({(rss - first[0]) * 1024 * 1024 / max(born, 1):+.0f} bytes per worker born);"
            f" {scraper.scrapes} scrapes, {scraper.errors} failed"
        )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=180.0, help="seconds (default 180)")
    parser.add_argument("--workers-per-second", type=float, default=100.0)
    parser.add_argument("--lifetime", type=float, default=5.0, help="a worker's mean seconds")
    parser.add_argument("--jobs-per-second", type=float, default=50.0)
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument("--restart-every", type=float, default=60.0, help="0: never")
    parser.add_argument("--report-every", type=float, default=15.0)
    parser.add_argument("--warm-up", type=float, default=30.0, help="seconds before the baseline")
    soak(parser.parse_args())


if __name__ == "__main__":
    main()
