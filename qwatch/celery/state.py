"""What Celery's events and published results said so far: workers, tasks, failures, bounded.

Liveness follows Celery's own rule (celery/events/state.py `Worker.alive`):
alive while `now < last heartbeat + freq * 2`. Celery's `State` stores the
*local receive time* of each heartbeat (`local_received`), not the sender's
`timestamp`, and so does this: a worker whose clock is off still lives and
dies on the observer's clock, and pub/sub delivers in well under a second.
For the same reason a running task's age (`current_job_seconds`) counts from
the local receive time of its task-started: it is measured against the
observer's `now`, and a worker buffers task events only until its next loop
turn. Task times (`started_at`, `ended_at`) are the events' own timestamps: they
say when the worker did it, as the worker's clock says.

Completions. A task's end is counted once, from its task events when its
worker sends them (`-E`), else from the result the backend published. A
result waits `RESULT_GRACE` seconds for task events of the same id before it
counts on its own, since a worker stores the result just before it sends
task-succeeded. Ids counted are remembered (bounded), so the other source
does not count the task again; a task id run twice (a redelivery after a
crash) within that memory counts once. Revoked and rejected tasks are no
completion: Celery's outcomes here are finished and failed only. A task's
queue is the one `remember` was told, or the one its task-sent event said,
else "" (nothing else in an event or a plain result names it).

Memory is bounded: every map forgets its oldest entries past its limit.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any, TypeVar

from qwatch.celery.published import (
    StoredResult,
    count,
    exception_from_repr,
    exception_from_traceback,
    long_text,
    seconds,
    shown_value,
    text,
)
from qwatch.celery.task_states import ENDED, FAILURE, SUCCESS
from qwatch.job_states import FAILED, FINISHED
from qwatch.limits import ARGUMENTS_LIMIT, NAME_LIMIT, ROW_DESCRIPTION_LIMIT
from qwatch.model import CELERY, Completion, WorkerStats
from qwatch.text.formatting import clip
from qwatch.wire.replies import MAX_PID

K = TypeVar("K")
V = TypeVar("V")

HEARTBEAT_EXPIRE_FACTOR = 2.0
"""celery/events/state.py: `freq * (HEARTBEAT_EXPIRE_WINDOW / 100)`, the window being 200."""
OVERDUE_FACTOR = 1.5
"""A worker is overdue once a heartbeat is late by half an interval, still alive until 2."""
DEFAULT_FREQ = 2.0
"""celery/worker/heartbeat.py `Heart`: a heartbeat every 2 s unless told otherwise."""
MAX_FREQ = 3600.0
RESULT_GRACE = 1.0
MAX_WORKERS = 5_000
MAX_TASKS = 20_000
MAX_QUEUED_IDS = 100_000
MAX_COUNTED = 20_000
MAX_COMPLETIONS = 10_000
MAX_FAILURES = 200
MAX_EXPIRED = 1_000
EXPIRED_KEPT_SECONDS = 900.0
"""How long a worker that stopped heartbeating is listed as expired."""
_WORKER_TYPES = {"worker-online", "worker-heartbeat", "worker-offline"}
_TASK_ENDS = {"task-succeeded", "task-failed", "task-revoked", "task-rejected", "task-retried"}
"""After these a task no longer runs where it started (a retry is received again)."""
_EMPTY = {"()", "[]", "{}"}


@dataclass(frozen=True, slots=True)
class CeleryFailure:
    """One failed task, for the failed-job inspector: what ran, where, and why it failed."""

    id: str
    name: str | None
    args: str | None
    kwargs: str | None
    exception: str | None
    """The exception's class name."""
    message: str | None
    """The exception as the worker showed it (a repr from events, the message from results)."""
    traceback: str | None
    worker: str | None
    queue: str
    received_at: float | None
    started_at: float | None
    failed_at: float
    retries: int | None


@dataclass(slots=True)
class _Worker:
    name: str
    seen_at: float
    pid: int | None = None
    freq: float = DEFAULT_FREQ
    active: int | None = None
    processed: int | None = None
    first_processed: int | None = None
    load_average: tuple[float, ...] | None = None
    birth: float | None = None


@dataclass(slots=True)
class _Outcomes:
    """What one worker's task events reported while listened to: its processed count
    does not split successes from failures."""

    succeeded: int = 0
    failed: int = 0


@dataclass(slots=True)
class _Task:
    name: str | None = None
    args: str | None = None
    kwargs: str | None = None
    retries: int | None = None
    worker: str | None = None
    sent_at: float | None = None
    received_at: float | None = None
    started_at: float | None = None


@dataclass(frozen=True, slots=True)
class _Running:
    """A task a worker started and has not ended, as its task events told."""

    worker: str
    since: float
    """The local receive time of its task-started."""
    description: str | None


def _put(mapping: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    """Insert or refresh `key` as the newest entry, forgetting the oldest past `limit`."""
    mapping[key] = value
    mapping.move_to_end(key)
    while len(mapping) > limit:
        mapping.popitem(last=False)


class CeleryState:
    """The bounded model the listener feeds; not thread-safe: the listener holds a lock."""

    def __init__(self) -> None:
        self.workers: OrderedDict[str, _Worker] = OrderedDict()
        self.expired: OrderedDict[str, float] = OrderedDict()
        self.tasks: OrderedDict[str, _Task] = OrderedDict()
        self.running: OrderedDict[str, _Running] = OrderedDict()
        self.queues: OrderedDict[str, str] = OrderedDict()
        self.counted: OrderedDict[str, None] = OrderedDict()
        self.waiting_results: OrderedDict[str, tuple[StoredResult, float]] = OrderedDict()
        self.ended: deque[Completion] = deque(maxlen=MAX_COMPLETIONS)
        self.failures: OrderedDict[str, CeleryFailure] = OrderedDict()
        self.task_event_workers: OrderedDict[str, _Outcomes] = OrderedDict()
        """Workers that sent task events, with what those events reported."""
        self.skipped = 0

    def remember_queue(self, task_id: str, queue: str) -> None:
        """Where a task was queued, as the broker reader saw its message."""
        if text(task_id, NAME_LIMIT) and isinstance(queue, str) and len(queue) <= NAME_LIMIT:
            _put(self.queues, task_id, queue, MAX_QUEUED_IDS)

    def apply_event(self, event: dict[str, Any], received_at: float) -> None:
        """One decoded event; an unknown type is ignored, a malformed one counted."""
        kind: str = event["type"]
        if kind in _WORKER_TYPES:
            self._worker_event(kind, event, received_at)
        elif kind.startswith("task-"):
            self._task_event(kind, event, received_at)

    def _worker_event(self, kind: str, event: dict[str, Any], received_at: float) -> None:
        name: str = event["hostname"]
        if kind == "worker-offline":
            self.workers.pop(name, None)
            self.expired.pop(name, None)
            self._forget_running(name)
            return
        worker = self.workers.get(name)
        if worker is None:
            if len(self.workers) >= MAX_WORKERS:
                self.skipped += 1
                return
            worker = _Worker(name, received_at)
            self.workers[name] = worker
        self.expired.pop(name, None)
        worker.seen_at = received_at
        freq = event.get("freq")
        if isinstance(freq, (int, float)) and not isinstance(freq, bool) and 0 < freq <= MAX_FREQ:
            worker.freq = float(freq)
        pid = count(event.get("pid"))
        worker.pid = pid if pid and pid <= MAX_PID else worker.pid
        worker.active = count(event.get("active"))
        processed = count(event.get("processed"))
        if processed is not None:
            worker.processed = processed
            if worker.first_processed is None or processed < worker.first_processed:
                worker.first_processed = processed  # a restart under the same name counts anew
        worker.load_average = _load_average(event.get("loadavg"))
        if kind == "worker-online":
            worker.birth = seconds(event.get("timestamp")) or received_at

    def _task_event(self, kind: str, event: dict[str, Any], received_at: float) -> None:
        task_id = text(event.get("uuid"), NAME_LIMIT)
        if task_id is None:
            self.skipped += 1
            return
        at = seconds(event.get("timestamp")) or received_at
        if kind == "task-sent":
            self._sent(task_id, event, at)
            return
        worker: str = event["hostname"]
        if worker not in self.task_event_workers:
            _put(self.task_event_workers, worker, _Outcomes(), MAX_WORKERS)
        task = self._task(task_id)
        task.worker = worker
        self.waiting_results.pop(task_id, None)
        if kind in _TASK_ENDS:
            self._stop_running(task_id, worker)
        if kind == "task-received":
            task.name = text(event.get("name"), NAME_LIMIT) or task.name
            task.args = shown_value(event.get("args"))
            task.kwargs = shown_value(event.get("kwargs"))
            task.retries = count(event.get("retries"))
            task.received_at = at
        elif kind == "task-started":
            task.started_at = at
            running = _Running(worker, received_at, _description(task))
            _put(self.running, task_id, running, MAX_TASKS)
        elif kind == "task-succeeded":
            self._end(task_id, task, FINISHED, None, at)
            self.task_event_workers[worker].succeeded += 1
        elif kind == "task-failed":
            self._task_failed(task_id, task, event, at)
            self.task_event_workers[worker].failed += 1
        elif kind in ("task-revoked", "task-rejected") and not event.get("requeue"):
            self.tasks.pop(task_id, None)

    def _sent(self, task_id: str, event: dict[str, Any], at: float) -> None:
        task = self._task(task_id)
        task.name = text(event.get("name"), NAME_LIMIT) or task.name
        task.sent_at = at
        queue = text(event.get("queue"), NAME_LIMIT)
        if queue:
            self.remember_queue(task_id, queue)

    def _task(self, task_id: str) -> _Task:
        task = self.tasks.get(task_id)
        if task is None:
            task = _Task()
        _put(self.tasks, task_id, task, MAX_TASKS)
        return task

    def _task_failed(self, task_id: str, task: _Task, event: dict[str, Any], at: float) -> None:
        traceback = long_text(event.get("traceback"))
        exception = exception_from_repr(event.get("exception")) or exception_from_traceback(
            traceback
        )
        self._end(task_id, task, FAILED, exception, at)
        failure = CeleryFailure(
            id=task_id,
            name=task.name,
            args=task.args,
            kwargs=task.kwargs,
            exception=exception,
            message=shown_value(event.get("exception"), ARGUMENTS_LIMIT),
            traceback=traceback,
            worker=task.worker,
            queue=self._queue_of(task_id),
            received_at=task.received_at,
            started_at=task.started_at,
            failed_at=at,
            retries=task.retries,
        )
        self._add_failure(failure)

    def _end(
        self, task_id: str, task: _Task, outcome: str, exception: str | None, at: float
    ) -> None:
        self.tasks.pop(task_id, None)
        self._count_end(task_id, task, outcome, task.name, exception, at)

    def _count_end(
        self,
        task_id: str,
        task: _Task,
        outcome: str,
        name: str | None,
        exception: str | None,
        at: float,
    ) -> None:
        """Count a task's end once, whichever source (events or a stored result) told it first."""
        if task_id in self.counted:
            return
        _put(self.counted, task_id, None, MAX_COUNTED)
        self.ended.append(
            Completion(
                id=task_id,
                queue=self._queue_of(task_id),
                outcome=outcome,
                function=name,
                exception=exception,
                enqueued_at=task.sent_at,
                started_at=task.started_at,
                ended_at=at,
                system=CELERY,
            )
        )

    def _queue_of(self, task_id: str) -> str:
        return self.queues.get(task_id, "")

    def apply_result(self, result: StoredResult, received_at: float) -> None:
        """A published result: a failure at once; a completion once `RESULT_GRACE` has passed
        without task events for the same task."""
        if result.queue:
            self.remember_queue(result.task_id, result.queue)
        if result.status == FAILURE:
            self._add_failure(self._result_failure(result, received_at))
        if result.status not in ENDED or result.task_id in self.counted:
            return
        task = self.tasks.get(result.task_id)
        if task is not None and task.worker is not None:
            return  # its worker sends task events: they count it
        _put(self.waiting_results, result.task_id, (result, received_at), MAX_TASKS)

    def _result_failure(self, result: StoredResult, received_at: float) -> CeleryFailure:
        task = self.tasks.get(result.task_id) or _Task()
        return CeleryFailure(
            id=result.task_id,
            name=result.name or task.name,
            args=result.args or task.args,
            kwargs=result.kwargs or task.kwargs,
            exception=result.exception,
            message=result.message,
            traceback=result.traceback,
            worker=result.worker or task.worker,
            queue=self._queue_of(result.task_id),
            received_at=task.received_at,
            started_at=task.started_at,
            failed_at=result.date_done or received_at,
            retries=result.retries if result.retries is not None else task.retries,
        )

    def _add_failure(self, failure: CeleryFailure) -> None:
        """Record a failure; one seen before (events and results both) keeps what it knew."""
        known = self.failures.get(failure.id)
        if known is not None:
            fields = {
                name: getattr(failure, name)
                for name in failure.__dataclass_fields__
                if getattr(known, name) in (None, "")
            }
            failure = replace(known, **fields)
        _put(self.failures, failure.id, failure, MAX_FAILURES)

    def settle_results(self, now: float) -> None:
        """Count the results that waited `RESULT_GRACE` without task events for them."""
        while self.waiting_results:
            task_id, (result, received_at) = next(iter(self.waiting_results.items()))
            if now - received_at < RESULT_GRACE:
                return
            del self.waiting_results[task_id]
            task = self.tasks.pop(task_id, None) or _Task()
            outcome = FINISHED if result.status == SUCCESS else FAILED
            ended_at = result.date_done or received_at
            self._count_end(
                task_id, task, outcome, result.name or task.name, result.exception, ended_at
            )

    def expire_workers(self, now: float) -> None:
        """Move workers past Celery's rule to `expired`; forget expired ones after a while."""
        for name, worker in list(self.workers.items()):
            if now >= worker.seen_at + worker.freq * HEARTBEAT_EXPIRE_FACTOR:
                del self.workers[name]
                _put(self.expired, name, now, MAX_EXPIRED)
                self._forget_running(name)
        for name, since in list(self.expired.items()):
            if now - since > EXPIRED_KEPT_SECONDS:
                del self.expired[name]

    def _stop_running(self, task_id: str, worker: str) -> None:
        """A task seen running ended: its worker's heartbeat count of active tasks drops too,
        until the next heartbeat says again, so the worker is idle at once."""
        if self.running.pop(task_id, None) is None:
            return
        known = self.workers.get(worker)
        if known is not None and known.active:
            known.active -= 1

    def _forget_running(self, worker: str) -> None:
        """A worker gone offline or expired runs nothing any more."""
        for task_id in [key for key, running in self.running.items() if running.worker == worker]:
            del self.running[task_id]

    def worker_stats(self, now: float) -> tuple[WorkerStats, ...]:
        """The live workers as qwatch's records, by name."""
        longest = self._longest_running()
        return tuple(
            self._stats(self.workers[name], longest.get(name), now) for name in sorted(self.workers)
        )

    def _longest_running(self) -> dict[str, tuple[str, _Running]]:
        """Per worker, the task it has run longest: a worker with concurrency > 1 runs several
        at once, and one row shows one, the likeliest to be stuck."""
        longest: dict[str, tuple[str, _Running]] = {}
        for task_id, running in self.running.items():
            known = longest.get(running.worker)
            if known is None or running.since < known[1].since:
                longest[running.worker] = (task_id, running)
        return longest

    def _stats(
        self, worker: _Worker, current: tuple[str, _Running] | None, now: float
    ) -> WorkerStats:
        """One worker; `current` is its longest-running task (task events only), if any."""
        outcomes = self.task_event_workers.get(worker.name)
        age = max(0.0, now - worker.seen_at)
        return WorkerStats(
            name=worker.name,
            hostname=worker.name.partition("@")[2] or None,
            pid=worker.pid,
            state="busy" if current or worker.active else "idle",
            queues=(),
            current_job=current[0] if current else None,
            current_job_description=current[1].description if current else None,
            current_job_seconds=max(0.0, now - current[1].since) if current else None,
            birth=worker.birth,
            heartbeat_age_seconds=age,
            heartbeat_overdue=age > worker.freq * OVERDUE_FACTOR,
            successful_jobs=outcomes.succeeded if outcomes else None,
            failed_jobs=outcomes.failed if outcomes else None,
            working_seconds=None,
            system=CELERY,
            processed=worker.processed,
            first_processed=worker.first_processed,
            load_average=worker.load_average,
            task_events=self.sends_task_events(worker),
        )

    def sends_task_events(self, worker: _Worker) -> bool | None:
        """True once a task event came from it; False once it processed tasks while listened
        to and none came; else None."""
        if worker.name in self.task_event_workers:
            return True
        grew = worker.processed is not None and worker.processed != worker.first_processed
        return False if grew else None

    def take_ended(self) -> list[Completion]:
        """The ends counted since the last call, oldest first."""
        taken = list(self.ended)
        self.ended.clear()
        return taken


def _description(task: _Task) -> str | None:
    """`harness.sleep (3,) {'x': 1}`: the name, then the args and kwargs reprs when known and
    not empty; clipped like RQ's descriptions."""
    if task.name is None:
        return None
    shown = [task.name] + [part for part in (task.args, task.kwargs) if part and part not in _EMPTY]
    return clip(" ".join(shown), ROW_DESCRIPTION_LIMIT)


def _load_average(value: Any) -> tuple[float, ...] | None:
    if not isinstance(value, list) or not 0 < len(value) <= 3:
        return None
    loads = tuple(seconds(item) for item in value)
    return None if any(load is None for load in loads) else loads  # type: ignore[return-value]


def by_newest(failures: OrderedDict[str, CeleryFailure]) -> tuple[CeleryFailure, ...]:
    """Failures, the newest first."""
    return tuple(sorted(failures.values(), key=attrgetter("failed_at"), reverse=True))
