"""Prometheus metric families from snapshots and completions.

`JobTotals` accumulates what only grows (jobs finished and failed, run and
wait time histograms, the workers' own counters) for one Redis; `families`
turns one reading into metric families. Both are pure: no Redis here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from qwatch import __version__
from qwatch.completions import Completion
from qwatch.snapshot import Snapshot

QUEUE_STATES = ("queued", "started", "finished", "failed", "deferred", "scheduled", "canceled")
WORKER_STATES = ("idle", "busy", "started", "suspended")
DEFAULT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
"""From a few milliseconds to an hour: the range of background jobs."""
DEFAULT_LABEL_LIMIT = 50
OTHER = "other"
UNKNOWN = "unknown"


class BoundedLabels:
    """At most `limit` distinct values per queue; later newcomers become `other`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, set[str]] = {}

    def value(self, queue: str, value: str | None) -> str:
        seen = self._seen.setdefault(queue, set())
        value = value or UNKNOWN
        if value in seen:
            return value
        if len(seen) >= self.limit:
            return OTHER
        seen.add(value)
        return value

    def forget(self, queue: str) -> None:
        self._seen.pop(queue, None)


@dataclass(slots=True)
class Histogram:
    """Cumulative observations against fixed upper bounds."""

    bounds: Sequence[float]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        counts = self.counts or [0] * (len(self.bounds) + 1)
        cumulative, running = [], 0
        for bound, count in zip([*map(str, self.bounds), "+Inf"], counts):
            running += count
            cumulative.append((bound, float(running)))
        return cumulative


class JobTotals:
    """Everything that only grows, for one Redis; bounded by its queues and label limits."""

    def __init__(self, buckets: Sequence[float], label_limit: int) -> None:
        self.buckets = tuple(buckets)
        self.functions = BoundedLabels(label_limit)
        self.exceptions = BoundedLabels(label_limit)
        self.finished: Counter[tuple[str, str]] = Counter()
        self.failed: Counter[tuple[str, str, str]] = Counter()
        self.run_time: dict[str, Histogram] = {}
        self.wait_time: dict[str, Histogram] = {}
        self.worker_jobs: Counter[str] = Counter()
        self._worker_counts: dict[str, tuple[int, int]] = {}
        self._last_poll: float | None = None

    def add(self, snapshot: Snapshot, completions: Iterable[Completion]) -> None:
        """Fold in one reading: its new completions and the workers' counter increases."""
        self._forget_queues({queue.name for queue in snapshot.queues})
        for completion in completions:
            self._count(completion)
        self._add_worker_counts(snapshot)

    def _count(self, completion: Completion) -> None:
        queue = completion.queue
        function = self.functions.value(queue, completion.function)
        if completion.outcome == "finished":
            self.finished[(queue, function)] += 1
        else:
            exception = self.exceptions.value(queue, completion.exception)
            self.failed[(queue, function, exception)] += 1
        if completion.run_seconds is not None:
            self.run_time.setdefault(queue, Histogram(self.buckets)).observe(completion.run_seconds)
        if completion.wait_seconds is not None:
            self.wait_time.setdefault(queue, Histogram(self.buckets)).observe(
                completion.wait_seconds
            )

    def _add_worker_counts(self, snapshot: Snapshot) -> None:
        """Workers' own success and failure counters, which include jobs RQ kept no record of.

        A worker born since the last reading contributes all its jobs; one
        already running when qwatch started contributes only what follows.
        """
        counts = {}
        for worker in snapshot.workers:
            now = (worker.successful_jobs, worker.failed_jobs)
            before = self._worker_counts.get(worker.name)
            if before is None:
                born_since = (
                    self._last_poll is not None
                    and worker.birth is not None
                    and worker.birth > self._last_poll
                )
                before = (0, 0) if born_since else now
            self.worker_jobs["finished"] += max(0, now[0] - before[0])
            self.worker_jobs["failed"] += max(0, now[1] - before[1])
            counts[worker.name] = now
        self._worker_counts = counts
        self._last_poll = snapshot.taken_at

    def _forget_queues(self, present: set[str]) -> None:
        gone = {queue for queue, _function in self.finished} | {key[0] for key in self.failed}
        gone |= set(self.run_time) | set(self.wait_time)
        for queue in gone - present:
            self.functions.forget(queue)
            self.exceptions.forget(queue)
            self.run_time.pop(queue, None)
            self.wait_time.pop(queue, None)
            for key in [key for key in self.finished if key[0] == queue]:
                del self.finished[key]
            for failed_key in [key for key in self.failed if key[0] == queue]:
                del self.failed[failed_key]


def describe() -> list[Metric]:
    """Every family qwatch exports, without samples, for `Collector.describe`."""
    return [
        *health_families("", 0.0, up=False),
        *snapshot_families("", None),
        *totals_families("", JobTotals(DEFAULT_BUCKETS, DEFAULT_LABEL_LIMIT)),
        build_info(),
    ]


def build_info() -> GaugeMetricFamily:
    family = GaugeMetricFamily("qwatch_build_info", "qwatch's version", labels=["version"])
    family.add_metric([__version__], 1)
    return family


def health_families(redis: str, seconds: float, up: bool) -> Iterator[Metric]:
    """Whether this Redis was read, and how long the reading took."""
    family = GaugeMetricFamily(
        "qwatch_up", "1 if the last read of this Redis worked", labels=["redis"]
    )
    duration = GaugeMetricFamily(
        "qwatch_scrape_duration_seconds",
        "Time the collection from this Redis took",
        labels=["redis"],
    )
    if redis:
        family.add_metric([redis], 1 if up else 0)
        duration.add_metric([redis], seconds)
    yield family
    yield duration


def snapshot_families(redis: str, snapshot: Snapshot | None) -> Iterator[Metric]:
    """Gauges of the present state."""
    jobs = GaugeMetricFamily(
        "qwatch_queue_jobs", "Jobs per queue and state", labels=["redis", "queue", "state"]
    )
    oldest = GaugeMetricFamily(
        "qwatch_queue_oldest_job_age_seconds",
        "Age of the oldest queued job, 0 when the queue is empty",
        labels=["redis", "queue"],
    )
    listening = GaugeMetricFamily(
        "qwatch_queue_workers", "Live workers listening to the queue", labels=["redis", "queue"]
    )
    workers = GaugeMetricFamily("qwatch_workers", "Workers per state", labels=["redis", "state"])
    stale = GaugeMetricFamily(
        "qwatch_workers_heartbeat_stale", "Workers whose heartbeat is overdue", labels=["redis"]
    )
    expired = GaugeMetricFamily(
        "qwatch_workers_expired",
        "Workers still registered whose hash has expired: they died without unregistering",
        labels=["redis"],
    )
    abandoned = GaugeMetricFamily(
        "qwatch_jobs_abandoned", "Started jobs whose worker is gone", labels=["redis", "queue"]
    )
    memory = GaugeMetricFamily(
        "qwatch_redis_memory_used_bytes", "Memory Redis uses (INFO used_memory)", labels=["redis"]
    )
    memory_max = GaugeMetricFamily(
        "qwatch_redis_memory_max_bytes", "Redis maxmemory, 0 when unlimited", labels=["redis"]
    )
    if snapshot is not None:
        by_queue = Counter(job.queue for job in snapshot.abandoned_jobs)
        for queue in snapshot.queues:
            for state in QUEUE_STATES:
                jobs.add_metric([redis, queue.name, state], getattr(queue, state))
            oldest.add_metric([redis, queue.name], queue.oldest_queued_age_seconds or 0.0)
            listening.add_metric([redis, queue.name], queue.workers)
            abandoned.add_metric([redis, queue.name], by_queue[queue.name])
        states = Counter(worker.state for worker in snapshot.workers)
        for state in sorted(set(WORKER_STATES) | set(states)):
            workers.add_metric([redis, state], states[state])
        stale.add_metric([redis], sum(worker.heartbeat_overdue for worker in snapshot.workers))
        expired.add_metric([redis], len(snapshot.expired_workers))
        if snapshot.redis.used_memory_bytes is not None:
            memory.add_metric([redis], snapshot.redis.used_memory_bytes)
        if snapshot.redis.max_memory_bytes is not None:
            memory_max.add_metric([redis], snapshot.redis.max_memory_bytes)
    yield from (jobs, oldest, listening, workers, stale, expired, abandoned, memory, memory_max)


def totals_families(redis: str, totals: JobTotals) -> Iterator[Metric]:
    """Counters and histograms accumulated since qwatch started."""
    finished = CounterMetricFamily(
        "qwatch_jobs_finished",
        "Jobs that finished, each counted once",
        labels=["redis", "queue", "function"],
    )
    for (queue, function), count in sorted(totals.finished.items()):
        finished.add_metric([redis, queue, function], count)
    failed = CounterMetricFamily(
        "qwatch_jobs_failed",
        "Jobs that failed for good, each counted once",
        labels=["redis", "queue", "function", "exception"],
    )
    for (queue, function, exception), count in sorted(totals.failed.items()):
        failed.add_metric([redis, queue, function, exception], count)
    worker_jobs = CounterMetricFamily(
        "qwatch_worker_jobs",
        "Jobs the workers report done, including those RQ keeps no record of (result_ttl=0)",
        labels=["redis", "outcome"],
    )
    if redis:
        for outcome in ("finished", "failed"):
            worker_jobs.add_metric([redis, outcome], totals.worker_jobs[outcome])
    yield from (finished, failed, worker_jobs)
    yield _histogram(
        "qwatch_job_duration_seconds",
        "Run time (ended - started) of finished and failed jobs",
        redis,
        totals.run_time,
    )
    yield _histogram(
        "qwatch_job_wait_seconds", "Time from enqueued to started", redis, totals.wait_time
    )


def _histogram(
    name: str, documentation: str, redis: str, by_queue: dict[str, Histogram]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["redis", "queue"])
    for queue, histogram in sorted(by_queue.items()):
        family.add_metric([redis, queue], histogram.buckets(), histogram.total)
    return family
