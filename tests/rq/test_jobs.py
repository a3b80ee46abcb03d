"""One job and the failed list, read from jobs a real worker really ran."""

from __future__ import annotations

import pytest
import redis
from rq import Queue
from rq.job import Job

from harness import tasks
from harness.workers import run_burst
from qwatch.errors import exception_line
from qwatch.rq.jobs import exception_name, read_failed, read_job


def test_a_failed_job_shows_its_real_traceback(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(tasks.divide, 1, 0)
    run_burst(url, ["default"])
    detail = read_job(client, job.id)
    assert detail is not None
    rq_job = Job.fetch(job.id, connection=client)
    latest = rq_job.latest_result()
    assert latest is not None and latest.exc_string is not None
    assert detail.traceback == latest.exc_string
    assert 'harness/tasks.py", line' in (detail.traceback or "")
    assert detail.exception == "ZeroDivisionError: division by zero"
    assert (detail.status, detail.function, detail.arguments) == (
        "failed",
        "harness.tasks.divide",
        "1, 0",
    )
    assert detail.origin == "default"
    assert detail.worker == rq_job.worker_name
    assert rq_job.enqueued_at and rq_job.started_at and rq_job.ended_at
    assert detail.wait_seconds == pytest.approx(
        (rq_job.started_at - rq_job.enqueued_at).total_seconds(), abs=1e-3
    )
    assert detail.run_seconds == pytest.approx(
        (rq_job.ended_at - rq_job.started_at).total_seconds(), abs=1e-3
    )


def test_a_finished_job_shows_its_result(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(tasks.add, 2, 3)
    run_burst(url, ["default"])
    detail = read_job(client, job.id)
    assert detail is not None
    assert (detail.status, detail.result, detail.traceback) == ("finished", "5", None)
    assert read_job(client, "no-such-job") is None


def test_failed_list_is_newest_first_across_queues(client: redis.Redis, url: str) -> None:
    emails = Queue("emails", connection=client)
    crawls = Queue("crawls", connection=client)
    ids = [
        emails.enqueue(tasks.divide, 1, 0).id,
        crawls.enqueue(tasks.divide, 2, 0).id,
        emails.enqueue(tasks.divide, 3, 0).id,
        crawls.enqueue(tasks.add, 1, 1).id,
    ]
    for queue in ("emails", "crawls", "emails"):
        run_burst(url, [queue])
    rows = read_failed(client)
    ended = [Job.fetch(row.id, connection=client).ended_at or 0 for row in rows]
    assert ended == sorted(ended, reverse=True)
    assert {row.id for row in rows} == set(ids[:3])
    assert all(row.exception == "ZeroDivisionError: division by zero" for row in rows)
    assert all(row.function == "harness.tasks.divide" and row.worker for row in rows)
    only_crawls = read_failed(client, queue="crawls")
    assert [(row.id, row.queue) for row in only_crawls] == [(ids[1], "crawls")]
    assert len(read_failed(client, limit=2)) == 2


def test_huge_tracebacks_are_cut_with_a_note(client: redis.Redis, url: str) -> None:
    message = "\n".join(f"detail {i}" for i in range(10_000))
    job = Queue("default", connection=client).enqueue(tasks.fail, message)
    run_burst(url, ["default"])
    detail = read_job(client, job.id)
    assert detail is not None and detail.traceback is not None
    assert len(detail.traceback) < 25_000 < len(message)
    assert "characters cut" in detail.traceback
    assert detail.traceback.startswith("Traceback (most recent call last):")
    assert detail.exception == "ValueError: detail 0"
    assert "characters cut]" in detail.arguments and len(detail.arguments) < 2100


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("ZeroDivisionError: division by zero", "ZeroDivisionError"),
        ("requests.exceptions.Timeout: read timed out (30s)", "requests.exceptions.Timeout"),
        ("KeyboardInterrupt", "KeyboardInterrupt"),
        (
            "Moved to FailedJobRegistry, due to AbandonedJobError, at 2024-01-01",
            "AbandonedJobError",
        ),
        ("something odd happened", None),
        (None, None),
    ],
)
def test_exception_names_never_include_the_message(line: str | None, name: str | None) -> None:
    assert exception_name(line) == name


def test_exception_line_skips_trailing_blank_lines() -> None:
    assert exception_line("Traceback:\n  x\nValueError: bad\n\n") == "ValueError: bad"
    assert exception_line("") is None
