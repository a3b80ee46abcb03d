"""RQ's jobs whose id, call, worker, result, exception or traceback hold a text, in every queue
and state: asked for by a person, never part of a sample.

A search is read in batches, and says after each how far it has come: one
round trip for the length of every list and registry searched, then per
batch one round trip for windows of entries (`SEARCH_BATCH` in all, from as
many lists and registries as it takes) and one for those jobs' fields and
newest results. It stops at the request's budget of entries or seconds, or
once it has found `limit` jobs, and says which. The failed registries are
read first, the finished last but one: the jobs people look for.
Entries added or removed while it reads may be missed or seen twice.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import redis

from qwatch import job_states
from qwatch.limits import ARGUMENTS_LIMIT, SEARCH_BATCH
from qwatch.model import RQ, ListedJob, SearchHit, SearchProgress, SearchRequest
from qwatch.pickle.decode import call_name
from qwatch.rq import job_fields
from qwatch.rq.browse import (
    FIELDS,
    RESULT_LIMIT,
    WITH_RESULTS,
    built_job,
    length_command,
    range_command,
    read_entries,
)
from qwatch.rq.jobs import traceback_of
from qwatch.rq.keys import RQKeys
from qwatch.rq.reader import queue_names
from qwatch.rq.results import latest_command, result_fields, return_value
from qwatch.text.formatting import clip
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_int, as_list, as_name, as_text, check_allowed
from qwatch.wire.skips import Skips

ORDER = (
    job_states.FAILED,
    job_states.STARTED,
    job_states.QUEUED,
    job_states.SCHEDULED,
    job_states.DEFERRED,
    job_states.CANCELED,
    job_states.READY,
    job_states.FINISHED,
)
"""The states in the order they are searched."""
Window = tuple[str, str, int, int]
"""A queue, a state, where to start reading and how many entries."""


def search(
    client: redis.Redis,
    request: SearchRequest,
    keys: RQKeys,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[SearchProgress]:
    """The search's progress after each batch, the last saying whether it ended or stopped."""
    started = clock()
    windows = deque(_windows(client, request, keys))
    total = sum(count for *_, count in windows)
    hits: list[SearchHit] = []
    scanned = 0
    skips = Skips()
    while windows:
        stopped = request.stop_reason(scanned, len(hits), clock() - started >= request.seconds)
        if stopped:
            yield SearchProgress(request, tuple(hits), scanned, total, False, stopped)
            return
        chosen = _take(windows, min(SEARCH_BATCH, request.budget - scanned))
        scanned += sum(count for *_, count in chosen)
        hits += _read(client, request, keys, chosen, skips)[: request.limit - len(hits)]
        yield SearchProgress(request, tuple(hits), scanned, total, not windows)
    if total == 0:
        yield SearchProgress(request, (), 0, 0, True)


def _windows(client: redis.Redis, request: SearchRequest, keys: RQKeys) -> list[Window]:
    """Every list and registry searched, whole, with its length: one round trip for the
    queues' names (unless given), one for the lengths."""
    queues = list(request.queues) or queue_names(client, keys)
    states = [state for state in ORDER if not request.states or state in request.states]
    pairs = [(queue, state) for state in states for queue in queues]
    lengths = batch.run(client, [length_command(keys, queue, state) for queue, state in pairs])
    check_allowed(*lengths)
    return [
        (queue, state, 0, count)
        for (queue, state), reply in zip(pairs, lengths)
        if (count := as_int(reply) or 0) > 0
    ]


def _take(windows: deque[Window], room: int) -> list[Window]:
    """Up to `room` entries from the windows' heads; a window read in part goes back, on."""
    chosen = []
    while windows and room > 0:
        queue, state, start, count = windows.popleft()
        taken = min(room, count)
        chosen.append((queue, state, start, taken))
        room -= taken
        if taken < count:
            windows.appendleft((queue, state, start + taken, count - taken))
    return chosen


def _read(
    client: redis.Redis,
    request: SearchRequest,
    keys: RQKeys,
    windows: list[Window],
    skips: Skips,
) -> list[SearchHit]:
    """Two round trips: the windows' entries, then their jobs' fields and newest results."""
    ranges = batch.run(
        client,
        [range_command(keys, q, state, start, start + n - 1) for q, state, start, n in windows],
    )
    check_allowed(*ranges)
    entries = [
        (queue, state, position, job_id, score)
        for (queue, state, start, _n), reply in zip(windows, ranges)
        for position, job_id, score in read_entries(state, reply, start)[1]
    ]
    lookups: list[Command] = []
    for _queue, state, _position, job_id, _score in entries:
        lookups.append(("HMGET", keys.job_key(job_id), *FIELDS))
        if state in WITH_RESULTS:
            lookups.append(latest_command(job_id, keys))
    replies = iter(batch.run(client, lookups))
    hits = []
    for queue, state, position, job_id, score in entries:
        fields = dict(zip(FIELDS, as_list(next(replies))))
        latest = next(replies) if state in WITH_RESULTS else None
        found = skips.build("job", job_id, partial(_found, request, job_id, state, fields, latest))
        if found is False:
            continue
        job = built_job(skips, job_id, position, score, fields, latest, state)
        if found or request.matches(job.id, job.function):
            hits.append(_hit(queue, state, job, as_text(fields.get(job_fields.DESCRIPTION))))
    return hits


def _found(
    request: SearchRequest, job_id: str, state: str, fields: dict[str, Any], latest: Any
) -> bool:
    """Whether the text is in the job's id, call (its arguments as RQ wrote them), worker,
    result, exception or traceback: read from its fields, cheapest first, so that the jobs
    that do not hold it (nearly all) cost no more than that."""
    data = fields.get(job_fields.DATA)
    function = call_name(data if isinstance(data, bytes) else None)
    description = as_text(fields.get(job_fields.DESCRIPTION))
    if request.matches(job_id, function, description, as_name(fields.get(job_fields.WORKER_NAME))):
        return True
    if state not in WITH_RESULTS:
        return False
    result = result_fields(latest)
    worker = as_name(result.get(job_fields.RESULT_WORKER_NAME))
    value = return_value(result, RESULT_LIMIT) if state == job_states.FINISHED else None
    traceback = traceback_of(fields, latest) if state == job_states.FAILED else None
    return request.matches(worker, value, traceback)


def _hit(queue: str, state: str, job: ListedJob, call: str | None) -> SearchHit:
    """`call`: the job's description, RQ's text of its call, shown where it holds no
    exception or result: where a queued job's text is found."""
    return SearchHit(
        id=job.id,
        queue=queue,
        state=state,
        function=job.function,
        at=job.ended_at or job.started_at or job.enqueued_at or job.created_at,
        worker=job.worker,
        detail=job.exception or job.result or (clip(call, ARGUMENTS_LIMIT) if call else None),
        system=RQ,
    )
