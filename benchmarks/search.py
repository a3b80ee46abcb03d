"""`qwatch search` against the search a person would write with RQ's own API, on the same Redis.

    .venv/bin/python -m benchmarks.search [--jobs 100000] [--ran 2000] [--runs 3]

The Redis holds `--jobs` queued jobs over ten queues, each sending an email
to its customer, and `--ran` more run by a real worker: half finished, half
failed with the customer in their exception. Each tool looks for one
customer's failure and for a text no job holds, over every job of every
queue, in alternating pairs. RQ's API: the ids of every queue and registry,
`Job.fetch_many` a thousand at a time, and for ended jobs the latest result
(where RQ keeps a failure's exception), each matched as text. Redis time is
INFO commandstats' usec.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator

import redis
from rq import Queue
from rq.job import Job
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from benchmarks.browse import redis_usec
from harness import tasks
from harness.redis_server import RedisServer
from harness.workers import run_burst
from qwatch.limits import SEARCH_BUDGETS, SEARCH_SECONDS
from qwatch.model import SearchRequest
from qwatch.watch import Watch

QUEUES = [f"emails-{n}" for n in range(10)]
REGISTRIES = (
    StartedJobRegistry,
    FinishedJobRegistry,
    FailedJobRegistry,
    DeferredJobRegistry,
    ScheduledJobRegistry,
    CanceledJobRegistry,
)
CHUNK = 1_000
Search = Callable[[redis.Redis, str], int]


def populate(client: redis.Redis, url: str, jobs: int, ran: int) -> None:
    """`jobs` queued over `QUEUES`, then `ran` run on `ran-emails` by a burst worker."""
    for start in range(0, jobs, CHUNK):
        with client.pipeline() as pipe:
            for n in range(start, min(start + CHUNK, jobs)):
                queue = Queue(QUEUES[n % len(QUEUES)], connection=client)
                queue.enqueue_call(
                    tasks.send_email, (f"customer-{n}@example.com", "receipt"), pipeline=pipe
                )
            pipe.execute()
    ran_queue = Queue("ran-emails", connection=client)
    for n in range(ran):
        if n % 2:
            ran_queue.enqueue(tasks.fail, f"mailbox of customer r{n} is full")
        else:
            ran_queue.enqueue(tasks.add, n, 1)
    run_burst(url, ["ran-emails"], timeout=600)


def qwatch_search(client: redis.Redis, text: str) -> int:
    request = SearchRequest(text, budget=SEARCH_BUDGETS[1], seconds=SEARCH_SECONDS[1])
    ended = Watch(client, "rq").searched(request)
    assert ended.done, ended.stopped
    return len(ended.hits)


def rq_search(client: redis.Redis, text: str) -> int:
    """Every job of every queue and registry, fetched with RQ's API and matched as text."""
    needle = text.lower()
    found = 0
    for queue in Queue.all(connection=client):
        for jobs, ended in _jobs_of(client, queue):
            for job in jobs:
                fields = [job.id, job.func_name, job.description, repr(job.args)]
                if ended and (result := job.latest_result()) is not None:
                    fields += [str(result.return_value), result.exc_string or ""]
                found += any(needle in (field or "").lower() for field in fields)
    return found


def _jobs_of(client: redis.Redis, queue: Queue) -> Iterator[tuple[list[Job], bool]]:
    """The queue's jobs, then each registry's, a chunk at a time, and whether they ended."""
    listings = [(queue.get_job_ids(), False)]
    for registry_class in REGISTRIES:
        registry = registry_class(queue.name, connection=client)
        ended = registry_class in (FinishedJobRegistry, FailedJobRegistry)
        listings.append((registry.get_job_ids(cleanup=False), ended))
    for ids, ended in listings:
        for start in range(0, len(ids), CHUNK):
            chunk = Job.fetch_many(ids[start : start + CHUNK], connection=client)
            yield [job for job in chunk if job is not None], ended


def measure(client: redis.Redis, search: Search, text: str) -> tuple[float, float, int]:
    """Seconds for the whole search, the Redis CPU seconds it cost, and the jobs found."""
    before = redis_usec(client)
    start = time.perf_counter()
    found = search(client, text)
    elapsed = time.perf_counter() - start
    return elapsed, (redis_usec(client) - before) / 1e6, found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--ran", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with RedisServer() as server:
        client = server.client()
        populate(client, server.url, args.jobs, args.ran)
        print(f"{args.jobs + args.ran:,} jobs in {len(QUEUES) + 1} queues, median of {args.runs}")
        print("| looking for | found | qwatch | Redis | RQ's API | Redis | qwatch is faster by |")
        print("|---|---|---|---|---|---|---|")
        for text in (f"customer r{args.ran - 1} ", "no such customer"):
            times: dict[str, list[tuple[float, float, int]]] = {"qwatch": [], "rq": []}
            for _ in range(args.runs):
                times["qwatch"].append(measure(client, qwatch_search, text))
                times["rq"].append(measure(client, rq_search, text))
            q, q_redis, q_found = (statistics.median(column) for column in zip(*times["qwatch"]))
            r, r_redis, r_found = (statistics.median(column) for column in zip(*times["rq"]))
            assert q_found == r_found, (text, q_found, r_found)
            print(
                f"| {text!r} | {q_found:g} | {q:.2f} s | {q_redis:.2f} s | {r:.2f} s"
                f" | {r_redis:.2f} s | {r / q:.1f}x |"
            )


if __name__ == "__main__":
    main()
