"""The snapshot, a job and the failed list as Rich renderables for the terminal."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich import box
from rich.console import Group, JustifyMethod, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from qwatch.model import (
    CeleryPage,
    FailedJob,
    JobDetail,
    JobPage,
    SearchProgress,
    Snapshot,
    newest_first,
)
from qwatch.text.attempts import attempts_table
from qwatch.text.columns import GAP, Column, fit, fitted, measure
from qwatch.text.formatting import duration, plural
from qwatch.text.headline import empty_hint, headline, unscheduled_queues
from qwatch.text.listing import (
    CELERY_COLUMNS,
    COLUMNS,
    celery_cells,
    cells,
    detail_rows,
    logs_note,
    logs_text,
    summary,
)
from qwatch.text.printable import printable, printable_lines
from qwatch.text.tables import (
    CRON_COLUMNS,
    FAILED_COLUMNS,
    QUEUE_COLUMNS,
    RATE_LIMIT_COLUMNS,
    SEARCH_COLUMNS,
    WORKER_COLUMNS,
    Palette,
    Sortable,
    cron_cells,
    failed_cells,
    queue_cells,
    queues_shown,
    rate_limit_cells,
    search_cells,
    worker_cells,
)

WIDE = 200
"""Where there is no terminal to fit, e.g. a pipe."""
ROW_STYLES = {"exception": "red"}
"""How `qwatch job` marks a row of `detail_rows`, by its label."""

ABANDONED_COLUMNS = (
    Column("id", "job", 1), Column("queue", "queue", 2, least=8),
    Column("worker", "worker", 3, least=8), Column("overdue", "overdue", 1, numeric=True),
)  # fmt: skip
"""The least useful columns of each table have the highest priority, as in `qwatch top`."""
PALETTE: Palette = {
    "error": "red",
    "warning": "yellow",
    "success": "green",
    "accent": "cyan",
    "secondary": "magenta",
}
"""The roles of `text/tables.py` in Rich's styles."""


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


def _header(snapshot: Snapshot, target: str, width: int) -> Text:
    """The target and the headline, on two lines when one would break a phrase."""
    line = headline(snapshot) + ("  SUSPENDED" if snapshot.suspended else "")
    joint = "  " if len(target) + 2 + len(line) <= width else "\n"
    text = _text(target) + Text(joint) + _text(line)
    text.highlight_words(["SUSPENDED"], style="bold magenta")
    return text


Cell = str | Text | Sortable


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
    if isinstance(cell, Sortable):
        return Text(cell.text, style=cell.style)  # built printable by text/tables.py
    return _text(cell) if isinstance(cell, str) else _text(cell.plain, cell.style)


def _queues(snapshot: Snapshot, width: int) -> RenderableType:
    shown = queues_shown(snapshot.queues)
    rows = [queue_cells(queue, shown, PALETTE) for queue in snapshot.queues]
    return fitted_table("Queues", QUEUE_COLUMNS, rows, width)


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
    systems = {worker.system for worker in snapshot.workers}
    rows = [worker_cells(worker, systems, PALETTE) for worker in snapshot.workers]
    return fitted_table("Workers", WORKER_COLUMNS, rows, width)


def _rate_limits(snapshot: Snapshot, width: int) -> RenderableType:
    rows = [rate_limit_cells(limit, PALETTE) for limit in snapshot.rate_limits]
    return fitted_table("Rate limits", RATE_LIMIT_COLUMNS, rows, width)


def _cron(snapshot: Snapshot, width: int) -> RenderableType:
    rows = [cron_cells(cron, snapshot.taken_at, PALETTE) for cron in snapshot.cron_schedulers]
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
    systems = {row.system for row in rows}
    cells = [failed_cells(row, now, systems, PALETTE) for row in rows]
    return fitted_table("Failed jobs", FAILED_COLUMNS, cells, width)


def search_report(progress: SearchProgress, width: int = WIDE) -> RenderableType:
    """What a search found, newest first, each job's id whole."""
    now = time.time()
    hits = newest_first(progress.hits)
    systems = {hit.system for hit in hits}
    rows = [search_cells(hit, now, systems, PALETTE) for hit in hits]
    return fitted_table(f"Jobs holding {progress.request.text!r}", SEARCH_COLUMNS, rows, width)


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
    """Everything about one job, its traceback whole, then the lines it logged.

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
    note = logs_note(job)
    if note:
        return Group(*parts, Text(""), Text(note, style="dim"))
    return Group(*parts, Text(""), Text("logs", style="bold"), Text(logs_text(job)))


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _add_row(table: Table, *cells: str | Text) -> None:
    """Add a row whose strings are shown as `_text` shows them."""
    table.add_row(*(_text(cell) if isinstance(cell, str) else cell for cell in cells))


def _text(value: str, style: str | Style = "") -> Text:
    """Text from Redis as it is, never as markup (a queue may be named `[red]`), and with
    its control characters written out (a hostname may hold an escape sequence)."""
    return Text(printable(value), style=style)
