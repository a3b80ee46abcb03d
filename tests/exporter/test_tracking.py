"""Completions followed by the background tracker: short-lived records, restarts, outages."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from rq import Queue

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer
from harness.workers import run_burst, start_worker, stop_worker
from tests.exporter.conftest import Scrape, StartExporter

ADD, DIVIDE, FAIL = "harness.tasks.add", "harness.tasks.divide", "harness.tasks.fail"
Labels = tuple[str, ...]


def job_totals(scrape: Scrape) -> tuple[Counter[Labels], Counter[Labels]]:
    """Finished per (queue, function) and failed per (queue, function, exception)."""
    finished: Counter[Labels] = Counter()
    for key, value in scrape.series("qwatch_jobs_finished_total").items():
        labels = dict(key)
        finished[(labels["queue"], labels["function"])] += int(value)
    failed: Counter[Labels] = Counter()
    for key, value in scrape.series("qwatch_jobs_failed_total").items():
        labels = dict(key)
        failed[(labels["queue"], labels["function"], labels["exception"])] += int(value)
    return +finished, +failed


def wait_for_counts(client: redis.Redis, worker: str, finished: int, failed: int) -> None:
    """Until the worker says it did that many jobs: records of 2 s may be gone already."""
    expected = [str(finished).encode(), str(failed).encode()]
    wait_until(
        lambda: (
            client.hmget(f"rq:worker:{worker}", "successful_job_count", "failed_job_count")
            == expected
        ),
        f"{worker} to report {finished} finished and {failed} failed jobs",
    )


def test_results_kept_two_seconds_are_counted_by_scrapes_far_apart(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    """Scrapes 10 s apart would miss every job here: the tracker counts them between."""
    worker = start_worker(url, ["emails", "reports"], name="short-lived-results")
    try:
        wait_until(lambda: client.exists("rq:worker:short-lived-results"), "the worker")
        exporter = start_exporter()
        exporter.scrape()
        emails, reports = Queue("emails", connection=client), Queue("reports", connection=client)
        finished: Counter[Labels] = Counter()
        failed: Counter[Labels] = Counter()
        jobs = []
        for round_number, ttl in enumerate((2, 3, 2)):
            jobs += [emails.enqueue(tasks.add, i, round_number, result_ttl=ttl) for i in range(4)]
            jobs.append(reports.enqueue(tasks.divide, 1, 0, failure_ttl=ttl))
            jobs.append(reports.enqueue(tasks.fail, "bad input", failure_ttl=ttl))
            finished[("emails", ADD)] += 4
            failed[("reports", DIVIDE, "ZeroDivisionError")] += 1
            failed[("reports", FAIL, "ValueError")] += 1
            wait_for_counts(
                client, "short-lived-results", 4 * (round_number + 1), 2 * (round_number + 1)
            )
            exporter.track()  # the tracker's own clock, a second at most after they ended
        wait_until(
            lambda: not any(client.exists(f"rq:job:{job.id}") for job in jobs),
            "every record to expire, as it would between two scrapes",
        )
        scrape = exporter.scrape(track=False)
    finally:
        stop_worker(worker)
    assert job_totals(scrape) == (finished, failed)
    assert scrape.value("qwatch_job_duration_seconds_count", redis="main", queue="emails") == 12
    assert scrape.value("qwatch_jobs_untracked_total", redis="main", outcome="finished") == 0
    assert scrape.value("qwatch_jobs_untracked_total", redis="main", outcome="failed") == 0


def test_a_burst_of_never_seen_ttls_between_two_polls(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    exporter = start_exporter()
    queue, other = Queue("default", connection=client), Queue("other", connection=client)
    finished: Counter[Labels] = Counter()
    failed: Counter[Labels] = Counter()
    for i, ttl in enumerate((9, 13, 13, 77, 600, 3600, 86_400, 500)):
        queue.enqueue(tasks.add, i, 1, result_ttl=ttl)
        finished[("default", ADD)] += 1
    for ttl in (31, 7200):
        other.enqueue(tasks.divide, 1, 0, failure_ttl=ttl)
        failed[("other", DIVIDE, "ZeroDivisionError")] += 1
    other.enqueue(tasks.fail, "no such user", failure_ttl=45)
    failed[("other", FAIL, "ValueError")] += 1
    run_burst(url, ["default", "other"])
    assert job_totals(exporter.scrape()) == (finished, failed)
    assert job_totals(exporter.scrape()) == (finished, failed)


def test_jobs_without_a_record_are_said_to_be_untracked(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    worker = start_worker(url, ["fire-and-forget", "kept"], name="long-lived")
    try:
        wait_until(lambda: client.exists("rq:worker:long-lived"), "the worker to register")
        exporter = start_exporter()
        exporter.scrape()
        Queue("kept", connection=client).enqueue(tasks.divide, 1, 0)
        quiet = Queue("fire-and-forget", connection=client)
        for i in range(7):
            quiet.enqueue(tasks.add, i, 1, result_ttl=0)
        wait_until(
            lambda: (
                client.hget("rq:worker:long-lived", "successful_job_count") == b"7"
                and client.hget("rq:worker:long-lived", "failed_job_count") == b"1"
            ),
            "the worker to run every job",
        )
        exporter.track()
        scrape = exporter.scrape()  # counters are matched with the records a poll later
    finally:
        stop_worker(worker)
    assert job_totals(scrape) == (Counter(), Counter({("kept", DIVIDE, "ZeroDivisionError"): 1}))
    assert scrape.value("qwatch_jobs_untracked_total", redis="main", outcome="finished") == 7
    assert scrape.value("qwatch_jobs_untracked_total", redis="main", outcome="failed") == 0


def test_a_restarted_exporter_doubles_nothing(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    queue = Queue("default", connection=client)
    first = start_exporter()
    for i, ttl in enumerate((41, 42, 500)):
        queue.enqueue(tasks.add, i, 1, result_ttl=ttl)
    queue.enqueue(tasks.divide, 1, 0, failure_ttl=43)
    run_burst(url, ["default"])
    assert job_totals(first.scrape()) == (
        Counter({("default", ADD): 3}),
        Counter({("default", DIVIDE, "ZeroDivisionError"): 1}),
    )
    first.stop()

    restarted = start_exporter()  # every record above is still in Redis
    assert job_totals(restarted.scrape()) == (Counter(), Counter())
    for i, ttl in enumerate((41, 44)):
        queue.enqueue(tasks.add, i, 2, result_ttl=ttl)
    run_burst(url, ["default"])
    assert job_totals(restarted.scrape()) == (Counter({("default", ADD): 2}), Counter())
    assert job_totals(restarted.scrape()) == (Counter({("default", ADD): 2}), Counter())


def tracker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("qwatch-tracker-")]


def test_stopping_the_exporter_stops_its_trackers(start_exporter: StartExporter) -> None:
    exporter = start_exporter(name="short-lived")
    assert "qwatch-tracker-short-lived" in tracker_threads()
    exporter.stop()
    assert "qwatch-tracker-short-lived" not in tracker_threads()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis this test may stop and restart."""
    server = RedisServer()
    server.start()
    yield server
    if server.process is not None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


def test_the_tracker_survives_redis_going_away(
    own_redis: RedisServer, start_exporter: StartExporter
) -> None:
    exporter = start_exporter(url=own_redis.url, timeout=1.0)
    exporter.scrape()
    own_redis.stop()
    down = exporter.scrape()  # the tracker polled, failed, and lives on
    assert down.value("qwatch_up", redis="main") == 0
    assert exporter.server.sources[0].following.failing
    own_redis.start()
    queue = Queue("default", connection=own_redis.client())
    queue.enqueue(tasks.add, 1, 1, result_ttl=45)
    exporter.track()  # back: its first poll after the outage
    queue.enqueue(tasks.add, 2, 2, result_ttl=46)
    run_burst(own_redis.url, ["default"])
    back = exporter.scrape()
    assert back.value("qwatch_up", redis="main") == 1
    assert not exporter.server.sources[0].following.failing
    assert job_totals(back) == (Counter({("default", ADD): 2}), Counter())


def test_jobs_done_before_the_first_scrape_count_and_untracked_never_exceeds_reported(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    """The workers' counters are followed from the exporter's start, by the same polls that
    find the untracked jobs: a worker already running and one born and gone before any
    scrape both report what they did, and untracked stays within what was reported."""
    running = start_worker(url, ["fire-and-forget", "kept"], name="running")
    try:
        wait_until(lambda: client.exists("rq:worker:running"), "the worker to register")
        exporter = start_exporter()  # its tracker's first poll: the baseline
        quiet, kept = Queue("fire-and-forget", connection=client), Queue("kept", connection=client)
        for i in range(4):
            quiet.enqueue(tasks.add, i, 1, result_ttl=0)
        for i in range(3):
            kept.enqueue(tasks.add, i, 2)
        for _ in range(2):
            kept.enqueue(tasks.divide, 1, 0)
        wait_for_counts(client, "running", 7, 2)
        brief = start_worker(url, ["late"], name="brief")
        try:
            wait_until(lambda: client.exists("rq:worker:brief"), "the late worker to register")
            exporter.track()  # sees the late worker, born since the last poll
            late = Queue("late", connection=client)
            for i in range(3):
                late.enqueue(tasks.add, i, 3, result_ttl=0)
            wait_until(
                lambda: client.hget("rq:worker:brief", "successful_job_count") == b"3",
                "the late worker to run its jobs",
            )
            exporter.track()
            exporter.track()  # counters are matched with the records a poll later
        finally:
            stop_worker(brief)
        scrape = exporter.scrape(track=False)  # the first: nothing read the workers before
    finally:
        stop_worker(running)
    assert job_totals(scrape) == (
        Counter({("kept", ADD): 3}),
        Counter({("kept", DIVIDE, "ZeroDivisionError"): 2}),
    )
    reported = {
        outcome: scrape.value("qwatch_worker_jobs_total", redis="main", outcome=outcome)
        for outcome in ("finished", "failed")
    }
    untracked = {
        outcome: scrape.value("qwatch_jobs_untracked_total", redis="main", outcome=outcome)
        for outcome in ("finished", "failed")
    }
    assert reported == {"finished": 10, "failed": 2}
    assert untracked == {"finished": 7, "failed": 0}
    assert scrape.value("qwatch_worker_working_seconds_total", redis="main") > 0
