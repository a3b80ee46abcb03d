"""Large fleets bound their series: histograms for all queues, none, or those named."""

from __future__ import annotations

import pytest
import redis
from rq import Queue

from harness import tasks
from harness.workers import run_burst
from tests.cli.test_cli import run_cli
from tests.exporter.conftest import StartExporter

HISTOGRAMS = ("qwatch_job_duration_seconds", "qwatch_job_wait_seconds")
QUEUES = ("emails", "reports", "video")


def run_jobs(client: redis.Redis, url: str) -> None:
    for name in QUEUES:
        Queue(name, connection=client).enqueue(tasks.add, 1, 1)
        Queue(name, connection=client).enqueue(tasks.divide, 1, 0)
    run_burst(url, list(QUEUES))


@pytest.mark.parametrize(
    ("histogram_queues", "with_histograms"),
    [
        (None, set(QUEUES)),
        (frozenset(), set()),
        (frozenset({"emails", "video"}), {"emails", "video"}),
    ],
)
def test_histograms_only_for_the_queues_chosen(
    client: redis.Redis,
    url: str,
    start_exporter: StartExporter,
    histogram_queues: frozenset[str] | None,
    with_histograms: set[str],
) -> None:
    exporter = start_exporter(ttls=[600], histogram_queues=histogram_queues)
    exporter.scrape()
    run_jobs(client, url)
    scrape = exporter.scrape()
    for name in HISTOGRAMS:
        for suffix in ("_bucket", "_count", "_sum"):
            queues = {dict(key)["queue"] for key in scrape.series(name + suffix)}
            assert queues == with_histograms, name + suffix
    for queue in QUEUES:  # every job is still counted
        assert sum(scrape.matching("qwatch_jobs_finished_total", queue=queue).values()) == 1
        assert sum(scrape.matching("qwatch_jobs_failed_total", queue=queue).values()) == 1


@pytest.mark.parametrize("value", ["", " ", "emails,,video", "all,emails", "none,video", ","])
def test_bad_histogram_choices_are_one_line_and_status_2(url: str, value: str) -> None:
    result = run_cli("serve", "--url", url, "--listen", "127.0.0.1:1", "--histograms", value)
    assert result.returncode == 2
    assert result.stderr.startswith("qwatch serve: argument --histograms: not all, none or QUEUE,")
    assert result.stderr.count("\n") == 1
