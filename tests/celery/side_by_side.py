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
from qwatch.exporter.collector import QwatchCollector
from qwatch.exporter.exposition import TextFormat
from qwatch.model import CELERY, RQ
from qwatch.watch import Watch
from tests.exporter.conftest import Scrape, parse

QUEUE = "emails"
LAYOUT = CeleryLayout(queues=(QUEUE,))
"""kombu writes a queue's binding once per process: the queue is named, as `--celery-queue` does."""
RQ_WORKER = "rq-emails"
CELERY_WORKER = "celery-emails"


def subscribed(watch: Watch) -> None:
    """Start the watch's event listener and wait until it is subscribed, so that no task
    event is sent before it listens (PUBSUB NUMPAT would count the workers' own patterns)."""
    watch.systems()
    events = watch.events
    assert events is not None, "Celery is watched"
    wait_until(lambda: events.view().watch.listening_seconds > 0, "the events listener")


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


def counted(scrape: Scrape, state: str, system: str) -> float:
    """`qwatch_jobs_<state>_total` for one system's `emails` queue, summed over functions."""
    return sum(scrape.matching(f"qwatch_jobs_{state}_total", queue=QUEUE, system=system).values())


def did_one_of_each(scrape: Scrape) -> bool:
    """Whether the scrape counts what `send_jobs` had each system do."""
    return all(
        counted(scrape, state, system) == 1
        for state in ("finished", "failed")
        for system in (RQ, CELERY)
    )


def scrape_until(collector: QwatchCollector, done: Callable[[Scrape], bool], what: str) -> Scrape:
    """Scrape, as Prometheus would, until a scrape is `done`."""

    def scrape() -> Scrape | None:
        got = parse(TextFormat().render(collector.read()).decode())
        return got if done(got) else None

    found = wait_until(scrape, what)
    assert found is not None
    return found
