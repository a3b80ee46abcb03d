"""Table rows for each screen of `qwatch top`, from an update: pure functions, keyed rows.

A row is its key (stable across refreshes, so the cursor stays on it) and its
cells, built by `text/tables.py` as the one-shot tables build theirs, plus
what only `top` has: rates and a line of the hour's backlog per queue, hosts and
functions. The table paints cells as plain text, never as markup, so a queue
named `[red]` shows as it is.
"""

from __future__ import annotations

from collections import Counter

from rich.text import Text

from qwatch.text import tables
from qwatch.text.columns import Column
from qwatch.text.printable import printable
from qwatch.text.recent import FunctionRecent
from qwatch.text.row_keys import key_of, row_key
from qwatch.text.tables import PLAIN, Palette, Sortable, count, rate, seconds
from qwatch.text.trends import QueueTrend
from qwatch.tui.feed import BACKLOG_CELLS, Update

Cell = str | Sortable | Text
"""Plain text, or a value with a style: cheap to build for ten thousand rows."""
Rows = dict[str, tuple[Cell, ...]]

TREND_COLUMNS = (
    Column("in", "in/s", 3, numeric=True), Column("out", "out/s", 3, numeric=True),
    Column("backlog", "backlog", 3, cap=BACKLOG_CELLS, least=6, cut="start"),
)  # fmt: skip
"""What only a running `top` knows of a queue: its rates, and its backlog over the hour."""
QUEUE_COLUMNS = (*tables.QUEUE_COLUMNS, *TREND_COLUMNS)
WORKER_COLUMNS = tables.WORKER_COLUMNS
FAILED_COLUMNS = tables.FAILED_COLUMNS
HOST_COLUMNS = (
    Column("host", "host", 1, least=10), Column("workers", "workers", 1, numeric=True),
    Column("busy", "busy", 1, numeric=True), Column("idle", "idle", 1, numeric=True),
    Column("other", "other states", 2, numeric=True),
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
CHANGE_COLUMNS = tables.MOMENT_COLUMNS


def matches(needle: str, *fields: str | None) -> bool:
    """Whether the filter text appears in any field, ignoring case."""
    needle = needle.lower()
    return not needle or any(needle in (field or "").lower() for field in fields)


def queue_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Keyed by system and name (`row_keys`); the filter matches either."""
    queues = update.snapshot.queues
    shown = tables.queues_shown(queues)
    rows: Rows = {}
    for queue in queues:
        if matches(needle, queue.name, queue.system):
            key = key_of(queue)
            trend = update.trends.get(key)
            rows[key] = (
                *tables.queue_cells(queue, shown, palette),
                *_trend_cells(trend),
                _backlog(queue.queued, update.backlogs.get(key), palette),
            )
    return rows


def _trend_cells(trend: QueueTrend | None) -> tuple[Cell, ...]:
    return (
        rate(trend.in_per_second if trend else None),
        rate(trend.out_per_second if trend else None),
    )


def worker_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Keyed by system and name (`row_keys`)."""
    systems = {worker.system for worker in update.snapshot.workers}
    return {
        key_of(worker): tables.worker_cells(worker, systems, palette)
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
            rows[host] = (printable(host), *map(count, counts))
    return rows


def failed_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """Ages are counted to the moment of the snapshot, like every other age shown."""
    now = update.snapshot.taken_at
    systems = {job.system for job in update.failed}
    return {
        row_key(job.system, job.id): tables.failed_cells(job, now, systems, palette)
        for job in update.failed
        if matches(needle, job.queue, job.function, job.exception, job.worker, job.id, job.system)
    }


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
            *(map(count, sampled) if sampled else [count(None)] * 3),
            *_recent_cells(recent, palette),
        )
    return rows


def _recent_cells(recent: FunctionRecent | None, palette: Palette) -> tuple[Cell, ...]:
    if recent is None:
        return (count(0), count(0), seconds(None), seconds(None), seconds(None))
    return (
        count(recent.finished),
        count(recent.failed, palette["error"] if recent.failed else ""),
        seconds(recent.p50_seconds),
        seconds(recent.p95_seconds),
        seconds(recent.max_seconds),
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


def _backlog(queued: int, line: str | None, palette: Palette) -> Sortable:
    """The queue's hour of queued jobs, sorted by its jobs queued now; as wide from the first
    poll as when the hour is full, so that no column is pushed out as the history grows."""
    return Sortable(queued, (line or "").rjust(BACKLOG_CELLS), palette["accent"])


def change_rows(update: Update, needle: str = "", palette: Palette = PLAIN) -> Rows:
    """What changed since top started, newest first; ages counted to the snapshot's moment."""
    now = update.snapshot.taken_at
    return {
        f"{moment.at}:{n}": tables.moment_cells(moment, now, palette)
        for n, moment in enumerate(update.moments)
        if matches(needle, moment.kind, moment.text)
    }
