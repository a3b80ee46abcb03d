"""One snapshot of a large deployment: qwatch against RQ's API and rq-exporter, in one run.

    make bench            (or: .venv/bin/python -m benchmarks.snapshot --help)

Starts a private redis-server, writes QUEUES queues, WORKERS workers and JOBS
queued jobs with RQ's own API, then times a full read by each tool on the
same data and prints the medians and the ratios. Redis CPU is read from
`INFO cpu` before and after each tool's runs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis
from rq import Queue, Worker
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from benchmarks.population import populate, scale_arguments
from harness.redis_server import RedisServer
from qwatch.rq.reader import read_snapshot
from qwatch.wire.connection import Target, connect

ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def measure(
    client: redis.Redis, read: Callable[[], object], runs: int
) -> tuple[list[float], float]:
    """Seconds of each run, and the Redis CPU seconds per run."""
    read()
    before = redis_cpu(client)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        read()
        seconds.append(time.perf_counter() - start)
    return seconds, (redis_cpu(client) - before) / runs


def rq_info_reads(client: redis.Redis) -> None:
    """What `rq info` reads: every queue's length and every worker."""
    for queue in Queue.all(connection=client):
        queue.count  # noqa: B018
    Worker.all(connection=client)


def rq_api_complete(client: redis.Redis) -> None:
    """The same facts as a qwatch snapshot through RQ's API (registries read without cleanup)."""
    registries = (
        StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry,
        DeferredJobRegistry, ScheduledJobRegistry, CanceledJobRegistry,
    )  # fmt: skip
    for queue in Queue.all(connection=client):
        queue.count  # noqa: B018
        for registry in registries:
            registry(queue.name, connection=client).get_job_count(cleanup=False)
    Worker.all(connection=client)


def rq_exporter(url: str, runs: int) -> tuple[list[float], float] | None:
    if not BENCH_PYTHON.exists():
        print("rq-exporter: skipped, run `make bench` to install it in .venv-bench")
        return None
    script = ROOT / "benchmarks" / "rq_exporter_collect.py"
    output = subprocess.run(
        [str(BENCH_PYTHON), str(script), url, str(runs)], check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(output)
    return result["seconds"], result["redis_cpu"]


def main() -> None:
    parser = scale_arguments(__doc__, runs=10)
    args = parser.parse_args()

    with RedisServer() as server:
        client = server.client()
        started = time.perf_counter()
        populate(client, args.queues, args.workers, args.jobs)
        elapsed = time.perf_counter() - started
        print(
            f"populated {args.queues} queues, {args.workers} workers, {args.jobs} queued jobs"
            f" with RQ's API in {elapsed:.1f}s; redis-server {client.info()['redis_version']}"
        )
        qwatch_client = connect(Target(url=server.url))
        snapshot = read_snapshot(qwatch_client)
        assert len(snapshot.queues) == args.queues and len(snapshot.workers) == args.workers
        assert sum(queue.queued for queue in snapshot.queues) == args.jobs

        results = {
            "qwatch snapshot": measure(client, lambda: read_snapshot(qwatch_client), args.runs * 3),
            "RQ API, rq info's reads": measure(client, lambda: rq_info_reads(client), args.runs),
            "RQ API, all registries": measure(client, lambda: rq_api_complete(client), args.runs),
        }
        exporter = rq_exporter(server.url, args.runs)
        if exporter:
            results["rq-exporter collect()"] = exporter
    report(results)


def report(results: dict[str, tuple[list[float], float]]) -> None:
    base_time = statistics.median(results["qwatch snapshot"][0])
    base_cpu = results["qwatch snapshot"][1]
    print(f"{'tool':<26}{'median':>10}{'min':>10}{'redis cpu':>11}{'time x':>9}{'cpu x':>8}")
    for name, (seconds, cpu) in results.items():
        median = statistics.median(seconds)
        print(
            f"{name:<26}{median * 1000:>8.1f}ms{min(seconds) * 1000:>8.1f}ms{cpu * 1000:>9.1f}ms"
            f"{median / base_time:>8.1f}x{cpu / base_cpu if base_cpu else float('nan'):>7.1f}x"
        )


if __name__ == "__main__":
    main()
