"""One page of the job browser against the same page read with RQ's API, on the same Redis.

    .venv/bin/python -m benchmarks.browse [--jobs 10000] [--runs 15]

The queue holds `--jobs` queued jobs, also in its finished registry. Each
tool reads a page of 100 at the start and at the end of each list, in turn.
RQ's API: the queue's or registry's ids for that range, `Job.fetch_many`, and
for finished jobs each one's latest result (what a job list shows), as a
dashboard built on RQ reads them. Redis time is INFO commandstats' usec.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import redis
from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry

from harness.redis_server import RedisServer
from harness.workload import bulk_jobs
from qwatch.model import PageRequest
from qwatch.rq.browse import read_page

PAGE = 100


def qwatch_page(client: redis.Redis, state: str, offset: int) -> int:
    return len(read_page(client, PageRequest("bulk", state, offset, PAGE)).jobs)


def rq_page(client: redis.Redis, state: str, offset: int) -> int:
    end = offset + PAGE - 1
    if state == "queued":
        ids = Queue("bulk", connection=client).get_job_ids(offset, PAGE)
    else:
        registry = FinishedJobRegistry("bulk", connection=client)
        ids = registry.get_job_ids(offset, end, desc=True, cleanup=False)
    jobs = [job for job in Job.fetch_many(ids, connection=client) if job is not None]
    if state == "finished":
        for job in jobs:
            job.latest_result()
    return len(jobs)


def redis_usec(client: redis.Redis) -> float:
    stats = client.info("commandstats")
    return sum(float(value["usec"]) for value in stats.values())


def measure(
    client: redis.Redis, read: Callable[[redis.Redis, str, int], int], state: str, offset: int
) -> tuple[float, float]:
    """Seconds for the page, and Redis CPU seconds it cost."""
    before = redis_usec(client)
    start = time.perf_counter()
    assert read(client, state, offset) == PAGE
    elapsed = time.perf_counter() - start
    return elapsed, (redis_usec(client) - before) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with RedisServer() as server:
        client = server.client()
        bulk_jobs(client, "bulk", args.jobs)
        print(f"{args.jobs} jobs, pages of {PAGE}, median of {args.runs} runs")
        print("| page | qwatch | Redis | RQ's API | Redis | qwatch is faster by |")
        print("|---|---|---|---|---|---|")
        for state in ("queued", "finished"):
            for offset in (0, args.jobs - PAGE):
                times: dict[str, list[tuple[float, float]]] = {"qwatch": [], "rq": []}
                for _ in range(args.runs):
                    times["qwatch"].append(measure(client, qwatch_page, state, offset))
                    times["rq"].append(measure(client, rq_page, state, offset))
                q, q_redis = (statistics.median(column) for column in zip(*times["qwatch"]))
                r, r_redis = (statistics.median(column) for column in zip(*times["rq"]))
                print(
                    f"| {state} from {offset} | {q * 1000:.1f} ms | {q_redis * 1000:.2f} ms"
                    f" | {r * 1000:.1f} ms | {r_redis * 1000:.2f} ms | {r / q:.1f}x |"
                )


if __name__ == "__main__":
    main()
