"""A mixed workload run by a real RQ worker: every state a job can end in."""

from __future__ import annotations

from datetime import timedelta

import redis
from rq import Queue, Retry

from harness import tasks
from harness.workers import run_burst


def mixed_workload(client: redis.Redis, url: str) -> None:
    """Successes, failures, retries, scheduled, deferred and canceled jobs, run by a real worker."""
    enqueue_mixed(client)
    run_burst(url, ["default", "high"])


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
