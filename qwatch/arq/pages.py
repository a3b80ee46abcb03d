"""One arq queue's jobs in one state, a page at a time, as `qwatch jobs` lists RQ's jobs.

Queued jobs are the queue's due ones in the order workers take them, those
running left out; started ones those running among the first
`RUNNING_WINDOW` due; scheduled ones those due later, soonest first;
finished and failed ones the results the last discovery read, newest first.
Three round trips a page: the ids (and which run), the sizes of their jobs
or results, then those small enough to decode.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis

from qwatch import job_states
from qwatch.arq.jobs import TOO_LARGE
from qwatch.arq.layout import ArqLayout
from qwatch.arq.reader import RUNNING_WINDOW
from qwatch.arq.records import ArqRecord, job_record, moment, result_record
from qwatch.arq.results import ArqResults
from qwatch.limits import SCAN_WINDOW
from qwatch.model import ARQ, JobPage, ListedJob, PageRequest
from qwatch.pickle.decode import MAX_PICKLE_BYTES
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_float, as_int, as_list, as_name, as_pairs, check_allowed

STATES = (
    job_states.QUEUED,
    job_states.STARTED,
    job_states.SCHEDULED,
    job_states.FINISHED,
    job_states.FAILED,
)
"""The states an arq queue's jobs are listed in."""
ENDED = {job_states.FINISHED: True, job_states.FAILED: False}

Entry = tuple[str, float | None]
"""A job's id, and its score: the millisecond it is due."""


def read_page(
    client: redis.Redis,
    layout: ArqLayout,
    results: ArqResults,
    queues: Sequence[str],
    request: PageRequest,
) -> JobPage:
    """The page `request` asks for; a filter reads up to `SCAN_WINDOW` entries from `offset`."""
    if request.state not in STATES:
        raise ValueError(f"an arq queue's states are {', '.join(STATES)}")
    now = time.time()
    window = SCAN_WINDOW if request.filtered else request.limit
    state, offset = request.state, request.offset
    total, read = read_window(client, layout, results, request.queue, state, offset, window)
    jobs = [
        job
        for position, (job_id, score, record) in enumerate(read, offset)
        if _matches(job := _job(job_id, position, score, record, state), request)
    ]
    end = offset + len(read)
    known = request.queue in queues or bool(total)
    return JobPage(
        request, known, total, tuple(jobs[: request.limit]), len(read),
        end if end < total else None, now, system=ARQ,
    )  # fmt: skip


Read = tuple[str, float | None, ArqRecord | None]
"""An entry with its job (or result): None when it is gone."""


def read_window(
    client: redis.Redis,
    layout: ArqLayout,
    results: ArqResults,
    queue: str,
    state: str,
    offset: int,
    count: int,
) -> tuple[int, list[Read]]:
    """How many jobs the queue has in `state`, and `count` of them from `offset` with their
    jobs or results decoded: three round trips."""
    entries: list[Entry]
    if state in ENDED:
        kept = results.ended(queue, ENDED[state])
        total, entries = len(kept), [(k.id, None) for k in kept[offset : offset + count]]
    else:
        request = PageRequest(queue, state, offset, count)
        total, entries = _listed(client, layout, request, count, time.time())
    records = _records(client, layout, entries, state in ENDED)
    return total, [(job_id, score, record) for (job_id, score), record in zip(entries, records)]


def _listed(
    client: redis.Redis, layout: ArqLayout, request: PageRequest, window: int, now: float
) -> tuple[int, list[Entry]]:
    """A waiting state's total and window: due jobs not running, running ones, or later ones.
    Running ones are looked for among the first `RUNNING_WINDOW` due, as a reading does, so
    a page's total is the queue's count."""
    now_ms, queue = str(int(now * 1000)), request.queue
    if request.state == job_states.SCHEDULED:
        low, high = f"({now_ms}", "+inf"
    else:
        low, high = "-inf", now_ms
    commands: list[Command] = [
        ("ZCOUNT", queue, low, high),
        ("ZRANGEBYSCORE", queue, low, high, "WITHSCORES", "LIMIT", request.offset, window),
    ]
    if request.state != job_states.SCHEDULED:
        commands.append(("ZRANGEBYSCORE", queue, low, high, "LIMIT", 0, RUNNING_WINDOW))
    total, listed, *first = batch.run(client, commands)
    check_allowed(total, listed, *first)
    entries = [
        (name, as_float(score)) for member, score in as_pairs(listed) if (name := as_name(member))
    ]
    if not first:
        return as_int(total), entries
    due = [name for member in as_list(first[0]) if (name := as_name(member))]
    flags = batch.run(client, [("EXISTS", layout.in_progress_key(i)) for i in due])
    running = {job_id for job_id, flag in zip(due, flags) if flag == 1}
    if request.state == job_states.STARTED:
        scores = dict(entries)
        ran = [(i, scores.get(i)) for i in due if i in running]
        return len(ran), ran[request.offset : request.offset + window]
    return as_int(total) - len(running), [e for e in entries if e[0] not in running]


def _records(
    client: redis.Redis, layout: ArqLayout, entries: Sequence[Entry], ended: bool
) -> list[ArqRecord | None]:
    """Each entry's job (or result), None when it is gone; two round trips."""
    key = layout.result_key if ended else layout.job_key
    keys = [key(job_id) for job_id, _s in entries]
    sizes = [as_int(size) for size in batch.run(client, [("STRLEN", k) for k in keys])]
    small = [k for k, size in zip(keys, sizes) if 0 < size <= MAX_PICKLE_BYTES]
    values = dict(zip(small, batch.run(client, [("GET", k) for k in small])))
    parse = result_record if ended else job_record
    records: list[ArqRecord | None] = []
    for k, size in zip(keys, sizes):
        data = values.get(k)
        if isinstance(data, bytes):
            records.append(parse(data))
        else:
            records.append(
                ArqRecord(TOO_LARGE, "", None, None, problem=TOO_LARGE) if size else None
            )
    return records


def _job(
    job_id: str, position: int, score: float | None, record: ArqRecord | None, state: str
) -> ListedJob:
    due = moment(score)
    return ListedJob(
        id=job_id,
        position=position,
        function=record.function if record is not None else "<gone>",
        status=state,
        worker=None,
        created_at=None,
        enqueued_at=record.enqueued_at if record else None,
        started_at=record.started_at if record else None,
        ended_at=record.finished_at if record else None,
        score=due,
        waits_for=(),
        result=record.result if record else None,
        exception=record.exception if record else None,
        exists=record is not None,
    )


def _matches(job: ListedJob, request: PageRequest) -> bool:
    if request.function and request.function.lower() not in job.function.lower():
        return False
    needle = request.text.lower()
    fields = (job.id, job.function, job.exception or "", job.result or "")
    return not needle or any(needle in field.lower() for field in fields)
