"""`/metrics` of `qwatch serve` against rq-exporter's, on one Redis, in one run.

    .venv/bin/python -m benchmarks.exporter --help   (scripts/bench-venv.sh installs rq-exporter)

1. Scale: QUEUES queues, WORKERS workers, JOBS queued jobs written with RQ's
   API; both exporters run at once and are scraped over HTTP as Prometheus
   scrapes them (its Accept, Accept-Encoding and timeout headers), in both
   formats: OpenMetrics, which Prometheus prefers, and the text format, which
   it gets when told `scrape_protocols: [PrometheusText0.0.4]`. Each format is
   timed as the median of RUNS pairs whose order alternates. CPU per scrape is
   the exporter process' own (from /proc) and the Redis server's (INFO cpu):
   on a shared machine its ratio is steadier than the time's. `--queues 10000
   --workers 10000` is the large fleet.
2. Flatness: qwatch's scrape time as queued jobs grow from 1,000 to --max-jobs.
3. Tracking: qwatch's scrape time with N jobs finished since the last scrape.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
from qwatch.rq.completions import OVERLAP

ROOT = Path(__file__).resolve().parent.parent
QWATCH = Path(sys.executable).parent / "qwatch"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"

FORMATS = {
    "OpenMetrics": (
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
        "application/openmetrics-text;version=0.0.1;q=0.5,"
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
        "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    ),
    "text": "text/plain;version=0.0.4;q=0.6,*/*;q=0.5",
}
"""The Accept headers of Prometheus 3 by default, and with only the text format allowed."""


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


@dataclass(frozen=True)
class Running:
    """An exporter process that answers at `url`."""

    url: str
    pid: int

    def cpu(self) -> float:
        """CPU seconds the process has used so far (user and system, 10 ms steps)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def exporter(command: list[str], port: int) -> Iterator[Running]:
    """A running exporter process, once it answers."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_until(lambda: fetch(url)[0] > 0, f"{command[0]} to answer", timeout=300)
        yield Running(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def fetch(url: str, accept: str = FORMATS["OpenMetrics"]) -> tuple[float, bytes]:
    """Seconds one GET of /metrics took, as Prometheus sends it, and the body it
    answered, uncompressed; 0 seconds when nothing answered."""
    request = urllib.request.Request(
        url,
        headers={
            "Accept": accept,
            "Accept-Encoding": "gzip",
            "X-Prometheus-Scrape-Timeout-Seconds": "120",
        },
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            body = response.read()
            encoding = response.headers.get("Content-Encoding")
    except OSError:
        return 0.0, b""
    seconds = time.perf_counter() - start
    return seconds, gzip.decompress(body) if encoding == "gzip" else body


def scrape(url: str) -> float:
    return fetch(url)[0]


def timed_scrape(client: redis.Redis, url: str, accept: str) -> tuple[float, float, bytes]:
    """Seconds one scrape took, the Redis CPU seconds it cost, and its body."""
    before = redis_cpu(client)
    seconds, body = fetch(url, accept)
    return seconds, redis_cpu(client) - before, body


def measure(client: redis.Redis, url: str, runs: int) -> tuple[float, float]:
    """Median scrape seconds, and median Redis CPU seconds per scrape."""
    scrape(url)
    results = [timed_scrape(client, url, FORMATS["OpenMetrics"]) for _ in range(runs)]
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def qwatch_command(url: str, port: int) -> list[str]:
    return [str(QWATCH), "serve", "--url", url, "--listen", f"127.0.0.1:{port}", "--timeout", "60"]


def compare_at_scale(args: argparse.Namespace) -> None:
    """Both exporters run at once and are scraped in turn, so machine noise hits both alike."""
    if not BENCH_PYTHON.exists():
        print("rq-exporter is not installed: run scripts/bench-venv.sh (into .venv-bench)")
        return
    with RedisServer() as server:
        client = server.client()
        populate(client, args.queues, args.workers, args.jobs)
        finish_jobs(client, args.queues, args.finished, tag="kept")
        time.sleep(OVERLAP + 2)  # kept jobs are old news, as in a long-running deployment
        print(
            f"\n1. {args.queues:,} queues, {args.workers:,} workers, {args.jobs:,} queued jobs,"
            f" {args.finished:,} finished jobs kept in the registries;"
            f" median of {args.runs} alternating pairs"
        )
        qwatch_port, rq_port = free_port(), free_port()
        rq_exporter = [
            str(BENCH_PYTHON), "-m", "rq_exporter", "--redis-url", server.url,
            "--host", "127.0.0.1", "-p", str(rq_port), "--log-level", "ERROR",
        ]  # fmt: skip
        with (
            exporter(qwatch_command(server.url, qwatch_port), qwatch_port) as qwatch,
            exporter(rq_exporter, rq_port) as rq,
        ):
            print(
                f"{'format':<13}{'exporter':<19}{'scrape':>10}{'faster':>8}{'cpu':>9}"
                f"{'redis cpu':>11}{'less cpu':>10}{'less redis':>12}{'scrape/redis':>14}"
                f"{'bytes/queue':>13}"
            )
            for name, accept in FORMATS.items():
                compare_format(client, name, accept, qwatch, rq, args)


def compare_format(
    client: redis.Redis,
    name: str,
    accept: str,
    qwatch: Running,
    rq: Running,
    args: argparse.Namespace,
) -> None:
    """RUNS pairs of scrapes, qwatch first in every other pair: median scrape times, and
    the mean CPU per scrape of the exporter process and of Redis; how much less of both,
    and of Redis', qwatch costs; and each scrape's time over the Redis CPU it cost."""
    tools = {"qwatch serve": qwatch, "rq-exporter 3.1.0": rq}
    seconds: dict[str, list[float]] = {tool: [] for tool in tools}
    cpu = {tool: 0.0 for tool in tools}
    redis_seconds = {tool: 0.0 for tool in tools}
    sizes = {}
    for run in range(args.runs):
        order = list(tools) if run % 2 == 0 else list(reversed(tools))
        for tool in order:
            before = tools[tool].cpu()
            took, redis_took, body = timed_scrape(client, tools[tool].url, accept)
            cpu[tool] += tools[tool].cpu() - before
            seconds[tool].append(took)
            redis_seconds[tool] += redis_took
            sizes[tool] = len(body) / max(args.queues, 1)
    base_time = statistics.median(seconds["qwatch serve"])
    base_cpu = (cpu["qwatch serve"] + redis_seconds["qwatch serve"]) / args.runs
    base_redis = redis_seconds["qwatch serve"] / args.runs
    for tool in tools:
        median = statistics.median(seconds[tool])
        own, on_redis = cpu[tool] / args.runs, redis_seconds[tool] / args.runs
        other = tool != "qwatch serve"
        faster = f"{median / base_time:.1f}x" if other else ""
        less = f"{(own + on_redis) / base_cpu:.1f}x" if other else ""
        less_redis = f"{on_redis / base_redis:.1f}x" if other else ""
        print(
            f"{name:<13}{tool:<19}{median * 1000:>8.1f}ms{faster:>8}{own * 1000:>7.0f}ms"
            f"{on_redis * 1000:>9.1f}ms{less:>10}{less_redis:>12}{median / on_redis:>13.2f}x"
            f"{sizes[tool]:>13,.0f}"
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
        with exporter(qwatch_command(server.url, port), port) as running:
            url = running.url
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
        with exporter(qwatch_command(server.url, port), port) as running:
            url = running.url
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
