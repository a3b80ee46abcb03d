"""One `/metrics` over a Redis where RQ and Celery each run a queue named `emails`:
every series says its system, and each system's counts are what its worker did."""

from __future__ import annotations

import redis
from celery import Celery

from harness.polling import wait_until
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.exporter.exposition import TextFormat
from qwatch.model import CELERY, RQ
from qwatch.watch import Watch
from tests.celery.conftest import StartWorker
from tests.celery.side_by_side import (
    LAYOUT,
    QUEUE,
    both_workers,
    did_one_of_each,
    scrape_until,
    send_jobs,
    subscribed,
)
from tests.exporter.conftest import Scrape, parse


def workers_by_system(scrape: Scrape) -> dict[str, float]:
    by_system: dict[str, float] = {}
    for labels, value in scrape.series("qwatch_workers").items():
        system = dict(labels)["system"]
        by_system[system] = by_system.get(system, 0) + value
    return by_system


def test_one_scrape_counts_each_systems_jobs_apart(
    client: redis.Redis, url: str, app: Celery, start_worker: StartWorker
) -> None:
    with both_workers(client, url, start_worker):
        watch = Watch(client, layout=LAYOUT)
        source = RedisSource("main", client, track_interval=0.1, watch=watch)
        collector = QwatchCollector([source], timeout=10)
        try:
            subscribed(watch)
            source.start()
            send_jobs(client, app)

            got = scrape_until(
                collector,
                lambda got: did_one_of_each(got) and workers_by_system(got) == {RQ: 1, CELERY: 1},
                "both systems' finished and failed jobs, and both workers",
            )
        finally:
            source.close()
    assert got.value("qwatch_up", redis="main") == 1
    for system in (RQ, CELERY):
        assert got.matching("qwatch_queue_jobs", queue=QUEUE, state="queued", system=system)
    assert got.matching("qwatch_queue_jobs", queue=QUEUE, state="failed", system=RQ) == {
        (("queue", QUEUE), ("redis", "main"), ("state", "failed"), ("system", RQ)): 1.0
    }
    assert got.matching("qwatch_celery_queue_reserved", queue=QUEUE)
    priorities = got.matching("qwatch_celery_queue_priority_jobs", queue=QUEUE)
    assert {dict(labels)["priority"] for labels in priorities} == {"0", "3", "6", "9"}
    assert not got.matching("qwatch_celery_queue_reserved", system=RQ)


def test_tasks_processed_before_the_first_scrape_are_counted(
    client: redis.Redis, app: Celery, start_worker: StartWorker
) -> None:
    """A Celery worker's processed count is followed from when qwatch first heard it, not
    from the first scrape: the tasks in between are in `tasks_processed_total`."""
    start_worker((QUEUE,), name="quiet")
    watch = Watch(client, layout=LAYOUT)
    source = RedisSource("main", client, watch=watch)
    collector = QwatchCollector([source], timeout=10)
    try:
        subscribed(watch)
        source.start()
        events = watch.events
        assert events is not None
        heard = wait_until(
            lambda: [w for w in events.view().workers if w.name.startswith("quiet@")],
            "the worker's first heartbeat",
        )
        first = heard[0].processed or 0
        for i in range(3):
            app.send_task("harness.add", (i, 1), queue=QUEUE)
        wait_until(
            lambda: [w for w in events.view().workers if w.processed == first + 3],
            "a heartbeat saying it processed the three tasks",
        )
        got = parse(TextFormat().render(collector.read()).decode())
    finally:
        source.close()
    assert got.value("qwatch_celery_worker_tasks_processed_total", redis="main") == 3
