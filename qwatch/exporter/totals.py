"""What only grows, for one Redis: jobs finished and failed, run and wait times, worker totals.

Everything here is fed by completions and snapshots and kept bounded: by the
queues that exist and by the label limit per queue. A queue is known by its
system and its name (`QueueKey`): an RQ and a Celery queue of the same name
are counted apart. No Redis here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from qwatch import job_states
from qwatch.completions import Completion
from qwatch.snapshot import RQ, Snapshot
from qwatch.stream import StreamReading

DEFAULT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
"""From ten milliseconds to an hour: the range of background jobs."""
DEFAULT_LABEL_LIMIT = 50
FORGET_AFTER = 3600.0
OTHER = "other"
UNKNOWN = "unknown"

QueueKey = tuple[str, str]
"""(system, queue name): "rq" or "celery", then the name."""


class BoundedLabels:
    """At most `limit` distinct values per queue; later newcomers become `other`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: dict[QueueKey, set[str]] = {}
        """The values given their own label, per queue: kept by the state file."""

    def value(self, queue: QueueKey, value: str | None) -> str:
        seen = self.seen.setdefault(queue, set())
        value = value or UNKNOWN
        if value in seen:
            return value
        if len(seen) >= self.limit:
            return OTHER
        seen.add(value)
        return value

    def forget(self, queue: QueueKey) -> None:
        self.seen.pop(queue, None)


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

    def cumulative(self) -> list[int]:
        """Observations at or below each bound, the last being +Inf: the total count."""
        counts = self.counts or [0] * (len(self.bounds) + 1)
        running, totals = 0, []
        for count in counts:
            running += count
            totals.append(running)
        return totals


class JobTotals:
    """Everything that only grows, for one Redis; bounded by its queues and label limits."""

    def __init__(
        self,
        buckets: Sequence[float],
        label_limit: int,
        histogram_queues: frozenset[str] | None = None,
    ) -> None:
        """`histogram_queues`: the queues that get run and wait time histograms; None: all."""
        self.buckets = tuple(buckets)
        self.histogram_queues = histogram_queues
        self.functions = BoundedLabels(label_limit)
        self.exceptions = BoundedLabels(label_limit)
        self.finished: Counter[tuple[str, str, str]] = Counter()
        """Per (system, queue, function)."""
        self.failed: Counter[tuple[str, str, str, str]] = Counter()
        """Per (system, queue, function, exception)."""
        self.retried: Counter[tuple[str, str, str, str]] = Counter()
        """RQ's retried runs, keyed as `failed`."""
        self.stream_lost = 0
        self.stream_skipped = 0
        self.run_time: dict[QueueKey, Histogram] = {}
        self.wait_time: dict[QueueKey, Histogram] = {}
        self.worker_jobs: Counter[str] = Counter()
        """Per outcome: RQ's workers' own counters' increases. Celery's workers count no
        outcomes, only tasks processed (`celery_processed`)."""
        self.untracked: Counter[str] = Counter()
        """Jobs RQ's workers reported that no registry showed, per outcome: the tracker's count."""
        self.worker_working_seconds = 0.0
        """RQ's workers' own working time's increases."""
        self.celery_processed = 0
        """Tasks Celery's workers say they processed, whatever the outcome: their increases."""
        self.records_skipped = 0
        self._worker_counts: dict[tuple[str, str], tuple[int, int, float]] = {}
        self._processed: dict[str, int] = {}
        self._last_poll: float | None = None
        self._gone_since: dict[QueueKey, float] = {}

    def add(self, snapshot: Snapshot, completions: Iterable[Completion], skipped: int = 0) -> None:
        """Fold in one reading: its new completions, the workers' counter increases, and the
        records left out of it (the snapshot's, plus `skipped` completions)."""
        self._forget_queues({(q.system, q.name) for q in snapshot.queues}, snapshot.taken_at)
        self.records_skipped += snapshot.records_skipped + skipped
        for completion in completions:
            self._count(completion)
        self._add_worker_counts(snapshot)

    def add_completions(self, completions: Iterable[Completion]) -> None:
        """Completions alone, when no reading comes to fold them in."""
        for completion in completions:
            self._count(completion)

    def add_stream(self, reading: StreamReading) -> None:
        """Fold in what the completions stream adds to the completions: retries, losses, garbage."""
        for retry in reading.retried:
            queue = (RQ, retry.queue)
            function = self.functions.value(queue, retry.function)
            exception = self.exceptions.value(queue, retry.exception)
            self.retried[(RQ, retry.queue, function, exception)] += 1
        self.stream_lost += reading.lost
        self.stream_skipped += reading.skipped

    def _count(self, completion: Completion) -> None:
        system, name = queue = (completion.system, completion.queue)
        function = self.functions.value(queue, completion.function)
        if completion.outcome == job_states.FINISHED:
            self.finished[(system, name, function)] += 1
        else:
            exception = self.exceptions.value(queue, completion.exception)
            self.failed[(system, name, function, exception)] += 1
        if self.histogram_queues is not None and completion.queue not in self.histogram_queues:
            return
        if completion.run_seconds is not None:
            self.run_time.setdefault(queue, Histogram(self.buckets)).observe(completion.run_seconds)
        if completion.wait_seconds is not None:
            self.wait_time.setdefault(queue, Histogram(self.buckets)).observe(
                completion.wait_seconds
            )

    def _add_worker_counts(self, snapshot: Snapshot) -> None:
        """Workers' own counters of jobs and working time, which include jobs RQ kept no record of.

        A worker born since the last reading contributes all its jobs and
        time; one already running when qwatch started contributes only what
        follows. Only increases count, so the totals never go down when a
        worker exits (its last seconds before exiting are missed). A worker
        whose counts are unreadable (absurd, not numbers) contributes nothing
        until they are readable again. Celery's workers count only tasks
        processed, whatever their outcome: those go to `celery_processed`, and the
        outcomes their task events tell are completions, counted per queue.
        """
        counts = {}
        processed = {}
        for worker in snapshot.workers:
            key = (worker.system, worker.name)
            if worker.processed is not None:
                processed[worker.name] = self._processed_increase(
                    worker.name, worker.processed, worker.birth
                )
            if worker.system != RQ:
                continue
            before = self._worker_counts.get(key)
            if worker.successful_jobs is None or worker.failed_jobs is None:
                if before is not None:
                    counts[key] = before
                continue
            working = worker.working_seconds
            if working is None:
                working = before[2] if before is not None else 0.0
            now = (worker.successful_jobs, worker.failed_jobs, working)
            if before is None:
                before = (0, 0, 0.0) if self._born_since(worker.birth) else now
            if now != before:  # most workers ran nothing since the last reading
                self.worker_jobs[job_states.FINISHED] += max(0, now[0] - before[0])
                self.worker_jobs[job_states.FAILED] += max(0, now[1] - before[1])
                self.worker_working_seconds += max(0.0, now[2] - before[2])
            counts[key] = now
        self._worker_counts = counts
        self._processed = processed
        self._last_poll = snapshot.taken_at

    def _processed_increase(self, name: str, now: int, birth: float | None) -> int:
        """Add what a Celery worker processed since the last reading; its count now."""
        before = self._processed.get(name)
        if before is None:
            before = 0 if self._born_since(birth) else now
        self.celery_processed += max(0, now - before)
        return now

    def _born_since(self, birth: float | None) -> bool:
        """Whether a worker first seen now started after the last reading."""
        return self._last_poll is not None and birth is not None and birth > self._last_poll

    def _forget_queues(self, present: set[QueueKey], now: float) -> None:
        """Drop a queue's counters once it has been gone for `FORGET_AFTER` seconds.

        Not at once: a Redis restarted or flushed lists no queue for a while,
        and counters that vanished and came back lower would look to
        Prometheus like fewer jobs than really ended.
        """
        known = {key[:2] for key in self.finished} | {key[:2] for key in self.failed}
        known |= {key[:2] for key in self.retried}
        known |= set(self.run_time) | set(self.wait_time)
        for queue in present:
            self._gone_since.pop(queue, None)
        for queue in known - present:
            if now - self._gone_since.setdefault(queue, now) < FORGET_AFTER:
                continue
            del self._gone_since[queue]
            self.functions.forget(queue)
            self.exceptions.forget(queue)
            self.run_time.pop(queue, None)
            self.wait_time.pop(queue, None)
            for counter in (self.finished, self.failed, self.retried):
                for key in [key for key in counter if key[:2] == queue]:
                    del counter[key]
