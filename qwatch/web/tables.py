"""The shared tables of `text/tables.py` as HTML tables: the same columns and cells as the terminal.

A cell's role (`error`, `warning`, ...) becomes a CSS class, a column's
priority a class the stylesheet hides on a narrow screen, and free text is
cut at its column's cap, so a 30,000-character exception costs one short
cell. A table's rows are written here, each text and link through
markupsafe's `escape`, the very function the templates escape with: at a
thousand rows a template's loop would cost more than the reading.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from qwatch.history.moments import BACKING_UP, DRAINED, FAILURES, Moment
from qwatch.model import (
    CeleryMessage,
    FailedJob,
    ListedJob,
    QueueStats,
    SearchProgress,
    Snapshot,
    WorkerStats,
    newest_first,
)
from qwatch.text import tables
from qwatch.text.columns import ELLIPSIS, Column
from qwatch.text.formatting import short_number
from qwatch.text.listing import CELERY_COLUMNS, COLUMNS, celery_cells, cells
from qwatch.text.printable import printable
from qwatch.text.recent import FunctionRecent
from qwatch.text.row_keys import key_of
from qwatch.text.trends import QueueTrend
from qwatch.web import charts

CLASSES: tables.Palette = {role: role for role in tables.PLAIN}
"""Each role's CSS class is its name."""
MAX_ROWS = 1000
"""Rows a table shows at most: a page stays small whatever the fleet (the API has them all)."""


@dataclass(frozen=True, slots=True)
class HtmlTable:
    """Headers, the rows written, how many rows there are and how many were left out past
    `MAX_ROWS`."""

    headers: tuple[tuple[str, str], ...]
    """Each column's label and CSS class (alignment, and priority for narrow screens)."""
    body: Markup
    count: int
    left_out: int = 0


Links = dict[str, str]
"""A row's links, by column key: a queue's name to its page, a job's id to its page."""


def table(columns: Sequence[Column], rows: Iterable[tuple[Sequence[object], Links]]) -> HtmlTable:
    """`rows` of `text/tables.py` cells (or plain strings) under `columns`, each with its
    links; optional columns that no row fills are left out, as in the terminal."""
    rows = list(rows)
    shown = [
        index
        for index, column in enumerate(columns)
        if not column.optional or any(str(cells[index]) for cells, _ in rows)
    ]
    classes = [_column_class(columns[index]) for index in shown]
    body = "".join(
        "<tr>"
        + "".join(
            _cell(cells[i], columns[i], css, links.get(columns[i].key))
            for i, css in zip(shown, classes)
        )
        + "</tr>\n"
        for cells, links in rows[:MAX_ROWS]
    )
    headers = tuple((columns[index].label, css) for index, css in zip(shown, classes))
    return HtmlTable(headers, Markup(body), min(len(rows), MAX_ROWS), max(0, len(rows) - MAX_ROWS))


def unlinked(rows: Iterable[Sequence[object]]) -> list[tuple[Sequence[object], Links]]:
    """Rows without links."""
    return [(row, {}) for row in rows]


def _column_class(column: Column) -> str:
    return f"p{min(column.priority, 6)}" + (" num" if column.numeric else "")


def _cell(value: object, column: Column, css: str, href: str | None) -> str:
    """One `<td>`: its text escaped, its classes qwatch's own (a column's, a role's); markup
    (a sparkline, drawn escaped) as it is."""
    if isinstance(value, Markup):
        return f'<td class="{css}">{value}</td>'
    text = printable(str(value))
    if column.cap and len(text) > column.cap:
        text = text[: column.cap - 1] + ELLIPSIS
    if isinstance(value, tables.Sortable) and value.style:
        css = f"{css} {value.style}"
    shown = escape(text)
    if href is not None:
        shown = Markup(f'<a href="{escape(href)}">{shown}</a>')
    return f'<td class="{css}">{shown}</td>'


def queue_href(redis: str, system: str, queue: str, **more: str) -> str:
    """A queue's page; `.` and `..` go in the query, where a browser leaves them alone."""
    query = {"redis": redis, "system": system, **more}
    if queue in (".", ".."):
        return f"/queues/?{urlencode({'name': queue, **query})}"
    return f"/queues/{quote(queue, safe='')}?{urlencode(query)}"


def job_href(redis: str, job_id: str) -> str:
    return f"/jobs/{quote(job_id, safe='')}?{urlencode({'redis': redis})}"


FAILED_COLUMNS = tuple(
    replace(column, priority=1) if column.key == "exception" else column
    for column in tables.FAILED_COLUMNS
)
"""On a phone the exception says more than the id: both link to the job's page."""
TREND_COLUMNS = (
    Column("in", "in/s", 3, numeric=True),
    Column("out", "out/s", 3, numeric=True),
    Column("backlog", "queued, 1h", 3),
)
Columns = dict[str, list[float]]
"""One measure of each queue or worker over the last hour, by row key (`History.*_columns`)."""


def queues(
    redis: str,
    snapshot: Snapshot,
    trends: dict[str, QueueTrend],
    backlogs: Columns,
    needle: str = "",
) -> HtmlTable:
    """The queues whose name holds `needle`, those in trouble first: at ten thousand queues
    the ones a person looks for must not be past the rows a page shows. Each shown row's
    backlog over the hour is a sparkline; rows past `MAX_ROWS` cost none."""
    shown = tables.queues_shown(snapshot.queues)
    needle = needle.lower()
    chosen = [queue for queue in snapshot.queues if needle in queue.name.lower()]
    chosen.sort(key=lambda queue: not troubled(queue))
    rows = [
        (
            (
                *tables.queue_cells(queue, shown, CLASSES),
                *_trend(trends.get(key_of(queue))),
                _spark(f"{queue.name} queued", backlogs, key_of(queue)) if n < MAX_ROWS else "",
            ),
            {"queue": queue_href(redis, queue.system, queue.name)},
        )
        for n, queue in enumerate(chosen)
    ]
    return table((*tables.QUEUE_COLUMNS, *TREND_COLUMNS), rows)


def _spark(label: str, columns: Columns, key: str, value: charts.Format = short_number) -> object:
    column = columns.get(key)
    return charts.sparkline(f"{label}, the last hour", column, value) if column else "-"


def troubled(queue: QueueStats) -> bool:
    """Failures, jobs waiting with no worker, or Celery messages overdue."""
    overdue = queue.celery is not None and bool(queue.celery.overdue)
    return bool(queue.failed) or (queue.queued > 0 and queue.workers == 0) or overdue


def _trend(trend: QueueTrend | None) -> tuple[object, object]:
    if trend is None:
        return "-", "-"
    return tables.rate(trend.in_per_second), tables.rate(trend.out_per_second)


BUSY_COLUMN = Column("busy", "busy, 1h", 3)


def workers(workers: Sequence[WorkerStats], busy: Columns | None = None) -> HtmlTable:
    """The workers; with `busy`, each one's busy share over the hour as a sparkline."""
    systems = {worker.system for worker in workers}
    rows = [tables.worker_cells(worker, systems, CLASSES) for worker in workers]
    if busy is None:
        return table(tables.WORKER_COLUMNS, unlinked(rows))
    sparks = [
        _spark(f"{worker.name} busy", busy, key_of(worker), charts.share) if n < MAX_ROWS else ""
        for n, worker in enumerate(workers)
    ]
    columns = (*tables.WORKER_COLUMNS, BUSY_COLUMN)
    return table(columns, unlinked((*row, spark) for row, spark in zip(rows, sparks)))


@dataclass(frozen=True, slots=True)
class Host:
    """One host's workers, with counts per state, for the collapsible groups."""

    name: str
    anchor: str
    states: tuple[tuple[str, int], ...]
    table: HtmlTable


def hosts(snapshot: Snapshot) -> tuple[Host, ...]:
    grouped: dict[str, list[WorkerStats]] = {}
    for worker in snapshot.workers:
        grouped.setdefault(worker.hostname or "-", []).append(worker)
    return tuple(
        Host(
            printable(name),
            f"host-{index}",
            tuple(sorted(Counter(worker.state for worker in members).items())),
            workers(members),
        )
        for index, (name, members) in enumerate(sorted(grouped.items()))
    )


def failed(redis: str, rows: Sequence[FailedJob], now: float) -> HtmlTable:
    systems = {row.system for row in rows}
    cells = [
        (tables.failed_cells(row, now, systems, CLASSES), _job_links(redis, row.id, "exception"))
        for row in rows
    ]
    return table(FAILED_COLUMNS, cells)


def _job_links(redis: str, job_id: str | None, *also: str) -> Links:
    if job_id is None:
        return {}
    href = job_href(redis, job_id)
    return {key: href for key in ("id", *also)}


def jobs(redis: str, state: str, listed: Sequence[ListedJob], now: float) -> HtmlTable:
    rows = [(cells(job, state, now), _job_links(redis, job.id)) for job in listed]
    return table(COLUMNS[state], rows)


def messages(redis: str, state: str, listed: Sequence[CeleryMessage], now: float) -> HtmlTable:
    rows = [
        (celery_cells(message, state, now), _job_links(redis, message.id)) for message in listed
    ]
    return table(CELERY_COLUMNS[state], rows)


def rate_limits(snapshot: Snapshot) -> HtmlTable:
    rows = [tables.rate_limit_cells(limit, CLASSES) for limit in snapshot.rate_limits]
    return table(tables.RATE_LIMIT_COLUMNS, unlinked(rows))


def cron(snapshot: Snapshot) -> HtmlTable:
    now = snapshot.taken_at
    rows = [tables.cron_cells(cron, now, CLASSES) for cron in snapshot.cron_schedulers]
    return table(tables.CRON_COLUMNS, unlinked(rows))


def search(redis: str, progress: SearchProgress) -> HtmlTable:
    """What a search found, newest first, each job linked to its page."""
    hits = newest_first(progress.hits)
    systems = {hit.system for hit in hits}
    now = time.time()
    rows = [
        (tables.search_cells(hit, now, systems, CLASSES), _job_links(redis, hit.id, "detail"))
        for hit in hits
    ]
    return table(tables.SEARCH_COLUMNS, rows)


FUNCTION_COLUMNS = (
    Column("function", "function", 1, cap=60),
    Column("queued", "queued", 1, numeric=True),
    Column("started", "started", 1, numeric=True),
    Column("failed", "failed", 1, numeric=True),
    Column("done", "done 5m", 2, numeric=True),
    Column("failed_recent", "failed 5m", 1, numeric=True),
    Column("share", "failure share", 2, numeric=True),
    Column("p50", "p50", 3, numeric=True),
    Column("p95", "p95", 2, numeric=True),
)


def functions(
    counts: dict[str, tuple[int, int, int]], recent: dict[str, FunctionRecent]
) -> HtmlTable:
    """Per function: queued, started and failed now (sampled), then the last five minutes."""
    names = sorted({*counts, *recent})
    rows = [_function_cells(name, counts.get(name), recent.get(name)) for name in names]
    return table(FUNCTION_COLUMNS, unlinked(rows))


def _function_cells(
    name: str, sampled: tuple[int, int, int] | None, done: FunctionRecent | None
) -> tuple[object, ...]:
    now = sampled or (None, None, None)
    finished, failed = (done.finished, done.failed) if done else (0, 0)
    failing = "error" if failed else ""
    share = f"{100 * failed / (finished + failed):.0f}%" if finished + failed else "-"
    return (
        name,
        *(tables.count(value) for value in now),
        tables.count(finished),
        tables.count(failed, failing),
        tables.Sortable(0, share, failing),
        tables.seconds(done.p50_seconds if done else None),
        tables.seconds(done.p95_seconds if done else None),
    )


QUEUE_KINDS = frozenset({BACKING_UP, DRAINED, FAILURES})
"""The moments that name a queue; the others name a worker, or Redis."""
NAMED_COLUMN = Column("name", "queue or worker", 2, cap=60)


def moments(redis: str, moments: Sequence[Moment], now: float) -> HtmlTable:
    """What changed, newest first, as `qwatch top` shows it, with the queue or worker it
    names: a queue linked to its page, a worker to the workers'."""
    rows = []
    for moment in moments:
        links = {}
        if moment.name is not None and moment.system is not None:
            links["name"] = (
                queue_href(redis, moment.system, moment.name)
                if moment.kind in QUEUE_KINDS
                else f"/workers?{urlencode({'redis': redis})}"
            )
        cells = (*tables.moment_cells(moment, now, CLASSES), moment.name or "-")
        rows.append((cells, links))
    return table((*tables.MOMENT_COLUMNS, NAMED_COLUMN), rows)
