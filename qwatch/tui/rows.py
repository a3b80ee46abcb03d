"""Table rows for each screen, from an update: pure functions, so every screen renders alike.

A row is its key (stable across refreshes, so the cursor stays on it) and
its cells: plain strings, or `Sortable` values with a style. The table paints
them as plain text, never as markup, so a queue named `[red]` shows as it is;
text from Redis goes through `printable`, so its control characters are
written out, never sent (a hostname could hold an escape sequence).
Cells are cheap on purpose: a poll builds them for ten thousand rows. Colours
come from the app's theme through a palette.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from rich.text import Text

from qwatch.model import CELERY, CeleryQueue, FailedJob, QueueStats, WorkerStats
from qwatch.text.columns import Column
from qwatch.text.formatting import duration, load_average
from qwatch.text.printable import printable
from qwatch.tui.feed import Update
from qwatch.tui.recent import FunctionRecent
from qwatch.tui.row_keys import key_of, row_key
from qwatch.tui.trends import HISTORY, QueueTrend, sparkline


@dataclass(frozen=True, slots=True)
class Sortable:
    """A cell shown as `text` that sorts by `value` (numbers as numbers), in a palette style."""

    value: float | str
    text: str
    style: str = ""

    def __str__(self) -> str:
        return self.text


Cell = str | Sortable | Text
"""Plain text, or a value with a style: cheap to build for ten thousand rows."""
Rows = dict[str, tuple[Cell, ...]]
Palette = Mapping[str, str]
BLANK = Sortable(-1, "")
"""The cell of an optional column on a row it says nothing about."""

PLAIN: Palette = {"error": "bold", "warning": "bold", "success": "", "accent": "", "secondary": ""}
STATE_COLOURS = {
    "busy": "warning",
    "idle": "success",
    "suspended": "secondary",
    "started": "accent",
}

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
    Column("ready", "ready", 5, numeric=True, optional=True),
    Column("workers", "workers", 1, numeric=True),
    Column("oldest", "oldest", 2, numeric=True), Column("in", "in/s", 3, numeric=True),
    Column("out", "out/s", 3, numeric=True),
    Column("backlog", "backlog", 3, cap=HISTORY, least=6, cut="start"),
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
HOST_COLUMNS = (
    Column("host", "host", 1, least=10), Column("workers", "workers", 1, numeric=True),
    Column("busy", "busy", 1, numeric=True), Column("idle", "idle", 1, numeric=True),
    Column("other", "other states", 2, numeric=True),
)  # fmt: skip
FAILED_COLUMNS = (
    Column("when", "when", 1, numeric=True), Column("queue", "queue", 3, least=8),
    Column("function", "function", 2, cap=40, least=10, cut="module"),
    Column("exception", "exception", 2, cap=60, least=12, cut="exception"),
    Column("worker", "worker", 4, least=8), Column("id", "job", 1),
    Column("system", "system", 1, optional=True),
)  # fmt: skip
FUNCTION_COLUMNS = (
    Column("function", "function", 1, least=12, cut="module"),
    Column("queued", "queued", 1, numeric=True),
    Column("started", "started", 1, numeric=True), Column("failed", "failed", 1, numeric=True),
    Column("done_recent", "done 5m", 2, numeric=True),
    Column("failed_recent", "failed 5m", 1, numeric=True),
    Column("p50", "p50", 3, numeric=True), Column("p95", "p95", 2, numeric=True),
    Column("max", "max", 3, numeric=True),
)  # fmt: skip
"""Queued, started and failed now (sampled), then completions of the last five minutes."""


def matches(needle: str, *fields: str | None) -> bool:
    """Whether the filter text appears in any field, ignoring case."""
    needle = needle.lower()
    return not needle or any(needle in (field or "").lower() for field in fields)


def queue_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Keyed by system and name (`row_keys`); the filter matches either."""
    queues = update.snapshot.queues
    systems = {queue.system for queue in queues}
    shown = _Shown(
        limited=any(queue.rate_limited for queue in queues),
        ready=any(queue.ready for queue in queues),
    )
    rows: Rows = {}
    for queue in queues:
        if matches(needle, queue.name, queue.system):
            key = key_of(queue)
            rows[key] = _queue_row(queue, update.trends.get(key), systems, shown, palette)
    return rows


class _Shown(NamedTuple):
    """The optional RQ 3.0 columns that some queue needs: blank in every row otherwise."""

    limited: bool
    ready: bool


def _queue_row(
    queue: QueueStats,
    trend: QueueTrend | None,
    systems: set[str],
    shown: _Shown,
    palette: Palette,
) -> tuple[Cell, ...]:
    no_workers = queue.queued > 0 and queue.workers == 0
    return (
        printable(queue.name),
        queue.system if len(systems) > 1 else "",
        _count(queue.queued),
        _count(queue.started),
        _count(queue.failed, palette["error"] if queue.failed else ""),
        *_celery_cells(queue.celery, CELERY in systems, palette),
        _count(queue.rate_limited, palette["warning"] if queue.rate_limited else "")
        if shown.limited
        else BLANK,
        _count(queue.finished),
        _count(queue.deferred),
        _count(queue.scheduled),
        _count(queue.ready) if shown.ready else BLANK,
        _count(queue.workers, palette["error"] if no_workers else ""),
        _seconds(queue.oldest_queued_age_seconds),
        _rate(trend.in_per_second if trend else None),
        _rate(trend.out_per_second if trend else None),
        _backlog(trend, palette),
    )


def _celery_cells(celery: CeleryQueue | None, shown: bool, palette: Palette) -> tuple[Cell, ...]:
    """Reserved and overdue: `-` on an RQ queue beside Celery's, blank (the columns drop)
    with no Celery queue at all."""
    if celery is None:
        return (_count(None), _count(None)) if shown else (BLANK, BLANK)
    return (
        _count(celery.reserved),
        _count(celery.overdue, palette["warning"] if celery.overdue else ""),
    )


def worker_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Keyed by system and name (`row_keys`)."""
    systems = {worker.system for worker in update.snapshot.workers}
    return {
        key_of(worker): _worker_row(worker, systems, palette)
        for worker in update.snapshot.workers
        if matches(
            needle,
            worker.name,
            worker.system,
            worker.hostname,
            worker.state,
            ",".join(worker.queues),
        )
    }


def _worker_row(worker: WorkerStats, systems: set[str], palette: Palette) -> tuple[Cell, ...]:
    heartbeat = duration(worker.heartbeat_age_seconds)
    overdue = worker.heartbeat_overdue
    age = worker.heartbeat_age_seconds
    colour = STATE_COLOURS.get(worker.state, "")
    celery = CELERY in systems
    return (
        printable(worker.name),
        worker.system if len(systems) > 1 else "",
        printable(worker.hostname or "-"),
        _count(worker.pid),
        Sortable(worker.state, printable(worker.state), palette.get(colour, "")),
        printable(",".join(worker.queues)),
        printable(worker.current_job_description or worker.current_job or ""),
        _seconds(worker.current_job_seconds),
        Sortable(
            age if age is not None else -1.0,
            f"{heartbeat} overdue" if overdue else heartbeat,
            palette["error"] if overdue else "",
        ),
        _count(worker.successful_jobs),
        _count(worker.failed_jobs),
        _count(worker.processed) if celery else BLANK,
        _seconds(worker.working_seconds),
        _load(worker.load_average) if celery else BLANK,
        printable(worker.ip_address or "-"),
        printable(worker.python_version or "-"),
        printable(worker.rq_version or "-"),
    )


def host_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Workers grouped by host with counts per state, as in the reference dashboard."""
    hosts: dict[str, Counter[str]] = {}
    for worker in update.snapshot.workers:
        hosts.setdefault(worker.hostname or "-", Counter())[worker.state] += 1
    rows: Rows = {}
    for host, states in sorted(hosts.items()):
        if matches(needle, host):
            total = sum(states.values())
            other = total - states["busy"] - states["idle"]
            counts = (total, states["busy"], states["idle"], other)
            rows[host] = (printable(host), *map(_count, counts))
    return rows


def failed_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Ages are counted to the moment of the snapshot, like every other age shown."""
    now = update.snapshot.taken_at
    systems = {job.system for job in update.failed}
    return {
        row_key(job.system, job.id): _failed_row(job, now, systems, palette)
        for job in update.failed
        if matches(needle, job.queue, job.function, job.exception, job.worker, job.id, job.system)
    }


def _failed_row(
    job: FailedJob, now: float, systems: set[str], palette: Palette
) -> tuple[Cell, ...]:
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


def function_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Every function with jobs waiting, running or failed, or ended in the last minutes."""
    counts = {row.function: row for row in update.functions.rows} if update.functions else {}
    rows: Rows = {}
    for name in [*counts, *(name for name in update.recent if name not in counts)]:
        if not matches(needle, name):
            continue
        now, recent = counts.get(name), update.recent.get(name)
        sampled = (now.queued, now.started, now.failed) if now else None
        rows[name] = (
            printable(name),
            *(map(_count, sampled) if sampled else [_count(None)] * 3),
            *_recent_cells(recent, palette),
        )
    return rows


def _recent_cells(recent: FunctionRecent | None, palette: Palette) -> tuple[Cell, ...]:
    if recent is None:
        return (_count(0), _count(0), _seconds(None), _seconds(None), _seconds(None))
    return (
        _count(recent.finished),
        _count(recent.failed, palette["error"] if recent.failed else ""),
        _seconds(recent.p50_seconds),
        _seconds(recent.p95_seconds),
        _seconds(recent.max_seconds),
    )


def cell_text(cell: object) -> str:
    """What a cell shows, as plain text: never read as markup."""
    if isinstance(cell, Text):
        return cell.plain
    return str(cell)


def cell_style(cell: object) -> str:
    """The cell's own style, drawn over the row's."""
    if isinstance(cell, Sortable):
        return cell.style
    if isinstance(cell, Text):
        return str(cell.style)
    return ""


def sort_key(cell: object) -> tuple[int, float | str]:
    """How a column sorts: numbers as numbers, text as text, text after numbers."""
    if isinstance(cell, Sortable):
        value = cell.value
        return (1, value) if isinstance(value, str) else (0, value)
    plain = cell_text(cell)
    try:
        return (0, float(plain))
    except ValueError:
        return (1, plain.lower())


def _count(value: int | None, style: str = "") -> Sortable:
    return Sortable(-1 if value is None else value, "-" if value is None else str(value), style)


def _seconds(value: float | None) -> Sortable:
    return Sortable(value if value is not None else -1.0, duration(value))


def _load(value: tuple[float, ...] | None) -> Sortable:
    """The load average over 1, 5 and 15 minutes, sorted by the first."""
    return Sortable(value[0] if value else -1.0, load_average(value))


def _rate(value: float | None) -> Sortable:
    return Sortable(value if value is not None else -1.0, "-" if value is None else f"{value:.1f}")


def _backlog(trend: QueueTrend | None, palette: Palette) -> Sortable:
    """A sparkline of the backlog, sorted by the latest backlog; as wide from the first poll
    as when its history is full, so that no column is pushed out as the history grows."""
    if trend is None or not trend.backlog:
        return Sortable(-1, " " * HISTORY, palette["accent"])
    line = sparkline(trend.backlog).rjust(HISTORY)
    return Sortable(trend.backlog[-1], line, palette["accent"])
