"""Everything `qwatch top` reads and writes, through the collector's functions only.

The app calls these from thread workers: a poll is blocking I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis

from qwatch.completions import CompletionTracker
from qwatch.connection import Target, translated_errors
from qwatch.functions import FunctionCounts, read_function_counts
from qwatch.jobs import FailedJob, JobDetail, read_failed, read_job
from qwatch.reader import read_snapshot
from qwatch.snapshot import Snapshot
from qwatch.stream import CompletionStream
from qwatch.tui.trends import QueueTrend, Trends

FAILED_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Update:
    """One poll: the snapshot, the newest failed jobs, trends, and function counts if asked."""

    snapshot: Snapshot
    failed: tuple[FailedJob, ...]
    trends: dict[str, QueueTrend]
    functions: FunctionCounts | None


class Source(Protocol):
    """What the app reads and writes through: a Redis `Feed`, or frozen data for snapshots."""

    target: Target

    def poll(self, with_functions: bool) -> Update: ...

    def job(self, job_id: str) -> JobDetail | None: ...

    def act(self, action: Callable[[redis.Redis], str]) -> str: ...


class Feed:
    """Reads one Redis for the app; not thread-safe, so the app polls from one worker at a time."""

    def __init__(self, target: Target, client: redis.Redis) -> None:
        self.target = target
        self.client = client
        self._tracker = CompletionTracker()
        self._stream = CompletionStream()
        self._trends = Trends()

    def poll(self, with_functions: bool) -> Update:
        with translated_errors(self.target):
            snapshot = read_snapshot(self.client)
            streamed = self._stream.poll(self.client, snapshot)
            completions = streamed.counted(self._tracker.poll(self.client, snapshot))
            failed = tuple(read_failed(self.client, limit=FAILED_LIMIT))
            queues = [queue.name for queue in snapshot.queues]
            functions = read_function_counts(self.client, queues) if with_functions else None
        return Update(snapshot, failed, self._trends.update(snapshot, completions), functions)

    def job(self, job_id: str) -> JobDetail | None:
        with translated_errors(self.target):
            return read_job(self.client, job_id)

    def act(self, action: Callable[[redis.Redis], str]) -> str:
        """Run one of `qwatch.actions` on this Redis; its message says what it did."""
        with translated_errors(self.target):
            return action(self.client)
