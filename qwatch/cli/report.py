"""The snapshot, a job and the failed list as Rich renderables for the terminal."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich import box
from rich.console import Group, JustifyMethod, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from qwatch.model import CELERY, RQ, CeleryPage, FailedJob, JobDetail, JobPage, QueueStats, Snapshot
from qwatch.text.columns import GAP, Column, fit, fitted, measure
from qwatch.text.formatting import byte_size, duration, load_average, plural
from qwatch.text.listing import (
    ATTEMPT_COLUMNS,
    CELERY_COLUMNS,
    COLUMNS,
    attempt_rows,
    celery_cells,
    cells,
    detail_rows,
    summary,
)
from qwatch.text.printable import printable, printable_lines

WIDE = 200
"""Where there is no terminal to fit, e.g. a pipe."""
STATE_STYLES = {"busy": "yellow", "idle": "green", "suspended": "magenta", "started": "cyan"}
ROW_STYLES = {"exception": "red"}
"""How `qwatch job` marks a row of `detail_rows`, by its label."""

QUEUE_COLUMNS = (
    Column("queue", "queue", 1, least=8), Column("system", "system", 1, optional=True),
    Column("queued", "queued", 1, numeric=True),
    Column("started", "started", 2, numeric=True), Column("failed", "failed", 1, numeric=True),
    Column("finished", "finished", 3, numeric=True),
    Column("deferred", "deferred", 4, numeric=True),
    Column("scheduled", "scheduled", 4, numeric=True),
    Column("canceled", "canceled", 5, numeric=True),
    Column("workers", "workers", 1, numeric=True), Column("oldest", "oldest", 2, numeric=True),
    Column("reserved", "reserved", 2, numeric=True, optional=True),
    Column("overdue", "overdue", 1, numeric=True, optional=True),
    Column("ready", "ready", 3, numeric=True, optional=True),
    Column("limited", "rate-limited", 2, numeric=True, optional=True),
)  # fmt: skip
"""`system` shows when both systems have queues, `reserved` and `overdue` when Celery has one,
`ready` and `rate-limited` when an RQ 3.0 queue has such jobs, as in `qwatch top`."""
WORKER_COLUMNS = (
    Column("name", "worker", 1, least=12), Column("system", "system", 2, optional=True),
    Column("host", "host", 3, least=8),
    Column("pid", "pid", 5, numeric=True), Column("state", "state", 1),
    Column("queues", "queues", 3, cap=30, least=8),
    Column("job", "current job", 2, cap=60, least=12),
    Column("heartbeat", "heartbeat", 2, numeric=True), Column("ok", "ok", 4, numeric=True),
    Column("failed", "failed", 4, numeric=True),
    Column("processed", "processed", 4, numeric=True, optional=True),
    Column("working", "working", 4, numeric=True),
    Column("load", "load", 5, cap=17, optional=True),
    Column("ip", "ip", 6, least=7), Column("python", "python", 6), Column("rq", "rq", 6),
)  # fmt: skip
"""As in `qwatch top`: a Celery worker counts the tasks it processed (failed ones too) and
says its load average; those columns show when a Celery worker is there, `-` on RQ's rows."""
RATE_LIMIT_COLUMNS = (
    Column("key", "rate limit", 1, least=10), Column("limit", "limit", 1, numeric=True),
    Column("running", "holding a slot", 1, numeric=True),
    Column("waiting", "waiting", 1, numeric=True),
    Column("oldest", "oldest waiting", 2, numeric=True),
)  # fmt: skip
CRON_COLUMNS = (
    Column("name", "cron scheduler", 1, least=10), Column("host", "host", 3, least=8),
    Column("pid", "pid", 4, numeric=True), Column("heartbeat", "heartbeat", 1, numeric=True),
    Column("jobs", "jobs", 2, numeric=True),
    Column("next", "next run", 2, cap=60, least=12),
)  # fmt: skip
ABANDONED_COLUMNS = (
    Column("id", "job", 1), Column("queue", "queue", 2, least=8),
    Column("worker", "worker", 3, least=8), Column("overdue", "overdue", 1, numeric=True),
)  # fmt: skip
FAILED_COLUMNS = (
    Column("ago", "ago", 1, numeric=True), Column("queue", "queue", 3, least=8),
    Column("function", "function", 2, cap=40, least=10, cut="module"),
    Column("exception", "exception", 2, cap=60, least=12, cut="exception"),
    Column("worker", "worker", 4, least=8), Column("id", "job", 1),
)  # fmt: skip
"""As in `qwatch top`: the columns of each table, the least useful with the highest
priority; free text capped (`qwatch job ID` and `--json` have it whole)."""


def snapshot_report(snapshot: Snapshot, target: str, width: int = WIDE) -> RenderableType:
    """Queues, workers and problems, like `rq info` but complete, in `width` columns."""
    tables = [_queues(snapshot, width), _workers(snapshot, width)]
    if snapshot.rate_limits:
        tables.append(_rate_limits(snapshot, width))
    if snapshot.cron_schedulers:
        tables.append(_cron(snapshot, width))
    if snapshot.abandoned_jobs:
        tables.append(_abandoned(snapshot, width))
    parts: list[RenderableType] = [_header(snapshot, target, width)]
    for table in tables:
        parts += [Text(""), table]
    unscheduled = unscheduled_queues(snapshot)
    if unscheduled:
        names = ", ".join(unscheduled)
        parts.append(
            _text(
                f"scheduled jobs wait in {names} but no RQ scheduler holds the queue's lock:"
                " start a worker with --with-scheduler",
                style="yellow",
            )
        )
    hint = empty_hint(snapshot, target)
    if hint:
        parts.append(Text(f"\n{hint}", style="yellow"))
    if snapshot.expired_workers:
        names = ", ".join(snapshot.expired_workers)
        parts.append(_text(f"registered but expired workers: {names}", style="red"))
    listened = listening_line(snapshot)
    if listened:
        parts.append(Text(listened, style="dim"))
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
    failed = sum(queue.failed or 0 for queue in snapshot.queues)
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


Cell = str | Text


def fitted_table(
    title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int
) -> RenderableType:
    """A table of one line per row in `width` columns, fitted as `qwatch top` fits its tables:
    text is cut with `…`, ids and numbers never, and the least useful columns are left out
    (and named) when even that is too wide."""
    lines = [tuple(map(_cell_text, row)) for row in rows]
    widths = measure(lines, len(columns))
    chosen = fit(columns, widths, width + GAP)  # no gap before the first
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, padding=0
    )
    for index, size in chosen.items():
        justify: JustifyMethod = "right" if columns[index].numeric else "left"
        table.add_column(columns[index].label, justify=justify, width=size, no_wrap=True)
    for line in lines:
        table.add_row(
            *(
                Text(fitted(line[index].plain, size, columns[index]), style=line[index].style)
                for index, size in chosen.items()
            )
        )
    hidden = [
        column.label
        for index, column in enumerate(columns)
        if index not in chosen and (widths[index] or not column.optional)
    ]
    parts: list[RenderableType] = [table]
    if hidden:
        parts.append(Text(f"{', '.join(hidden)} left out at {width} columns", style="dim"))
    return Group(*parts)


def _cell_text(cell: Cell) -> Text:
    """A cell never read as markup nor sent as controls (names come from Redis)."""
    return _text(cell) if isinstance(cell, str) else _text(cell.plain, cell.style)


def unscheduled_queues(snapshot: Snapshot) -> list[str]:
    """RQ queues with scheduled jobs that no scheduler will move when they are due."""
    return [
        queue.name
        for queue in snapshot.queues
        if queue.system == RQ and queue.scheduled and queue.scheduler is None
    ]


def _queues(snapshot: Snapshot, width: int) -> RenderableType:
    systems = {queue.system for queue in snapshot.queues}
    mixed = len(systems) > 1
    ready = any(queue.ready for queue in snapshot.queues)
    limited = any(queue.rate_limited for queue in snapshot.queues)
    rows = [
        (
            queue.name,
            queue.system if mixed else "",
            str(queue.queued),
            _number(queue.started),
            Text(_number(queue.failed), style="red" if queue.failed else ""),
            _number(queue.finished),
            _number(queue.deferred),
            _number(queue.scheduled),
            _number(queue.canceled),
            Text(
                _number(queue.workers),
                style="bold red" if queue.queued and queue.workers == 0 else "",
            ),
            duration(queue.oldest_queued_age_seconds),
            *_celery_cells(queue, shown=CELERY in systems),
            _number(queue.ready) if ready else "",
            Text(_number(queue.rate_limited), style="yellow" if queue.rate_limited else "")
            if limited
            else "",
        )
        for queue in snapshot.queues
    ]
    return fitted_table("Queues", QUEUE_COLUMNS, rows, width)


def _celery_cells(queue: QueueStats, shown: bool) -> tuple[str | Text, str | Text]:
    """Reserved and overdue: blank while no Celery queue is shown, `-` on an RQ row."""
    if queue.celery is None:
        return ("-", "-") if shown else ("", "")
    overdue = queue.celery.overdue
    return _number(queue.celery.reserved), Text(_number(overdue), style="yellow" if overdue else "")


def listening_line(snapshot: Snapshot) -> str | None:
    """How long Celery's events were heard: its workers and tasks are known only since."""
    watch = snapshot.celery
    if watch is None:
        return None
    return (
        f"Celery: listened {watch.listening_seconds:.1f}s to its events"
        f" ({plural(watch.events_seen, 'event')}, {plural(watch.results_seen, 'result')}):"
        " only workers that sent a heartbeat meanwhile are shown"
    )


def _workers(snapshot: Snapshot, width: int) -> RenderableType:
    rows = []
    systems = {worker.system for worker in snapshot.workers}
    mixed = len(systems) > 1
    celery = CELERY in systems
    for worker in snapshot.workers:
        job = worker.current_job_description or worker.current_job or ""
        if job and worker.current_job_seconds is not None:
            job = f"({duration(worker.current_job_seconds)}) {job}"
        if len(worker.current_jobs) > 1:
            job = f"{job} +{len(worker.current_jobs) - 1} more"
        rows.append(
            (
                worker.name,
                worker.system if mixed else "",
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
                _number(worker.processed) if celery else "",
                duration(worker.working_seconds),
                load_average(worker.load_average) if celery else "",
                worker.ip_address or "-",
                worker.python_version or "-",
                worker.rq_version or "-",
            )
        )
    return fitted_table("Workers", WORKER_COLUMNS, rows, width)


def _rate_limits(snapshot: Snapshot, width: int) -> RenderableType:
    rows = [
        (
            limit.key,
            _number(limit.concurrency),
            str(limit.running),
            Text(str(limit.waiting), style="yellow" if limit.waiting else ""),
            duration(limit.oldest_waiting_age_seconds),
        )
        for limit in snapshot.rate_limits
    ]
    return fitted_table("Rate limits", RATE_LIMIT_COLUMNS, rows, width)


def _cron(snapshot: Snapshot, width: int) -> RenderableType:
    now = snapshot.taken_at
    rows = []
    for scheduler in snapshot.cron_schedulers:
        upcoming = sorted(
            (job.next_run_at, job.name or job.function or "?")
            for job in scheduler.jobs
            if job.next_run_at is not None
        )
        following = (
            f"{upcoming[0][1]} in {duration(max(0.0, upcoming[0][0] - now))}" if upcoming else "-"
        )
        rows.append(
            (
                scheduler.name,
                scheduler.hostname or "-",
                str(scheduler.pid or "-"),
                Text(
                    duration(scheduler.heartbeat_age_seconds),
                    style="bold red" if scheduler.stale else "",
                ),
                str(len(scheduler.jobs)),
                following,
            )
        )
    return fitted_table("Cron schedulers", CRON_COLUMNS, rows, width)


def _abandoned(snapshot: Snapshot, width: int) -> RenderableType:
    rows = [
        (job.id, job.queue, job.worker or "-", duration(job.overdue_seconds))
        for job in snapshot.abandoned_jobs
    ]
    return fitted_table("Abandoned jobs", ABANDONED_COLUMNS, rows, width)


def failed_report(
    rows: Sequence[FailedJob], width: int = WIDE, now: float | None = None
) -> RenderableType:
    """The failed list, one job a line, newest first; the id always whole; each queue says
    its system when RQ's and Celery's failures are listed together."""
    now = time.time() if now is None else now
    mixed = len({row.system for row in rows}) > 1
    cells = [
        (
            duration(now - row.failed_at) if row.failed_at else "-",
            f"{row.queue} ({row.system})" if mixed else row.queue,
            row.function,
            Text(row.exception or "-", style="red"),
            row.worker or "-",
            row.id,
        )
        for row in rows
    ]
    return fitted_table("Failed jobs", FAILED_COLUMNS, cells, width)


def jobs_report(page: JobPage, width: int = WIDE) -> RenderableType:
    """One page of a queue's jobs in one state, then where it sits and how to go on."""
    state = page.request.state
    rows = [cells(job, state, page.taken_at) for job in page.jobs]
    title = f"{state.capitalize()} jobs of {page.request.queue}"
    return _page(page, fitted_table(title, COLUMNS[state], rows, width))


def celery_jobs_report(page: CeleryPage, width: int = WIDE) -> RenderableType:
    """One page of a Celery queue's messages in one state, as `jobs_report` shows RQ's."""
    state = page.request.state
    rows = [celery_cells(message, state, page.taken_at) for message in page.jobs]
    title = f"{state.capitalize()} messages of Celery queue {page.request.queue}"
    return _page(page, fitted_table(title, CELERY_COLUMNS[state], rows, width))


def _page(page: JobPage | CeleryPage, table: RenderableType) -> RenderableType:
    """A page's table, then where it sits and how to go on."""
    note = summary(page)
    if page.next_offset is not None:
        note += f"; next page: --offset {page.next_offset}"
    return Group(table, _text(note))


def job_report(job: JobDetail) -> RenderableType:
    """Everything about one job, its traceback last and whole.

    Values fold onto more lines rather than being cut: a long one was cut once
    already, where it was read, with a note saying how much.
    """
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column(overflow="fold")
    for label, value in [("job", job.id), *detail_rows(job)]:
        _add_row(fields, label, _text(value, style=ROW_STYLES.get(label, "")))
    parts: list[RenderableType] = [fields]
    if job.attempts:
        parts += [Text(""), attempts_table(job, "attempts")]
    if job.traceback:
        parts += [Text(""), Text(printable_lines(job.traceback))]
    return Group(*parts)


def attempts_table(job: JobDetail, title: str) -> RenderableType:
    """The job's recorded executions, oldest first, from its results stream.

    Each result or exception has its own line under the table, as wide as
    the terminal, and folds rather than being cut: it was cut once already,
    with a note saying how much.
    """
    *headers, outcome_header = ATTEMPT_COLUMNS
    rows = attempt_rows(job)
    runs = Table(box=None, pad_edge=False)
    outcomes = Table(box=None, pad_edge=False)
    for header in headers:
        runs.add_column(header, no_wrap=header != "worker", overflow="fold")
    outcomes.add_column(headers[0], no_wrap=True)
    outcomes.add_column(outcome_header, overflow="fold")
    for *run, outcome in rows:
        _add_row(runs, *run)
        _add_row(outcomes, run[0], outcome)
    return Group(Text(title, style="italic"), runs, Text(""), outcomes)


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _add_row(table: Table, *cells: str | Text) -> None:
    """Add a row whose strings are shown as `_text` shows them."""
    table.add_row(*(_text(cell) if isinstance(cell, str) else cell for cell in cells))


def _text(value: str, style: str | Style = "") -> Text:
    """Text from Redis as it is, never as markup (a queue may be named `[red]`), and with
    its control characters written out (a hostname may hold an escape sequence)."""
    return Text(printable(value), style=style)
