"""RQ's finished and failed jobs followed in a thread, and handed to a face once each.

A job whose `result_ttl` is a few seconds leaves its registry before the next
Prometheus scrape or screen refresh; a tracker polling every second or so
reads it first (`CompletionTracker`). Its completions wait for the face's
next reading, which `take`s them with the completions stream exact mode
writes (`CompletionStream`): the stream's for the queues it counts exactly,
the registries' for the others. When Redis fails, the poll is retried at the
next interval on a new connection, and the completions of the outage are
found then, from the last poll's time on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import redis

from qwatch.errors import redis_reason
from qwatch.limits import PENDING_LIMIT
from qwatch.model import (
    ABSENT,
    RQ,
    Completion,
    Snapshot,
    StreamPosition,
    Taken,
    WorkerTotals,
)
from qwatch.rq.completions import CompletionTracker
from qwatch.rq.keys import RQKeys
from qwatch.rq.stream import CompletionStream
from qwatch.wire.turns import GaveWay, Turn

DEFAULT_INTERVAL = 1.0
"""Seconds between polls: see the docs for its measured cost at 1,000 queues and workers."""
MIN_INTERVAL, MAX_INTERVAL = 0.1, 60.0
PATIENCE = 0.25
"""The share of an interval a poll waits for a face writing out a reading: it is never
later than that for it."""

log = logging.getLogger("qwatch.rq.tracking")

Overflow = Callable[[list[Completion]], None]
"""What to do with completions no `take` came for in time, instead of dropping the oldest."""


class Following:
    """Polls one Redis for completions every `interval` seconds until stopped.

    At most `PENDING_LIMIT` completions wait between two `take`s. Past it, the
    waiting ones of the queues the stream does not count go to `overflow` (the
    exporter folds them into its totals), or without one the oldest are
    dropped (a screen shows only the latest anyway).
    """

    def __init__(
        self,
        name: str,
        client: redis.Redis,
        keys: RQKeys,
        *,
        interval: float = DEFAULT_INTERVAL,
        ttls: Iterable[float] = (),
        resume: StreamPosition | None = None,
        turn: Turn | None = None,
        overflow: Overflow | None = None,
        watching: Callable[[], bool] = lambda: True,
    ) -> None:
        """`resume`: where a previous reader of the stream stopped. `turn`: taken for each
        poll, shared with a caller whose own readings of this Redis should not run at the
        same time, and go first.
        `watching`: whether RQ is watched now; while it is not, polls read nothing (a user
        allowed another system's keys alone is never refused)."""
        self.watching = watching
        self.name = name
        self.client = client
        self.tracker = CompletionTracker(ttls, keys)
        self.stream = CompletionStream(resume=resume, keys=keys)
        self.interval = interval
        self.polls = 0
        """Polls completed, successful or not: tests wait on it instead of sleeping."""
        self.failing = False
        self._overflow = overflow
        self._pending: list[Completion] = []
        self._skipped = 0
        self._exact: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        """Guards what waits for a `take`: the thread adds, the face's reading takes."""
        self._turn = turn or Turn()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._done = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, name=f"qwatch-tracker-{name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the thread; a poll in progress ends at its Redis timeout at most."""
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def resume(self, workers: WorkerTotals) -> None:
        """Go on from the workers' totals a state file kept; before `start`."""
        self.tracker.workers.resume(workers)

    @property
    def position(self) -> StreamPosition | None:
        """Where the stream's reading stopped: what a state file keeps."""
        return self.stream.position

    def worker_totals(self) -> WorkerTotals:
        """RQ's workers' own figures as the polls followed them; in the caller's turn."""
        return self.tracker.workers.totals()

    def take(self, snapshot: Snapshot) -> Taken:
        """What ended since the last take, each once: reads the stream (one round trip, and
        none of its cursor moves if it fails) and hands out what the polls found."""
        if not self.watching():
            return Taken([], ABSENT, 0)
        streamed = self.stream.poll(self.client, snapshot.only(RQ))
        with self._lock:
            pending, self._pending = self._pending, []
            skipped, self._skipped = self._skipped, 0
            self._exact = streamed.exact_queues
        return Taken(streamed.counted(pending), streamed, skipped)

    def poll_soon(self) -> int:
        """Ask for a poll now; returns the count of polls to wait past."""
        with self._done:
            count = self.polls
        self._wake.set()
        return count

    def wait_past(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until more than `count` polls have completed."""
        with self._done:
            return self._done.wait_for(lambda: self.polls > count, timeout)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._poll_once()
            self._wake.wait(self.interval)
            self._wake.clear()

    def _poll_once(self) -> None:
        if self.watching():
            self._follow()
        with self._done:
            self.polls += 1
            self._done.notify_all()

    def _follow(self) -> None:
        try:
            self._poll_giving_way_once()
            if self.failing:
                log.warning("redis %s: completions followed again", self.name)
                self.failing = False
        except Exception as exc:  # a thread that dies would silently stop counting
            if not self.failing:
                log.warning("redis %s: cannot follow completions: %s", self.name, redis_reason(exc))
                self.failing = True

    def _poll_giving_way_once(self) -> None:
        """A poll that gives way to a reading runs again after it, to its end that time."""
        try:
            self._poll_in_turn(self._turn.give_way)
        except GaveWay:
            self._poll_in_turn(None)

    def _poll_in_turn(self, give_way: Callable[[], None] | None) -> None:
        with self._turn.polling(patience=self.interval * PATIENCE):
            spilled = self._keep(self.tracker.poll(self.client, give_way=give_way))
            if spilled and self._overflow is not None:
                self._overflow(spilled)

    def _keep(self, completions: list[Completion]) -> list[Completion]:
        """Keep a poll's completions for the next take; those that do not fit, to spill."""
        with self._lock:
            self._pending += completions
            self._skipped += self.tracker.skipped
            if len(self._pending) <= PENDING_LIMIT:
                return []
            if self._overflow is None:
                del self._pending[:-PENDING_LIMIT]
                return []
            pending, self._pending = self._pending, []
            return [c for c in pending if c.queue not in self._exact]
