"""RQ and Celery in one scrape: the system label keeps them apart; Celery's own series say
only what the snapshot knows."""

from __future__ import annotations

from dataclasses import replace

from qwatch.exporter import celery_metrics, metrics
from qwatch.exporter.celery_metrics import HEAD_TASK_LIMIT
from qwatch.exporter.exposition import TextFormat
from qwatch.exporter.totals import DEFAULT_BUCKETS, JobTotals
from qwatch.model import (
    RQ,
    AbandonedJob,
    CeleryQueue,
    CeleryWatch,
    Completion,
    QueueStats,
    RedisInfo,
    Snapshot,
    WorkerStats,
)
from tests.exporter.conftest import Scrape, parse

RQ_EMAILS = QueueStats("emails", 5, 1, 7, 2, 0, 0, 0, 0, 30.0, 1, "job-1", system=RQ)
CELERY_EMAILS = QueueStats(
    "emails", 9, 2, None, None, None, 1, None, None, None, None, None,
    CeleryQueue(((0, 4), (3, 0), (6, 3), (9, 2)), 3, 1, 4000.0, (("tasks.send", 9),), 9),
    system="celery",
)  # fmt: skip


def worker(name: str, system: str = "rq", **fields: object) -> WorkerStats:
    stats = WorkerStats(
        name,
        "host",
        1,
        "idle",
        ("emails",),
        None,
        None,
        None,
        0.0,
        1.0,
        False,
        0,
        0,
        0.0,
        system=RQ,
    )
    return replace(stats, system=system, **fields)  # type: ignore[arg-type]


def snapshot(*queues: QueueStats, **fields: object) -> Snapshot:
    base = Snapshot(100.0, queues, (), (), (), False, RedisInfo("7.2", 1000, 0))
    return replace(base, **fields)  # type: ignore[arg-type]


def scrape(taken: Snapshot, totals: JobTotals | None = None) -> Scrape:
    """The snapshot as `qwatch serve` writes it, read back by prometheus_client's parser."""
    totals = totals or JobTotals(DEFAULT_BUCKETS, 50)
    totals.add(taken, [])
    reading = (
        metrics.from_snapshot("main", taken)
        + metrics.from_totals("main", totals)
        + metrics.from_stream("main", taken, totals, {})
        + celery_metrics.reading("main", taken, totals)
    )
    return parse(TextFormat().render(reading).decode())


def test_an_rq_and_a_celery_queue_of_one_name_are_two_series() -> None:
    watch = CeleryWatch(60.0, 10, 0)
    got = scrape(snapshot(RQ_EMAILS, CELERY_EMAILS, celery=watch))
    jobs = got.matching("qwatch_queue_jobs", queue="emails", state="queued")
    assert jobs == {
        (("queue", "emails"), ("redis", "main"), ("state", "queued"), ("system", "rq")): 5,
        (("queue", "emails"), ("redis", "main"), ("state", "queued"), ("system", "celery")): 9,
    }
    celery_states = {
        dict(labels)["state"]: value
        for labels, value in got.matching("qwatch_queue_jobs", system="celery").items()
    }
    assert celery_states == {"queued": 9, "started": 2, "scheduled": 1}
    assert got.value("qwatch_queue_workers", queue="emails") == 1, "none for the Celery queue"
    assert got.value("qwatch_queue_oldest_job_age_seconds", system="rq") == 30
    assert got.matching("qwatch_queue_oldest_job_age_seconds", system="celery") == {}
    assert got.matching("qwatch_queue_counting_mode", system="celery") == {}


def test_abandoned_jobs_are_rq_only_and_expired_workers_counted_per_system() -> None:
    """The watch lists Celery's lost workers after RQ's expired ones: counted as RQ's,
    they would fire RQ's heartbeat alert and leave Celery's silent."""
    lost = AbandonedJob("job-9", "emails", "w-1", 12.0)
    got = scrape(
        snapshot(
            RQ_EMAILS, CELERY_EMAILS, abandoned_jobs=(lost,),
            expired_workers=("w-2", "celery@a", "celery@b"),
            celery=CeleryWatch(5.0, 0, 0, expired_workers=2),
        )
    )  # fmt: skip
    assert got.series("qwatch_jobs_abandoned") == {
        (("queue", "emails"), ("redis", "main"), ("system", "rq")): 1
    }
    assert got.series("qwatch_workers_expired") == {
        (("redis", "main"), ("system", "rq")): 1,
        (("redis", "main"), ("system", "celery")): 2,
    }


def test_celery_queue_series() -> None:
    got = scrape(snapshot(CELERY_EMAILS))
    steps = {
        dict(labels)["priority"]: value
        for labels, value in got.series("qwatch_celery_queue_priority_jobs").items()
    }
    assert steps == {"0": 4, "3": 0, "6": 3, "9": 2}
    assert got.value("qwatch_celery_queue_reserved", queue="emails", redis="main") == 3
    assert got.value("qwatch_celery_queue_overdue", queue="emails", redis="main") == 1
    assert got.value("qwatch_celery_queue_oldest_reserved_age_seconds", queue="emails") == 4000
    assert got.value("qwatch_celery_queue_head_read", queue="emails") == 9
    assert got.value("qwatch_celery_queue_head_tasks", queue="emails", task="tasks.send") == 9


def test_what_celery_did_not_say_has_no_series() -> None:
    unknown = CeleryQueue(((0, 0),), None, None, None, (), 0)
    got = scrape(snapshot(replace(CELERY_EMAILS, queued=0, celery=unknown)))
    for name in (
        "qwatch_celery_queue_reserved",
        "qwatch_celery_queue_overdue",
        "qwatch_celery_queue_oldest_reserved_age_seconds",
        "qwatch_celery_queue_head_read",
        "qwatch_celery_queue_head_tasks",
        "qwatch_celery_events_listening_seconds",
        "qwatch_celery_workers_task_events",
    ):
        assert got.series(name) == {}, name
    nothing_reserved = CeleryQueue((), 0, 0, None, (), 0)
    got = scrape(snapshot(replace(CELERY_EMAILS, celery=nothing_reserved)))
    assert got.value("qwatch_celery_queue_oldest_reserved_age_seconds", queue="emails") == 0


def test_head_tasks_are_bounded_and_add_up() -> None:
    names = tuple((f"tasks.t{n:02d}", n + 1) for n in range(HEAD_TASK_LIMIT + 5))
    head = CeleryQueue((), 0, 0, None, names, sum(count for _task, count in names))
    got = scrape(snapshot(replace(CELERY_EMAILS, celery=head)))
    series = got.series("qwatch_celery_queue_head_tasks")
    tasks = {dict(labels)["task"]: value for labels, value in series.items()}
    assert len(tasks) == HEAD_TASK_LIMIT + 1
    assert tasks["other"] == sum(range(1, 6)), "the five rarest"
    assert "tasks.t14" in tasks and "tasks.t00" not in tasks
    assert sum(tasks.values()) == got.value("qwatch_celery_queue_head_read", queue="emails")


def test_workers_by_system_and_those_without_task_events() -> None:
    workers = (
        worker("rq-1"),
        worker("rq-2", state="busy", heartbeat_overdue=True),
        worker("celery@a", "celery", state="online", task_events=True),
        worker("celery@b", "celery", state="online", task_events=False),
        worker("celery@c", "celery", state="online", task_events=False, heartbeat_overdue=True),
        worker("celery@d", "celery", state="online"),
    )
    got = scrape(snapshot(workers=workers, celery=CeleryWatch(60.0, 10, 3)))
    assert got.value("qwatch_workers", state="online", system="celery") == 4
    assert got.value("qwatch_workers", state="idle", system="rq") == 1
    assert got.value("qwatch_workers_heartbeat_stale", system="rq") == 1
    assert got.value("qwatch_workers_heartbeat_stale", system="celery") == 1
    events = {
        dict(labels)["state"]: value
        for labels, value in got.series("qwatch_celery_workers_task_events").items()
    }
    assert events == {"on": 1, "off": 2, "unknown": 1}
    assert got.value("qwatch_celery_events_listening_seconds", redis="main") == 60
    assert got.value("qwatch_celery_events_seen_total", redis="main") == 10
    assert got.value("qwatch_celery_results_seen_total", redis="main") == 3


def test_an_rq_only_redis_has_no_celery_series_and_the_same_rq_ones() -> None:
    got = scrape(snapshot(RQ_EMAILS, workers=(worker("rq-1"),)))
    assert not [name for name in got.samples if "celery" in name]
    assert not [
        labels
        for samples in got.samples.values()
        for labels in samples
        if ("system", "celery") in labels
    ]
    workers = {dict(labels)["state"] for labels in got.series("qwatch_workers")}
    assert workers == set(metrics.WORKER_STATES)
    assert got.value("qwatch_queue_jobs", queue="emails", state="finished") == 7


def test_celery_counters_count_apart_from_rq() -> None:
    totals = JobTotals(DEFAULT_BUCKETS, 50)
    celery_worker = worker("celery@a", "celery", processed=5, successful_jobs=None)
    first = snapshot(
        RQ_EMAILS, CELERY_EMAILS, workers=(celery_worker,), celery=CeleryWatch(10.0, 0, 0)
    )
    rq_done = Completion("j", "emails", "finished", "app.send", None, 1.0, 2.0, 3.0, system=RQ)
    celery_done = Completion(
        "t", "emails", "finished", "tasks.send", None, 1.0, 2.0, 9.0, system="celery"
    )
    totals.add(first, [rq_done, celery_done])
    later = replace(first, taken_at=110.0, workers=(replace(first.workers[0], processed=8),))
    got = scrape(later, totals)
    assert got.value("qwatch_jobs_finished_total", queue="emails", system="rq") == 1
    assert got.value("qwatch_jobs_finished_total", queue="emails", system="celery") == 1
    assert got.value("qwatch_job_duration_seconds_sum", queue="emails", system="celery") == 7
    assert got.value("qwatch_celery_worker_tasks_processed_total", redis="main") == 3
    assert got.matching("qwatch_jobs_untracked_total", system="celery") == {}


def test_worker_jobs_are_rqs_workers_counters_alone() -> None:
    """`qwatch_worker_jobs_total` is what workers count of their own outcomes: RQ's do;
    Celery's count only tasks processed (`..._tasks_processed_total`), and the outcomes its
    task events tell are the job counters' (`qwatch_jobs_*_total{system="celery"}`)."""
    totals = JobTotals(DEFAULT_BUCKETS, 50)
    sending = worker("celery@a", "celery", processed=2, successful_jobs=0, failed_jobs=0)
    first = snapshot(CELERY_EMAILS, workers=(sending,), celery=CeleryWatch(10.0, 0, 0))
    totals.add(first, [])
    later = replace(
        first,
        taken_at=110.0,
        workers=(replace(sending, processed=4, successful_jobs=1, failed_jobs=1),),
    )
    got = scrape(later, totals)
    assert got.matching("qwatch_worker_jobs_total", system="celery") == {}
    assert got.matching("qwatch_worker_working_seconds_total", system="celery") == {}
    assert set(got.matching("qwatch_worker_jobs_total", system="rq")) == {
        (("outcome", outcome), ("redis", "main"), ("system", "rq"))
        for outcome in ("finished", "failed")
    }
    assert got.value("qwatch_celery_worker_tasks_processed_total", redis="main") == 2
