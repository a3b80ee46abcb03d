"""What a job list shows for each state, and one job's details and attempts, as text: the same
in `qwatch jobs`, `qwatch job` and `qwatch top`."""

from __future__ import annotations

import time
from collections.abc import Mapping

from qwatch import job_states
from qwatch.limits import SCAN_WINDOW
from qwatch.model import (
    ARQ,
    CELERY,
    DRAMATIQ,
    RQ,
    CeleryMessage,
    CeleryPage,
    JobDetail,
    JobPage,
    ListedJob,
    SearchProgress,
    Waiting,
)
from qwatch.text.columns import Column
from qwatch.text.formatting import clock, duration, plural
from qwatch.text.printable import printable


def _time(key: str, label: str, numeric: bool = True) -> Column:
    """A time or an age: as wide as its content, dropped after the id and the function.
    A moment (`2026-05-01 12:00:00 UTC`) is text, left-aligned under its header; an age
    or a duration lines up on its units, to the right."""
    return Column(key, label, 2, numeric=numeric)


COMMON = (
    Column("position", "#", 3, numeric=True),
    Column("id", "job", 1),
    Column("function", "function", 1, cap=40, least=10, cut="module"),
)
WORKER = Column("worker", "worker", 4, cap=20, least=8)
COLUMNS: dict[str, tuple[Column, ...]] = {
    job_states.QUEUED: (*COMMON, _time("waiting", "waiting")),
    job_states.STARTED: (*COMMON, _time("running", "running"), WORKER),
    job_states.SCHEDULED: (*COMMON, _time("at", "at", numeric=False), _time("in", "in")),
    job_states.DEFERRED: (
        *COMMON,
        Column("since", "since", 3, numeric=True),
        Column("waits_for", "waits for", 2, cap=40, least=10),
    ),
    job_states.FINISHED: (
        *COMMON,
        _time("ended", "ended"),
        _time("ran", "ran"),
        Column("result", "result", 2, cap=60, least=10),
    ),
    job_states.FAILED: (
        *COMMON,
        _time("ended", "ended"),
        WORKER,
        Column("exception", "exception", 2, cap=60, least=10, cut="exception"),
    ),
    job_states.CANCELED: (*COMMON, _time("canceled", "canceled")),
    job_states.READY: (*COMMON, Column("since", "ready since", 2, numeric=True)),
    job_states.RATE_LIMITED: (*COMMON, Column("since", "held since", 2, numeric=True)),
}
"""Per state, the columns of `qwatch jobs` and of the job browser; the longest text (result,
exception) last and capped: `qwatch job ID` and the inspector have it whole. What a deferred
job waits for says more than how long it has waited, so it stays when the terminal narrows."""

ARGUMENTS = Column("arguments", "arguments", 3, cap=40, least=10)
_HELD = (
    *COMMON,
    _time("reserved", "reserved"),
    _time("runs", "runs"),
    Column("overdue", "overdue", 2, optional=True),
    ARGUMENTS,
)
CELERY_COLUMNS: dict[str, tuple[Column, ...]] = {
    job_states.QUEUED: (*COMMON, Column("priority", "priority", 2, numeric=True), ARGUMENTS),
    job_states.SCHEDULED: _HELD,
    job_states.RESERVED: _HELD,
    job_states.OVERDUE: _HELD,
}
"""Per state, the columns of a Celery queue's page: a waiting message's priority step, a
reserved one's delivery, ETA and whether kombu will deliver it again."""

ORDER = {
    job_states.QUEUED: "in queue order, next to run first",
    job_states.STARTED: "by heartbeat deadline",
    job_states.SCHEDULED: "soonest first",
    job_states.DEFERRED: "oldest first",
    job_states.FINISHED: "newest first (by expiry: end order when jobs share a result_ttl)",
    job_states.FAILED: "newest first (by expiry: end order when jobs share a failure_ttl)",
    job_states.CANCELED: "newest first",
    job_states.READY: "oldest first",
    job_states.RATE_LIMITED: "oldest first, as their rate limits let them through",
}


CELERY_ORDER = {
    job_states.QUEUED: "in consumption order: priority 0 first, each list oldest first",
    job_states.SCHEDULED: "oldest delivery first",
    job_states.RESERVED: "oldest delivery first",
    job_states.OVERDUE: "oldest delivery first",
}

DRAMATIQ_ORDER = {
    job_states.QUEUED: "in queue order, next to be fetched first",
    job_states.STARTED: "by the broker process holding them",
    job_states.SCHEDULED: "in the order they were delayed",
    job_states.FAILED: "newest dead letter first",
}

ARQ_ORDER = {
    job_states.QUEUED: "due ones in the order workers take them, running ones left out",
    job_states.STARTED: "running now, in queue order",
    job_states.SCHEDULED: "soonest first",
    job_states.FINISHED: "newest first, as qwatch last read arq's results",
    job_states.FAILED: "newest first, as qwatch last read arq's results",
}


def celery_cells(message: CeleryMessage, state: str, now: float) -> tuple[str, ...]:
    """A Celery message's cells for `CELERY_COLUMNS[state]`, times counted to `now`."""
    common = (str(message.position + 1), message.id or "-", message.function)
    waiting = message.waiting
    arguments = message.arguments or "-"
    if state == job_states.QUEUED:
        return (*common, str(waiting.priority), arguments)
    overdue = "overdue" if waiting.overdue else ""
    return (*common, _ago(waiting.reserved_at, now), _until(message.eta, now), overdue, arguments)


def cells(job: ListedJob, state: str, now: float) -> tuple[str, ...]:
    """A job's cells for `COLUMNS[state]`, times counted to `now`."""
    common = (str(job.position + 1), job.id, job.function)
    if state == job_states.QUEUED:
        return (*common, _since(job.enqueued_at, now))
    if state == job_states.STARTED:
        return (*common, _since(job.started_at, now), job.worker or "-")
    if state == job_states.SCHEDULED:
        return (*common, clock(job.score), _until(job.score, now))
    if state == job_states.DEFERRED:
        return (*common, _ago(job.score, now), ", ".join(job.waits_for) or "-")
    if state in (job_states.READY, job_states.RATE_LIMITED):
        return (*common, _ago(job.score, now))
    if state == job_states.FINISHED:
        ran = _span(job.started_at, job.ended_at)
        return (*common, _ago(job.ended_at, now), ran, job.result or "-")
    if state == job_states.FAILED:
        return (*common, _ago(job.ended_at, now), job.worker or "-", job.exception or "-")
    return (*common, _ago(job.ended_at or job.score, now))


def detail_rows(job: JobDetail, now: float | None = None) -> list[tuple[str, str]]:
    """One job's (label, value) rows, `-` for what it lacks; the values whole, for folding
    (a long one was cut once already, where it was read, with a note saying how much).
    A scheduled job says when it runs, as `qwatch jobs --state scheduled` does, to `now`."""
    rows = [
        ("function", job.function),
        ("arguments", job.arguments or "-"),
        ("status", job.status or "-"),
        ("origin", job.origin or "-"),
        ("worker", job.worker or "-"),
        ("created", clock(job.created_at)),
        ("enqueued", clock(job.enqueued_at)),
    ]
    now = time.time() if now is None else now
    if job.waiting is not None:
        rows += _waiting_rows(job.waiting, now)
    if job.scheduled_for is not None:
        rows.append(("runs at", f"{clock(job.scheduled_for)}, {_until(job.scheduled_for, now)}"))
    rows += [
        ("started", clock(job.started_at)),
        ("ended", clock(job.ended_at)),
        ("waited", duration(job.wait_seconds)),
        ("ran", duration(job.run_seconds)),
        ("timeout", f"{job.timeout}s" if job.timeout is not None else "-"),
        ("retries", _retries(job)),
        ("depends on", ", ".join(job.dependencies) or "-"),
        ("meta", job.meta or "-"),
    ]
    if job.result is not None:
        rows.append(("result", job.result))
    if job.exception:
        rows.append(("exception", job.exception))
    return rows


def _waiting_rows(waiting: Waiting, now: float) -> list[tuple[str, str]]:
    """Where a Celery task's message is: in which list and behind how many, or reserved
    since when, and whether kombu will deliver it again."""
    if waiting.reserved_at is None:
        return [
            ("waiting", f"in the priority {waiting.priority} list of {waiting.queue},"
             f" {waiting.ahead} messages of the queue before it"),
        ]  # fmt: skip
    rows = [
        ("reserved", f"{clock(waiting.reserved_at)}, {_ago(waiting.reserved_at, now)}:"
         " taken by a worker, not acked"),
    ]  # fmt: skip
    if waiting.overdue:
        rows.append(("overdue", "past the visibility timeout: kombu delivers it again"))
    return rows


def _retries(job: JobDetail) -> str:
    """`1 left, 2 done, after 10s 30s`: what RQ will still try, and when."""
    parts = []
    if job.retries_left is not None:
        parts.append(f"{job.retries_left} left")
    if job.retries_used:
        parts.append(f"{job.retries_used} done")
    if job.retry_intervals:
        parts.append("after " + " ".join(duration(float(s)) for s in job.retry_intervals))
    return ", ".join(parts) or "-"


_ENDED = (job_states.FINISHED, job_states.FAILED, job_states.STOPPED, job_states.CANCELED)


def logs_note(job: JobDetail) -> str | None:
    """Why a job shows no log lines, one line; None when it has some to show."""
    if job.system != RQ:
        return f"logs: kept for RQ's jobs under qwatch.rq.Worker only, not for {job.system}'s"
    if job.logs is None and job.status not in _ENDED:
        return "logs: stored when the job ends, if a qwatch.rq.Worker runs it"
    if job.logs is None:
        return (
            "logs: none kept: its worker was not a qwatch.rq.Worker,"
            " or they expired with the job's result"
        )
    return None if job.logs else "logs: the job logged nothing"


def logs_text(job: JobDetail) -> str:
    """A job's own log lines, oldest first, one a line, each control character written out."""
    return "\n".join(printable(line) for line in job.logs or ())


ATTEMPT_COLUMNS = ("#", "outcome", "worker", "started", "ran", "result or exception")


def attempt_rows(job: JobDetail) -> list[tuple[str, ...]]:
    """The job's recorded executions, oldest first, one row each for `ATTEMPT_COLUMNS`."""
    rows: list[tuple[str, ...]] = []
    for number, attempt in enumerate(job.attempts, start=1):
        started = attempt.started_at if attempt.started_at is not None else attempt.recorded_at
        rows.append(
            (
                str(number),
                attempt.outcome,
                attempt.worker or "-",
                clock(started),
                _span(attempt.started_at, attempt.ended_at),
                attempt.exception or attempt.result or "-",
            )
        )
    return rows


def summary(page: JobPage | CeleryPage) -> str:
    """Where the page sits, how it is ordered, and how far a filter looked."""
    request = page.request
    state = request.state
    orders = {CELERY: CELERY_ORDER, DRAMATIQ: DRAMATIQ_ORDER, ARQ: ARQ_ORDER}
    noun = "jobs" if page.system in (RQ, ARQ) else "messages"
    order = orders.get(page.system, ORDER)[state]
    if request.filtered:
        wanted = " and ".join(
            part
            for part in (
                f"function ~ {request.function!r}" if request.function else "",
                f"text ~ {request.text!r}" if request.text else "",
            )
            if part
        )
        end = request.offset + page.scanned
        return (
            f"{len(page.jobs)} {state} {noun} with {wanted} among entries"
            f" {min(request.offset + 1, end)}-{end} of {page.total}, {order}"
            f" (a filter searches at most {SCAN_WINDOW} entries a page)"
        )
    if page.jobs:
        first, last = page.jobs[0].position + 1, page.jobs[-1].position + 1
        return f"{state} {noun} {first}-{last} of {page.total}, {order}"
    return f"no {state} {noun} here; {page.total} in all"


def _since(moment: float | None, now: float) -> str:
    return duration(max(0.0, now - moment)) if moment is not None else "-"


def _ago(moment: float | None, now: float) -> str:
    return f"{duration(max(0.0, now - moment))} ago" if moment is not None else "-"


def _until(moment: float | None, now: float) -> str:
    if moment is None:
        return "-"
    return f"in {duration(moment - now)}" if moment >= now else f"due {duration(now - moment)} ago"


def _span(start: float | None, end: float | None) -> str:
    return duration(max(0.0, end - start)) if start is not None and end is not None else "-"


FLAG_HINTS = {
    "limit": "the --limit",
    "budget": "--budget searches further",
    "time": "--seconds searches longer",
}
"""How the command line says a search that stopped early goes further."""


def search_summary(progress: SearchProgress, hints: Mapping[str, str] = FLAG_HINTS) -> str:
    """How many jobs were found in how much, and, when the search stopped before the end,
    why and how to go further (`hints`, per reason: each face has its own way)."""
    request = progress.request
    found = plural(len(progress.hits), "job")
    where = f"{progress.scanned:,} of {progress.total:,} entries"
    if progress.done:
        return f"found {found} in {where}: everything searched"
    if progress.stopped == "limit":
        return f"found {found} in {where}, {hints['limit']}; more may match"
    if progress.stopped == "budget":
        return f"found {found} in {where}: stopped at the budget ({hints['budget']})"
    if progress.stopped == "time":
        return f"found {found} in {where}: stopped after {request.seconds:g}s ({hints['time']})"
    return f"found {found} so far in {where}, searching…"
