"""`/metrics` of `qwatch serve` against rq-exporter's, on one Redis, in one run.

    make bench-exporter   (or: .venv/bin/python -m benchmarks.exporter --help)

1. Scale: QUEUES queues, WORKERS workers, JOBS queued jobs written with RQ's
   API; both exporters scraped over HTTP; latency and the Redis server's CPU
   per scrape (INFO cpu before and after).
2. Flatness: qwatch's scrape time as queued jobs grow from 1,000 to --max-jobs.
3. Tracking: qwatch's scrape time with N jobs finished since the last scrape.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FinishedJobRegistry

from benchmarks.population import populate, scale_arguments
from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer, free_port
from qwatch.completions import OVERLAP

ROOT = Path(__file__).resolve().parent.parent
QWATCH = Path(sys.executable).parent / "qwatch"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


@contextmanager
def exporter(command: list[str], port: int) -> Iterator[str]:
    """A running exporter process; yields its /metrics URL once it answers."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_until(lambda: scrape(url) > 0, f"{command[0]} to answer", timeout=120)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def scrape(url: str) -> float:
    """Seconds one GET of /metrics took; 0 when nothing answered."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            response.read()
    except OSError:
        return 0.0
    return time.perf_counter() - start


def timed_scrape(client: redis.Redis, url: str) -> tuple[float, float]:
    """Seconds one scrape took, and the Redis CPU seconds it cost."""
    before = redis_cpu(client)
    seconds = scrape(url)
    return seconds, redis_cpu(client) - before


def measure(client: redis.Redis, url: str, runs: int) -> tuple[float, float]:
    """Median scrape seconds, and median Redis CPU seconds per scrape."""
    scrape(url)
    results = [timed_scrape(client, url) for _ in range(runs)]
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def qwatch_command(url: str, port: int) -> list[str]:
    return [str(QWATCH), "serve", "--url", url, "--listen", f"127.0.0.1:{port}", "--timeout", "60"]


def compare_at_scale(args: argparse.Namespace) -> None:
    """Both exporters run at once and are scraped in turn, so machine noise hits both alike."""
    if not BENCH_PYTHON.exists():
        print("rq-exporter is not installed: run `make bench`, which installs it in .venv-bench")
        return
    with RedisServer() as server:
        client = server.client()
        populate(client, args.queues, args.workers, args.jobs)
        finish_jobs(client, args.queues, args.finished, tag="kept")
        time.sleep(OVERLAP + 2)  # kept jobs are old news, as in a long-running deployment
        print(
            f"\n1. {args.queues} queues, {args.workers} workers, {args.jobs} queued jobs,"
            f" {args.finished} finished jobs kept in the registries"
        )
        qwatch_port, rq_port = free_port(), free_port()
        rq_exporter = [
            str(BENCH_PYTHON), "-m", "rq_exporter", "--redis-url", server.url,
            "--host", "127.0.0.1", "-p", str(rq_port), "--log-level", "ERROR",
        ]  # fmt: skip
        with (
            exporter(qwatch_command(server.url, qwatch_port), qwatch_port) as qwatch_url,
            exporter(rq_exporter, rq_port) as rq_url,
        ):
            results: dict[str, list[tuple[float, float]]] = {
                "qwatch serve": [],
                "rq-exporter 3.1.0": [],
            }
            for _ in range(args.runs):
                results["qwatch serve"].append(timed_scrape(client, qwatch_url))
                results["rq-exporter 3.1.0"].append(timed_scrape(client, rq_url))
    medians = {
        name: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        for name, runs in results.items()
    }
    base_time, base_cpu = medians["qwatch serve"]
    print(f"{'exporter':<20}{'scrape':>10}{'redis cpu':>12}{'time x':>9}{'cpu x':>8}")
    for name, (seconds, cpu) in medians.items():
        print(
            f"{name:<20}{seconds * 1000:>8.1f}ms{cpu * 1000:>10.1f}ms"
            f"{seconds / base_time:>8.1f}x{cpu / base_cpu:>7.1f}x"
        )


def flatness(args: argparse.Namespace) -> None:
    size = f"{args.flat_queues} queues, {args.flat_queues} workers"
    print(f"\n2. qwatch scrape time as queued jobs grow ({size})")
    print(f"{'queued jobs':>12}{'scrape':>10}{'redis cpu':>12}")
    with RedisServer() as server:
        client = server.client()
        populate(client, args.flat_queues, args.flat_queues, 0)
        have = 0
        port = free_port()
        with exporter(qwatch_command(server.url, port), port) as url:
            jobs = 1_000
            while jobs <= args.max_jobs:
                add_queued(client, args.flat_queues, have, jobs)
                have = jobs
                seconds, cpu = measure(client, url, args.runs)
                print(f"{jobs:>12,}{seconds * 1000:>8.1f}ms{cpu * 1000:>10.2f}ms")
                jobs *= 10


def add_queued(client: redis.Redis, queues: int, start: int, stop: int) -> None:
    for first in range(start, stop, 10_000):
        with client.pipeline() as pipe:
            for n in range(first, min(first + 10_000, stop)):
                data = Queue.prepare_data(tasks.add, (n, 1), job_id=f"more-{n}")
                Queue(f"queue-{n % queues:04d}", connection=client).enqueue_many(
                    [data], pipeline=pipe
                )
            pipe.execute()


def tracking_cost(args: argparse.Namespace) -> None:
    print(f"\n3. qwatch scrape time, N jobs finished since the last scrape ({args.flat_queues} q.)")
    print(f"{'finished':>10}{'per s at 15s':>14}{'scrape':>10}{'redis cpu':>12}")
    with RedisServer() as server:
        client = server.client()
        populate(client, args.flat_queues, args.flat_queues, args.flat_queues)
        port = free_port()
        with exporter(qwatch_command(server.url, port), port) as url:
            scrape(url)
            for finished in (0, 100, 1_000, 10_000):
                seconds, cpus = [], []
                for run in range(args.runs):
                    finish_jobs(client, args.flat_queues, finished, tag=f"{finished}-{run}")
                    before = redis_cpu(client)
                    seconds.append(scrape(url))
                    cpus.append(redis_cpu(client) - before)
                rate = finished / 15
                median_ms = statistics.median(seconds) * 1000
                cpu_ms = statistics.median(cpus) * 1000
                print(f"{finished:>10,}{rate:>14.1f}{median_ms:>8.1f}ms{cpu_ms:>10.2f}ms")


def finish_jobs(client: redis.Redis, queues: int, count: int, tag: str) -> None:
    """Jobs marked finished through RQ's own Job and registry API, as a worker would."""
    now = datetime.now(timezone.utc)
    with client.pipeline() as pipe:
        for n in range(count):
            queue = f"queue-{n % queues:04d}"
            job = Job.create(
                tasks.add, args=(n, 1), connection=client, id=f"done-{tag}-{n}", origin=queue
            )
            job.enqueued_at = now - timedelta(seconds=2)
            job.started_at = now - timedelta(seconds=1)
            job.ended_at = now
            job.set_status(JobStatus.FINISHED, pipeline=pipe)
            job.save(pipeline=pipe)
            FinishedJobRegistry(queue, connection=client).add(job, 500, pipeline=pipe)
        pipe.execute()


def main() -> None:
    parser = scale_arguments(__doc__, runs=15)
    parser.add_argument("--finished", type=int, default=50_000)
    parser.add_argument(
        "--part", type=int, choices=(1, 2, 3), action="append", help="run only these parts"
    )
    parser.add_argument("--flat-queues", type=int, default=100)
    parser.add_argument("--max-jobs", type=int, default=1_000_000)
    args = parser.parse_args()
    parts = args.part or [1, 2, 3]
    for number, part in ((1, compare_at_scale), (2, flatness), (3, tracking_cost)):
        if number in parts:
            part(args)


if __name__ == "__main__":
    main()
