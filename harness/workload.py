"""A mixed workload run by a real RQ worker: every state a job can end in."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import redis
from rq import Queue, Retry
from rq.registry import FinishedJobRegistry

from harness import tasks
from harness.polling import wait_until
from harness.workers import run_burst, running_jobs, start_worker, stop_worker

LONG_JOB = "long-job"


def mixed_workload(client: redis.Redis, url: str) -> None:
    """Successes, failures, retries, scheduled, deferred and canceled jobs, run by a real worker."""
    enqueue_mixed(client)
    run_burst(url, ["default", "high"])


@contextmanager
def busy_workload(client: redis.Redis, url: str, worker: str) -> Iterator[subprocess.Popen[bytes]]:
    """The mixed workload run, then `worker` busy with `LONG_JOB` on `default`: every state
    a job can be in, at once."""
    mixed_workload(client, url)
    Queue("default", connection=client).enqueue(tasks.sleep, 60, job_id=LONG_JOB)
    process = start_worker(url, ["default"], name=worker)
    try:
        wait_until(
            lambda: (
                LONG_JOB in running_jobs(client, worker)
                and client.hget(f"rq:job:{LONG_JOB}", "worker_name") == worker.encode()
            ),
            "the worker to start the long job",  # RQ 3.0 names the worker on the job last
        )
        yield process
    finally:
        stop_worker(process)


def enqueue_mixed(client: redis.Redis) -> None:
    """The mixed workload's jobs, not yet run; nobody works on the `parked` queue."""
    default = Queue("default", connection=client)
    high = Queue("high", connection=client)
    parked = Queue("parked", connection=client)
    for i in range(5):
        default.enqueue(tasks.add, i, 1)
    for i in range(3):
        default.enqueue(tasks.divide, i, 0)
    high.enqueue(tasks.divide, 1, 0, retry=Retry(max=2))
    high.enqueue(tasks.add, 2, 2, result_ttl=600)
    blocker = parked.enqueue(tasks.add, 0, 0)
    default.enqueue(tasks.add, 1, 1, depends_on=blocker)
    default.enqueue_in(timedelta(hours=1), tasks.add, 2, 2)
    default.enqueue(tasks.add, 3, 3).cancel()
    parked.enqueue(tasks.add, 4, 4)


def bulk_jobs(client: redis.Redis, queue_name: str, count: int) -> list[str]:
    """`count` jobs queued with RQ's API in one pipeline, and the same jobs in the finished
    registry with distinct ttls (so newest first is a known order): a big registry, quickly."""
    queue = Queue(queue_name, connection=client)
    with client.pipeline() as pipe:
        jobs = queue.enqueue_many(
            [
                Queue.prepare_data(tasks.add, (i, i), job_id=f"{queue_name}-{i:05d}")
                for i in range(count)
            ],
            pipeline=pipe,
        )
        pipe.execute()
    registry = FinishedJobRegistry(queue_name, connection=client)
    with client.pipeline() as pipe:
        for i, job in enumerate(jobs):
            registry.add(job, ttl=10_000 + i, pipeline=pipe)
        pipe.execute()
    return [job.id for job in jobs]
