"""qwatch's own text and OpenMetrics writers are prometheus_client's, byte for byte."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import redis
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder
from rq import Queue, Worker

from harness import tasks
from harness.workers import run_burst
from qwatch.exporter import celery_metrics, metrics
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.exporter.exposition import TextFormat, families, written_by_qwatch
from qwatch.exporter.metrics import Reading
from qwatch.exporter.totals import DEFAULT_BUCKETS, JobTotals
from qwatch.model import (
    RQ,
    CeleryQueue,
    CeleryWatch,
    Completion,
    QueueStats,
    RedisInfo,
    Snapshot,
    WorkerStats,
)
from qwatch.wire.connection import Target, connect

ODD = 'odd "queue"\\with\nnewline é'

PROMETHEUS_3 = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
PROMETHEUS_2_55 = (
    "application/openmetrics-text;version=1.0.0;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
PROMETHEUS_2_42 = (
    "application/openmetrics-text;version=1.0.0,"
    "application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
ACCEPT_HEADERS = (
    PROMETHEUS_3,
    PROMETHEUS_2_55,
    PROMETHEUS_2_42,
    "text/plain;version=1.0.0;escaping=allow-utf-8",
    "text/plain",
    "*/*",
    "",
)


class Fixed:
    def __init__(self, items: list[Metric]) -> None:
        self.items = items

    def collect(self) -> list[Metric]:
        return self.items


def library_output(reading: Reading, accept: str) -> tuple[bytes, bool | None]:
    """What prometheus_client writes for this Accept header, and which writer qwatch uses."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed(list(families(reading))))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), written_by_qwatch(content_type)


def odd_reading() -> Reading:
    queue = QueueStats(ODD, 3, 1, 2, 4, 0, 1, 0, 0, 12.5, 2, "job-1", system=RQ)
    plain = QueueStats("plain", 0, 0, 0, 0, 0, 0, 0, 0, None, 0, None, system=RQ)
    worker = WorkerStats(
        "w", "host", 1, "busy", (ODD,), "job-2", "f()", 1.5, 0.0, 2.0, False, 3, 1, 10.25, system=RQ
    )
    head = ((ODD, 2), ("app.send", 1))
    celery_queue = QueueStats(
        ODD, 3, 1, None, None, None, 0, None, None, None, None, None,
        CeleryQueue(((0, 2), (3, 1)), 4, 1, 1900.5, head, 3), system="celery",
    )  # fmt: skip
    celery_worker = WorkerStats(
        "celery@h", "h", 2, "online", (), None, None, None, 0.0, 1.0, False, None, None, None,
        system="celery", processed=12, task_events=False,
    )  # fmt: skip
    snapshot = Snapshot(
        100.0,
        (queue, plain, celery_queue),
        (worker, celery_worker),
        (),
        (),
        False,
        RedisInfo("7.0", 1 << 40, 0),
        celery=CeleryWatch(61.5, 1000, 7),
    )
    totals = JobTotals(DEFAULT_BUCKETS, 50)
    done = Completion("j", ODD, "finished", "app.send", None, 1.0, 2.0, 2.004, system=RQ)
    failed = Completion("k", ODD, "failed", None, "requests.Timeout", 1.0, 2.0, 9000.0, system=RQ)
    task = Completion("t", ODD, "finished", ODD, None, 1.0, 2.0, 3.0, system="celery")
    totals.add(snapshot, [done, failed, task])
    return metrics.merge(
        [
            metrics.health("r", 0.0123, up=True),
            metrics.from_snapshot("r", snapshot),
            metrics.from_totals("r", totals),
            celery_metrics.reading("r", snapshot, totals),
            metrics.build_info(),
        ]
    )


@pytest.mark.parametrize("accept", ACCEPT_HEADERS)
def test_odd_names_are_written_as_the_library_writes_them(accept: str) -> None:
    expected, openmetrics = library_output(odd_reading(), accept)
    assert openmetrics is not None
    text_format = TextFormat()
    assert text_format.render(odd_reading(), openmetrics) == expected
    assert text_format.render(odd_reading(), openmetrics) == expected  # from remembered lines
    assert b'queue="odd \\"queue\\"\\\\with\\nnewline \xc3\xa9"' in expected


EDGE_VALUES = (
    0.0, 5e-324, 1e-05, 0.1, 12.5, 999999.9999999, 1e6, -1e6, -999999.5, 2.0**53,
    1234567.5, math.inf, -math.inf, math.nan,
)  # fmt: skip
"""Values on either side of where Go's notation and Python's part."""


@pytest.mark.parametrize("accept", ["text/plain", PROMETHEUS_3])
def test_every_value_is_written_as_the_library_writes_it(accept: str) -> None:
    reading: Reading = [(metrics.UP, [((str(n),), value) for n, value in enumerate(EDGE_VALUES)])]
    expected, openmetrics = library_output(reading, accept)
    assert openmetrics is not None
    assert TextFormat().render(reading, openmetrics) == expected
    assert b" 1e+06\n" in expected and b" 999999.9999999\n" in expected


def test_prometheus_gets_openmetrics_written_by_qwatch() -> None:
    for accept in (PROMETHEUS_3, PROMETHEUS_2_55, PROMETHEUS_2_42):
        expected, openmetrics = library_output(odd_reading(), accept)
        assert openmetrics is True
        assert expected.endswith(b"# EOF\n")
        assert b"# TYPE qwatch_jobs_finished counter\n" in expected
        assert b'\nqwatch_jobs_finished_total{function="app.send",' in expected
    plain, openmetrics = library_output(odd_reading(), "text/plain")
    assert openmetrics is False and b"# TYPE qwatch_jobs_finished_total counter\n" in plain


def test_names_escaped_with_dots_are_left_to_the_library() -> None:
    dotted = "application/openmetrics-text;version=1.0.0;escaping=dots"
    _encoder, content_type = choose_encoder(dotted)
    assert written_by_qwatch(content_type) is None


def test_both_formats_match_the_library_on_a_real_deployment(client: redis.Redis, url: str) -> None:
    """Queues, busy and idle workers, finished and failed jobs run by a real RQ worker."""
    names = [f"queue-{n:02d}" for n in range(12)] + [ODD]
    source = RedisSource("main", connect(Target(url=url)))
    collector = QwatchCollector([source], timeout=30)
    source.start()
    assert source.following.wait_past(0), "the tracker's first poll marks where counting starts"
    for n, name in enumerate(names):
        queue = Queue(name, connection=client)
        queue.enqueue(tasks.add, n, 1)
        queue.enqueue(tasks.divide, n, n % 3)
    run_burst(url, names)
    for n, name in enumerate(names):
        Queue(name, connection=client).enqueue(tasks.add, n, 2)
        worker = Worker([name], connection=client, name=f"w-{n}")
        worker.register_birth()
        worker.set_state("busy" if n % 2 else "idle")
    assert source.following.wait_past(source.following.poll_soon()), "the tracker's next poll"
    reading = collector.read()
    source.close()
    text_format = TextFormat()
    for accept in ACCEPT_HEADERS:
        expected, openmetrics = library_output(reading, accept)
        assert openmetrics is not None
        assert text_format.render(reading, openmetrics) == expected, accept
    om, _ = library_output(reading, PROMETHEUS_3)
    assert om.count(b"qwatch_job_duration_seconds_bucket{") == 13 * (len(DEFAULT_BUCKETS) + 1)
    assert b'qwatch_jobs_failed_total{exception="ZeroDivisionError"' in om


def test_remembered_lines_are_those_of_the_last_scrape(client: redis.Redis, url: str) -> None:
    """Queues come and go; what the writer remembers never outgrows one scrape."""
    collector = QwatchCollector([RedisSource("main", connect(Target(url=url)))], timeout=30)
    text_format = TextFormat()
    for generation in range(5):
        client.flushall()
        for n in range(40):
            Queue(f"gen{generation}-{n}", connection=client).enqueue(tasks.add, n, 1)
        reading = collector.read()
        text_format.render(reading)
        text_format.render(reading, openmetrics=True)
        lines = sum(len(rows) for _series, rows in reading)
        assert text_format.remembered == lines


def test_histogram_labels_sort_after_le() -> None:
    """The writers put `le` first, where prometheus_client's sorting puts it."""
    for series in (*metrics.ALL, *celery_metrics.ALL):
        if series.kind == "histogram":
            assert all(label > "le" for label in series.labels), series.name


def test_what_changed_since_the_last_scrape_is_written_and_nothing_else_changes() -> None:
    """One gauge moved, a queue's state counts moved, and a histogram of the totals (the
    same object, changed in place) took an observation: each is written anew."""
    totals = JobTotals(DEFAULT_BUCKETS, 50)
    queue = QueueStats("q", 3, 1, 2, 4, 0, 1, 0, 0, 12.5, 2, "job-1", system=RQ)

    def reading(queued: int, workers: int) -> Reading:
        snapshot = Snapshot(
            100.0,
            (replace(queue, queued=queued, workers=workers),),
            (),
            (),
            (),
            False,
            RedisInfo("7.0", 1 << 40, 0),
        )
        return metrics.merge(
            [metrics.from_snapshot("r", snapshot), metrics.from_totals("r", totals)]
        )

    done = Completion("j", "q", "finished", "app.send", None, 1.0, 2.0, 2.5, system=RQ)
    totals.add_completions([done])
    text_format = TextFormat()
    for queued, workers in ((3, 2), (3, 2), (5, 2), (5, 7)):
        expected, _ = library_output(reading(queued, workers), "text/plain")
        assert text_format.render(reading(queued, workers)) == expected
        totals.add_completions([done])
    assert b'qwatch_queue_jobs{queue="q",redis="r",state="queued",system="rq"} 5.0' in expected
    assert b'qwatch_job_duration_seconds_count{queue="q",redis="r",system="rq"} 4.0' in expected
