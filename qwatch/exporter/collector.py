"""The Prometheus collector: reads every Redis at scrape time, within a deadline.

Each Redis has one reading thread, so collections of one Redis never overlap
and a scrape that arrives while one runs shares its result. A scrape waits at
most `timeout` seconds in all; a Redis that has not answered by then is
reported as `qwatch_up 0` with none of its other series, and its reading
goes on in the background for the next scrape.

Finished and failed jobs are not read from the registries at scrape time:
each Redis's watch follows them in a thread at its own interval
(`Watch.follow`), so jobs whose records live less than the scrape interval
are counted. They wait for the next scrape, which takes them with what the
completions stream counts exactly; more than a scrape can wait for are
folded into the totals at once. A reading and a tracker poll of one Redis
take turns: Python runs one thread at a time, so running both at once would
slow each by the other's length. Readings go first: a poll in progress
gives way to one, and runs again after it.

A reading with details (workers' hosts, pids, versions and current jobs, and
the newest failures) is what the dashboard shows: `overview` keeps the last
one, and a page asks for a new one only when it is older than the pace the
pages refresh at, so twenty browsers cost one reading, shared like a scrape's.

With a state file (`qwatch.exporter.state`), a source starts from the totals
and stream position saved there, and saves them again after each reading,
before a scrape is answered from it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

import redis
from prometheus_client.core import Metric

from qwatch.errors import redis_reason
from qwatch.exporter import arq_metrics, celery_metrics, dramatiq_metrics, metrics
from qwatch.exporter.exposition import families
from qwatch.exporter.metrics import Reading
from qwatch.exporter.state import Checkpoint, StateFile
from qwatch.exporter.totals import DEFAULT_BUCKETS, DEFAULT_LABEL_LIMIT, JobTotals
from qwatch.history import recorder
from qwatch.history.recorder import History
from qwatch.model import RQ, Completion, FailedJob, Snapshot
from qwatch.text.recent import FunctionRecent, RecentCompletions
from qwatch.text.trends import QueueTrend, Trends
from qwatch.watch import TRACK_INTERVAL, Watch
from qwatch.wire.turns import Turn

log = logging.getLogger("qwatch.exporter")
NOTHING: Reading = []
"""The reading of a Redis that did not answer: one object, so that it is shared too."""
BUILD_INFO = metrics.build_info()
SERIES = (*metrics.ALL, *celery_metrics.ALL, *dramatiq_metrics.ALL, *arq_metrics.ALL)
"""Every series /metrics may hold, each system's own included."""
FAILED_SHOWN = 50
"""The newest failures a detailed reading keeps for the dashboard."""
MAX_ENDED = 100_000
"""Completions kept between two detailed readings for the rates; past that, rates are low."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Overview:
    """One Redis as the dashboard shows it: the last reading with details."""

    snapshot: Snapshot
    failed: tuple[FailedJob, ...]
    trends: dict[str, QueueTrend]
    recent: dict[str, FunctionRecent]
    untracked: tuple[tuple[str, int], ...]
    """Jobs the workers reported done that no registry showed, per outcome, since the start."""


class RedisSource:
    """One Redis the exporter reads: its client, its completion tracker, its totals."""

    def __init__(
        self,
        name: str,
        client: redis.Redis,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        label_limit: int = DEFAULT_LABEL_LIMIT,
        ttls: Sequence[float] = (),
        track_interval: float = TRACK_INTERVAL,
        histogram_queues: frozenset[str] | None = None,
        state: StateFile | None = None,
        watch: Watch | None = None,
        history_pace: float = recorder.PACE,
        history: History | None = None,
    ) -> None:
        """`state`: where the totals and stream position are kept across restarts, if anywhere;
        `watch`: which systems to read (default RQ alone); `history_pace`: seconds between
        the history's samples; `history`: one to go on with (saved before a restart), else
        a new one."""
        self.name = name
        self.client = client
        self.watch = watch or Watch(client, RQ)
        self.totals = JobTotals(buckets, label_limit, histogram_queues)
        self.state = state
        saved = state.checkpoint(name) if state is not None else None
        self._turn = Turn()
        """Taken by a reading and by each tracker poll: they take turns instead of sharing
        the interpreter (at 10,000 queues a poll slowed a scrape by as much as it took),
        readings first, and the totals they share need no other lock."""
        self.following = self.watch.follow(
            name,
            interval=track_interval,
            ttls=ttls,
            resume=saved.position if saved is not None else None,
            dramatiq_resume=saved.dramatiq_position if saved is not None else None,
            arq_resume=saved.arq_position if saved is not None else None,
            turn=self._turn,
            overflow=self.totals.add_completions,
        )
        if saved is not None:
            saved.restore(self.totals, time.time())
            self.following.resume(saved.workers)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"qwatch-{name}")
        self._lock = threading.Lock()
        self._reading: Future[Reading] | None = None
        self._detailed = False
        self._trends = Trends()
        self._recent = RecentCompletions()
        self._ended: list[Completion] = []
        """Completions since the last detailed reading, for its queues' rates."""
        self.overview: Overview | None = None
        self.up = True
        self.down_reason = ""
        self.history = history if history is not None else History()
        self._unrecorded: list[Completion] = []
        """Completions since the history's last sample."""
        self.history_pace = history_pace
        self._history_due = 0.0
        self._last_read = 0.0
        self._closed = threading.Event()

    def start_reading(self, details: bool = False) -> Future[Reading]:
        """The reading in progress, or a new one; with `details`, one that has them."""
        with self._lock:
            current = self._reading
            if current is None or current.done() or (details and not self._detailed):
                current = self._reading = self._thread.submit(self._read, details)
                self._detailed = details
            return current

    def run(self, read: Callable[[Watch], T], timeout: float) -> T:
        """`read` on this Redis's watch, in its reading thread (so never beside a reading),
        within `timeout` seconds."""

        def in_turn() -> T:
            with self._turn.reading():
                return read(self.watch)

        return self._thread.submit(in_turn).result(timeout=timeout)

    def answering(self) -> contextlib.AbstractContextManager[None]:
        """While a face writes out a reading: the tracker's next poll waits for it."""
        return self._turn.answering()

    def start(self) -> None:
        """Start following completions, and look for the systems at once, in the reading
        thread: Celery's events are heard only from then on, so not from the first scrape."""
        self.following.start()
        self._thread.submit(self.watch.systems)
        threading.Thread(target=self._sample_history, name=f"qwatch-{self.name}-history",
                         daemon=True).start()  # fmt: skip

    def _record_after(
        self, snapshot: Snapshot, completions: list[Completion], unseen: frozenset[tuple[str, str]]
    ) -> None:
        """The history's sample, next in the reading thread: after the scrape or page that
        asked for this reading has its answer, and before any other reading."""
        with contextlib.suppress(RuntimeError):  # closing: no more samples
            self._thread.submit(self.history.record, snapshot, completions, unseen)

    def _sample_history(self) -> None:
        """A reading every `history_pace` seconds that no scrape or page asked for, so the
        history goes on while nobody looks; a reading that fails is a moment of its own."""
        pace = self.history_pace
        while not self._closed.wait(pace):
            if time.monotonic() - self._last_read < pace:
                continue
            try:
                self.start_reading().result(timeout=4 * pace)
            except Exception as exc:  # Redis down: the history says so, the sampler goes on
                self.history.unreachable(time.time(), redis_reason(exc) or "no answer")

    def _read(self, details: bool = False) -> Reading:
        """Runs in this source's reading thread; the totals are shared with the tracker's.

        The state file, if any, is written before the reading is returned, so
        no scrape is answered with more than it holds.
        """
        with self._turn.reading():
            return self._read_in_turn(details)

    def _read_in_turn(self, details: bool) -> Reading:
        snapshot = self.watch.read(worker_details=details)
        taken = self.watch.take(snapshot)
        self._last_read = time.monotonic()
        unseen = taken.unseen(snapshot)
        self._unrecorded.extend(taken.completions[: MAX_ENDED - len(self._unrecorded)])
        if snapshot.taken_at >= self._history_due:
            self._record_after(snapshot, self._unrecorded, unseen)
            self._unrecorded = []
            self._history_due = snapshot.taken_at + self.history_pace
        workers = self.following.worker_totals()
        recent = self._recent.update(taken.completions, snapshot.taken_at)
        self._ended.extend(taken.completions[: MAX_ENDED - len(self._ended)])
        if details:
            self.overview = Overview(
                snapshot,
                tuple(self.watch.failed(FAILED_SHOWN)),
                self._trends.update(snapshot, self._ended, unseen),
                recent,
                workers.untracked,
            )
            self._ended = []
        self.totals.add(snapshot, taken.completions, taken.skipped)
        streams = taken.streams()
        for stream in streams.values():
            self.totals.add_stream(stream)
        self.totals.follow_workers(workers)
        reading = (
            metrics.from_snapshot(self.name, snapshot)
            + metrics.from_totals(self.name, self.totals)
            + metrics.from_stream(
                self.name,
                snapshot,
                self.totals,
                {system: stream.exact_queues for system, stream in streams.items()},
            )
            + celery_metrics.reading(self.name, snapshot, self.totals)
            + dramatiq_metrics.reading(self.name, snapshot)
            + arq_metrics.reading(self.name, snapshot)
        )
        if self.state is not None:
            positions = (
                self.following.position,
                self.watch.dramatiq_stream.position,
                self.watch.arq_stream.position,
            )
            checkpoint = Checkpoint.taken(self.totals, positions, workers)
            self.state.save(self.name, checkpoint)
        return reading

    def close(self) -> None:
        self._closed.set()
        self.following.stop()
        self.watch.close()
        self._thread.shutdown(wait=False, cancel_futures=True)
        self.client.close()


class QwatchCollector:
    """A prometheus_client collector over one or more Redis instances."""

    def __init__(self, sources: Sequence[RedisSource], timeout: float) -> None:
        self.sources = sources
        self.timeout = timeout

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """While a scrape is read and written out, no tracker poll starts beside it (its
        Redis commands and its CPU would count against the scrape), for up to a quarter of
        the tracker's interval: a poll is late by that much at most."""
        with contextlib.ExitStack() as stack:
            for source in self.sources:
                stack.enter_context(source.answering())
            yield

    def describe(self) -> list[Metric]:
        """Declared families, so registering the collector reads no Redis."""
        return list(families([(series, []) for series in SERIES]))

    def collect(self) -> Iterator[Metric]:
        """The families prometheus_client asks for: OpenMetrics is written from these."""
        return families(self.read())

    def read(self) -> Reading:
        """Every Redis read at once, within the timeout; one entry per series."""
        health, shared = self.read_parts()
        return metrics.merge([health, *shared])

    def read_parts(self) -> tuple[Reading, tuple[Reading, ...]]:
        """This scrape's own health series, and the readings it shares with other scrapes.

        Each shared reading is the very object every scrape waiting on the same
        collection gets, so the server can write it out once for all of them.
        """
        started = time.monotonic()
        deadline = started + self.timeout
        pending = [(source, source.start_reading()) for source in self.sources]
        health = []
        shared: list[Reading] = []
        for source, future in pending:
            got = self._wait(source, future, deadline)
            elapsed = time.monotonic() - started
            health.append(metrics.health(source.name, elapsed, got is not None))
            shared.append(got or NOTHING)
        return metrics.merge(health), (*shared, BUILD_INFO)

    def _wait(
        self, source: RedisSource, reading: Future[Reading], deadline: float
    ) -> Reading | None:
        try:
            result = reading.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            self._report(source, f"no answer within {self.timeout:g}s")
            return None
        except Exception as exc:  # whatever went wrong, /metrics must still answer
            self._report(source, redis_reason(exc))
            return None
        if not source.up:
            log.warning("redis %s: reachable again", source.name)
            source.up = True
        return result

    @staticmethod
    def _report(source: RedisSource, reason: str) -> None:
        source.down_reason = reason
        source.history.unreachable(time.time(), reason)
        if source.up:
            log.warning("redis %s: down: %s", source.name, reason)
            source.up = False
