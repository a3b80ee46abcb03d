"""The queues, workers and failed tables: each column and each cell defined once, for every face.

A cell is plain text or a `Sortable`: what it shows, what it sorts by, and its
style. Styles are named by role (`error`, `warning`, ...) and a face turns
them into its own through a palette: `qwatch top` takes its theme's colours,
the one-shot tables Rich's. Text from Redis goes through `printable`, so its
control characters are written out, never sent (a hostname could hold an
escape sequence). Cells are cheap on purpose: `top` builds them for ten
thousand rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from qwatch import job_states
from qwatch.history import moments
from qwatch.history.moments import Moment
from qwatch.model import (
    CELERY,
    CeleryQueue,
    CronScheduler,
    FailedJob,
    QueueStats,
    RateLimitStats,
    SearchHit,
    WorkerStats,
)
from qwatch.text.columns import Column
from qwatch.text.formatting import duration, load_average
from qwatch.text.printable import printable


@dataclass(frozen=True, slots=True)
class Sortable:
    """A cell shown as `text` that sorts by `value` (numbers as numbers), in a palette style."""

    value: float | str
    text: str
    style: str = ""

    def __str__(self) -> str:
        return self.text


Cell = str | Sortable
Palette = Mapping[str, str]
"""A style per role: `error`, `warning`, `success`, `accent`, `secondary`."""
PLAIN: Palette = {"error": "bold", "warning": "bold", "success": "", "accent": "", "secondary": ""}
BLANK = Sortable(-1, "")
"""The cell of an optional column on a row it says nothing about."""
STATE_ROLES = {"busy": "warning", "idle": "success", "suspended": "secondary", "started": "accent"}

QUEUE_COLUMNS = (
    Column("queue", "queue", 1, least=10), Column("system", "system", 1, optional=True),
    Column("queued", "queued", 1, numeric=True),
    Column("started", "started", 2, numeric=True), Column("failed", "failed", 1, numeric=True),
    Column("reserved", "reserved", 2, numeric=True, optional=True),
    Column("overdue", "overdue", 1, numeric=True, optional=True),
    Column("limited", "limited", 2, numeric=True, optional=True),
    Column("finished", "finished", 3, numeric=True),
    Column("deferred", "deferred", 5, numeric=True),
    Column("scheduled", "scheduled", 5, numeric=True),
    Column("canceled", "canceled", 6, numeric=True),
    Column("ready", "ready", 5, numeric=True, optional=True),
    Column("workers", "workers", 1, numeric=True),
    Column("oldest", "oldest", 2, numeric=True),
)  # fmt: skip
"""`system` shows when both systems have queues; `reserved` and `overdue` (Celery's messages
taken and not acked, and those kombu will deliver again) when Celery has one; `limited` (jobs
an RQ 3.0 rate limit holds back, outside the queue) and `ready` when a queue has such jobs."""
WORKER_COLUMNS = (
    Column("name", "worker", 1, least=10), Column("system", "system", 2, optional=True),
    Column("host", "host", 3, least=8),
    Column("pid", "pid", 5, numeric=True), Column("state", "state", 1),
    Column("queues", "queues", 3, cap=30, least=8),
    Column("job", "current job", 2, cap=50, least=12), Column("for", "for", 2, numeric=True),
    Column("heartbeat", "heartbeat", 2, numeric=True), Column("ok", "ok", 4, numeric=True),
    Column("failed", "failed", 4, numeric=True),
    Column("processed", "processed", 4, numeric=True, optional=True),
    Column("working", "working", 4, numeric=True),
    Column("load", "load", 5, cap=17, optional=True), Column("ip", "ip", 6, least=7),
    Column("python", "python", 6), Column("rq", "rq", 6),
)  # fmt: skip
"""`ok` and `failed` count outcomes; a Celery worker's `processed` counts every task it
took, failed ones too, so it has its own column, shown (with `load`, its load average)
when a Celery worker is there; `system` when both systems have workers."""
FAILED_COLUMNS = (
    Column("when", "when", 1, numeric=True), Column("queue", "queue", 3, least=8),
    Column("function", "function", 2, cap=40, least=10, cut="module"),
    Column("exception", "exception", 2, cap=60, least=12, cut="exception"),
    Column("worker", "worker", 4, least=8), Column("id", "job", 1),
    Column("system", "system", 1, optional=True),
)  # fmt: skip
"""The least useful columns have the highest priority; free text is capped (`qwatch job ID`,
the inspector and `--json` have it whole); the job id is never cut."""


RATE_LIMIT_COLUMNS = (
    Column("key", "rate limit", 1, least=10), Column("limit", "limit", 1, numeric=True),
    Column("running", "holding a slot", 1, numeric=True),
    Column("waiting", "waiting", 1, numeric=True),
    Column("oldest", "oldest waiting", 2, numeric=True),
)  # fmt: skip
"""RQ 3.0's rate limits, per key."""
CRON_COLUMNS = (
    Column("name", "cron scheduler", 1, least=10), Column("host", "host", 3, least=8),
    Column("pid", "pid", 4, numeric=True), Column("heartbeat", "heartbeat", 1, numeric=True),
    Column("jobs", "jobs", 2, numeric=True),
    Column("next", "next run", 2, cap=60, least=12),
)  # fmt: skip
"""RQ 3.0's `rq cron` processes, and the next job each enqueues."""


SEARCH_COLUMNS = (
    Column("when", "when", 2, numeric=True), Column("queue", "queue", 3, least=8),
    Column("state", "state", 1), Column("function", "function", 2, cap=40, least=10, cut="module"),
    Column("detail", "exception, result or arguments", 2, cap=60, least=12, cut="exception"),
    Column("worker", "worker", 4, least=8), Column("id", "job", 1),
    Column("system", "system", 1, optional=True),
)  # fmt: skip
"""What a search found: where each job is and the line that says most about it."""
MOMENT_COLUMNS = (
    Column("when", "when", 1, numeric=True), Column("kind", "what changed", 2),
    Column("text", "", 3, least=20),
)  # fmt: skip
"""The moments a history told, newest first: when, what kind, and in words."""
MOMENT_ROLES = {
    moments.APPEARED: "success", moments.ANSWERING: "success", moments.DRAINED: "success",
    moments.BACKING_UP: "warning", moments.SILENT: "error", moments.FAILURES: "error",
    moments.UNREACHABLE: "error",
}  # fmt: skip


class QueuesShown(NamedTuple):
    """Which optional queue columns some queue needs: blank in every row otherwise."""

    systems: frozenset[str]
    limited: bool
    ready: bool


def queues_shown(queues: Iterable[QueueStats]) -> QueuesShown:
    queues = tuple(queues)
    return QueuesShown(
        systems=frozenset(queue.system for queue in queues),
        limited=any(queue.rate_limited for queue in queues),
        ready=any(queue.ready for queue in queues),
    )


def queue_cells(queue: QueueStats, shown: QueuesShown, palette: Palette) -> tuple[Cell, ...]:
    no_workers = queue.queued > 0 and queue.workers == 0
    return (
        printable(queue.name),
        queue.system if len(shown.systems) > 1 else "",
        count(queue.queued),
        count(queue.started),
        count(queue.failed, palette["error"] if queue.failed else ""),
        *_celery_cells(queue.celery, CELERY in shown.systems, palette),
        count(queue.rate_limited, palette["warning"] if queue.rate_limited else "")
        if shown.limited
        else BLANK,
        count(queue.finished),
        count(queue.deferred),
        count(queue.scheduled),
        count(queue.canceled),
        count(queue.ready) if shown.ready else BLANK,
        count(queue.workers, palette["error"] if no_workers else ""),
        seconds(queue.oldest_queued_age_seconds),
    )


def _celery_cells(celery: CeleryQueue | None, shown: bool, palette: Palette) -> tuple[Cell, ...]:
    """Reserved and overdue: `-` on an RQ queue beside Celery's, blank (the columns drop)
    with no Celery queue at all."""
    if celery is None:
        return (count(None), count(None)) if shown else (BLANK, BLANK)
    return (
        count(celery.reserved),
        count(celery.overdue, palette["warning"] if celery.overdue else ""),
    )


def worker_cells(worker: WorkerStats, systems: set[str], palette: Palette) -> tuple[Cell, ...]:
    heartbeat = duration(worker.heartbeat_age_seconds)
    overdue = worker.heartbeat_overdue
    age = worker.heartbeat_age_seconds
    celery = CELERY in systems
    return (
        printable(worker.name),
        worker.system if len(systems) > 1 else "",
        printable(worker.hostname or "-"),
        count(worker.pid),
        Sortable(
            worker.state,
            printable(worker.state),
            palette.get(STATE_ROLES.get(worker.state, ""), ""),
        ),
        printable(",".join(worker.queues)),
        printable(_current_job(worker)),
        seconds(worker.current_job_seconds),
        Sortable(
            age if age is not None else -1.0,
            f"{heartbeat} overdue" if overdue else heartbeat,
            palette["error"] if overdue else "",
        ),
        count(worker.successful_jobs),
        count(worker.failed_jobs),
        count(worker.processed) if celery else BLANK,
        seconds(worker.working_seconds),
        _load(worker.load_average) if celery else BLANK,
        printable(worker.ip_address or "-"),
        printable(worker.python_version or "-"),
        printable(worker.rq_version or "-"),
    )


def _state_style(state: str, palette: Palette) -> str:
    return palette.get(STATE_ROLES.get(state, ""), "")


def _current_job(worker: WorkerStats) -> str:
    """The longest-running job, and how many others an RQ 3.0 worker runs beside it."""
    job = worker.current_job_description or worker.current_job or ""
    others = len(worker.current_jobs) - 1
    return f"{job} +{others} more" if others > 0 else job


def failed_cells(
    job: FailedJob, now: float, systems: set[str], palette: Palette
) -> tuple[Cell, ...]:
    """Ages are counted to `now`, the moment of the snapshot, like every other age shown."""
    ago = f"{duration(now - job.failed_at)} ago" if job.failed_at else "-"
    exception = printable(job.exception or "-")
    return (
        Sortable(-(job.failed_at or 0.0), ago),
        printable(job.queue),
        printable(job.function),
        Sortable(exception.lower(), exception, palette["error"]),
        printable(job.worker or "-"),
        printable(job.id),
        job.system if len(systems) > 1 else "",
    )


def moment_cells(moment: Moment, now: float, palette: Palette) -> tuple[Cell, ...]:
    """When as a clock time and an age (`now` the snapshot's), its kind, and its sentence."""
    when = f"{time.strftime('%H:%M:%S', time.gmtime(moment.at))} ({duration(now - moment.at)} ago)"
    return (
        Sortable(-moment.at, when),
        Sortable(moment.kind, moment.kind, palette[MOMENT_ROLES.get(moment.kind, "secondary")]),
        printable(moment.text),
    )


def rate_limit_cells(limit: RateLimitStats, palette: Palette) -> tuple[Cell, ...]:
    return (
        printable(limit.key),
        count(limit.concurrency),
        count(limit.running),
        count(limit.waiting, palette["warning"] if limit.waiting else ""),
        seconds(limit.oldest_waiting_age_seconds),
    )


def cron_cells(scheduler: CronScheduler, now: float, palette: Palette) -> tuple[Cell, ...]:
    age = scheduler.heartbeat_age_seconds
    return (
        printable(scheduler.name),
        printable(scheduler.hostname or "-"),
        count(scheduler.pid),
        Sortable(
            age if age is not None else -1.0,
            duration(age),
            palette["error"] if scheduler.stale else "",
        ),
        count(len(scheduler.jobs)),
        printable(next_cron_job(scheduler, now) or "-"),
    )


def next_cron_job(scheduler: CronScheduler, now: float) -> str | None:
    """The job the scheduler enqueues next, and in how long: `send_report in 2m05s`."""
    upcoming = sorted(
        (job.next_run_at, job.name or job.function or "?")
        for job in scheduler.jobs
        if job.next_run_at is not None
    )
    if not upcoming:
        return None
    at, name = upcoming[0]
    return f"{name} in {duration(max(0.0, at - now))}"


def search_cells(
    hit: SearchHit, now: float, systems: set[str], palette: Palette
) -> tuple[Cell, ...]:
    failed = hit.state == job_states.FAILED
    return (
        Sortable(-(hit.at or 0.0), f"{duration(now - hit.at)} ago" if hit.at else "-"),
        printable(hit.queue),
        Sortable(hit.state, hit.state, palette["error"] if failed else ""),
        printable(hit.function),
        Sortable(
            hit.detail or "", printable(hit.detail or "-"), palette["error"] if failed else ""
        ),
        printable(hit.worker or "-"),
        printable(hit.id),
        hit.system if len(systems) > 1 else "",
    )


def rate(value: float | None) -> Sortable:
    """Jobs a second, one decimal; `-` when not known yet."""
    return Sortable(value if value is not None else -1.0, "-" if value is None else f"{value:.1f}")


def count(value: int | None, style: str = "") -> Sortable:
    return Sortable(-1 if value is None else value, "-" if value is None else str(value), style)


def seconds(value: float | None) -> Sortable:
    return Sortable(value if value is not None else -1.0, duration(value))


def _load(value: tuple[float, ...] | None) -> Sortable:
    """The load average over 1, 5 and 15 minutes, sorted by the first."""
    return Sortable(value[0] if value else -1.0, load_average(value))
