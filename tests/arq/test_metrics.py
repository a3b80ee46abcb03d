"""arq's own series on /metrics, over what a real arq worker wrote."""

from __future__ import annotations

import redis

from harness.arq_app import enqueue
from harness.polling import wait_until
from harness.workers import stop_worker
from qwatch.arq.layout import ArqLayout
from qwatch.arq.results import RESULT_BYTES
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.model import ARQ, RQ
from qwatch.watch import Watch
from tests.arq.conftest import StartWorker
from tests.celery.side_by_side import scrape_until
from tests.exporter.conftest import Scrape

QUEUE = "arq:queue"


def health_check(got: Scrape) -> dict[str, float]:
    """The default queue's health-check counters, by outcome."""
    rows = got.matching("qwatch_arq_health_check_jobs", queue=QUEUE, redis="main")
    return {dict(labels)["outcome"]: value for labels, value in rows.items()}


def scraping(client: redis.Redis, system: str) -> QwatchCollector:
    watch = Watch(client, system, arq=ArqLayout(health_check_interval=1))
    source = RedisSource("main", client, watch=watch)
    source.start()
    return QwatchCollector([source], timeout=10)


def closed(collector: QwatchCollector) -> None:
    for source in collector.sources:
        source.close()


def test_a_result_too_large_to_read_is_counted_unread_beside_the_health_checks_counters(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    ids = [
        enqueue(url, "add", 1, 1),
        enqueue(url, "add", "x" * RESULT_BYTES, "y"),  # its result is over the limit
        enqueue(url, "fail", "mailbox full"),
        enqueue(url, "crawl", "http://shop/customer-4711"),
        enqueue(url, "retry_once", "second time lucky"),
    ]
    worker = start_worker()
    results = [f"arq:result:{job_id}" for job_id in ids]
    wait_until(lambda: client.exists(*results) == len(ids), "every result kept")
    collector = scraping(client, ARQ)  # its first discovery finds them all
    try:
        got = scrape_until(
            collector,
            lambda got: health_check(got) == {"complete": 3, "failed": 2, "retried": 1},
            "the health check after five jobs, one retried",
        )
        assert got.value("qwatch_arq_results_unread", redis="main") == 1
        finished = got.value("qwatch_queue_jobs", queue=QUEUE, state="finished")
        assert finished == 2, "the large result is unread, so not among the finished"
        stop_worker(worker)
        start_worker()  # writes the same health check, from its own counters
        scrape_until(
            collector,
            lambda got: health_check(got) == {"complete": 0, "failed": 0, "retried": 0},
            "the new worker's health check",
        )
    finally:
        closed(collector)


def test_arqs_series_are_absent_while_arq_is_not_watched(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    enqueue(url, "add", "x" * RESULT_BYTES, "y")
    start_worker()
    wait_until(lambda: client.exists("arq:queue:health-check"), "the health check")
    collector = scraping(client, RQ)
    try:
        got = scrape_until(collector, lambda got: got.value("qwatch_up") == 1, "a reading")
    finally:
        closed(collector)
    assert not [name for name in got.samples if name.startswith("qwatch_arq_")]
