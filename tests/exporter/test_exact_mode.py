"""Exact mode end to end: real `qwatch.rq.Worker` processes, `qwatch serve`, and the truth.

Each test computes from what it enqueued how many jobs finished, failed and
were retried per queue, function and exception, and compares every
`qwatch_jobs_*_total` series with it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq import Queue, Retry
from rq.job import Job

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer
from harness.workers import run_burst, start_worker, stop_worker
from qwatch.rq.keys import DEFAULT_KEYS
from tests.exporter.conftest import Exporter, Scrape, StartExporter

EXACT = "qwatch.rq.Worker"
ADD, DIVIDE, FAIL = "harness.tasks.add", "harness.tasks.divide", "harness.tasks.fail"


def counted(scrape: Scrape, name: str) -> Counter[tuple[str, ...]]:
    """A counter's non-zero series by their label values (sorted by name), without `redis`."""
    return Counter(
        {
            tuple(value for label, value in labels if label != "redis"): int(count)
            for labels, count in scrape.series(f"{name}_total").items()
            if count
        }
    )


def assert_counts(
    scrape: Scrape,
    finished: Counter[tuple[str, str]],
    failed: Counter[tuple[str, str, str]] | None = None,
    retried: Counter[tuple[str, str, str]] | None = None,
) -> None:
    """`finished` by (queue, function); `failed` and `retried` by (queue, function, exception):
    all RQ's."""
    assert counted(scrape, "qwatch_jobs_finished") == Counter(
        {(function, queue, "rq"): n for (queue, function), n in finished.items()}
    )
    for name, truth in (("qwatch_jobs_failed", failed), ("qwatch_jobs_retried", retried)):
        assert counted(scrape, name) == Counter(
            {
                (exception, function, queue, "rq"): n
                for (queue, function, exception), n in (truth or {}).items()
            }
        ), name


def mode(scrape: Scrape, queue: str) -> str:
    (current,) = [
        dict(labels)["mode"]
        for labels, value in scrape.matching("qwatch_queue_counting_mode", queue=queue).items()
        if value == 1
    ]
    return current


def test_every_ttl_counted_including_0(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    exporter = start_exporter()
    exporter.scrape()
    emails, reports = Queue("emails", connection=client), Queue("reports", connection=client)
    for ttl in (0, 0, 0, 0, 5, 60, 500, -1):
        emails.enqueue(tasks.add, 1, 1, result_ttl=ttl)
    for ttl in (0, 5, 31_536_000):
        emails.enqueue(tasks.divide, 1, 0, failure_ttl=ttl or None)
    for ttl in (0, 0, 2):
        reports.enqueue(tasks.add, 2, 2, result_ttl=ttl)
    reports.enqueue(tasks.fail, "no report today", failure_ttl=7)
    run_burst(url, ["emails", "reports"], worker_class=EXACT)
    scrape = exporter.scrape()
    assert_counts(
        scrape,
        finished=Counter({("emails", ADD): 8, ("reports", ADD): 3}),
        failed=Counter({("emails", DIVIDE, "ZeroDivisionError"): 3,
                        ("reports", FAIL, "ValueError"): 1}),
    )  # fmt: skip
    assert (mode(scrape, "emails"), mode(scrape, "reports")) == ("exact", "exact")
    assert scrape.value("qwatch_job_duration_seconds_count", redis="main", queue="emails") == 11
    assert scrape.value("qwatch_stream_entries_lost_total", redis="main") == 0
    assert counted(exporter.scrape(), "qwatch_jobs_finished") == counted(
        scrape, "qwatch_jobs_finished"
    ), "a second scrape counts nothing again"


def test_a_retried_job_counts_once_and_its_retries_apart(
    client: redis.Redis, url: str, start_exporter: StartExporter, tmp_path: Path
) -> None:
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0)
    run_burst(url, ["default"], worker_class=EXACT)
    exporter = start_exporter()
    exporter.scrape()
    queue.enqueue(tasks.divide, 1, 0, retry=Retry(max=2))
    queue.enqueue(tasks.fail_once, str(tmp_path / "first-try"), retry=Retry(max=3))
    queue.enqueue(tasks.ask_retry, 1)
    run_burst(url, ["default"], worker_class=EXACT)
    assert_counts(
        exporter.scrape(),
        finished=Counter({("default", "harness.tasks.fail_once"): 1}),
        failed=Counter({("default", DIVIDE, "ZeroDivisionError"): 1,
                        ("default", "harness.tasks.ask_retry", "unknown"): 1}),
        retried=Counter({("default", DIVIDE, "ZeroDivisionError"): 2,
                         ("default", "harness.tasks.fail_once", "ConnectionError"): 1,
                         ("default", "harness.tasks.ask_retry", "unknown"): 1}),
    )  # fmt: skip


def test_a_stream_trimmed_past_the_cursor(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    client.config_set("stream-node-max-entries", 2)
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    exporter = start_exporter()
    exporter.scrape()
    jobs: dict[str, str] = {}
    for i in range(30):
        if i % 3:
            jobs[queue.enqueue(tasks.add, i, 1, result_ttl=0).id] = ADD
        else:
            jobs[queue.enqueue(tasks.divide, i, 0).id] = DIVIDE
    run_burst(url, ["default"], worker_class=EXACT, env={"QWATCH_STREAM_MAXLEN": "6"})
    found: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(DEFAULT_KEYS.completions)  # type: ignore[assignment]
    left = [json.loads(fields[b"v1"])[0] for _id, fields in found]
    assert 6 <= len(left) < 30 and set(left) <= set(jobs)
    scrape = exporter.scrape()
    left_by_function = Counter(jobs[job] for job in left)
    assert_counts(
        scrape,
        finished=Counter(
            {("default", ADD): left_by_function[ADD]} if left_by_function[ADD] else {}
        ),
        failed=Counter(
            {("default", DIVIDE, "ZeroDivisionError"): left_by_function[DIVIDE]}
            if left_by_function[DIVIDE]
            else {}
        ),
    )
    assert scrape.value("qwatch_stream_entries_lost_total", redis="main") == 30 - len(left)


def test_a_restarted_exporter_counts_nothing_twice(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    queue = Queue("default", connection=client)
    first = start_exporter()
    first.scrape()
    for i in range(3):
        queue.enqueue(tasks.add, i, 1, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    assert_counts(first.scrape(), finished=Counter({("default", ADD): 3}))
    first.stop()
    for i in range(2):
        queue.enqueue(tasks.add, i, 2, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    second = start_exporter()
    assert_counts(second.scrape(), finished=Counter())
    for i in range(4):
        queue.enqueue(tasks.divide, i, 0)
    run_burst(url, ["default"], worker_class=EXACT)
    assert_counts(
        second.scrape(),
        finished=Counter(),
        failed=Counter({("default", DIVIDE, "ZeroDivisionError"): 4}),
    )


@pytest.fixture
def workers(url: str) -> Iterator[None]:
    """A plain RQ worker on `plain`, a qwatch one on `exact`, both running throughout."""
    started = [
        start_worker(url, ["plain"], name="plain-worker"),
        start_worker(url, ["exact"], name="exact-worker", worker_class=EXACT),
    ]
    yield
    for process in started:
        stop_worker(process)


def test_queues_of_plain_workers_stay_with_the_registries(
    client: redis.Redis, start_exporter: StartExporter, workers: None
) -> None:
    for name in ("plain-worker", "exact-worker"):
        wait_until(lambda name=name: client.exists(DEFAULT_KEYS.worker_key(name)), name)  # type: ignore[misc]
    plain, exact = Queue("plain", connection=client), Queue("exact", connection=client)

    def run(count: int) -> None:
        kept = [plain.enqueue(tasks.add, i, 1) for i in range(count)]
        unkept = [exact.enqueue(tasks.add, i, 1, result_ttl=0) for i in range(count + 1)]
        wait_until(
            lambda: (
                all(Job.fetch(j.id, connection=client).get_status() == "finished" for j in kept)
                and not any(Job.exists(j.id, connection=client) for j in unkept)
            ),
            "every job to end",
        )

    run(1)
    exporter = start_exporter()
    exporter.scrape()
    run(3)
    scrape = exporter.scrape()
    assert (mode(scrape, "plain"), mode(scrape, "exact")) == ("registries", "exact")
    assert_counts(scrape, finished=Counter({("plain", ADD): 3, ("exact", ADD): 4}))


def test_a_read_only_acl_user_is_enough(
    client: redis.Redis, redis_server: RedisServer, url: str, start_exporter: StartExporter
) -> None:
    client.acl_setuser(
        "watcher", reset=True, enabled=True, passwords=["+watch-pw"], keys=["rq:*"],
        commands=["+@read"],
    )  # fmt: skip
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 0, 0, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    exporter: Exporter = start_exporter(
        url=f"redis://watcher:watch-pw@127.0.0.1:{redis_server.port}/0"
    )
    exporter.scrape()
    for i in range(5):
        queue.enqueue(tasks.add, i, 1, result_ttl=0)
    run_burst(url, ["default"], worker_class=EXACT)
    scrape = exporter.scrape()
    assert scrape.value("qwatch_up", redis="main") == 1
    assert mode(scrape, "default") == "exact"
    assert_counts(scrape, finished=Counter({("default", ADD): 5}))
