"""Completions followed at their own pace, in a thread: short-lived records are read in time.

A job whose `result_ttl` is a few seconds leaves its registry before the next
Prometheus scrape; a tracker polling every second or so reads it first. Each
poll's completions go to `deliver`; whoever reads them (a scrape, a screen)
reads the totals they built. When Redis fails, the poll is retried at the
next interval on a new connection, and the completions of the outage are
found then, from the last poll's time on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

from qwatch.errors import redis_reason
from qwatch.model import Completion
from qwatch.rq.completions import CompletionTracker

DEFAULT_INTERVAL = 1.0
"""Seconds between polls: see the README for its measured cost at 1,000 queues and workers."""
MIN_INTERVAL, MAX_INTERVAL = 0.1, 60.0

log = logging.getLogger("qwatch.rq.tracking")

Deliver = Callable[[list[Completion], CompletionTracker], None]


class BackgroundTracker:
    """Polls one Redis for completions every `interval` seconds until stopped."""

    def __init__(
        self,
        name: str,
        client: redis.Redis,
        tracker: CompletionTracker,
        deliver: Deliver,
        interval: float = DEFAULT_INTERVAL,
        turn: threading.Lock | None = None,
    ) -> None:
        """`turn`: held during each poll, by a caller whose own reads of this Redis should
        not run at the same time (Python runs one thread at a time: two readings at once
        both take twice as long)."""
        self.name = name
        self.client = client
        self.tracker = tracker
        self.interval = interval
        self.polls = 0
        """Polls completed, successful or not: tests wait on it instead of sleeping."""
        self.failing = False
        self._deliver = deliver
        self._turn = turn or threading.Lock()
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
        try:
            with self._turn:
                completions = self.tracker.poll(self.client)
                self._deliver(completions, self.tracker)
            if self.failing:
                log.warning("redis %s: completions followed again", self.name)
                self.failing = False
        except Exception as exc:  # a thread that dies would silently stop counting
            if not self.failing:
                log.warning("redis %s: cannot follow completions: %s", self.name, redis_reason(exc))
                self.failing = True
        with self._done:
            self.polls += 1
            self._done.notify_all()
