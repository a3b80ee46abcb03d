"""Table rows for each screen, from an update: pure functions, so every screen renders alike.

A row is its key (stable across refreshes, so the cursor stays on it) and
its cells. Text from Redis always goes through `_text`: it becomes Rich
`Text`, never a string (DataTable reads strings as markup, and a queue or
job could be named `[red]`), with its control characters written out (a
hostname could hold an escape sequence). Colours come from the app's theme
through a palette.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text

from qwatch.formatting import duration
from qwatch.jobs import FailedJob
from qwatch.printable import printable
from qwatch.snapshot import QueueStats, WorkerStats
from qwatch.tui.feed import Update
from qwatch.tui.recent import FunctionRecent
from qwatch.tui.trends import QueueTrend, sparkline


@dataclass(frozen=True, slots=True)
class Sortable:
    """A number shown as text that sorts as a number."""

    value: float
    text: str

    def __str__(self) -> str:
        return self.text


Cell = Text | Sortable
Rows = dict[str, tuple[Cell, ...]]
Palette = Mapping[str, str]

PLAIN: Palette = {"error": "bold", "warning": "bold", "success": "", "accent": "", "secondary": ""}
STATE_COLOURS = {
    "busy": "warning",
    "idle": "success",
    "suspended": "secondary",
    "started": "accent",
}

Column = tuple[str, str, int | None]
"""Key, label, and a fixed width for numbers and ages (None: as wide as the content)."""

QUEUE_COLUMNS: tuple[Column, ...] = (
    ("queue", "queue", None), ("queued", "queued", 8), ("started", "started", 8),
    ("failed", "failed", 8), ("finished", "finished", 9), ("deferred", "deferred", 9),
    ("scheduled", "sched.", 7), ("workers", "workers", 8), ("oldest", "oldest", 8),
    ("in", "in/s", 7), ("out", "out/s", 7), ("backlog", "backlog", 30),
)  # fmt: skip
WORKER_COLUMNS: tuple[Column, ...] = (
    ("name", "worker", None), ("host", "host", None), ("pid", "pid", 8),
    ("state", "state", 10), ("queues", "queues", None), ("job", "current job", None),
    ("for", "for", 8), ("heartbeat", "heartbeat", 16), ("ok", "ok", 8),
    ("failed", "failed", 8), ("working", "working", 8), ("ip", "ip", None),
    ("python", "python", 8), ("rq", "rq", 8),
)  # fmt: skip
HOST_COLUMNS: tuple[Column, ...] = (
    ("host", "host", None), ("workers", "workers", 8), ("busy", "busy", 8),
    ("idle", "idle", 8), ("other", "other states", 12),
)  # fmt: skip
FAILED_COLUMNS: tuple[Column, ...] = (
    ("when", "when", 10), ("queue", "queue", None), ("function", "function", None),
    ("exception", "exception", None), ("worker", "worker", None), ("id", "job", None),
)  # fmt: skip
FUNCTION_COLUMNS: tuple[Column, ...] = (
    ("function", "function", None), ("queued", "queued", 8), ("started", "started", 8),
    ("failed", "failed", 8), ("done_recent", "done 5m", 8), ("failed_recent", "failed 5m", 10),
    ("p50", "p50", 8), ("p95", "p95", 8), ("max", "max", 8),
)  # fmt: skip
"""Queued, started and failed now (sampled), then completions of the last five minutes."""


def matches(needle: str, *fields: str | None) -> bool:
    """Whether the filter text appears in any field, ignoring case."""
    needle = needle.lower()
    return not needle or any(needle in (field or "").lower() for field in fields)


def queue_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    return {
        queue.name: _queue_row(queue, update.trends.get(queue.name), palette)
        for queue in update.snapshot.queues
        if matches(needle, queue.name)
    }


def _queue_row(queue: QueueStats, trend: QueueTrend | None, palette: Palette) -> tuple[Cell, ...]:
    no_workers = queue.queued > 0 and queue.workers == 0
    return (
        _text(queue.name),
        _count(queue.queued),
        _count(queue.started),
        _count(queue.failed, palette["error"] if queue.failed else ""),
        _count(queue.finished),
        _count(queue.deferred),
        _count(queue.scheduled),
        _count(queue.workers, palette["error"] if no_workers else ""),
        _seconds(queue.oldest_queued_age_seconds),
        _rate(trend.in_per_second if trend else None),
        _rate(trend.out_per_second if trend else None),
        Text(sparkline(trend.backlog) if trend else "", style=palette["accent"]),
    )


def worker_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    return {
        worker.name: _worker_row(worker, palette)
        for worker in update.snapshot.workers
        if matches(needle, worker.name, worker.hostname, worker.state, ",".join(worker.queues))
    }


def _worker_row(worker: WorkerStats, palette: Palette) -> tuple[Cell, ...]:
    heartbeat = duration(worker.heartbeat_age_seconds)
    overdue = worker.heartbeat_overdue
    return (
        _text(worker.name),
        _text(worker.hostname or "-"),
        _count(worker.pid or 0),
        _text(worker.state, style=palette.get(STATE_COLOURS.get(worker.state, ""), "")),
        _text(",".join(worker.queues)),
        _text(worker.current_job_description or worker.current_job or ""),
        _seconds(worker.current_job_seconds),
        Text(
            f"{heartbeat} overdue" if overdue else heartbeat,
            style=palette["error"] if overdue else "",
        ),
        _count(worker.successful_jobs),
        _count(worker.failed_jobs),
        _seconds(worker.working_seconds),
        _text(worker.ip_address or "-"),
        _text(worker.python_version or "-"),
        _text(worker.rq_version or "-"),
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
            rows[host] = (_text(host), *map(_count, counts))
    return rows


def failed_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Ages are counted to the moment of the snapshot, like every other age shown."""
    now = update.snapshot.taken_at
    return {
        job.id: _failed_row(job, now, palette)
        for job in update.failed
        if matches(needle, job.queue, job.function, job.exception, job.worker, job.id)
    }


def _failed_row(job: FailedJob, now: float, palette: Palette) -> tuple[Cell, ...]:
    ago = f"{duration(now - job.failed_at)} ago" if job.failed_at else "-"
    return (
        Sortable(-(job.failed_at or 0.0), ago),
        _text(job.queue),
        _text(job.function),
        _text(job.exception or "-", style=palette["error"]),
        _text(job.worker or "-"),
        _text(job.id),
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
            _text(name),
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


def sort_key(cell: object) -> tuple[int, float | str]:
    """How a column sorts: numbers as numbers, text as text."""
    if isinstance(cell, Sortable):
        return (0, cell.value)
    if isinstance(cell, (int, float)):
        return (0, float(cell))
    plain = cell.plain if isinstance(cell, Text) else str(cell)
    try:
        return (0, float(plain))
    except ValueError:
        return (1, plain.lower())


def _text(value: str, style: str = "") -> Text:
    return Text(printable(value), style=style)


def _count(value: int | None, style: str = "") -> Text:
    return Text("-" if value is None else str(value), style=style, justify="right")


def _seconds(value: float | None) -> Sortable:
    return Sortable(value if value is not None else -1.0, duration(value))


def _rate(value: float | None) -> Sortable:
    return Sortable(value if value is not None else -1.0, "-" if value is None else f"{value:.1f}")
