"""One Redis watched for RQ, Celery, Dramatiq or several: the boundary every face reads through.

`--system rq|celery|dramatiq|auto` picks the readers. `auto` looks for each
system's keys (one EXISTS each, never a SCAN) when the watch starts and,
while it has not found them all, again every `DETECT_SECONDS`, so workers
that register after qwatch starts, or a Celery app deployed next to RQ
later, are soon picked up; a Redis that holds none is read as RQ, whose
empty reading says how to find it. The readers fill the same `Snapshot`,
merged here.

Celery's and Dramatiq's queues are found by a SCAN (`wire.scan`), when the
system is first found and every `DISCOVER_SECONDS`, never per sample. Celery's workers
and finished tasks are seen only through events, so watching Celery starts a
listener thread that stays subscribed for the life of the watch.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import redis

from qwatch.arq import pages as arq_pages
from qwatch.arq import search as arq_search
from qwatch.arq.completions import ArqStream
from qwatch.arq.jobs import arq_job
from qwatch.arq.layout import DEFAULT_QUEUE as DEFAULT_ARQ_QUEUE
from qwatch.arq.layout import HEALTH_CHECK_INTERVAL, ArqLayout
from qwatch.arq.reader import ArqReading, arq_present, discover_arq_queues, read_arq
from qwatch.arq.results import ArqResults
from qwatch.celery import jobs as celery_jobs
from qwatch.celery import search as celery_search
from qwatch.celery.broker import CeleryReading, celery_present, discover_queues, read_celery_queues
from qwatch.celery.events import CeleryEvents, CeleryFailure, CeleryView
from qwatch.celery.failures import failed_row
from qwatch.celery.layout import CeleryLayout
from qwatch.dramatiq import pages as dramatiq_pages
from qwatch.dramatiq import search as dramatiq_search
from qwatch.dramatiq.broker import (
    NOTHING_FOUND,
    Discovered,
    DramatiqReading,
    discover,
    dramatiq_present,
    read_dramatiq,
)
from qwatch.dramatiq.completions import DramatiqStream
from qwatch.dramatiq.dead import dramatiq_job, read_dead
from qwatch.dramatiq.layout import DramatiqLayout
from qwatch.model import (
    ARQ,
    CELERY,
    DRAMATIQ,
    RQ,
    ArqWatch,
    CeleryPage,
    Completion,
    FailedJob,
    Found,
    FunctionCounts,
    JobDetail,
    JobPage,
    PageRequest,
    SearchProgress,
    SearchRequest,
    Snapshot,
    StreamPosition,
    Taken,
)
from qwatch.rq import actions, browse
from qwatch.rq import search as rq_search
from qwatch.rq.functions import read_function_counts
from qwatch.rq.jobs import read_failed, read_job
from qwatch.rq.keys import (
    DEFAULT_KEYS,
    DEFAULT_PREFIX,
    PREFIX_VARIABLE,
    RQKeys,
    checked_prefix,
    prefix_from,
)
from qwatch.rq.reader import queue_names, read_redis_info, read_snapshot
from qwatch.rq.tracking import DEFAULT_INTERVAL, MAX_INTERVAL, MIN_INTERVAL, Following, Overflow
from qwatch.wire import batch
from qwatch.wire.replies import as_int, check_allowed
from qwatch.wire.turns import Turn

AUTO = "auto"
CHOICES = (AUTO, RQ, CELERY, DRAMATIQ, ARQ)
DETECT_SECONDS = 10.0
"""How often `auto` looks again for a system it has not found: one EXISTS."""
DISCOVER_SECONDS = 60.0
"""How often Celery's and Dramatiq's queues are discovered again: a SCAN of the keyspace."""

TRACK_INTERVAL, TRACK_INTERVALS = DEFAULT_INTERVAL, (MIN_INTERVAL, MAX_INTERVAL)
"""Seconds between polls for RQ's finished and failed jobs: the default, and the range."""
BROWSED_STATES = browse.STATES
"""The states of an RQ queue a face browses, in order."""
LISTED_STATES = browse.LISTED_STATES
"""The states of an RQ queue `jobs` lists: the browsed ones, and those rate limits hold."""
CELERY_STATES = celery_jobs.STATES
"""The states of a Celery queue `jobs` lists."""
CELERY_SEARCH_LIMIT = celery_jobs.SEARCH_LIMIT
DRAMATIQ_STATES = dramatiq_pages.STATES
"""The states of a Dramatiq queue `jobs` lists."""
ARQ_STATES = arq_pages.STATES
"""The states of an arq queue `jobs` lists."""
CLEARABLE = actions.CLEARABLE
"""The registries of an RQ queue a person may empty."""
SEARCHED_STATES = tuple(
    dict.fromkeys(
        (*rq_search.ORDER, *dramatiq_search.ORDER, *arq_search.ORDER, *celery_search.STATES)
    )
)
"""The states a search may be told to keep to."""
DRAMATIQ_NAMESPACE = DramatiqLayout().namespace
"""Dramatiq's RedisBroker namespace unless told otherwise."""
ARQ_QUEUE, ARQ_HEALTH_CHECK_INTERVAL = DEFAULT_ARQ_QUEUE, HEALTH_CHECK_INTERVAL
"""arq's default queue name, and its workers' default health-check interval."""
RQ_PREFIX, RQ_PREFIX_VARIABLE = DEFAULT_PREFIX, PREFIX_VARIABLE
"""RQ's key prefix, and the environment variable RQ 3.0 reads it from."""


class Watch:
    """What qwatch keeps about one Redis between samples, whichever systems it holds."""

    def __init__(
        self,
        client: redis.Redis,
        system: str = AUTO,
        layout: CeleryLayout | None = None,
        *,
        listen: bool = True,
        rq_keys: RQKeys = DEFAULT_KEYS,
        dramatiq: DramatiqLayout | None = None,
        arq: ArqLayout | None = None,
    ) -> None:
        """`listen`: start Celery's event listener when Celery is watched (one-shot readers
        that only want the queues say False). `rq_keys`: RQ's keys under its prefix;
        `dramatiq`: Dramatiq's under its namespace; `arq`: arq's queues named."""
        if system not in CHOICES:
            raise ValueError(f"system must be one of {', '.join(CHOICES)}, not {system!r}")
        self.client = client
        self.system = system
        self.layout = layout or CeleryLayout()
        self.rq_keys = rq_keys
        self.dramatiq = dramatiq or DramatiqLayout()
        self.arq = arq or ArqLayout()
        self.arq_results = ArqResults()
        self.arq_stream = ArqStream()
        self._arq_queues: tuple[str, ...] = ()
        self.listen = listen
        self.events: CeleryEvents | None = None
        self.following: Following | None = None
        self.dramatiq_stream = DramatiqStream(self.dramatiq)
        self._systems: tuple[str, ...] = ()
        self._celery_queues: tuple[str, ...] = ()
        self._dramatiq_found: Discovered = NOTHING_FOUND
        self._detect_at = self._discover_at = 0.0
        """When (time.monotonic) to look for the systems, and for Celery's queues, again."""
        self._lock = threading.Lock()

    @classmethod
    def configured(
        cls,
        client: redis.Redis,
        system: str,
        *,
        rq_prefix: str,
        celery: Mapping[str, Any],
        dramatiq_namespace: str = DRAMATIQ_NAMESPACE,
        arq_queues: tuple[str, ...] = (),
        arq_health_check_interval: float = ARQ_HEALTH_CHECK_INTERVAL,
        listen: bool = True,
    ) -> Watch:
        """A watch as a face's options ask: RQ's key prefix (see `checked_rq_prefix`), Celery's
        layout (`CeleryLayout`'s fields), Dramatiq's namespace and arq's queues; ValueError
        saying what is wrong."""
        try:
            layout = CeleryLayout(**celery)
        except ValueError as exc:
            raise ValueError(f"Celery options: {exc}") from None
        try:
            dramatiq = DramatiqLayout(dramatiq_namespace)
        except ValueError as exc:
            raise ValueError(f"Dramatiq options: {exc}") from None
        try:
            arq = ArqLayout(arq_queues, arq_health_check_interval)
        except ValueError as exc:
            raise ValueError(f"arq options: {exc}") from None
        return cls(
            client, system, layout, listen=listen, rq_keys=RQKeys(rq_prefix), dramatiq=dramatiq,
            arq=arq,
        )  # fmt: skip

    def systems(self) -> tuple[str, ...]:
        """The systems this watch reads; starts Celery's listener when Celery is found."""
        with self._lock:
            now = time.monotonic()
            if now >= self._detect_at:
                self._detect(now)
            if now >= self._discover_at and {CELERY, DRAMATIQ, ARQ} & set(self._systems):
                self._discover_at = now + DISCOVER_SECONDS
                if CELERY in self._systems:
                    self._celery_queues = discover_queues(self.client, self.layout)
                    self._start_listening()
                if DRAMATIQ in self._systems:
                    self._dramatiq_found = discover(self.client, self.dramatiq)
                if ARQ in self._systems:
                    self._arq_queues = discover_arq_queues(self.client, self.arq)
                    self.arq_results.refresh(self.client, self.arq)
            return self._systems

    def _holds(self, system: str) -> bool:
        """Whether this Redis holds the system's keys; keys an ACL hides are not there for
        `auto` (a user given RQ's keys alone watches RQ alone)."""
        try:
            if system == CELERY:
                return bool(self.layout.queues) or celery_present(self.client, self.layout)
            if system == DRAMATIQ:
                return dramatiq_present(self.client, self.dramatiq)
            if system == ARQ:
                return bool(self.arq.queues) or arq_present(self.client, self.arq)
            keys = self.rq_keys
            (found,) = batch.run(self.client, [("EXISTS", keys.queues, keys.workers)])
            check_allowed(found)
        except redis.exceptions.NoPermissionError:
            return False
        return as_int(found) > 0

    def _detect(self, now: float) -> None:
        if self.system != AUTO:
            self._systems, self._detect_at = (self.system,), math.inf
            return
        found = tuple(s for s in CHOICES[1:] if self._holds(s))
        self._systems = found or (RQ,)
        self._detect_at = math.inf if len(found) == len(CHOICES) - 1 else now + DETECT_SECONDS

    def _start_listening(self) -> None:
        if self.listen and self.events is None:
            self.events = CeleryEvents(
                self.client,
                prefix=self.layout.prefix,
                result_prefix=self.layout.result_prefix,
            )
            self.events.start()

    def listen_for(self, seconds: float) -> None:
        """Wait while Celery's events arrive, when Celery is watched: a one-shot reading
        sees only the workers that sent a heartbeat meanwhile."""
        if CELERY in self.systems() and self.events is not None:
            time.sleep(seconds)

    def read(self, now: float | None = None, *, worker_details: bool = True) -> Snapshot:
        """One sample of every system this Redis holds."""
        now = time.time() if now is None else now
        systems = self.systems()
        if RQ in systems:
            snapshot = read_snapshot(
                self.client, now, worker_details=worker_details, keys=self.rq_keys
            )
        else:
            snapshot = _empty(now, self.client)
        if CELERY in systems:
            reading = read_celery_queues(self.client, self.layout, self._celery_queues, now)
            view = None
            if self.events is not None:
                self.events.remember_queues(reading.task_queues)
                view = self.events.view(now)
            snapshot = _merged(snapshot, reading, view)
        if DRAMATIQ in systems:
            dramatiq = read_dramatiq(self.client, self.dramatiq, self._dramatiq_known(), now)
            snapshot = _with(snapshot, dramatiq, dramatiq=dramatiq.watch)
        if ARQ in systems:
            counts = self.arq_results.counts
            arq = read_arq(self.client, self.arq, self.arq_queues, counts, now)
            if unread := self.arq_results.unread_note():
                arq = replace(arq, notes=(*arq.notes, unread))
            snapshot = _with(snapshot, arq, arq=ArqWatch(self.arq_results.unread))
        return snapshot

    def _dramatiq_known(self) -> Discovered:
        """Dramatiq's queues as discovered, and those only its completions stream named."""
        found = self._dramatiq_found
        named = self.dramatiq_stream.queues.difference(found.queues)
        if not named:
            return found
        return replace(found, queues=tuple(sorted({*found.queues, *named})))

    def follow(
        self,
        name: str,
        *,
        interval: float = TRACK_INTERVAL,
        ttls: Sequence[float] = (),
        resume: StreamPosition | None = None,
        dramatiq_resume: StreamPosition | None = None,
        arq_resume: StreamPosition | None = None,
        turn: Turn | None = None,
        overflow: Overflow | None = None,
    ) -> Following:
        """Follow RQ's finished and failed jobs in a thread (started by the caller), for
        `take`; the arguments are `Following`'s, and where Dramatiq's and arq's streams were
        left."""
        self.dramatiq_stream = DramatiqStream(self.dramatiq, dramatiq_resume)
        self.arq_stream = ArqStream(arq_resume)
        self.following = Following(
            name,
            self.client,
            self.rq_keys,
            interval=interval,
            ttls=ttls,
            resume=resume,
            turn=turn,
            overflow=overflow,
            watching=lambda: not self._systems or RQ in self._systems,
        )
        return self.following

    def take(self, snapshot: Snapshot) -> Taken:
        """The jobs that ended since the last take, each once: RQ's as followed (read `snapshot`
        for which queues the completions streams count), Dramatiq's as its stream tells, and
        Celery's as heard."""
        if self.following is None:
            raise RuntimeError("take() needs follow() first")
        taken = self.following.take(snapshot)
        taken.completions.extend(self._celery_completions())
        if DRAMATIQ in self._systems:
            dramatiq = self.dramatiq_stream.poll(self.client, snapshot.only(DRAMATIQ))
            taken.completions.extend(dramatiq.completions)
            taken = replace(taken, dramatiq=dramatiq)
        if ARQ in self._systems:
            arq = self.arq_stream.poll(self.client, snapshot.only(ARQ))
            taken.completions.extend(arq.completions)
            taken = replace(taken, arq=arq)
        return taken

    def _celery_completions(self) -> list[Completion]:
        return self.events.take_completions() if self.events is not None else []

    def celery_failures(self) -> tuple[CeleryFailure, ...]:
        """Celery's recent failures, newest first, as the events and results told them."""
        return self.events.failures() if self.events is not None else ()

    def failed(self, limit: int, queue: str | None = None) -> list[FailedJob]:
        """RQ's newest `limit` failed jobs, Dramatiq's dead letters and the Celery failures
        heard (of `queue` only, if given), newest first: Celery keeps no list of failures,
        so none older are known."""
        systems = self.systems()
        rows = (
            read_failed(self.client, queue=queue, limit=limit, keys=self.rq_keys)
            if RQ in systems
            else []
        )
        heard = [
            failed_row(failure)
            for failure in self.celery_failures()
            if queue is None or failure.queue == queue
        ]
        if DRAMATIQ in systems:
            queues = [q for q in self._dramatiq_known().queues if queue is None or q == queue]
            rows += read_dead(self.client, self.dramatiq, queues, limit)
        if ARQ in systems:
            rows += self.arq_results.failed(None if queue is None else [queue], limit)
        return sorted(rows + heard, key=lambda row: row.failed_at or 0.0, reverse=True)

    def job(self, job_id: str) -> JobDetail | None:
        """RQ's job with this id, else Celery's task wherever it is (`find`)."""
        return self.find(job_id).job

    def find(self, job_id: str) -> Found:
        """RQ's job with this id, else Dramatiq's message, else Celery's task: its stored
        result, the failure heard, or its message waiting or reserved; with how many waiting
        messages went unread."""
        systems = self.systems()
        job = read_job(self.client, job_id, self.rq_keys) if RQ in systems else None
        if job is None and DRAMATIQ in systems:
            queues = self._dramatiq_known().queues
            job = dramatiq_job(self.client, self.dramatiq, queues, job_id)
        if job is None and ARQ in systems:
            job = arq_job(self.client, self.arq, self.arq_queues, job_id)
        if job is not None or CELERY not in systems:
            return Found(job)
        return celery_jobs.celery_job(
            self.client, self.layout, self.celery_queues, job_id, self.celery_failures()
        )

    def page(self, request: PageRequest) -> JobPage:
        """One page of an RQ queue's jobs in one state: two round trips, whatever its size."""
        return browse.read_page(self.client, request, keys=self.rq_keys)

    def dramatiq_page(self, request: PageRequest) -> JobPage:
        """One page of a Dramatiq queue's messages in one of `DRAMATIQ_STATES`."""
        return dramatiq_pages.read_page(self.client, self.dramatiq, self._dramatiq_known(), request)

    def arq_page(self, request: PageRequest) -> JobPage:
        """One page of an arq queue's jobs in one of `ARQ_STATES`."""
        self.systems()  # its queues and results discovered, if they are due
        return arq_pages.read_page(
            self.client, self.arq, self.arq_results, self.arq_queues, request
        )

    @property
    def arq_queues(self) -> tuple[str, ...]:
        """arq's queues as last discovered, those named, and those only its completions
        stream named, sorted."""
        named = self.arq_stream.queues.difference(self._arq_queues)
        return tuple(sorted({*self._arq_queues, *named})) if named else self._arq_queues

    @property
    def dramatiq_queues(self) -> tuple[str, ...]:
        """Dramatiq's queues as last discovered, sorted."""
        return self._dramatiq_known().queues

    def celery_page(self, request: PageRequest) -> CeleryPage:
        """One page of a Celery queue's messages in one state."""
        return celery_jobs.read_page(self.client, self.layout, request)

    def search(self, request: SearchRequest) -> Iterator[SearchProgress]:
        """The jobs that hold `request`'s text, RQ's, then Dramatiq's, arq's, then Celery's, as the
        search goes: each progress says what was found and examined so far, the last whether
        it ended or why it stopped. Stopping the iteration stops the search."""
        started = time.monotonic()
        systems = self.systems()
        last = SearchProgress(request, (), 0, 0, True)
        if RQ in systems:
            for last in rq_search.search(self.client, request, self.rq_keys):
                yield last
            if last.stopped:
                return
        if DRAMATIQ in systems:
            left = request.seconds - (time.monotonic() - started)
            found, before = self._dramatiq_known(), last
            for last in dramatiq_search.search(self.client, self.dramatiq, found, before, left):
                yield last
            if last.stopped:
                return
        if ARQ in systems:
            left, before = request.seconds - (time.monotonic() - started), last
            results, queues = self.arq_results, self.arq_queues
            for last in arq_search.search(self.client, self.arq, results, queues, before, left):
                yield last
            if last.stopped:
                return
        if CELERY in systems:
            left = request.seconds - (time.monotonic() - started)
            failures = self.celery_failures()
            queues = self.celery_queues
            yield from celery_search.search(self.client, self.layout, queues, failures, last, left)
        elif not {RQ, DRAMATIQ, ARQ} & set(systems):
            yield last

    def searched(self, request: SearchRequest) -> SearchProgress:
        """`search` run to its end: where it ended, or why it stopped."""
        (ended,) = deque(self.search(request), maxlen=1)
        return ended

    def rq_queue_names(self) -> list[str]:
        """RQ's queues, by name, sorted."""
        return queue_names(self.client, self.rq_keys)

    def function_counts(self, queues: list[str]) -> FunctionCounts:
        """Jobs per function in RQ's queues, from a bounded sample that says so."""
        return read_function_counts(self.client, queues, keys=self.rq_keys)

    def requeue_failed(self, job_id: str) -> str:
        """Put a failed RQ job back in its queue; says what it did (and so do the others)."""
        return actions.requeue_failed_job(self.client, job_id, self.rq_keys)

    def delete_failed(self, job_id: str) -> str:
        return actions.delete_failed_job(self.client, job_id, self.rq_keys)

    def requeue_all_failed(self, queue: str) -> str:
        return actions.requeue_all_failed(self.client, queue, self.rq_keys)

    def empty_queue(self, queue: str) -> str:
        return actions.empty_queue(self.client, queue, self.rq_keys)

    def empty_registry(self, queue: str, state: str) -> str:
        """Delete the jobs of one of `CLEARABLE`'s registries of an RQ queue."""
        return actions.empty_registry(self.client, queue, state, self.rq_keys)

    @property
    def celery_queues(self) -> tuple[str, ...]:
        """Celery's queues as last discovered (and those named), sorted."""
        return self._celery_queues

    def close(self) -> None:
        """Stop listening to Celery's events; a `Following` is its caller's to stop."""
        if self.events is not None:
            self.events.stop()


def checked_rq_prefix(given: str | None) -> str:
    """RQ's key prefix: the one given, else `RQ_PREFIX_VARIABLE`'s as RQ 3.0 reads it;
    ValueError, in one line, for one RQ would refuse."""
    return prefix_from() if given is None else checked_prefix(given)


def _empty(now: float, client: redis.Redis) -> Snapshot:
    """A snapshot without RQ: Redis's own figures only."""
    return Snapshot(
        taken_at=now,
        queues=(),
        workers=(),
        abandoned_jobs=(),
        expired_workers=(),
        suspended=False,
        redis=read_redis_info(client),
    )


def _merged(snapshot: Snapshot, reading: CeleryReading, view: CeleryView | None) -> Snapshot:
    extra: dict[str, Any] = {}
    if view is not None:
        extra = {
            "workers": (*snapshot.workers, *view.workers),
            "expired_workers": (*snapshot.expired_workers, *view.expired_workers),
            "celery": view.watch,
        }
    notes = (*snapshot.notes, *reading.notes, *(view.notes if view else ()))
    skipped = reading.records_skipped + (view.records_skipped if view else 0)
    return replace(
        snapshot,
        queues=(*snapshot.queues, *reading.queues),
        records_skipped=snapshot.records_skipped + skipped,
        notes=notes,
        **extra,
    )


def _with(snapshot: Snapshot, reading: DramatiqReading | ArqReading, **extra: Any) -> Snapshot:
    """`snapshot` with one more system's queues, workers, skipped records and notes."""
    return replace(
        snapshot,
        queues=(*snapshot.queues, *reading.queues),
        workers=(*snapshot.workers, *reading.workers),
        records_skipped=snapshot.records_skipped + reading.records_skipped,
        notes=(*snapshot.notes, *reading.notes),
        **extra,
    )
