"""Series only Celery has: kombu's priority lists and unacked messages, and what its events say.

They need no `system` label: their names say Celery. A value the snapshot
does not have (None) gives no row, never a 0 that would read as a fact; the
worker and event series are there only while qwatch listens to Celery.
"""

from __future__ import annotations

from collections import Counter

from qwatch.exporter.metrics import Reading, Row, Series
from qwatch.exporter.totals import OTHER, JobTotals
from qwatch.model import CELERY, QueueStats, Snapshot

HEAD_TASK_LIMIT = 10
"""Task names given their own label per queue; the rest of the head is summed as `other`,
so a queue whose head holds a thousand task names still makes eleven series."""
TASK_EVENTS = {True: "on", False: "off", None: "unknown"}
"""A worker's `task_events` as the `state` label says it."""

PRIORITY_JOBS = Series(
    "qwatch_celery_queue_priority_jobs",
    "gauge",
    "Messages waiting in each priority step's list of a Celery queue (kombu's steps, 0 first)",
    ("priority", "queue", "redis"),
)
RESERVED = Series(
    "qwatch_celery_queue_reserved",
    "gauge",
    "Messages of a Celery queue that a worker took and has not acked: prefetched, ETA-held,"
    " and running with acks_late",
    ("queue", "redis"),
)
OVERDUE = Series(
    "qwatch_celery_queue_overdue",
    "gauge",
    "Reserved messages older than the visibility timeout: kombu will deliver them again",
    ("queue", "redis"),
)
OLDEST_RESERVED = Series(
    "qwatch_celery_queue_oldest_reserved_age_seconds",
    "gauge",
    "Age of the oldest reserved message, 0 when none is reserved",
    ("queue", "redis"),
)
HEAD_READ = Series(
    "qwatch_celery_queue_head_read",
    "gauge",
    "Messages read from the head of a Celery queue (the next ones to be consumed) to name"
    " their tasks",
    ("queue", "redis"),
)
HEAD_TASKS = Series(
    "qwatch_celery_queue_head_tasks",
    "gauge",
    f"Messages per task name among those read from the head of a Celery queue; past"
    f" {HEAD_TASK_LIMIT} names per queue the rest count as task=other",
    ("queue", "redis", "task"),
)
LISTENING = Series(
    "qwatch_celery_events_listening_seconds",
    "gauge",
    "How long qwatch has listened to Celery's events: workers and task counters are known"
    " only from then on",
    ("redis",),
)
EVENTS_SEEN = Series(
    "qwatch_celery_events_seen",
    "counter",
    "Celery events qwatch received while listening",
    ("redis",),
)
RESULTS_SEEN = Series(
    "qwatch_celery_results_seen",
    "counter",
    "Task results the Redis result backend published while qwatch listened",
    ("redis",),
)
TASK_EVENTS_WORKERS = Series(
    "qwatch_celery_workers_task_events",
    "gauge",
    "Celery workers by whether they send task events (on, off, or unknown until one ran a"
    " task while qwatch listened); workers with off are missing from the job counters",
    ("redis", "state"),
)
PROCESSED = Series(
    "qwatch_celery_worker_tasks_processed",
    "counter",
    "Tasks Celery's workers report processed, whatever the outcome, summed over live workers'"
    " increases: counts also the tasks of workers that send no task events",
    ("redis",),
)

ALL = (
    PRIORITY_JOBS, RESERVED, OVERDUE, OLDEST_RESERVED, HEAD_READ, HEAD_TASKS, LISTENING,
    EVENTS_SEEN, RESULTS_SEEN, TASK_EVENTS_WORKERS, PROCESSED,
)  # fmt: skip


def reading(redis: str, snapshot: Snapshot, totals: JobTotals) -> Reading:
    """Every Celery series of the snapshot; none at all when it holds no Celery."""
    rows: dict[Series, list[Row]] = {series: [] for series in ALL}
    for queue in snapshot.queues:
        if queue.celery is not None:
            _queue_rows(rows, redis, queue)
    watch = snapshot.celery
    if watch is not None:
        rows[LISTENING].append(((redis,), watch.listening_seconds))
        rows[EVENTS_SEEN].append(((redis,), float(watch.events_seen)))
        rows[RESULTS_SEEN].append(((redis,), float(watch.results_seen)))
        sending = Counter(
            TASK_EVENTS[worker.task_events]
            for worker in snapshot.workers
            if worker.system == CELERY
        )
        rows[TASK_EVENTS_WORKERS] = [
            ((redis, state), float(sending[state])) for state in sorted(TASK_EVENTS.values())
        ]
        rows[PROCESSED].append(((redis,), float(totals.celery_processed)))
    if not any(rows.values()):
        return []
    return list(rows.items())


def _queue_rows(rows: dict[Series, list[Row]], redis: str, queue: QueueStats) -> None:
    celery = queue.celery
    assert celery is not None
    labels = (queue.name, redis)
    rows[PRIORITY_JOBS] += [
        ((str(priority), queue.name, redis), float(count)) for priority, count in celery.by_priority
    ]
    for series, value in (
        (RESERVED, celery.reserved),
        (OVERDUE, celery.overdue),
        (OLDEST_RESERVED, _age(celery.oldest_reserved_age_seconds, celery.reserved)),
    ):
        if value is not None:
            rows[series].append((labels, float(value)))
    if celery.head_read:
        rows[HEAD_READ].append((labels, float(celery.head_read)))
        rows[HEAD_TASKS] += [
            ((queue.name, redis, task), float(count)) for task, count in head(celery.head_tasks)
        ]


def _age(age: float | None, reserved: int | None) -> float | None:
    """The oldest reserved message's age; 0 when none is reserved, None when unknown."""
    return 0.0 if age is None and reserved == 0 else age


def head(tasks: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    """The `HEAD_TASK_LIMIT` commonest task names, the rest summed as `other`, sorted by name."""
    ranked = sorted(tasks, key=lambda item: (-item[1], item[0]))
    kept = Counter(dict(ranked[:HEAD_TASK_LIMIT]))
    rest = sum(count for _task, count in ranked[HEAD_TASK_LIMIT:])
    if rest:
        kept[OTHER] += rest
    return sorted(kept.items())
