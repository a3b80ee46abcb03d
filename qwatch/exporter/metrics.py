"""qwatch's metrics: each family's fixed parts, and its rows from a snapshot or the totals.

A reading is a list of `(Series, rows)`; a row is the label values (in the
series' label order, which is sorted, as the text format writes them) and a
value. Histogram rows hold a `Histogram`. `exposition` turns readings into
the text format or into prometheus_client families. No Redis here, and
nothing kept between readings but each queue's label values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from qwatch import __version__
from qwatch.completions import OUTCOMES
from qwatch.exporter.totals import Histogram, JobTotals
from qwatch.job_states import JOB_STATES
from qwatch.memory import Remembered
from qwatch.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Series:
    """One metric family's name, type, help and label names (sorted)."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...]


Row = tuple[tuple[str, ...], float | Histogram]
Reading = list[tuple[Series, list[Row]]]

QUEUE_STATES = JOB_STATES
WORKER_STATES = ("busy", "idle", "started", "suspended")

UP = Series("qwatch_up", "gauge", "1 if the last read of this Redis worked", ("redis",))
SCRAPE_DURATION = Series(
    "qwatch_scrape_duration_seconds",
    "gauge",
    "Time the collection from this Redis took",
    ("redis",),
)
QUEUE_JOBS = Series(
    "qwatch_queue_jobs", "gauge", "Jobs per queue and state", ("queue", "redis", "state")
)
OLDEST_AGE = Series(
    "qwatch_queue_oldest_job_age_seconds",
    "gauge",
    "Age of the oldest queued job, 0 when the queue is empty",
    ("queue", "redis"),
)
QUEUE_WORKERS = Series(
    "qwatch_queue_workers", "gauge", "Live workers listening to the queue", ("queue", "redis")
)
WORKERS = Series("qwatch_workers", "gauge", "Workers per state", ("redis", "state"))
HEARTBEAT_STALE = Series(
    "qwatch_workers_heartbeat_stale", "gauge", "Workers whose heartbeat is overdue", ("redis",)
)
WORKERS_EXPIRED = Series(
    "qwatch_workers_expired",
    "gauge",
    "Workers still registered whose hash has expired: they died without unregistering",
    ("redis",),
)
ABANDONED = Series(
    "qwatch_jobs_abandoned", "gauge", "Started jobs whose worker is gone", ("queue", "redis")
)
MEMORY_USED = Series(
    "qwatch_redis_memory_used_bytes", "gauge", "Memory Redis uses (INFO used_memory)", ("redis",)
)
MEMORY_MAX = Series(
    "qwatch_redis_memory_max_bytes", "gauge", "Redis maxmemory, 0 when unlimited", ("redis",)
)
FINISHED = Series(
    "qwatch_jobs_finished",
    "counter",
    "Jobs that finished, each counted once",
    ("function", "queue", "redis"),
)
FAILED = Series(
    "qwatch_jobs_failed",
    "counter",
    "Jobs that failed for good, each counted once",
    ("exception", "function", "queue", "redis"),
)
WORKER_JOBS = Series(
    "qwatch_worker_jobs",
    "counter",
    "Jobs the workers report done, including those RQ keeps no record of (result_ttl=0)",
    ("outcome", "redis"),
)
UNTRACKED = Series(
    "qwatch_jobs_untracked",
    "counter",
    "Jobs the workers report done that no registry showed (result_ttl=0, failed attempts retried),"
    " so not in qwatch_jobs_finished_total or qwatch_jobs_failed_total",
    ("outcome", "redis"),
)
WORKER_WORKING = Series(
    "qwatch_worker_working_seconds",
    "counter",
    "Time the workers report spent running jobs, summed over live workers' increases",
    ("redis",),
)
RETRIED = Series(
    "qwatch_jobs_retried",
    "counter",
    "Failed runs that RQ retried (exact mode only); the job is counted again when it ends",
    ("exception", "function", "queue", "redis"),
)
COUNTING_MODE = Series(
    "qwatch_queue_counting_mode",
    "gauge",
    "1, labelled with the mode the queue's jobs are counted in: registries or exact",
    ("mode", "queue", "redis"),
)
STREAM_LOST = Series(
    "qwatch_stream_entries_lost",
    "counter",
    "Completions stream entries trimmed before qwatch read them: jobs not counted",
    ("redis",),
)
STREAM_SKIPPED = Series(
    "qwatch_stream_entries_skipped",
    "counter",
    "Completions stream entries that were malformed or named an unknown queue",
    ("redis",),
)
RUN_TIME = Series(
    "qwatch_job_duration_seconds",
    "histogram",
    "Run time (ended - started) of finished and failed jobs",
    ("queue", "redis"),
)
WAIT_TIME = Series(
    "qwatch_job_wait_seconds", "histogram", "Time from enqueued to started", ("queue", "redis")
)
RECORDS_SKIPPED = Series(
    "qwatch_records_skipped",
    "counter",
    "Queues, workers and jobs left out of readings for absurd or unreadable values",
    ("redis",),
)
BUILD_INFO = Series("qwatch_build_info", "gauge", "qwatch's version", ("version",))

ALL = (
    UP, SCRAPE_DURATION, QUEUE_JOBS, OLDEST_AGE, QUEUE_WORKERS, WORKERS, HEARTBEAT_STALE,
    WORKERS_EXPIRED, ABANDONED, MEMORY_USED, MEMORY_MAX, FINISHED, FAILED, WORKER_JOBS,
    UNTRACKED, WORKER_WORKING, RUN_TIME, WAIT_TIME, RECORDS_SKIPPED, BUILD_INFO, RETRIED,
    COUNTING_MODE,
    STREAM_LOST, STREAM_SKIPPED,
)  # fmt: skip


def health(redis: str, seconds: float, up: bool) -> Reading:
    """Whether this Redis was read, and how long the reading took."""
    return [(UP, [((redis,), 1.0 if up else 0.0)]), (SCRAPE_DURATION, [((redis,), seconds)])]


def build_info() -> Reading:
    return [(BUILD_INFO, [((__version__,), 1.0)])]


@dataclass(frozen=True, slots=True)
class QueueLabels:
    """One queue's label values in each per-queue series."""

    by_state: tuple[tuple[str, str, str], ...]
    """In `QUEUE_STATES` order."""
    queue: tuple[str, str]

    @classmethod
    def of(cls, redis: str, queue: str) -> QueueLabels:
        return cls(tuple((queue, redis, state) for state in QUEUE_STATES), (queue, redis))


_QUEUE_LABELS: dict[str, Remembered[str, QueueLabels]] = {}
"""Per Redis, its queues' labels, kept from one reading to the next (the last one's queues
only): a thousand queues' label tuples are not built again at every scrape."""


def queue_labels(redis: str, snapshot: Snapshot) -> list[QueueLabels]:
    """The labels of each queue of the snapshot, in its order."""
    remembered = _QUEUE_LABELS.get(redis)
    if remembered is None:
        remembered = _QUEUE_LABELS[redis] = Remembered(partial(QueueLabels.of, redis))
    return remembered.use([queue.name for queue in snapshot.queues])


def from_snapshot(redis: str, snapshot: Snapshot) -> Reading:
    """Gauges of the present state."""
    jobs: list[Row] = []
    oldest: list[Row] = []
    listening: list[Row] = []
    abandoned: list[Row] = []
    by_queue = Counter(job.queue for job in snapshot.abandoned_jobs)
    for queue, labels in zip(snapshot.queues, queue_labels(redis, snapshot)):
        counts = (
            queue.queued, queue.started, queue.finished, queue.failed,
            queue.deferred, queue.scheduled, queue.canceled,
        )  # fmt: skip
        jobs += [
            (state, float(count))
            for state, count in zip(labels.by_state, counts)
            if count is not None
        ]
        oldest.append((labels.queue, queue.oldest_queued_age_seconds or 0.0))
        if queue.workers is not None:
            listening.append((labels.queue, float(queue.workers)))
        abandoned.append((labels.queue, float(by_queue[queue.name])))
    states = Counter(worker.state for worker in snapshot.workers)
    info = snapshot.redis
    reading: Reading = [
        (QUEUE_JOBS, jobs),
        (OLDEST_AGE, oldest),
        (QUEUE_WORKERS, listening),
        (
            WORKERS,
            [((redis, s), float(states[s])) for s in sorted(set(WORKER_STATES) | set(states))],
        ),
        (HEARTBEAT_STALE, [((redis,), float(sum(w.heartbeat_overdue for w in snapshot.workers)))]),
        (WORKERS_EXPIRED, [((redis,), float(len(snapshot.expired_workers)))]),
        (ABANDONED, abandoned),
        (MEMORY_USED, _optional(redis, info.used_memory_bytes)),
        (MEMORY_MAX, _optional(redis, info.max_memory_bytes)),
    ]
    return reading


def from_totals(redis: str, totals: JobTotals) -> Reading:
    """Counters and histograms accumulated since qwatch started."""
    finished: list[Row] = [
        ((function, queue, redis), float(count))
        for (queue, function), count in sorted(totals.finished.items())
    ]
    failed: list[Row] = [
        ((exception, function, queue, redis), float(count))
        for (queue, function, exception), count in sorted(totals.failed.items())
    ]
    outcomes: list[Row] = [
        ((outcome, redis), float(totals.worker_jobs[outcome])) for outcome in OUTCOMES
    ]
    return [
        (FINISHED, finished),
        (FAILED, failed),
        (WORKER_JOBS, outcomes),
        (UNTRACKED, [((o, redis), float(totals.untracked[o])) for o in OUTCOMES]),
        (WORKER_WORKING, [((redis,), totals.worker_working_seconds)]),
        (RUN_TIME, _histograms(redis, totals.run_time)),
        (WAIT_TIME, _histograms(redis, totals.wait_time)),
        (RECORDS_SKIPPED, [((redis,), float(totals.records_skipped))]),
    ]


def from_stream(
    redis: str, snapshot: Snapshot, totals: JobTotals, exact: frozenset[str]
) -> Reading:
    """Exact mode's series: each queue's counting mode, retries, stream entries lost or skipped."""
    modes: list[Row] = [
        (("exact" if queue.name in exact else "registries", queue.name, redis), 1.0)
        for queue in snapshot.queues
    ]
    retried: list[Row] = [
        ((exception, function, queue, redis), float(count))
        for (queue, function, exception), count in sorted(totals.retried.items())
    ]
    return [
        (COUNTING_MODE, modes),
        (RETRIED, retried),
        (STREAM_LOST, [((redis,), float(totals.stream_lost))]),
        (STREAM_SKIPPED, [((redis,), float(totals.stream_skipped))]),
    ]


def _histograms(redis: str, by_queue: dict[str, Histogram]) -> list[Row]:
    return [((queue, redis), histogram) for queue, histogram in sorted(by_queue.items())]


def _optional(redis: str, value: int | None) -> list[Row]:
    return [] if value is None else [((redis,), float(value))]


def merge(readings: Sequence[Reading]) -> Reading:
    """One entry per series, with the rows of every reading, in first-seen order."""
    merged: dict[Series, list[Row]] = {}
    for reading in readings:
        for series, rows in reading:
            merged.setdefault(series, []).extend(rows)
    return list(merged.items())
