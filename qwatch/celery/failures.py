"""Celery's failed tasks as qwatch's failed-job rows and job details, read-only.

Celery keeps no list of failures: a failure is known from the events and
results heard while listening (`CeleryFailure`), or, for a task id a person
already has, from the result backend's `celery-task-meta-<id>`, which is read
with GETRANGE up to `EVENT_BYTES` (a huge value costs a bounded read)
and decoded without unpickling. Nothing here writes to Redis.
"""

from __future__ import annotations

import redis

from qwatch.celery.events import results_channel
from qwatch.celery.published import StoredResult, Undecodable, decode_result
from qwatch.celery.state import CeleryFailure
from qwatch.celery.task_states import FAILURE, status_of
from qwatch.errors import UnreadableRecord, exception_line
from qwatch.limits import EVENT_BYTES
from qwatch.model import CELERY, FailedJob, JobDetail
from qwatch.text.formatting import clip
from qwatch.wire import batch
from qwatch.wire.replies import check_allowed

UNKNOWN_TASK = "<task name unknown>"
"""A failure heard from a result without `result_extended`: the result names no task."""


def result_key(task_id: str, result_prefix: str = "") -> str:
    """Where Celery's Redis result backend stores a task's result (and publishes it)."""
    return f"{results_channel(result_prefix)}{task_id}"


def failed_row(failure: CeleryFailure) -> FailedJob:
    """A row of the failed-job list, keyed apart from RQ's by its system."""
    return FailedJob(
        id=failure.id,
        queue=failure.queue or "-",
        function=failure.name or UNKNOWN_TASK,
        exception=_exception(failure.traceback, failure.exception, failure.message),
        worker=failure.worker,
        failed_at=failure.failed_at,
        system=CELERY,
    )


def failure_detail(failure: CeleryFailure) -> JobDetail:
    """A failure heard while listening, as the inspector and `qwatch job` show a job."""
    return JobDetail(
        id=failure.id,
        status=status_of(FAILURE),
        function=failure.name or UNKNOWN_TASK,
        arguments=arguments_text(failure.args, failure.kwargs),
        description=None,
        origin=failure.queue or None,
        worker=failure.worker,
        created_at=None,
        enqueued_at=None,
        started_at=failure.started_at,
        ended_at=failure.failed_at,
        timeout=None,
        retries_left=None,
        result=None,
        exception=_exception(failure.traceback, failure.exception, failure.message),
        traceback=failure.traceback,
        retries_used=failure.retries,
        system=CELERY,
    )


def stored_detail(stored: StoredResult, heard: CeleryFailure | None = None) -> JobDetail:
    """A task's stored result as a job; what a plain result lacks (name, arguments, worker:
    `result_extended` only) is taken from the failure heard, if any."""
    name = stored.name or (heard.name if heard else None)
    return JobDetail(
        id=stored.task_id,
        status=status_of(stored.status),
        function=name or UNKNOWN_TASK,
        arguments=arguments_text(
            stored.args or (heard.args if heard else None),
            stored.kwargs or (heard.kwargs if heard else None),
        ),
        description=None,
        origin=stored.queue or (heard.queue or None if heard else None),
        worker=stored.worker or (heard.worker if heard else None),
        created_at=None,
        enqueued_at=None,
        started_at=heard.started_at if heard else None,
        ended_at=stored.date_done,
        timeout=None,
        retries_left=None,
        result=stored.result,
        exception=_exception(stored.traceback, stored.exception, stored.message),
        traceback=stored.traceback,
        retries_used=stored.retries,
        system=CELERY,
    )


def read_stored_result(
    client: redis.Redis, task_id: str, result_prefix: str = ""
) -> StoredResult | None:
    """The result backend's record of `task_id`, or None when it holds none (no backend,
    `ignore_result`, or expired after `result_expires`).

    Raises `UnreadableRecord`, one line, when the value is not a result.
    """
    (reply,) = batch.run(client, [("GETRANGE", result_key(task_id, result_prefix), 0, EVENT_BYTES)])
    check_allowed(reply)
    if isinstance(reply, Exception):
        raise UnreadableRecord(f"Celery task {clip(task_id, 100)}: {clip(str(reply), 200)}")
    if not isinstance(reply, bytes) or not reply:
        return None
    try:
        return decode_result(reply, task_id)
    except Undecodable as exc:
        raise UnreadableRecord(f"Celery task {clip(task_id, 100)} cannot be read: {exc}") from exc


def _exception(traceback: str | None, name: str | None, message: str | None) -> str | None:
    """`UpstreamTimeout: … did not answer`, from the traceback's last line when there is one."""
    line = exception_line(traceback)
    if line:
        return line
    if name and message and not message.startswith(name):
        return f"{name}: {message}"
    return message or name


def arguments_text(args: str | None, kwargs: str | None) -> str:
    """Celery's `args` and `kwargs` as its events show them (reprs), the empty ones left out."""
    parts = [args] if args and args not in ("()", "[]") else []
    if kwargs and kwargs != "{}":
        parts.append(kwargs)
    return ", ".join(parts)
