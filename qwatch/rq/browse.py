"""One queue's jobs in any state, a page at a time, for `qwatch jobs` and the job browser.

A page costs two round trips whatever the size of the list or registry: its
length and one range of entries by index (LRANGE for the queue, ZRANGE or
ZREVRANGE for a registry), then each listed job's fields (and, for finished
and failed jobs, the newest entry of its results stream). Nothing is ever
read whole.

A filter (by function, by text) is applied to a bounded scan: the page reads
up to `SCAN_WINDOW` entries from its offset, keeps the first `limit` that
match, and the next page goes on after the last entry examined. So a filter
never reads more than one window per page, and what it has not reached it
has not searched; `JobPage.scanned` says how far it looked.

RQ 3.0's rate-limited jobs wait in their rate limit's set, not in their
queue's: `rate_limited` reads the first `SCAN_WINDOW` waiting jobs of all
keys, oldest first, and keeps the queue's own (three round trips).
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import Any

import redis

from qwatch import job_states
from qwatch.errors import exception_line
from qwatch.limits import FUNCTION_LIMIT, PAGE_LIMIT, SCAN_WINDOW
from qwatch.model import RQ, JobPage, ListedJob, PageRequest
from qwatch.pickle.decode import call_name
from qwatch.rq import job_fields, rate_limits
from qwatch.rq.jobs import dependency_ids, traceback_of
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys, job_id_of_execution
from qwatch.rq.results import latest_command, result_fields, return_value
from qwatch.text.formatting import clip
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_float, as_int, as_list, as_name, as_pairs, as_text, check_allowed
from qwatch.wire.skips import Skips
from qwatch.wire.timestamps import parse_iso_time

STATES = (
    job_states.QUEUED,
    job_states.STARTED,
    job_states.SCHEDULED,
    job_states.DEFERRED,
    job_states.FINISHED,
    job_states.FAILED,
    job_states.CANCELED,
    job_states.READY,
)
"""Every state, in the order of the browser's tabs and of `qwatch jobs --state`: RQ 3.0's
`ready` last, so that the others keep their keys."""
LISTED_STATES = (*STATES, job_states.RATE_LIMITED)
"""What `qwatch jobs --state` lists: the browser's tabs, and the jobs RQ 3.0's rate limits
hold back (a queue's count of them is in its row)."""
NEWEST_FIRST = frozenset({job_states.FINISHED, job_states.FAILED, job_states.CANCELED})
"""Registries read from the highest score down: the most recent first."""
WITH_RESULTS = frozenset({job_states.FINISHED, job_states.FAILED})
"""States whose jobs' results stream is read for the return value or the exception."""

RESULT_LIMIT = 200
"""A return value is cut to this in a list; the inspector shows more."""

FIELDS = (
    job_fields.DATA,
    job_fields.STATUS,
    job_fields.WORKER_NAME,
    job_fields.CREATED_AT,
    job_fields.ENQUEUED_AT,
    job_fields.STARTED_AT,
    job_fields.ENDED_AT,
    job_fields.DEPENDENCY_IDS,
    job_fields.DESCRIPTION,
    job_fields.EXC_INFO,
)


def read_page(
    client: redis.Redis,
    request: PageRequest,
    now: float | None = None,
    keys: RQKeys = DEFAULT_KEYS,
) -> JobPage:
    """Two round trips: the state's length and a range of ids, then those jobs' fields."""
    if request.state not in LISTED_STATES:
        raise ValueError(f"no such state: {request.state!r}")
    now = time.time() if now is None else now
    if request.state == job_states.RATE_LIMITED:
        return _held_page(client, request, now, keys)
    offset = max(0, request.offset)
    limit = max(1, min(request.limit, PAGE_LIMIT))
    window = SCAN_WINDOW if request.filtered else limit
    known, total, listing = batch.run(
        client,
        [
            ("SISMEMBER", keys.queues, keys.queue_key(request.queue)),
            length_command(keys, request.queue, request.state),
            range_command(keys, request.queue, request.state, offset, offset + window - 1),
        ],
    )
    check_allowed(known, total, listing)
    read, entries = read_entries(request.state, listing, offset)
    lookups: list[Command] = []
    for _position, job_id, _score in entries:
        lookups.append(("HMGET", keys.job_key(job_id), *FIELDS))
        if request.state in WITH_RESULTS:
            lookups.append(latest_command(job_id, keys))
    replies = iter(batch.run(client, lookups))
    jobs: list[ListedJob] = []
    skips = Skips()
    end = offset + read
    for position, job_id, score in entries:
        if len(jobs) >= limit:
            end = position
            break
        fields = dict(zip(FIELDS, as_list(next(replies))))
        latest = next(replies) if request.state in WITH_RESULTS else None
        job = built_job(skips, job_id, position, score, fields, latest, request.state)
        if matches(job, fields, request):
            jobs.append(job)
    size = as_int(total)
    return JobPage(
        request=PageRequest(
            request.queue, request.state, offset, limit, request.function, request.text
        ),
        queue_known=as_int(known) == 1,
        total=size,
        jobs=tuple(jobs),
        scanned=end - offset,
        next_offset=end if offset < end < size else None,
        taken_at=now,
        system=RQ,
    )


def _held_page(client: redis.Redis, request: PageRequest, now: float, keys: RQKeys) -> JobPage:
    """The queue's jobs held back by rate limits, oldest first, a page of them."""
    known, held = _held_jobs(client, request.queue, keys)
    offset = max(0, request.offset)
    limit = max(1, min(request.limit, PAGE_LIMIT))
    skips = Skips()
    jobs: list[ListedJob] = []
    for position, (score, job_id, fields) in enumerate(held[offset:], start=offset):
        job = built_job(skips, job_id, position, score, fields, None, request.state)
        if matches(job, fields, request):
            jobs.append(job)
        if len(jobs) >= limit:
            break
    end = jobs[-1].position + 1 if len(jobs) >= limit else len(held)
    return JobPage(
        request=replace(request, offset=offset, limit=limit),
        queue_known=known,
        total=len(held),
        jobs=tuple(jobs),
        scanned=end - offset,
        next_offset=end if end < len(held) else None,
        taken_at=now,
        system=RQ,
    )


def _held_jobs(
    client: redis.Redis, queue: str, keys: RQKeys
) -> tuple[bool, list[tuple[float, str, dict[str, Any]]]]:
    """Whether the queue is known, and its held-back jobs (score, id, fields) among the
    oldest `SCAN_WINDOW` of every key: the keys, their waiting jobs, then the jobs' fields."""
    known, names = batch.run(
        client,
        [("SISMEMBER", keys.queues, keys.queue_key(queue)), ("SMEMBERS", keys.rate_limit_keys)],
    )
    check_allowed(known, names)
    ranges = batch.run(
        client,
        [
            ("ZRANGE", keys.rate_limited_key(name), 0, SCAN_WINDOW - 1, "WITHSCORES")
            for name in rate_limits.key_names(names)
        ],
    )
    waiting = sorted(
        (as_float(score) or 0.0, job_id)
        for reply in ranges
        for member, score in as_pairs(reply)
        if (job_id := as_name(member))
    )[:SCAN_WINDOW]
    lookups: list[Command] = [
        ("HMGET", keys.job_key(job_id), job_fields.ORIGIN, *FIELDS) for _, job_id in waiting
    ]
    held = [
        (score, job_id, dict(zip(FIELDS, values[1:])))
        for (score, job_id), reply in zip(waiting, batch.run(client, lookups))
        if (values := as_list(reply)) and as_name(values[0]) == queue
    ]
    return as_int(known) == 1, held


def length_command(keys: RQKeys, queue: str, state: str) -> Command:
    if state == job_states.QUEUED:
        return ("LLEN", keys.queue_key(queue))
    return ("ZCARD", keys.registry_key(state, queue))


def range_command(keys: RQKeys, queue: str, state: str, start: int, stop: int) -> Command:
    if state == job_states.QUEUED:
        return ("LRANGE", keys.queue_key(queue), start, stop)
    verb = "ZREVRANGE" if state in NEWEST_FIRST else "ZRANGE"
    return (verb, keys.registry_key(state, queue), start, stop, "WITHSCORES")


def read_entries(
    state: str, reply: Any, offset: int
) -> tuple[int, list[tuple[int, str, float | None]]]:
    """How many entries were read, and (position, job id, score) of those naming a job.

    A started entry is `<job id>:<execution id>`; an entry that is not UTF-8,
    or too long to be a name, cannot name a key and is skipped, its position kept.
    """
    if state == job_states.QUEUED:
        pairs: list[tuple[Any, Any]] = [(member, None) for member in as_list(reply)]
    else:
        pairs = as_pairs(reply)
    entries = []
    for position, (member, score) in enumerate(pairs, start=offset):
        name = as_name(member)
        if name:
            job_id = job_id_of_execution(name) if state == job_states.STARTED else name
            entries.append((position, job_id, as_float(score)))
    return len(pairs), entries


def built_job(
    skips: Skips,
    job_id: str,
    position: int,
    score: float | None,
    fields: dict[str, Any],
    latest: Any,
    state: str,
) -> ListedJob:
    """The job as a list shows it, or, when its record cannot be turned into data, a row
    saying so (and the skip counted)."""
    listed = partial(listed_job, job_id, position, score, fields, latest, state)
    return skips.build("job", job_id, listed) or unreadable_job(job_id, position, score, skips.last)


def listed_job(
    job_id: str,
    position: int,
    score: float | None,
    fields: dict[str, Any],
    latest: Any,
    state: str,
) -> ListedJob:
    result = result_fields(latest)
    exception = None
    if state == job_states.FAILED:
        exception = exception_line(traceback_of(fields, latest))
    exists = any(value is not None for value in fields.values())
    data = fields.get(job_fields.DATA)
    data = data if isinstance(data, bytes) else None
    return ListedJob(
        id=job_id,
        position=position,
        function=clip(call_name(data), FUNCTION_LIMIT)
        if exists
        else "<no job record: expired or deleted>",
        status=as_text(fields.get(job_fields.STATUS)),
        worker=as_name(fields.get(job_fields.WORKER_NAME))
        or as_name(result.get(job_fields.RESULT_WORKER_NAME)),
        created_at=parse_iso_time(fields.get(job_fields.CREATED_AT)),
        enqueued_at=parse_iso_time(fields.get(job_fields.ENQUEUED_AT)),
        started_at=parse_iso_time(fields.get(job_fields.STARTED_AT)),
        ended_at=parse_iso_time(fields.get(job_fields.ENDED_AT)),
        score=score,
        waits_for=dependency_ids(fields.get(job_fields.DEPENDENCY_IDS)),
        result=return_value(result, RESULT_LIMIT) if state == job_states.FINISHED else None,
        exception=exception,
        exists=exists,
    )


def unreadable_job(job_id: str, position: int, score: float | None, reason: str) -> ListedJob:
    """The row of a job whose record cannot be turned into data: its id, and why."""
    return ListedJob(
        job_id, position, f"<unreadable job: {reason}>", None, None, None, None, None, None,
        score, (), None, None, True,
    )  # fmt: skip


def matches(job: ListedJob, fields: dict[str, Any], request: PageRequest) -> bool:
    if request.function and request.function.lower() not in job.function.lower():
        return False
    if not request.text:
        return True
    needle = request.text.lower()
    description = (as_text(fields.get(job_fields.DESCRIPTION)) or "")[:2000]
    haystack = (job.id, job.function, description, job.worker, job.exception, job.result)
    return any(needle in (value or "").lower() for value in haystack)
