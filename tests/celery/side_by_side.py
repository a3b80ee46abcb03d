"""An RQ queue and a Celery queue both named `emails` on one Redis, each with a real worker
that has run one job that finished and one that failed."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from celery import Celery
from rq import Queue

from harness import tasks
from harness.polling import wait_until
from harness.workers import start_worker, stop_worker
from qwatch.celery.layout import CeleryLayout
from qwatch.watch import Watch

QUEUE = "emails"
LAYOUT = CeleryLayout(queues=(QUEUE,))
"""kombu writes a queue's binding once per process: the queue is named, as `--celery-queue` does."""
RQ_WORKER = "rq-emails"
CELERY_WORKER = "celery-emails"


def subscribed(client: redis.Redis, watch: Watch) -> None:
    """Start the watch's event listener and wait until Redis counts its two patterns, so
    that no task event is sent before it listens."""
    watch.systems()
    wait_until(lambda: client.pubsub_numpat() == 2, "the events listener's PSUBSCRIBE")


@contextmanager
def both_workers(
    client: redis.Redis, url: str, start_celery_worker: Callable[..., subprocess.Popen[bytes]]
) -> Iterator[None]:
    """A long-lived `rq worker` and a `celery worker -E` on `emails`, as a deployed Redis has
    before qwatch starts: the RQ worker is registered when this yields."""
    start_celery_worker((QUEUE,), name=CELERY_WORKER, task_events=True)
    process = start_worker(url, [QUEUE], name=RQ_WORKER)
    try:
        wait_until(lambda: client.scard("rq:workers") == 1, "the RQ worker's registration")
        yield
    finally:
        stop_worker(process)


def send_jobs(client: redis.Redis, app: Celery) -> None:
    """One job that finishes and one that fails on each system's `emails` queue. The
    producer sends task-sent events, which name the queue each Celery task counts in."""
    queue = Queue(QUEUE, connection=client)
    queue.enqueue(tasks.add, 1, 2)
    queue.enqueue(tasks.divide, 1, 0)
    app.conf.task_send_sent_event = True
    app.send_task("harness.add", (1, 2), queue=QUEUE)
    app.send_task("harness.crawl", ("https://upstream.example",), queue=QUEUE)
