"""Everything `qwatch top` reads and writes, through the collector's functions only.

The app calls these from thread workers: a poll is blocking I/O. Finished
and failed jobs are followed apart, by the same background tracker as the
exporter's (`qwatch.rq.tracking`), every `track_interval` seconds whatever the
refresh interval, so a job whose result is kept for a few seconds is
counted; each refresh takes what it found since the last one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import redis

from qwatch.errors import translated_errors
from qwatch.limits import PENDING_LIMIT
from qwatch.model import RQ, Completion, FailedJob, JobDetail, JobPage, PageRequest, Snapshot
from qwatch.rq.browse import read_page
from qwatch.rq.completions import CompletionTracker
from qwatch.rq.functions import FunctionCounts, read_function_counts
from qwatch.rq.stream import CompletionStream
from qwatch.rq.tracking import DEFAULT_INTERVAL, BackgroundTracker
from qwatch.tui.recent import FunctionRecent, RecentCompletions
from qwatch.tui.trends import QueueTrend, Trends
from qwatch.watch import Watch
from qwatch.wire.connection import Target

FAILED_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Update:
    """One poll: the snapshot, the newest failed jobs, trends, function counts if asked, and
    each function's recent completions."""

    snapshot: Snapshot
    failed: tuple[FailedJob, ...]
    trends: dict[str, QueueTrend]
    functions: FunctionCounts | None
    recent: dict[str, FunctionRecent] = field(default_factory=dict)
    """Per function, completions of the last minutes (`recent.WINDOW_SECONDS`)."""


class Source(Protocol):
    """What the app reads and writes through: a Redis `Feed`, or frozen data for snapshots."""

    target: Target

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def poll(self, with_functions: bool) -> Update: ...

    def job(self, job_id: str) -> JobDetail | None: ...

    def page(self, request: PageRequest) -> JobPage: ...

    def act(self, action: Callable[..., str]) -> str: ...


class Feed:
    """Reads one Redis for the app; not thread-safe, so the app polls from one worker at a time.

    `start` and `stop` the completion tracker's thread with the app: until
    started, polls count only what the completions stream says.
    """

    def __init__(
        self,
        target: Target,
        client: redis.Redis,
        track_interval: float = DEFAULT_INTERVAL,
        watch: Watch | None = None,
    ) -> None:
        """`watch`: which systems to read (default RQ alone)."""
        self.target = target
        self.client = client
        self.watch = watch or Watch(client, RQ)
        keys = self.watch.rq_keys
        self.following = BackgroundTracker(
            target.display, client, CompletionTracker(keys=keys), self._follow, track_interval
        )
        self._pending: list[Completion] = []
        self._pending_lock = threading.Lock()
        """Guards `_pending`: the tracker's thread adds, the app's poll takes."""
        self._stream = CompletionStream(keys=keys)
        self._trends = Trends()
        self._recent = RecentCompletions()

    def start(self) -> None:
        """Start following completions."""
        self.following.start()

    def stop(self) -> None:
        """Stop following completions, without waiting for a poll in progress to end."""
        self.following.stop(timeout=0)
        self.watch.close()

    def _follow(self, completions: list[Completion], _tracker: CompletionTracker) -> None:
        """Runs in the tracker's thread after each poll: its completions wait for a refresh."""
        with self._pending_lock:
            self._pending += completions
            del self._pending[:-PENDING_LIMIT]

    def poll(self, with_functions: bool) -> Update:
        """One refresh; the stream is read last, so a failure before it moves no cursor."""
        with translated_errors(self.target):
            snapshot = self.watch.read()
            rq = snapshot.only(RQ)
            failed = tuple(self.watch.failed(FAILED_LIMIT))
            queues = [queue.name for queue in rq.queues]
            functions = (
                read_function_counts(self.client, queues, keys=self.watch.rq_keys)
                if with_functions
                else None
            )
            streamed = self._stream.poll(self.client, rq)
        with self._pending_lock:
            tracked, self._pending = self._pending, []
        completions = streamed.counted(tracked) + self.watch.take_completions()
        trends = self._trends.update(snapshot, completions)
        recent = self._recent.update(completions, snapshot.taken_at)
        return Update(snapshot, failed, trends, functions, recent)

    def job(self, job_id: str) -> JobDetail | None:
        """RQ's job with this id, else Celery's task: its stored result or the failure heard."""
        with translated_errors(self.target):
            return self.watch.job(job_id)

    def page(self, request: PageRequest) -> JobPage:
        """One page of the job browser: two round trips, whatever the registry's size."""
        with translated_errors(self.target):
            return read_page(self.client, request, keys=self.watch.rq_keys)

    def act(self, action: Callable[..., str]) -> str:
        """Run one of `qwatch.rq.actions` on this Redis, under its RQ prefix; its message says
        what it did."""
        with translated_errors(self.target):
            return action(self.client, keys=self.watch.rq_keys)
