"""The snapshot, a job and the failed list as Rich renderables for the terminal."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from qwatch.browse import JobPage
from qwatch.formatting import byte_size, clock, duration, plural
from qwatch.jobs import FailedJob, JobDetail
from qwatch.listing import COLUMNS, cells, summary
from qwatch.snapshot import Snapshot

STATE_STYLES = {"busy": "yellow", "idle": "green", "suspended": "magenta", "started": "cyan"}


def snapshot_report(snapshot: Snapshot, target: str) -> RenderableType:
    """Queues, workers and problems, like `rq info` but complete."""
    parts: list[RenderableType] = [_header(snapshot, target), _queues(snapshot), _workers(snapshot)]
    if snapshot.abandoned_jobs:
        parts.append(_abandoned(snapshot))
    if snapshot.expired_workers:
        names = ", ".join(snapshot.expired_workers)
        parts.append(Text(f"registered but expired workers: {names}", style="red"))
    return Group(*parts)


def headline(snapshot: Snapshot) -> str:
    """Redis version and memory, then the totals: the first line of every face."""
    info = snapshot.redis
    memory = byte_size(info.used_memory_bytes)
    if info.max_memory_bytes:
        memory += f" of {byte_size(info.max_memory_bytes)}"
    queued = sum(queue.queued for queue in snapshot.queues)
    failed = sum(queue.failed for queue in snapshot.queues)
    return (
        f"Redis {info.version or '?'}  {memory}  {plural(len(snapshot.queues), 'queue')}"
        f"  {queued} queued  {failed} failed  {plural(len(snapshot.workers), 'worker')}"
    )


def _header(snapshot: Snapshot, target: str) -> Text:
    text = Text(f"{target}  {headline(snapshot)}")
    if snapshot.suspended:
        text.append("  SUSPENDED", style="bold magenta")
    return text


def _table(title: str) -> Table:
    """A compact table: one space between columns, so ten of them fit 80 columns."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )


def _number_column(table: Table, header: str) -> None:
    table.add_column(header, justify="right")


def _queues(snapshot: Snapshot) -> Table:
    table = _table("Queues")
    table.add_column("queue", overflow="fold")
    for column in ("queued", "started", "failed", "done", "deferred", "sched", "cancel", "workers"):
        _number_column(table, column)
    _number_column(table, "oldest")
    for queue in snapshot.queues:
        _add_row(
            table,
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
    return table


def _workers(snapshot: Snapshot) -> Table:
    table = _table("Workers")
    for column in ("worker", "host", "pid", "state", "queues", "current job"):
        table.add_column(column, overflow="fold")
    for column in ("heartbeat", "ok", "failed", "working"):
        _number_column(table, column)
    for column in ("ip", "python", "rq"):
        table.add_column(column, overflow="fold")
    for worker in snapshot.workers:
        job = worker.current_job_description or worker.current_job or ""
        if job and worker.current_job_seconds is not None:
            job = f"{job} ({duration(worker.current_job_seconds)})"
        _add_row(
            table,
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
            str(worker.successful_jobs),
            str(worker.failed_jobs),
            duration(worker.working_seconds),
            worker.ip_address or "-",
            worker.python_version or "-",
            worker.rq_version or "-",
        )
    return table


def _abandoned(snapshot: Snapshot) -> Table:
    table = _table("Abandoned jobs")
    table.title_style = "bold red"
    for column in ("job", "queue", "worker", "overdue"):
        table.add_column(column)
    for job in snapshot.abandoned_jobs:
        _add_row(table, job.id, job.queue, job.worker or "-", duration(job.overdue_seconds))
    return table


def failed_report(rows: Sequence[FailedJob], now: float | None = None) -> Table:
    """The failed list, one job a line, newest first."""
    now = time.time() if now is None else now
    table = _table("Failed jobs")
    for column in ("when", "queue", "function", "exception", "worker", "job"):
        table.add_column(column)
    for row in rows:
        ago = duration(now - row.failed_at) + " ago" if row.failed_at else "-"
        _add_row(
            table,
            ago,
            row.queue,
            row.function,
            Text(row.exception or "-", style="red"),
            row.worker or "-",
            row.id,
        )
    return table


def jobs_report(page: JobPage) -> RenderableType:
    """One page of a queue's jobs in one state, then where it sits and how to go on."""
    state = page.request.state
    table = _table(f"{state.capitalize()} jobs of {page.request.queue}")
    for key, header in COLUMNS[state]:
        if key == "position":
            _number_column(table, header)
        else:
            table.add_column(header)
    for job in page.jobs:
        _add_row(table, *cells(job, state, page.taken_at))
    note = summary(page)
    if page.next_offset is not None:
        note += f"; next page: --offset {page.next_offset}"
    return Group(table, Text(note))


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
    if job.result is not None:
        _add_row(fields, "result", job.result)
    if job.exception:
        _add_row(fields, "exception", Text(job.exception, style="red"))
    if not job.traceback:
        return fields
    return Group(fields, Text(""), Text(job.traceback))


def _add_row(table: Table, *cells: str | Text) -> None:
    """Add a row whose strings are shown as they are: names and arguments come from Redis,
    and Rich would read `[red]` or `[/]` in them as markup."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))
