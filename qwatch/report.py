"""The snapshot, a job and the failed list as Rich renderables for the terminal."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Group, JustifyMethod, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from qwatch.browse import JobPage
from qwatch.formatting import byte_size, clock, duration, plural
from qwatch.jobs import FailedJob, JobDetail
from qwatch.listing import ATTEMPT_COLUMNS, COLUMNS, attempt_rows, cells, retries, summary
from qwatch.printable import printable, printable_lines
from qwatch.snapshot import Snapshot

WIDE = 200
"""Where there is no terminal to fit, e.g. a pipe."""
STATE_STYLES = {"busy": "yellow", "idle": "green", "suspended": "magenta", "started": "cyan"}


def snapshot_report(snapshot: Snapshot, target: str, width: int = WIDE) -> RenderableType:
    """Queues, workers and problems, like `rq info` but complete, in `width` columns."""
    parts: list[RenderableType] = [
        _header(snapshot, target, width),
        _queues(snapshot, width),
        _workers(snapshot, width),
    ]
    if snapshot.abandoned_jobs:
        parts.append(_abandoned(snapshot, width))
    hint = empty_hint(snapshot, target)
    if hint:
        parts.append(Text(f"\n{hint}", style="yellow"))
    if snapshot.expired_workers:
        names = ", ".join(snapshot.expired_workers)
        parts.append(_text(f"registered but expired workers: {names}", style="red"))
    parts += [Text(f"note: {note}", style="yellow") for note in snapshot.notes]
    if snapshot.records_skipped:
        skipped = plural(snapshot.records_skipped, "record")
        parts.append(Text(f"note: {skipped} left out for absurd or unreadable values, logged"))
    return Group(*parts)


def headline(snapshot: Snapshot) -> str:
    """Redis version and memory, then the totals: the first line of every face."""
    info = snapshot.redis
    memory = byte_size(info.used_memory_bytes)
    if info.max_memory_bytes:
        memory += f" of {byte_size(info.max_memory_bytes)}"
    queued = sum(queue.queued for queue in snapshot.queues)
    failed = sum(queue.failed for queue in snapshot.queues)
    line = (
        f"Redis {info.version or '?'}  {memory}  {plural(len(snapshot.queues), 'queue')}"
        f"  {queued} queued  {failed} failed  {plural(len(snapshot.workers), 'worker')}"
    )
    if snapshot.records_skipped:
        line += f"  {plural(snapshot.records_skipped, 'record')} skipped"
    return line


def empty_hint(snapshot: Snapshot, target: str) -> str | None:
    """When nothing of RQ's is here: which db was read, and where else there are keys."""
    if snapshot.queues or snapshot.workers:
        return None
    elsewhere = [
        f"db {db} holds {plural(count, 'key')}"
        for db, count in snapshot.redis.keys_per_db
        if not target.endswith((f"/{db}", f"db={db}"))
    ]
    where = f" ({', '.join(elsewhere)})" if elsewhere else ""
    return (
        f"No RQ queues or workers in {target}. If RQ uses another Redis or db{where},"
        " point qwatch at it: --url redis://HOST:PORT/DB or $QWATCH_REDIS_URL."
    )


def _header(snapshot: Snapshot, target: str, width: int) -> Text:
    """The target and the headline, on two lines when one would break a phrase."""
    line = headline(snapshot) + ("  SUSPENDED" if snapshot.suspended else "")
    joint = "  " if len(target) + 2 + len(line) <= width else "\n"
    text = _text(target) + Text(joint) + _text(line)
    text.highlight_words(["SUSPENDED"], style="bold magenta")
    return text


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a one-shot table: how narrow it may get, and how long it stays."""

    header: str
    number: bool = False
    narrowest: int = 0
    """Text columns are cut with `…` down to this width; 0 keeps the column whole."""
    keep: int = 0
    """When the terminal is too narrow, the lowest `keep` goes first; 0 never goes."""


Cell = str | Text


def fitted_table(
    title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int
) -> RenderableType:
    """A table of one line per row in `width` columns: text is cut with `…`, ids and numbers
    never, and the least useful columns are left out (and named) when even that is too wide."""
    natural = [
        max([len(column.header), *(_one_line(row[index]).cell_len for row in rows)])
        for index, column in enumerate(columns)
    ]
    widths = _fit(columns, natural, width)
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, padding=0
    )
    shown = [index for index, column_width in enumerate(widths) if column_width]
    for index in shown:
        justify: JustifyMethod = "right" if columns[index].number else "left"
        table.add_column(columns[index].header, justify=justify, width=widths[index], no_wrap=True)
    for row in rows:
        table.add_row(*(_one_line(row[index]) for index in shown))
    hidden = [column.header for column, column_width in zip(columns, widths) if not column_width]
    parts: list[RenderableType] = [Text(""), table]
    if hidden:
        parts.append(Text(f"{', '.join(hidden)} left out at {width} columns", style="dim"))
    return Group(*parts)


def _fit(columns: Sequence[Column], natural: list[int], width: int) -> list[int]:
    """Each column's width, 0 for those left out: the narrowest that serve, then the room left
    shared out evenly, no column wider than its widest cell."""
    widths = [min(column.narrowest or size, size) for column, size in zip(columns, natural)]
    while sum(size + 1 for size in widths if size) - 1 > width:
        droppable = [index for index, size in enumerate(widths) if size and columns[index].keep]
        if not droppable:
            break
        widths[min(droppable, key=lambda index: (columns[index].keep, -index))] = 0
    room = width - (sum(size + 1 for size in widths if size) - 1)
    while room > 0:
        growing = [index for index, size in enumerate(widths) if 0 < size < natural[index]]
        for index in growing[:room]:
            widths[index] += 1
        room -= len(growing[:room])
        if not growing:
            break
    return widths


def _one_line(cell: Cell) -> Text:
    """A cell on one line, never read as markup nor sent as controls (names come from Redis)."""
    text = _text(cell) if isinstance(cell, str) else _text(cell.plain, cell.style)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _queues(snapshot: Snapshot, width: int) -> RenderableType:
    columns = [
        Column("queue", narrowest=8),
        Column("queued", number=True),
        Column("started", number=True, keep=6),
        Column("failed", number=True),
        Column("finished", number=True, keep=5),
        Column("deferred", number=True, keep=2),
        Column("scheduled", number=True, keep=3),
        Column("canceled", number=True, keep=1),
        Column("workers", number=True),
        Column("oldest", number=True, keep=4),
    ]
    rows = [
        (
            queue.name,
            str(queue.queued),
            str(queue.started),
            Text(str(queue.failed), style="red" if queue.failed else ""),
            str(queue.finished),
            str(queue.deferred),
            str(queue.scheduled),
            str(queue.canceled),
            Text(
                str(queue.workers), style="bold red" if queue.queued and not queue.workers else ""
            ),
            duration(queue.oldest_queued_age_seconds),
        )
        for queue in snapshot.queues
    ]
    return fitted_table("Queues", columns, rows, width)


def _workers(snapshot: Snapshot, width: int) -> RenderableType:
    columns = [
        Column("worker", narrowest=12),
        Column("host", narrowest=8, keep=5),
        Column("pid", number=True, keep=2),
        Column("state"),
        Column("queues", narrowest=8, keep=6),
        Column("current job", narrowest=10, keep=7),
        Column("heartbeat", number=True, keep=4),
        Column("ok", number=True, keep=3),
        Column("failed", number=True, keep=3),
        Column("working", number=True, keep=1),
        Column("ip", keep=1),
        Column("python", keep=1),
        Column("rq", keep=1),
    ]
    rows = []
    for worker in snapshot.workers:
        job = worker.current_job_description or worker.current_job or ""
        if job and worker.current_job_seconds is not None:
            job = f"({duration(worker.current_job_seconds)}) {job}"
        rows.append(
            (
                worker.name,
                worker.hostname or "-",
                str(worker.pid or "-"),
                Text(worker.state, style=STATE_STYLES.get(worker.state, "")),
                ",".join(worker.queues),
                job,
                Text(
                    duration(worker.heartbeat_age_seconds),
                    style="bold red" if worker.heartbeat_overdue else "",
                ),
                _number(worker.successful_jobs),
                _number(worker.failed_jobs),
                duration(worker.working_seconds),
                worker.ip_address or "-",
                worker.python_version or "-",
                worker.rq_version or "-",
            )
        )
    return fitted_table("Workers", columns, rows, width)


def _abandoned(snapshot: Snapshot, width: int) -> RenderableType:
    columns = [
        Column("job"),
        Column("queue", narrowest=8),
        Column("worker", narrowest=8),
        Column("overdue", number=True),
    ]
    rows = [
        (job.id, job.queue, job.worker or "-", duration(job.overdue_seconds))
        for job in snapshot.abandoned_jobs
    ]
    return fitted_table("Abandoned jobs", columns, rows, width)


def failed_report(
    rows: Sequence[FailedJob], width: int = WIDE, now: float | None = None
) -> RenderableType:
    """The failed list, one job a line, newest first; the id always whole."""
    now = time.time() if now is None else now
    columns = [
        Column("ago", number=True),
        Column("queue", narrowest=6, keep=2),
        Column("function", narrowest=10, keep=3),
        Column("exception", narrowest=18),
        Column("worker", narrowest=8, keep=1),
        Column("job"),
    ]
    cells = [
        (
            duration(now - row.failed_at) if row.failed_at else "-",
            row.queue,
            row.function,
            Text(row.exception or "-", style="red"),
            row.worker or "-",
            row.id,
        )
        for row in rows
    ]
    return fitted_table("Failed jobs", columns, cells, width)


JOB_COLUMNS = {
    "position": Column("#", number=True),
    "id": Column("job"),
    "function": Column("function", narrowest=10, keep=3),
    "worker": Column("worker", narrowest=8, keep=2),
    "waits_for": Column("waits for", narrowest=10, keep=2),
    "result": Column("result", narrowest=10),
    "exception": Column("exception", narrowest=18),
}
"""How each column of `qwatch jobs` fits a narrow terminal; times are numbers."""


def jobs_report(page: JobPage, width: int = WIDE) -> RenderableType:
    """One page of a queue's jobs in one state, then where it sits and how to go on."""
    state = page.request.state
    columns = [
        JOB_COLUMNS.get(key, Column(header, number=True, keep=4)) for key, header in COLUMNS[state]
    ]
    rows = [cells(job, state, page.taken_at) for job in page.jobs]
    note = summary(page)
    if page.next_offset is not None:
        note += f"; next page: --offset {page.next_offset}"
    title = f"{state.capitalize()} jobs of {page.request.queue}"
    return Group(fitted_table(title, columns, rows, width), _text(note))


def job_report(job: JobDetail) -> RenderableType:
    """Everything about one job, its traceback last and whole."""
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    _add_row(fields, "job", job.id)
    _add_row(fields, "status", job.status or "-")
    _add_row(fields, "function", job.function)
    _add_row(fields, "arguments", job.arguments or "-")
    _add_row(fields, "origin", job.origin or "-")
    _add_row(fields, "worker", job.worker or "-")
    for label, value in (
        ("created", job.created_at),
        ("enqueued", job.enqueued_at),
        ("started", job.started_at),
        ("ended", job.ended_at),
    ):
        _add_row(fields, label, clock(value))
    _add_row(fields, "waited", duration(job.wait_seconds))
    _add_row(fields, "ran", duration(job.run_seconds))
    _add_row(fields, "timeout", f"{job.timeout}s" if job.timeout is not None else "-")
    _add_row(fields, "retries", retries(job))
    _add_row(fields, "depends on", ", ".join(job.dependencies) or "-")
    _add_row(fields, "meta", job.meta or "-")
    if job.result is not None:
        _add_row(fields, "result", job.result)
    if job.exception:
        _add_row(fields, "exception", _text(job.exception, style="red"))
    parts: list[RenderableType] = [fields]
    if job.attempts:
        attempts = Table(title="attempts", title_justify="left", box=None, pad_edge=False)
        for header in ATTEMPT_COLUMNS:
            attempts.add_column(header)
        for row in attempt_rows(job):
            _add_row(attempts, *row)
        parts += [Text(""), attempts]
    if job.traceback:
        parts += [Text(""), Text(printable_lines(job.traceback))]
    return Group(*parts)


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _add_row(table: Table, *cells: str | Text) -> None:
    """Add a row whose strings are shown as `_text` shows them."""
    table.add_row(*(_text(cell) if isinstance(cell, str) else cell for cell in cells))


def _text(value: str, style: str | Style = "") -> Text:
    """Text from Redis as it is, never as markup (a queue may be named `[red]`), and with
    its control characters written out (a hostname may hold an escape sequence)."""
    return Text(printable(value), style=style)
