"""The records every face shows: a sample of one Redis, jobs, failures, pages, completions.

Sources fill them (`qwatch.rq`, `qwatch.celery`, `qwatch.dramatiq`, `qwatch.arq`); faces
read them through `qwatch.watch`. Each record says whose it is in `system`, given by the source
that made it, never assumed. Times are seconds since the epoch as floats;
ages are seconds. A value the system did not record, recorded out of any
sensible range, or does not have at all (Celery keeps no registry of finished
jobs), is None, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple, TypeVar

from qwatch.limits import SCAN_WINDOW, SEARCH_BATCH, SEARCHED_CHARACTERS

RQ, CELERY, DRAMATIQ, ARQ = "rq", "celery", "dramatiq", "arq"
SYSTEMS = (RQ, CELERY, DRAMATIQ, ARQ)


@dataclass(frozen=True, slots=True)
class CeleryQueue:
    """What only a Celery queue has: kombu's priority lists and its unacked messages."""

    by_priority: tuple[tuple[int, int], ...]
    """(priority step, messages waiting in its list), for every step, 0 (the highest) first."""
    reserved: int | None
    """Messages a worker took and has not acked: prefetched, ETA-held, and (acks_late) running."""
    overdue: int | None
    """Reserved messages older than the visibility timeout: kombu will deliver them again."""
    oldest_reserved_age_seconds: float | None
    head_tasks: tuple[tuple[str, int], ...]
    """(task name, messages) among the next `head_read` messages to be consumed."""
    head_read: int


@dataclass(frozen=True, slots=True)
class QueueStats:
    """One queue: jobs waiting, jobs in every registry, who listens.

    A Celery queue has no registries: its `finished`, `failed`, `deferred`,
    `canceled` and `intermediate` are None, `scheduled` counts its ETA-held
    messages, and `workers` is None (nothing in Redis says who consumes it).
    """

    name: str
    queued: int
    started: int | None
    finished: int | None
    failed: int | None
    deferred: int | None
    scheduled: int | None
    canceled: int | None
    intermediate: int | None
    oldest_queued_age_seconds: float | None
    workers: int | None
    head_job: str | None
    system: str = field(kw_only=True)
    celery: CeleryQueue | None = None
    ready: int | None = None
    """RQ 3.0: dependents whose dependencies are met, about to join the queue."""
    rate_limited: int | None = None
    """RQ 3.0: jobs of this queue that a rate limit holds back, outside the queue's list
    (0 on RQ 2, which has no rate limits; None for Celery)."""
    scheduler: str | None = None
    """The RQ scheduler holding this queue's lock (it moves due scheduled jobs); None if none."""


@dataclass(frozen=True, slots=True)
class CurrentJob:
    """A job a worker is running now; RQ 3.0 workers may run several at once."""

    id: str
    description: str | None
    seconds: float | None
    """How long it has run."""


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """One registered worker, as its hash in Redis describes it."""

    name: str
    hostname: str | None
    pid: int | None
    state: str
    queues: tuple[str, ...]
    current_job: str | None
    current_job_description: str | None
    current_job_seconds: float | None
    birth: float | None
    heartbeat_age_seconds: float | None
    heartbeat_overdue: bool
    successful_jobs: int | None
    failed_jobs: int | None
    working_seconds: float | None
    ip_address: str | None = None
    python_version: str | None = None
    rq_version: str | None = None
    system: str = field(kw_only=True)
    processed: int | None = None
    """Celery: tasks the worker says it processed, whatever their outcome."""
    first_processed: int | None = None
    """Celery: its `processed` when qwatch first heard it (lower after a restart under the
    same name): the difference is what it processed while qwatch listened."""
    load_average: tuple[float, ...] | None = None
    task_events: bool | None = None
    """Celery: whether the worker sends task events; None until it has processed a task
    while qwatch listened."""
    current_jobs: tuple[CurrentJob, ...] = ()
    """Every job it runs now (`current_job` and its fields are the longest-running one)."""
    retried_jobs: int | None = None
    """arq: jobs the worker retried, as its health check counts them."""


@dataclass(frozen=True, slots=True)
class AbandonedJob:
    """A started job whose execution stopped heartbeating and whose worker is gone."""

    id: str
    queue: str
    worker: str | None
    overdue_seconds: float


@dataclass(frozen=True, slots=True)
class RateLimitStats:
    """One rate-limit key: its limit, the jobs holding a slot, the jobs held back."""

    key: str
    concurrency: int | None
    running: int
    """Jobs holding a slot: queued after their turn came, or running."""
    waiting: int
    """Jobs held back until a slot frees."""
    oldest_waiting_age_seconds: float | None


CRON_STALE_SECONDS = 120.0
"""RQ's cron scheduler heartbeats every 30 s or so: silent this long, it is gone."""


@dataclass(frozen=True, slots=True)
class CronJob:
    """One job a cron scheduler enqueues on a schedule."""

    name: str | None
    function: str | None
    queue: str | None
    schedule: str | None
    """The cron expression, or `every N s`."""
    next_run_at: float | None
    last_run_at: float | None


@dataclass(frozen=True, slots=True)
class CronScheduler:
    """One running `rq cron` process, as it registered itself."""

    name: str
    hostname: str | None
    pid: int | None
    heartbeat_age_seconds: float | None
    jobs: tuple[CronJob, ...]

    @property
    def stale(self) -> bool:
        age = self.heartbeat_age_seconds
        return age is not None and age > CRON_STALE_SECONDS


@dataclass(frozen=True, slots=True)
class RedisInfo:
    """What INFO says about the server; None where INFO was not allowed."""

    version: str | None
    used_memory_bytes: int | None
    max_memory_bytes: int | None
    keys_per_db: tuple[tuple[int, int], ...] = ()
    """(db, number of keys) of every non-empty database: where RQ may be when not here."""


@dataclass(frozen=True, slots=True)
class CeleryWatch:
    """Celery's workers and tasks are seen only through events, while qwatch listens."""

    listening_seconds: float
    """How long qwatch has been subscribed: workers send a heartbeat every 2 s."""
    events_seen: int
    results_seen: int
    """Results the result backend published (its channel works without task events)."""
    expired_workers: int = 0
    """How many of the snapshot's `expired_workers` are Celery's: the last ones listed."""


@dataclass(frozen=True, slots=True)
class DramatiqWatch:
    """What Dramatiq's broker processes hold that the worker records do not say."""

    silent_held: int
    """Messages fetched, not acked, by brokers silent past Dramatiq's heartbeat timeout:
    Dramatiq requeues them only when a live worker's fetch happens to clean up."""
    unknown_brokers: int
    """Live broker processes seen fetching nothing: producers (which heartbeat too) or
    idle workers."""


@dataclass(frozen=True, slots=True)
class ArqWatch:
    """What arq's queue counts leave out."""

    results_unread: int
    """Results kept in Redis that qwatch did not read (over its limits of number or size):
    the queues' finished and failed counts leave them out."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything qwatch knows about one Redis at one moment."""

    taken_at: float
    queues: tuple[QueueStats, ...]
    workers: tuple[WorkerStats, ...]
    abandoned_jobs: tuple[AbandonedJob, ...]
    expired_workers: tuple[str, ...]
    suspended: bool
    redis: RedisInfo
    records_skipped: int = 0
    """Queues, workers and abandoned jobs left out because a value in them was absurd."""
    notes: tuple[str, ...] = ()
    """What this reading could not see, and why: for a person to read."""

    celery: CeleryWatch | None = None
    """How long qwatch has listened to Celery's events, when it watches Celery."""
    dramatiq: DramatiqWatch | None = None
    """What Dramatiq's brokers hold, when qwatch watches Dramatiq."""
    arq: ArqWatch | None = None
    """What arq's counts leave out, when qwatch watches arq."""
    rate_limits: tuple[RateLimitStats, ...] = ()
    """RQ 3.0's rate-limit keys, by key."""
    cron_schedulers: tuple[CronScheduler, ...] = ()
    """RQ 3.0's running cron schedulers, with the jobs each enqueues."""

    def only(self, system: str) -> Snapshot:
        """The records of one system: what that system's own readers work on."""
        if all(queue.system == system for queue in self.queues) and all(
            worker.system == system for worker in self.workers
        ):
            return self
        return replace(
            self,
            queues=tuple(queue for queue in self.queues if queue.system == system),
            workers=tuple(worker for worker in self.workers if worker.system == system),
        )

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data; its keys are documented in docs/json.md."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Completion:
    """A job that finished or failed for good, seen once."""

    id: str
    queue: str
    outcome: str
    function: str | None
    exception: str | None
    enqueued_at: float | None
    started_at: float | None
    ended_at: float
    system: str = field(kw_only=True)

    @property
    def run_seconds(self) -> float | None:
        """Run time: ended minus started."""
        return None if self.started_at is None else max(0.0, self.ended_at - self.started_at)

    @property
    def wait_seconds(self) -> float | None:
        """Time in the queue: started minus enqueued."""
        if self.started_at is None or self.enqueued_at is None:
            return None
        return max(0.0, self.started_at - self.enqueued_at)


@dataclass(frozen=True, slots=True)
class FunctionCount:
    """How many jobs calling one function are queued, running and failed."""

    function: str
    queued: int
    started: int
    failed: int


@dataclass(frozen=True, slots=True)
class FunctionCounts:
    """Counts per function, and whether any list was longer than what was read."""

    rows: tuple[FunctionCount, ...]
    sampled: bool


StreamId = tuple[int, int]
"""A stream entry's id: milliseconds and sequence number."""


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where a reader of the completions stream stopped: the last entry it read, and how
    many entries had ever been added up to that one (0 when Redis does not say), to count
    what is trimmed after it."""

    last_id: StreamId
    number: int


@dataclass(frozen=True, slots=True)
class StreamReading:
    """One poll of the completions stream exact mode writes: what ended, which queues it
    counts exactly, what it lost or skipped."""

    present: bool
    completions: tuple[Completion, ...]
    retried: tuple[Completion, ...]
    exact_queues: frozenset[str]
    lost: int
    skipped: int

    def counted(self, tracked: Iterable[Completion]) -> list[Completion]:
        """Finished and failed jobs: the stream's, and the registries' of the other queues."""
        others = [c for c in tracked if c.queue not in self.exact_queues]
        return [*self.completions, *others]


ABSENT = StreamReading(False, (), (), frozenset(), 0, 0)
"""The reading of a stream that is not there."""


WorkerCounters = tuple[int, int, float]
"""An RQ worker's own counters: jobs finished, jobs failed, working seconds."""


@dataclass(frozen=True, slots=True)
class WorkerTotals:
    """What RQ's workers reported since qwatch began following them, by their own counters,
    and the jobs among those that no registry showed; with each worker's counters as last
    read, to go on from after a restart."""

    reported: tuple[tuple[str, int], ...]
    """Per outcome (`job_states.OUTCOMES`): the counters' increases."""
    untracked: tuple[tuple[str, int], ...]
    working_seconds: float
    counters: tuple[tuple[str, WorkerCounters], ...]


NO_WORKER_TOTALS = WorkerTotals((), (), 0.0, ())


@dataclass(frozen=True, slots=True)
class Taken:
    """The jobs that ended since a face last asked, each once, and what the stream said."""

    completions: list[Completion]
    stream: StreamReading
    skipped: int
    """Jobs the registries showed ended but whose records could not be turned into data."""
    dramatiq: StreamReading = ABSENT
    """What Dramatiq's stream said; its completions are among `completions`."""
    arq: StreamReading = ABSENT
    """What arq's stream said; its completions are among `completions`."""

    def streams(self) -> dict[str, StreamReading]:
        """Each system's stream reading, RQ's, Dramatiq's and arq's."""
        return {RQ: self.stream, DRAMATIQ: self.dramatiq, ARQ: self.arq}

    def unseen(self, snapshot: Snapshot) -> frozenset[tuple[str, str]]:
        """The queues, by system and name, whose ended jobs qwatch cannot see: Dramatiq's and
        arq's that their streams do not count (Redis keeps no trace of an acked Dramatiq
        message, nor an index of arq's results)."""
        exact = {DRAMATIQ: self.dramatiq.exact_queues, ARQ: self.arq.exact_queues}
        return frozenset(
            (q.system, q.name)
            for q in snapshot.queues
            if q.system in exact and q.name not in exact[q.system]
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One recorded execution of a job: how and when it ended, and on which worker."""

    recorded_at: float | None
    outcome: str
    worker: str | None
    execution_id: str | None
    started_at: float | None
    ended_at: float | None
    result: str | None
    exception: str | None


@dataclass(frozen=True, slots=True)
class Waiting:
    """Where a Celery task's message is in the broker: kombu keeps no other record of a task
    that has not ended."""

    queue: str
    priority: int | None
    """The priority step of the list that holds it; None once a worker reserved it."""
    ahead: int | None
    """Messages of its queue to be consumed before it; None once reserved."""
    reserved_at: float | None
    """When a worker took it, not acked since: prefetched, held for its ETA, or running
    with `acks_late`."""
    overdue: bool
    """Reserved for longer than the visibility timeout: kombu delivers it again."""


@dataclass(frozen=True, slots=True)
class JobDetail:
    """One job as `qwatch job` and the inspector show it."""

    id: str
    status: str | None
    function: str
    arguments: str
    description: str | None
    origin: str | None
    worker: str | None
    created_at: float | None
    enqueued_at: float | None
    started_at: float | None
    ended_at: float | None
    timeout: int | None
    retries_left: int | None
    result: str | None
    exception: str | None
    traceback: str | None
    meta: str | None = None
    retries_used: int | None = None
    retry_intervals: tuple[int, ...] = ()
    dependencies: tuple[str, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    system: str = field(kw_only=True)
    """Whose job: RQ's can be requeued and deleted, Celery's only read."""
    scheduled_for: float | None = None
    """When a scheduled job is due to be queued: RQ keeps it in the queue's scheduled
    registry only, as the entry's score. A Celery task's ETA or countdown."""
    waiting: Waiting | None = None
    """A Celery task not ended: where its message is."""
    logs: tuple[str, ...] | None = None
    """The lines an RQ job logged while `qwatch.rq.Worker` ran it, oldest first; None when
    none are kept (another worker ran it, they expired, or it has not ended)."""

    @property
    def wait_seconds(self) -> float | None:
        """Time from enqueued to started."""
        return _span(self.enqueued_at, self.started_at)

    @property
    def run_seconds(self) -> float | None:
        """Time from started to ended."""
        return _span(self.started_at, self.ended_at)

    def to_dict(self) -> dict[str, Any]:
        """As `qwatch job --json` and the dashboard's JSON give it: every field, and the
        wait and run times."""
        return {**asdict(self), "wait_seconds": self.wait_seconds, "run_seconds": self.run_seconds}


@dataclass(frozen=True, slots=True)
class FailedJob:
    """One row of the failed-job list."""

    id: str
    queue: str
    function: str
    exception: str | None
    worker: str | None
    failed_at: float | None
    system: str = field(kw_only=True)
    """Whose failure: the faces key rows by system and id, and act on RQ's alone."""


def _span(start: float | None, end: float | None) -> float | None:
    return max(0.0, end - start) if start is not None and end is not None else None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which jobs to list: a queue, a state, where to start and how many, and an optional filter."""

    queue: str
    state: str
    offset: int = 0
    limit: int = 50
    function: str = ""
    text: str = ""

    @property
    def filtered(self) -> bool:
        return bool(self.function or self.text)


@dataclass(frozen=True, slots=True)
class ListedJob:
    """One job of a page, with what its state makes worth showing.

    `score` is the registry's own: the run time of a scheduled job, the
    moment a deferred or canceled job was registered, the heartbeat deadline
    of a started one, the expiry of a finished or failed one.
    """

    id: str
    position: int
    function: str
    status: str | None
    worker: str | None
    created_at: float | None
    enqueued_at: float | None
    started_at: float | None
    ended_at: float | None
    score: float | None
    waits_for: tuple[str, ...]
    result: str | None
    exception: str | None
    exists: bool


@dataclass(frozen=True, slots=True)
class JobPage:
    """A page of one state of one queue, and where it sits in the whole."""

    request: PageRequest
    queue_known: bool
    total: int
    jobs: tuple[ListedJob, ...]
    scanned: int
    next_offset: int | None
    taken_at: float
    system: str = field(kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """The page as JSON-ready data, its request's fields beside its own."""
        return _page_dict(self)

    @property
    def previous_offset(self) -> int | None:
        return previous_offset(self.request)


def previous_offset(request: PageRequest) -> int | None:
    """Where the page before starts; with a filter, one window back."""
    if request.offset <= 0:
        return None
    step = SCAN_WINDOW if request.filtered else request.limit
    return max(0, request.offset - step)


@dataclass(frozen=True, slots=True)
class CeleryMessage:
    """One task's message, waiting or reserved, as a page lists it."""

    id: str | None
    position: int
    """From 0: in consumption order for waiting messages, in delivery order for reserved."""
    status: str
    function: str
    """The task's name, as RQ's pages call a job's."""
    arguments: str
    waiting: Waiting
    eta: float | None
    retries: int | None
    redelivered: bool
    """kombu delivered it before: a worker died holding it, or it was overdue."""


@dataclass(frozen=True, slots=True)
class CeleryPage:
    """A page of one Celery queue's messages in one state, and where it sits in the whole."""

    request: PageRequest
    total: int
    jobs: tuple[CeleryMessage, ...]
    scanned: int
    next_offset: int | None
    taken_at: float
    system: str = field(kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """The page as JSON-ready data, its request's fields beside its own."""
        return _page_dict(self)

    @property
    def previous_offset(self) -> int | None:
        return previous_offset(self.request)


def _page_dict(page: JobPage | CeleryPage) -> dict[str, Any]:
    data = asdict(page)
    data.update(data.pop("request"))
    data["previous_offset"] = page.previous_offset
    return data


class Found(NamedTuple):
    """A task looked up by id, and how many waiting messages the search did not read."""

    job: JobDetail | None
    unsearched: int = 0


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What a person looks for, where, and how far a search may go before it says so."""

    text: str
    regex: bool = False
    """`text` is a regular expression rather than text to find (either ignores case)."""
    queues: tuple[str, ...] = ()
    """Only these queues; none: every queue."""
    states: tuple[str, ...] = ()
    """Only these states; none: every state."""
    limit: int = 50
    """Matching jobs to find at most."""
    budget: int = 100_000
    """Entries of lists and registries to examine at most."""
    seconds: float = 10.0
    """Time to search at most."""
    pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        text = self.text if self.regex else re.escape(self.text)
        object.__setattr__(self, "pattern", re.compile(text, re.IGNORECASE))

    def stop_reason(self, scanned: int, found: int, late: bool) -> str | None:
        """Why a search that examined `scanned` entries and found `found` jobs stops now
        (`limit`, `budget`, `time` when `late`), or None: every source stops alike."""
        if found >= self.limit:
            return "limit"
        if scanned >= self.budget:
            return "budget"
        return "time" if late else None

    def places(self, queues: Iterable[str], states: Iterable[str]) -> list[tuple[str, str]]:
        """Each (queue, state) to search, in the order given, of those the request keeps to."""
        kept = [state for state in states if not self.states or state in self.states]
        return [(q, s) for q in queues if not self.queues or q in self.queues for s in kept]

    def matches(self, *fields: str | None) -> bool:
        """Whether any field holds the text (each read up to `SEARCHED_CHARACTERS`)."""
        return any(
            field is not None and self.pattern.search(field[:SEARCHED_CHARACTERS])
            for field in fields
        )


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One job a search found: where it is, what it calls, and what matched around it."""

    id: str
    queue: str
    state: str
    function: str
    at: float | None
    """When it ended, else started, else was enqueued: what "newest first" orders by."""
    worker: str | None
    detail: str | None
    """Its exception, its result or its arguments: the line a list shows beside it."""
    system: str = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class SearchProgress:
    """How far a search has come: what it found, what it examined of how much, and why it
    stopped before the end if it did (`budget`, `time`, `limit`), None while it goes on
    or once it has examined everything."""

    request: SearchRequest
    hits: tuple[SearchHit, ...]
    scanned: int
    total: int
    done: bool
    stopped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The search as JSON-ready data, newest hits first."""
        request = self.request
        return {
            "text": request.text,
            "regex": request.regex,
            "queues": list(request.queues),
            "states": list(request.states),
            "limit": request.limit,
            "budget": request.budget,
            "scanned": self.scanned,
            "total": self.total,
            "done": self.done,
            "stopped": self.stopped,
            "hits": [asdict(hit) for hit in newest_first(self.hits)],
        }


T = TypeVar("T")
ReadWindow = Callable[[str, str, int, int], tuple[int, Sequence[T]]]
"""A source's window of one queue's entries in one state: (queue, state, offset, count) to
the total in that state and the entries read."""


def carried_on(
    before: SearchProgress,
    places: Iterable[tuple[str, str]],
    read: ReadWindow[T],
    hit: Callable[[str, str, T], SearchHit | None],
    seconds: float,
    clock: Callable[[], float],
) -> Iterator[SearchProgress]:
    """The search `before` left, carried on over each (queue, state) in `places`, a window
    of at most `SEARCH_BATCH` entries at a time, for at most `seconds`: how the sources that
    page their queues search them, each stopping alike (`SearchRequest.stop_reason`)."""
    request = before.request
    started = clock()
    hits = list(before.hits)
    scanned, total = before.scanned, before.total
    for queue, state in places:
        offset = 0
        while True:
            stopped = request.stop_reason(scanned, len(hits), clock() - started >= seconds)
            if stopped:
                yield SearchProgress(request, tuple(hits), scanned, total, False, stopped)
                return
            room = min(SEARCH_BATCH, request.budget - scanned)
            count, entries = read(queue, state, offset, room)
            total += count if offset == 0 else 0
            scanned += len(entries)
            found = [h for entry in entries if (h := hit(queue, state, entry)) is not None]
            hits += found[: request.limit - len(hits)]
            offset += len(entries)
            yield SearchProgress(request, tuple(hits), scanned, total, False)
            if not entries or offset >= count:
                break
    yield SearchProgress(request, tuple(hits), scanned, total, True)


def newest_first(hits: Iterable[SearchHit]) -> list[SearchHit]:
    return sorted(hits, key=lambda hit: -(hit.at or 0.0))
