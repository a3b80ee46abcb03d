"""One Dramatiq queue's messages in one state, a page at a time, as `qwatch jobs` lists RQ's jobs.

Queued messages are the queue's list, in the order workers take them;
scheduled ones the delay queue's list (those a worker already holds until
their eta count in the queue's scheduled, and are not listed); started ones
those of every acks set of the queue that discovery found, fetched and not
acked; failed ones the dead letters, newest first. Three round trips a
page: the ids and the total, then the messages (`read_messages`).
"""

from __future__ import annotations

import time

import redis

from qwatch import job_states
from qwatch.dramatiq.broker import Discovered, read_messages
from qwatch.dramatiq.dead import TOO_LARGE
from qwatch.dramatiq.layout import DramatiqLayout
from qwatch.dramatiq.messages import DramatiqMessage, parse_message
from qwatch.errors import exception_line
from qwatch.limits import SCAN_WINDOW
from qwatch.model import DRAMATIQ, JobPage, ListedJob, PageRequest
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_float, as_int, as_list, as_name, check_allowed

STATES = (job_states.QUEUED, job_states.STARTED, job_states.SCHEDULED, job_states.FAILED)
"""The states a Dramatiq queue's messages are listed in."""

Entry = tuple[str, float | None, str | None]
"""The broker's id of a message, its score (when it died, as a dead letter), and its holder."""


def read_page(
    client: redis.Redis, layout: DramatiqLayout, found: Discovered, request: PageRequest
) -> JobPage:
    """The page `request` asks for; a filter reads up to `SCAN_WINDOW` entries from `offset`."""
    if request.state not in STATES:
        raise ValueError(f"a Dramatiq queue's states are {', '.join(STATES)}")
    now = time.time()
    window = SCAN_WINDOW if request.filtered else request.limit
    total, read = read_window(client, layout, found, request.queue, request.state,
                              request.offset, window)  # fmt: skip
    jobs = []
    for position, (redis_id, score, holder, message) in enumerate(read, start=request.offset):
        job = _listed(redis_id, position, score, holder, message, request.state)
        if _matches(job, request):
            jobs.append(job)
    end = request.offset + len(read)
    return JobPage(
        request, bool(total) or request.queue in found.queues, total,
        tuple(jobs[: request.limit]), len(read), end if end < total else None, now,
        system=DRAMATIQ,
    )  # fmt: skip


Read = tuple[str, float | None, str | None, DramatiqMessage | None]
"""An entry with its message: None for one too large to read, or gone."""


def read_window(
    client: redis.Redis,
    layout: DramatiqLayout,
    found: Discovered,
    queue: str,
    state: str,
    offset: int,
    count: int,
) -> tuple[int, list[Read]]:
    """How many messages the queue has in `state`, and `count` of them from `offset` with their
    messages: three round trips."""
    total, entries, hash_key = _entries(client, layout, found, queue, state, offset, count)
    raws = read_messages(client, [(hash_key, redis_id) for redis_id, _s, _w in entries])
    return total, [
        (redis_id, score, holder, parse_message(raw) if raw is not None else None)
        for (redis_id, score, holder), raw in zip(entries, raws)
    ]


def _entries(
    client: redis.Redis,
    layout: DramatiqLayout,
    found: Discovered,
    queue: str,
    state: str,
    start: int,
    count: int,
) -> tuple[int, list[Entry], str]:
    """The total in the state, the window's entries, and the hash their messages are in."""
    stop = start + count - 1
    if state == job_states.STARTED:
        holders = [(key, b) for key, b, q in found.acks if q == queue and not key.endswith(".DQ")]
        replies = batch.run(client, [("SMEMBERS", key) for key, _b in holders])
        check_allowed(*replies)
        every: list[Entry] = [
            (name, None, broker)
            for (_key, broker), reply in zip(holders, replies)
            for member in sorted(as_list(reply), key=repr)
            if (name := as_name(member))
        ]
        return len(every), every[start : stop + 1], layout.messages_key(queue)
    commands: list[Command]
    if state == job_states.FAILED:
        key = layout.dead_key(queue)
        commands = [("ZCARD", key), ("ZREVRANGE", key, start, stop, "WITHSCORES")]
        hash_key = layout.dead_messages_key(queue)
    else:
        scheduled = state == job_states.SCHEDULED
        key = layout.delay_queue_key(queue) if scheduled else layout.queue_key(queue)
        commands = [("LLEN", key), ("LRANGE", key, start, stop)]
        hash_key = layout.delay_messages_key(queue) if scheduled else layout.messages_key(queue)
    total, listed = batch.run(client, commands)
    check_allowed(total, listed)
    members = as_list(listed)
    entries: list[Entry]
    if state == job_states.FAILED:
        pairs = zip(members[::2], members[1::2])
        entries = [(n, as_float(s), None) for m, s in pairs if (n := as_name(m))]
    else:
        entries = [(n, None, None) for m in members if (n := as_name(m))]
    return as_int(total), entries, hash_key


def _listed(
    redis_id: str,
    position: int,
    score: float | None,
    holder: str | None,
    message: DramatiqMessage | None,
    state: str,
) -> ListedJob:
    died = score / 1000 if score else None
    return ListedJob(
        id=message.id or redis_id if message is not None else redis_id,
        position=position,
        function=message.actor if message is not None else TOO_LARGE,
        status=state,
        worker=holder,
        created_at=message.enqueued_at if message else None,
        enqueued_at=message.enqueued_at if message else None,
        started_at=None,
        ended_at=died,
        score=message.eta if message and state == job_states.SCHEDULED else died,
        waits_for=(),
        result=None,
        exception=exception_line(message.traceback) if message else None,
        exists=message is not None,
    )


def _matches(job: ListedJob, request: PageRequest) -> bool:
    if request.function and request.function.lower() not in job.function.lower():
        return False
    needle = request.text.lower()
    return not needle or any(
        needle in field.lower() for field in (job.id, job.function, job.exception or "")
    )
