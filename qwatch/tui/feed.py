"""Everything `qwatch top` reads and writes, through the collector's functions only.

The app calls these from thread workers: a poll is blocking I/O. Finished
and failed jobs are followed apart, as the exporter follows them
(`Watch.follow`), every `track_interval` seconds whatever the refresh
interval, so a job whose result is kept for a few seconds is counted; each
refresh takes what was found since the last one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Protocol

import redis

from qwatch import Target
from qwatch.errors import QwatchError, first_line, translated_errors
from qwatch.history.moments import Moment
from qwatch.history.recorder import HOUR, TIERS, History
from qwatch.model import (
    RQ,
    FailedJob,
    FunctionCounts,
    JobDetail,
    JobPage,
    PageRequest,
    SearchProgress,
    SearchRequest,
    Snapshot,
)
from qwatch.prometheus.longer import LongerPast
from qwatch.text.history_line import blocks
from qwatch.text.recent import FunctionRecent, RecentCompletions
from qwatch.text.row_keys import key_of
from qwatch.text.trends import QueueTrend, Trends
from qwatch.watch import TRACK_INTERVAL, Watch

FAILED_LIMIT = 200
MOMENTS_SHOWN = 200
"""The newest moments the changes screen lists."""
FLEET_LINES = ("out", "failed")
"""What the header line draws of the whole Redis's last hour."""
QUEUE_LINES = ("queued", "out", "failed")
"""What a queue's jobs screen draws of its last hour."""
BACKLOG_CELLS = 30
"""Cells of a queue row's line of its queued jobs over the hour: two minutes a cell."""
Columns = dict[str, list[float]]
"""Measures of a span, a value a step, NaN where nobody sampled (`History.*_column`)."""
HOUR_SECONDS = TIERS[HOUR][0]


@dataclass(frozen=True, slots=True)
class Past:
    """Lines of the past: each measure's values over `span` seconds ending now."""

    columns: Columns = field(default_factory=dict)
    span: float = HOUR_SECONDS


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
    moments: tuple[Moment, ...] = ()
    """What changed since top started, newest first (`History.moments`)."""
    throughput: Past = field(default_factory=Past)
    """The whole Redis's jobs out and failed per minute (`FLEET_LINES`): over the last
    hour, or over `--prometheus-window` from Prometheus."""
    past_note: str | None = None
    """Why the lines are not Prometheus' when it was asked for them."""
    backlogs: dict[str, str] = field(default_factory=dict)
    """Each queue's queued jobs over the last hour as a line of `BACKLOG_CELLS`, by row key."""


Action = Callable[[Watch], str]
"""A write, one of `Watch`'s actions with its job or queue given."""


class Source(Protocol):
    """What the app reads and writes through: a Redis `Feed`, or frozen data for snapshots."""

    target: Target

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def poll(self, with_functions: bool) -> Update: ...

    def job(self, job_id: str) -> JobDetail | None: ...

    def page(self, request: PageRequest) -> JobPage: ...

    def dramatiq_page(self, request: PageRequest) -> JobPage: ...

    def arq_page(self, request: PageRequest) -> JobPage: ...

    def search(self, request: SearchRequest) -> Generator[SearchProgress, None, None]: ...

    def act(self, action: Action) -> str: ...

    def queue_past(self, system: str, name: str) -> Past: ...


class Feed:
    """Reads one Redis for the app; not thread-safe, so the app polls from one worker at a time.

    `start` and `stop` the completion tracker's thread with the app: until
    started, polls count only what the completions stream says.
    """

    def __init__(
        self,
        target: Target,
        client: redis.Redis,
        track_interval: float = TRACK_INTERVAL,
        watch: Watch | None = None,
        longer: LongerPast | None = None,
    ) -> None:
        """`watch`: which systems to read (default RQ alone); `longer`: Prometheus, for the
        lines of the past over a longer window than top's own hour."""
        self.target = target
        self.longer = longer
        self.client = client
        self.watch = watch or Watch(client, RQ)
        self.following = self.watch.follow(target.display, interval=track_interval)
        self._trends = Trends()
        self._recent = RecentCompletions()
        self.history = History()
        self._backlogs: dict[str, str] = {}
        self._backlogs_slot: int | None = None

    def start(self) -> None:
        """Start following completions."""
        self.following.start()

    def stop(self) -> None:
        """Stop following completions, without waiting for a poll in progress to end."""
        self.following.stop(timeout=0)
        self.watch.close()

    def poll(self, with_functions: bool) -> Update:
        """One refresh; the stream is read last, so a failure before it moves no cursor."""
        try:
            with translated_errors(self.target):
                snapshot = self.watch.read()
                failed = tuple(self.watch.failed(FAILED_LIMIT))
                queues = [queue.name for queue in snapshot.only(RQ).queues]
                functions = self.watch.function_counts(queues) if with_functions else None
                taken = self.watch.take(snapshot)
        except QwatchError as exc:
            self.history.unreachable(time.time(), first_line(exc))
            raise
        completions = taken.completions
        unseen = taken.unseen(snapshot)
        trends = self._trends.update(snapshot, completions, unseen)
        recent = self._recent.update(completions, snapshot.taken_at)
        self.history.record(snapshot, completions, unseen)
        moments = tuple(self.history.moments_newest_first(MOMENTS_SHOWN))
        at = snapshot.taken_at
        throughput = self._longer(
            lambda longer: longer.fleet(),
            lambda: {m: self.history.total_column(m, at) for m in FLEET_LINES},
        )
        note = self._past_note()
        backlogs = self._backlog_lines(snapshot)
        return Update(
            snapshot, failed, trends, functions, recent, moments, throughput, note, backlogs
        )

    def _backlog_lines(self, snapshot: Snapshot) -> dict[str, str]:
        """Every queue's hour of queued jobs, drawn again once a slot of the history (a line
        costs tens of microseconds: ten thousand rows a poll would be half a second), and a
        queue's first line as soon as it appears."""
        at = snapshot.taken_at
        slot = int(at // self.history.hour_step())
        if slot != self._backlogs_slot:
            _step, columns = self.history.queue_columns("queued", at)
            self._backlogs = {key: blocks(column, BACKLOG_CELLS) for key, column in columns.items()}
            self._backlogs_slot = slot
        for queue in snapshot.queues:
            key = key_of(queue)
            if key not in self._backlogs:
                column = self.history.queue_column(queue.system, queue.name, "queued", at)
                self._backlogs[key] = blocks(column, BACKLOG_CELLS)
        return self._backlogs

    def queue_past(self, system: str, name: str) -> Past:
        """A queue's lines (`QUEUE_LINES`): from Prometheus if asked and it answers, else
        the last hour as top has sampled it (empty lists when top has not seen it)."""
        now = time.time()
        return self._longer(
            lambda longer: longer.queue(system, name),
            lambda: {m: self.history.queue_column(system, name, m, now) for m in QUEUE_LINES},
        )

    def _longer(
        self, ask: Callable[[LongerPast], Columns | None], own: Callable[[], Columns]
    ) -> Past:
        """Prometheus' lines over its window when it answers; top's own hour otherwise."""
        if self.longer is None:
            return Past(own())
        columns = ask(self.longer)
        return Past(own()) if columns is None else Past(columns, self.longer.span)

    def _past_note(self) -> str | None:
        if self.longer is None or self.longer.problem is None:
            return None
        return f"{self.longer.problem}: the lines show top's own last hour"

    def job(self, job_id: str) -> JobDetail | None:
        """RQ's job with this id, else Celery's task: its stored result or the failure heard."""
        with translated_errors(self.target):
            return self.watch.job(job_id)

    def page(self, request: PageRequest) -> JobPage:
        """One page of the job browser: two round trips, whatever the registry's size."""
        with translated_errors(self.target):
            return self.watch.page(request)

    def dramatiq_page(self, request: PageRequest) -> JobPage:
        """One page of a Dramatiq queue's messages: three round trips, whatever its size."""
        with translated_errors(self.target):
            return self.watch.dramatiq_page(request)

    def arq_page(self, request: PageRequest) -> JobPage:
        """One page of an arq queue's jobs: three round trips, whatever its size."""
        with translated_errors(self.target):
            return self.watch.arq_page(request)

    def search(self, request: SearchRequest) -> Generator[SearchProgress, None, None]:
        """A search's progress, a batch at a time; closing the iterator stops it."""
        with translated_errors(self.target):
            yield from self.watch.search(request)

    def act(self, action: Action) -> str:
        """Run one of `Watch`'s actions on this Redis; its message says what it did."""
        with translated_errors(self.target):
            return action(self.watch)
