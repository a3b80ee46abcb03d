"""arq read by qwatch while a real arq worker runs real jobs on the suite's Redis."""

from __future__ import annotations

import redis

from harness.arq_app import enqueue
from harness.polling import wait_until
from qwatch import job_states
from qwatch.arq.layout import ArqLayout
from qwatch.arq.results import RESULT_BYTES
from qwatch.model import ARQ, QueueStats
from qwatch.watch import Watch
from tests.arq.conftest import StartWorker


def arq_queue(watch: Watch, name: str) -> QueueStats | None:
    return next((q for q in watch.read().queues if q.system == ARQ and q.name == name), None)


def status(watch: Watch, job_id: str) -> str | None:
    job = watch.job(job_id)
    return job.status if job is not None else None


def test_queued_deferred_running_finished_and_failed_jobs_and_the_health_check(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    for n in range(3):
        enqueue(url, "add", n, 1, queue="arq:reports")
    later = enqueue(url, "send_email", "customer-4711@example.com", "receipt", defer=3600)
    long = enqueue(url, "sleep", 60)
    sent = enqueue(url, "send_email", "someone@example.com", "receipt")
    broken = enqueue(url, "fail", "mailbox of customer 4711 is full")
    watch = Watch(client, "auto", arq=ArqLayout(("arq:reports",), health_check_interval=1))
    reports = arq_queue(watch, "arq:reports")
    assert reports is not None and (reports.queued, reports.started) == (3, 0)
    assert reports.head_job == "add" and reports.workers == 0  # nobody listens
    assert reports.oldest_queued_age_seconds is not None

    start_worker()
    wait_until(lambda: status(watch, broken) == job_states.FAILED, "the failure")
    wait_until(lambda: status(watch, long) == job_states.STARTED, "the sleep")
    watch._discover_at = 0.0  # a discovery now, as a minute later
    default = arq_queue(watch, "arq:queue")
    assert default is not None
    assert (default.queued, default.started, default.scheduled) == (0, 1, 1)
    assert (default.finished, default.failed) == (1, 1)
    assert default.workers is None  # a health check: someone listens, how many is unknown

    snapshot = watch.read()
    (worker,) = [w for w in snapshot.workers if w.system == ARQ]
    assert worker.name == "arq:queue:health-check" and worker.queues == ("arq:queue",)
    assert worker.heartbeat_age_seconds is not None and worker.heartbeat_age_seconds < 30

    (failure,) = [f for f in watch.failed(10) if f.system == ARQ]
    assert failure.id == broken and failure.function == "fail" and failure.queue == "arq:queue"
    assert failure.exception == "ValueError: mailbox of customer 4711 is full"

    done = watch.job(sent)
    assert done is not None and done.status == job_states.FINISHED
    assert done.result == "\"sent 'receipt' to someone@example.com\""  # as Python writes it
    assert done.arguments == "'someone@example.com', 'receipt'"
    deferred = watch.job(later)
    assert deferred is not None and deferred.status == job_states.SCHEDULED
    assert deferred.scheduled_for is not None and deferred.function == "send_email"
    assert watch.job("no-such-job") is None


def test_a_health_check_interval_other_than_the_one_given_is_noted(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    start_worker()  # writes its health check every second
    wait_until(lambda: client.exists("arq:queue:health-check"), "the health check")
    told = Watch(client, ARQ, arq=ArqLayout(health_check_interval=1))
    assert not [note for note in told.read().notes if "--arq-health-check-interval" in note]
    (note,) = [n for n in Watch(client, ARQ).read().notes if "--arq-health-check-interval" in n]
    assert note.startswith("arq: arq:queue:health-check says it was written ")


def test_results_too_large_to_read_are_said_not_counted_as_nothing(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    small = enqueue(url, "add", 1, 1)
    large = enqueue(url, "add", "x" * RESULT_BYTES, "y")  # its result is over the limit
    start_worker()
    watch = Watch(client, ARQ)
    wait_until(lambda: client.exists(f"arq:result:{small}", f"arq:result:{large}") == 2, "both")
    watch._discover_at = 0.0  # a discovery now, as a minute later
    snapshot = watch.read()
    queue = next(q for q in snapshot.queues if q.name == "arq:queue")
    assert queue.finished == 1
    (note,) = [note for note in snapshot.notes if "not read" in note]
    assert note.startswith("arq: 1 result kept not read (over 10,000 new a discovery")
    assert note.endswith("finished and failed count the others")
