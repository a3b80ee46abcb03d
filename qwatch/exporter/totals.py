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
from qwatch.model import Completion, Snapshot, StreamReading, WorkerTotals

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
        """Per outcome: what RQ's workers' own counters rose by (`qwatch.rq.untracked`). Celery's
        workers count no outcomes, only tasks processed (`celery_processed`)."""
        self.untracked: Counter[str] = Counter()
        """Jobs RQ's workers reported that no registry showed, per outcome."""
        self.worker_working_seconds = 0.0
        """What RQ's workers' own working time rose by."""
        self.celery_processed = 0
        """Tasks Celery's workers say they processed, whatever the outcome, since qwatch first
        heard each."""
        self.records_skipped = 0
        self.processed: dict[str, tuple[int, float]] = {}
        """Each Celery worker's processed count as last counted, and when it was last seen."""
        self._gone_since: dict[QueueKey, float] = {}

    def add(self, snapshot: Snapshot, completions: Iterable[Completion], skipped: int = 0) -> None:
        """Fold in one reading: its new completions, the workers' counter increases, and the
        records left out of it (the snapshot's, plus `skipped` completions)."""
        self._forget_queues({(q.system, q.name) for q in snapshot.queues}, snapshot.taken_at)
        self.records_skipped += snapshot.records_skipped + skipped
        for completion in completions:
            self._count(completion)
        self._add_processed(snapshot)

    def add_completions(self, completions: Iterable[Completion]) -> None:
        """Completions alone, when no reading comes to fold them in."""
        for completion in completions:
            self._count(completion)

    def add_stream(self, reading: StreamReading) -> None:
        """Fold in what the completions stream adds to the completions: retries, losses, garbage."""
        for retry in reading.retried:
            queue = (retry.system, retry.queue)
            function = self.functions.value(queue, retry.function)
            exception = self.exceptions.value(queue, retry.exception)
            self.retried[(retry.system, retry.queue, function, exception)] += 1
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

    def follow_workers(self, workers: WorkerTotals) -> None:
        """Take RQ's workers' figures as the following read them from their counters."""
        self.worker_jobs = Counter(dict(workers.reported))
        self.untracked = Counter(dict(workers.untracked))
        self.worker_working_seconds = workers.working_seconds

    def _add_processed(self, snapshot: Snapshot) -> None:
        """What Celery's workers processed since the last reading, from their heartbeats' counts.

        A worker counted for the first time contributes what it processed since
        qwatch first heard it (its events are heard from the start, readings come
        later); a restart under the same name, whose count went down, what
        follows. A worker gone for `FORGET_AFTER` seconds is forgotten: its
        name, back later, counts from when it is heard again.
        """
        now = snapshot.taken_at
        for worker in snapshot.workers:
            if worker.processed is None:
                continue
            last = self.processed.get(worker.name)
            if last is None:
                before = (
                    worker.processed if worker.first_processed is None else worker.first_processed
                )
            else:
                before = last[0]
            self.celery_processed += max(0, worker.processed - before)
            self.processed[worker.name] = (worker.processed, now)
        for name in [
            n for n, (_count, seen) in self.processed.items() if now - seen > FORGET_AFTER
        ]:
            del self.processed[name]

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
