"""qwatch's metrics: each family's fixed parts, and its rows from a snapshot or the totals.

A reading is a list of `(Series, rows)`; a row is the label values (in the
series' label order, which is sorted, as the text format writes them) and a
value. Histogram rows hold a `Histogram`; the rows of a series spread over
one label hold a value for each of that label's values. `exposition` turns
readings into the text format or into prometheus_client families. No Redis
here, and nothing kept between readings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qwatch import __version__
from qwatch.exporter.totals import Histogram, JobTotals, QueueKey
from qwatch.job_states import JOB_STATES, OUTCOMES, RATE_LIMITED
from qwatch.model import ARQ, CELERY, DRAMATIQ, RQ, Snapshot


@dataclass(frozen=True, slots=True)
class Series:
    """One metric family's name, type, help and label names (sorted)."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...]
    spread: tuple[str, tuple[str, ...]] | None = None
    """A label and its values, when each row holds one value per value of that label (None
    where that line is absent) and its labels leave that one out: a queue's nine states
    are one row, written out as one block while none of them changes."""

    def spread_labels(self, row: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The labels of each line of a row of a spread series."""
        assert self.spread is not None
        label, values = self.spread
        at = self.labels.index(label)
        return [(*row[:at], value, *row[at:]) for value in values]


Row = tuple[tuple[str, ...], float | Histogram | tuple[float | None, ...]]
Reading = list[tuple[Series, list[Row]]]

QUEUE_STATES = (*JOB_STATES, RATE_LIMITED)
"""Every state a queue's jobs are counted in; `rate_limited` jobs wait outside the queue's
list, held back by an RQ 3.0 rate limit."""
WORKER_STATES = ("busy", "idle", "started", "suspended")

UP = Series("qwatch_up", "gauge", "1 if the last read of this Redis worked", ("redis",))
SCRAPE_DURATION = Series(
    "qwatch_scrape_duration_seconds",
    "gauge",
    "Time the collection from this Redis took",
    ("redis",),
)
QUEUE_JOBS = Series(
    "qwatch_queue_jobs",
    "gauge",
    "Jobs per queue and state; a Celery queue has only queued, started and scheduled",
    ("queue", "redis", "state", "system"),
    spread=("state", QUEUE_STATES),
)
OLDEST_AGE = Series(
    "qwatch_queue_oldest_job_age_seconds",
    "gauge",
    "Age of the oldest queued job, 0 when the queue is empty; absent when unknown",
    ("queue", "redis", "system"),
)
QUEUE_WORKERS = Series(
    "qwatch_queue_workers",
    "gauge",
    "Live workers listening to the queue; absent for Celery, whose Redis does not say",
    ("queue", "redis", "system"),
)
WORKERS = Series("qwatch_workers", "gauge", "Workers per state", ("redis", "state", "system"))
HEARTBEAT_STALE = Series(
    "qwatch_workers_heartbeat_stale",
    "gauge",
    "Workers whose heartbeat is overdue (Celery: none for twice its heartbeat interval)",
    ("redis", "system"),
)
WORKERS_EXPIRED = Series(
    "qwatch_workers_expired",
    "gauge",
    "Workers that died without unregistering: RQ's still registered whose hash has expired,"
    " Celery's whose heartbeats stopped without a goodbye (counted 15 minutes)",
    ("redis", "system"),
)
ABANDONED = Series(
    "qwatch_jobs_abandoned",
    "gauge",
    "Started jobs whose worker is gone",
    ("queue", "redis", "system"),
)
RATE_LIMIT_JOBS = Series(
    "qwatch_rate_limit_jobs",
    "gauge",
    "Jobs per RQ 3.0 rate-limit key: holding one of its slots (running: queued after their"
    " turn came, or running) or held back until a slot frees (waiting)",
    ("key", "redis", "state"),
)
RATE_LIMIT_CONCURRENCY = Series(
    "qwatch_rate_limit_concurrency",
    "gauge",
    "How many jobs an RQ 3.0 rate-limit key lets run at once; absent when unreadable",
    ("key", "redis"),
)
RATE_LIMIT_OLDEST = Series(
    "qwatch_rate_limit_oldest_waiting_seconds",
    "gauge",
    "How long the oldest job held back by an RQ 3.0 rate-limit key has waited, 0 when none",
    ("key", "redis"),
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
    ("function", "queue", "redis", "system"),
)
FAILED = Series(
    "qwatch_jobs_failed",
    "counter",
    "Jobs that failed for good, each counted once",
    ("exception", "function", "queue", "redis", "system"),
)
WORKER_JOBS = Series(
    "qwatch_worker_jobs",
    "counter",
    "Jobs RQ's workers report done in their own counters, including those RQ keeps no record"
    " of (result_ttl=0); Celery's workers count no outcomes: see"
    " qwatch_celery_worker_tasks_processed_total",
    ("outcome", "redis", "system"),
)
UNTRACKED = Series(
    "qwatch_jobs_untracked",
    "counter",
    "Jobs the workers report done that no registry showed (result_ttl=0, failed attempts retried),"
    " so not in qwatch_jobs_finished_total or qwatch_jobs_failed_total",
    ("outcome", "redis", "system"),
)
WORKER_WORKING = Series(
    "qwatch_worker_working_seconds",
    "counter",
    "Time RQ's workers report spent running jobs, summed over live workers' increases",
    ("redis", "system"),
)
RETRIED = Series(
    "qwatch_jobs_retried",
    "counter",
    "Failed runs that RQ, Dramatiq or arq retried (exact mode only); the job is counted again"
    " when it ends",
    ("exception", "function", "queue", "redis", "system"),
)
NOT_EXACT = {RQ: "registries", DRAMATIQ: "unseen", ARQ: "unseen"}
"""How a queue's ended jobs are counted when no stream counts them: from RQ's registries;
not at all for Dramatiq, which keeps no trace of an acked message, nor for arq, whose
results expire unindexed."""
COUNTING_MODE = Series(
    "qwatch_queue_counting_mode",
    "gauge",
    "1, labelled with the mode the queue's jobs are counted in: exact, registries (RQ)"
    " or unseen (Dramatiq without qwatch's middleware, arq without its hooks)",
    ("mode", "queue", "redis", "system"),
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
    ("queue", "redis", "system"),
)
WAIT_TIME = Series(
    "qwatch_job_wait_seconds",
    "histogram",
    "Time from enqueued to started",
    ("queue", "redis", "system"),
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
    WORKERS_EXPIRED, ABANDONED, RATE_LIMIT_JOBS, RATE_LIMIT_CONCURRENCY, RATE_LIMIT_OLDEST,
    MEMORY_USED, MEMORY_MAX, FINISHED, FAILED, WORKER_JOBS,
    UNTRACKED, WORKER_WORKING, RUN_TIME, WAIT_TIME, RECORDS_SKIPPED, BUILD_INFO, RETRIED,
    COUNTING_MODE,
    STREAM_LOST, STREAM_SKIPPED,
)  # fmt: skip


def health(redis: str, seconds: float, up: bool) -> Reading:
    """Whether this Redis was read, and how long the reading took."""
    return [(UP, [((redis,), 1.0 if up else 0.0)]), (SCRAPE_DURATION, [((redis,), seconds)])]


def build_info() -> Reading:
    return [(BUILD_INFO, [((__version__,), 1.0)])]


def from_snapshot(redis: str, snapshot: Snapshot) -> Reading:
    """Gauges of the present state.

    RQ's worker series are always there (no RQ worker is a fact worth a 0);
    Celery's only while qwatch listens to its events. Started jobs whose
    worker is gone are RQ's records only.
    """
    jobs: list[Row] = []
    oldest: list[Row] = []
    listening: list[Row] = []
    abandoned: list[Row] = []
    by_queue = Counter(job.queue for job in snapshot.abandoned_jobs)
    for queue in snapshot.queues:
        labels = (queue.name, redis, queue.system)
        rq = queue.system == RQ  # RQ 2 has no ready registry and no rate limits: none is there
        jobs.append(
            (
                labels,
                (
                    queue.queued, queue.started, queue.finished, queue.failed, queue.deferred,
                    queue.ready or 0 if rq else queue.ready, queue.scheduled, queue.canceled,
                    queue.rate_limited or 0 if rq else queue.rate_limited,
                ),
            )
        )  # fmt: skip
        age = queue.oldest_queued_age_seconds
        if age is not None or queue.queued == 0:
            oldest.append((labels, age or 0.0))
        if queue.workers is not None:
            listening.append((labels, float(queue.workers)))
        if rq:
            abandoned.append((labels, float(by_queue[queue.name])))
    systems = (RQ, CELERY) if snapshot.celery is not None else (RQ,)
    info = snapshot.redis
    reading: Reading = [
        (QUEUE_JOBS, jobs),
        (OLDEST_AGE, oldest),
        (QUEUE_WORKERS, listening),
        (WORKERS, _worker_states(redis, snapshot, systems)),
        (
            HEARTBEAT_STALE,
            [
                (
                    (redis, system),
                    float(sum(w.heartbeat_overdue for w in snapshot.workers if w.system == system)),
                )
                for system in systems
            ],
        ),
        (WORKERS_EXPIRED, _expired(redis, snapshot)),
        (ABANDONED, abandoned),
        *_rate_limits(redis, snapshot),
        (MEMORY_USED, _optional(redis, info.used_memory_bytes)),
        (MEMORY_MAX, _optional(redis, info.max_memory_bytes)),
    ]
    return reading


def _rate_limits(redis: str, snapshot: Snapshot) -> Reading:
    """Per rate-limit key (at most `rate_limits.KEYS_LIMIT` of them): its slots and waits."""
    limits = snapshot.rate_limits
    return [
        (
            RATE_LIMIT_JOBS,
            [
                row
                for limit in limits
                for row in (
                    ((limit.key, redis, "running"), float(limit.running)),
                    ((limit.key, redis, "waiting"), float(limit.waiting)),
                )
            ],
        ),
        (
            RATE_LIMIT_CONCURRENCY,
            [((lim.key, redis), float(lim.concurrency)) for lim in limits if lim.concurrency],
        ),
        (
            RATE_LIMIT_OLDEST,
            [((lim.key, redis), lim.oldest_waiting_age_seconds or 0.0) for lim in limits],
        ),
    ]


def _expired(redis: str, snapshot: Snapshot) -> list[Row]:
    """Expired workers per system: Celery's are counted apart, so that a lost Celery worker
    is not an RQ one (and its alert not RQ's)."""
    celery = snapshot.celery.expired_workers if snapshot.celery is not None else 0
    rows: list[Row] = [((redis, RQ), float(len(snapshot.expired_workers) - celery))]
    if snapshot.celery is not None:
        rows.append(((redis, CELERY), float(celery)))
    return rows


def _worker_states(redis: str, snapshot: Snapshot, systems: tuple[str, ...]) -> list[Row]:
    """Workers per system and state; RQ's four states always, 0 when none is in them."""
    states = Counter((worker.system, worker.state) for worker in snapshot.workers)
    keys = {(RQ, state) for state in WORKER_STATES} | set(states)
    return [
        ((redis, state, system), float(states[(system, state)]))
        for system, state in sorted(keys)
        if system in systems or states[(system, state)]
    ]


def from_totals(redis: str, totals: JobTotals) -> Reading:
    """Counters and histograms accumulated since qwatch started."""
    finished: list[Row] = [
        ((function, queue, redis, system), float(count))
        for (system, queue, function), count in sorted(totals.finished.items())
    ]
    failed: list[Row] = [
        ((exception, function, queue, redis, system), float(count))
        for (system, queue, function, exception), count in sorted(totals.failed.items())
    ]
    return [
        (FINISHED, finished),
        (FAILED, failed),
        (WORKER_JOBS, [((o, redis, RQ), float(totals.worker_jobs[o])) for o in OUTCOMES]),
        (UNTRACKED, [((o, redis, RQ), float(totals.untracked[o])) for o in OUTCOMES]),
        (WORKER_WORKING, [((redis, RQ), totals.worker_working_seconds)]),
        (RUN_TIME, _histograms(redis, totals.run_time)),
        (WAIT_TIME, _histograms(redis, totals.wait_time)),
        (RECORDS_SKIPPED, [((redis,), float(totals.records_skipped))]),
    ]


def from_stream(
    redis: str, snapshot: Snapshot, totals: JobTotals, exact: Mapping[str, frozenset[str]]
) -> Reading:
    """Exact mode's series: each RQ, Dramatiq and arq queue's counting mode (`exact` has each
    system's exactly counted queues), retries, stream entries lost or skipped. Celery's
    queues have no counting mode: its events are all there is."""
    modes: list[Row] = [
        ((_mode(queue.name, queue.system, exact), queue.name, redis, queue.system), 1.0)
        for queue in snapshot.queues
        if queue.system in NOT_EXACT
    ]
    retried: list[Row] = [
        ((exception, function, queue, redis, system), float(count))
        for (system, queue, function, exception), count in sorted(totals.retried.items())
    ]
    return [
        (COUNTING_MODE, modes),
        (RETRIED, retried),
        (STREAM_LOST, [((redis,), float(totals.stream_lost))]),
        (STREAM_SKIPPED, [((redis,), float(totals.stream_skipped))]),
    ]


def _mode(queue: str, system: str, exact: Mapping[str, frozenset[str]]) -> str:
    return "exact" if queue in exact.get(system, ()) else NOT_EXACT[system]


def _histograms(redis: str, by_queue: dict[QueueKey, Histogram]) -> list[Row]:
    return [
        ((queue, redis, system), histogram)
        for (system, queue), histogram in sorted(by_queue.items())
    ]


def _optional(redis: str, value: int | None) -> list[Row]:
    return [] if value is None else [((redis,), float(value))]


def merge(readings: Sequence[Reading]) -> Reading:
    """One entry per series, with the rows of every reading, in first-seen order."""
    merged: dict[Series, list[Row]] = {}
    for reading in readings:
        for series, rows in reading:
            merged.setdefault(series, []).extend(rows)
    return list(merged.items())
