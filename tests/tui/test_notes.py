"""The notes line: what a person must know about Celery's workers and failures to read the
screen right."""

from __future__ import annotations

from dataclasses import replace

from qwatch.model import CronJob, CronScheduler, RateLimitStats
from qwatch.tui.notes import celery_notes, rq_notes
from tests.tui.frozen import MIXED, UPDATE, celery_worker

LISTENING = MIXED.snapshot.celery


def test_nothing_is_said_when_celery_is_not_watched() -> None:
    assert celery_notes(UPDATE.snapshot) == ()


def test_a_worker_without_task_events_is_named_with_what_that_costs() -> None:
    assert celery_notes(MIXED.snapshot) == (
        "celery@video-2 sends no task events: Celery failures come from stored results only"
        " (celery worker -E turns them on)",
    )


def test_many_silent_workers_are_counted_not_all_named() -> None:
    silent = tuple(celery_worker(f"celery@w{i}", "idle", 5, False) for i in range(5))
    (note,) = celery_notes(replace(MIXED.snapshot, workers=silent))
    assert note.startswith("celery@w0, celery@w1 and 3 more workers send no task events:")


def test_the_first_seconds_of_listening_say_workers_are_still_arriving() -> None:
    assert LISTENING is not None
    short = replace(MIXED.snapshot, celery=replace(LISTENING, listening_seconds=1.0), workers=())
    assert celery_notes(short) == (
        "just began listening to Celery's events: its workers appear as their heartbeats"
        " arrive (every 2s)",
    )


def test_rate_limits_holding_jobs_back_and_the_next_cron_job_have_a_line_each() -> None:
    now = UPDATE.snapshot.taken_at
    limits = (
        RateLimitStats("partner-api", 1, 1, 5, 42.0),
        RateLimitStats("idle-key", 2, 0, 0, None),
    )
    report = CronJob("report", "app.report", "default", "0 * * * *", now + 125, None)
    cleanup = CronJob("cleanup", "app.clean", "default", "every 600 s", now + 30, None)
    schedulers = (
        CronScheduler("cron-a", "h1", 10, 5.0, (report,)),
        CronScheduler("cron-b", "h2", 11, 600.0, (cleanup,)),
    )
    snapshot = replace(UPDATE.snapshot, rate_limits=limits, cron_schedulers=schedulers)
    assert rq_notes(snapshot) == (
        "rate limits hold jobs back: partner-api 5 waiting (oldest 42s)",
        "cron: 2 schedulers, next cleanup in 30s; silent for minutes: cron-b",
    )
    assert rq_notes(UPDATE.snapshot) == ()
