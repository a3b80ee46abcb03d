"""One Celery task found where kombu keeps it, and a queue's messages a page at a time.

Kombu keeps no record of a task that has not ended: a task is a message,
waiting in one of its queue's priority lists (consumed step 0 first, each
list from its right end), or reserved by a worker (taken, not acked) in
`unacked`, the hash of every queue's reserved messages by delivery tag, with
their delivery times in `unacked_index`. Neither is indexed by task id.

Finding a task (`celery_job`) therefore reads messages, in three round trips
whatever the number of queues: the task's stored result; the delivery
times and every priority list's length; every reserved message (at most
`RESERVED_LIMIT`, as a snapshot's first reading does) and the waiting ones
from each queue's consuming end, at most `SEARCH_LIMIT` in all. A message is
parsed only when its bytes hold the id. What the search did not reach, it
says (`Found.unsearched`).

A page of waiting messages is two round trips, the lists' lengths and one
LRANGE per list the page spans; a page of reserved ones reads every reserved
message (two round trips) and keeps the queue's. A filter examines at most
`SCAN_WINDOW` entries a page, as RQ's pages do. Nothing here writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import redis

from qwatch import job_states
from qwatch.celery.broker import RESERVED_LIMIT, delivery_times, queue_of
from qwatch.celery.envelope import Message, Unacked, Unreadable, parse_message, parse_unacked
from qwatch.celery.failures import arguments_text, failure_detail, read_stored_result, stored_detail
from qwatch.celery.layout import CeleryLayout
from qwatch.celery.state import CeleryFailure
from qwatch.celery.task_states import ENDED
from qwatch.errors import TargetError
from qwatch.limits import PAGE_LIMIT, SCAN_WINDOW
from qwatch.model import (
    CELERY,
    CeleryMessage,
    CeleryPage,
    Found,
    JobDetail,
    PageRequest,
    Waiting,
)
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_list, check_allowed
from qwatch.wire.skips import Skips

STATES = (job_states.QUEUED, job_states.SCHEDULED, job_states.RESERVED, job_states.OVERDUE)
"""What `qwatch jobs` lists of a Celery queue: waiting messages, and the reserved ones,
all of them or those held for their ETA (`scheduled`, as the snapshot counts them) or
overdue."""
SEARCH_LIMIT = 10_000
"""Waiting messages one search reads, from the consuming ends: the next to run first."""
T = TypeVar("T")
UNREADABLE = "<unreadable message: {}>"
UNNAMED = "<no task name>"


def celery_job(
    client: redis.Redis,
    layout: CeleryLayout,
    queues: tuple[str, ...],
    task_id: str,
    heard: tuple[CeleryFailure, ...] = (),
    now: float | None = None,
) -> Found:
    """A Celery task by id: its stored result once it ended, else the failure heard, else its
    message where it waits, else what the backend stored of it (a retry, a start)."""
    stored = read_stored_result(client, task_id, layout.result_prefix)
    failure = next((f for f in heard if f.id == task_id), None)
    if stored is not None and stored.status in ENDED:
        return Found(stored_detail(stored, failure))
    if failure is not None:
        return Found(failure_detail(failure))
    now = time.time() if now is None else now
    message, unsearched = _search(client, layout, queues, task_id, now)
    if message is not None:
        return Found(_detail(message, stored.retries if stored else None))
    return Found(stored_detail(stored) if stored is not None else None, unsearched)


def read_page(
    client: redis.Redis, layout: CeleryLayout, request: PageRequest, now: float | None = None
) -> CeleryPage:
    """Waiting messages in two round trips; reserved ones from every reserved message."""
    if request.state not in STATES:
        raise ValueError(f"no such state of a Celery queue: {request.state!r}")
    now = time.time() if now is None else now
    offset = max(0, request.offset)
    limit = max(1, min(request.limit, PAGE_LIMIT))
    window = SCAN_WINDOW if request.filtered else limit
    if request.state == job_states.QUEUED:
        total, listed = _waiting_page(client, layout, request.queue, offset, window)
    else:
        chosen = [m for m in _reserved_of(client, layout, request.queue, now) if _in(m, request)]
        total, listed = len(chosen), _numbered(chosen[offset : offset + window], offset)
    jobs: list[CeleryMessage] = []
    end = offset + len(listed)
    for message in listed:
        if len(jobs) >= limit:
            end = message.position
            break
        if _matches(message, request):
            jobs.append(message)
    return CeleryPage(
        request=PageRequest(
            request.queue, request.state, offset, limit, request.function, request.text
        ),
        total=total,
        jobs=tuple(jobs),
        scanned=end - offset,
        next_offset=end if offset < end < total else None,
        taken_at=now,
        system=CELERY,
    )


def _search(
    client: redis.Redis, layout: CeleryLayout, queues: tuple[str, ...], task_id: str, now: float
) -> tuple[CeleryMessage | None, int]:
    """The task's message, reserved or waiting, and how many waiting messages were not read."""
    lists = [(queue, step) for queue in queues for step in layout.priority_steps]
    index, *lengths = batch.run(
        client,
        [_index(layout), *[("LLEN", layout.priority_key(q, step)) for q, step in lists]],
    )
    check_allowed(index, *lengths)
    delivered = _delivered(layout, index)
    budget, unsearched = SEARCH_LIMIT, 0
    ranges: list[tuple[str, int, int, Command]] = []
    base: dict[str, int] = dict.fromkeys(queues, 0)
    for (queue, step), length in zip(lists, lengths):
        size = length if isinstance(length, int) else 0
        take = min(size, budget)
        if take:
            ranges.append((queue, step, base[queue], _tail(layout, queue, step, 0, take)))
        budget -= take
        unsearched += size - take
        base[queue] += size
    tags = list(delivered)
    replies = batch.run(
        client, [*([_values(layout, tags)] if tags else []), *[cmd for *_, cmd in ranges]]
    )
    check_allowed(*replies)
    needles = _needles(task_id)
    values = as_list(replies.pop(0)) if tags else []
    for position, (tag, raw) in enumerate(zip(tags, values)):
        entry = _holding(raw, needles, parse_unacked)
        if isinstance(entry, Unacked) and entry.message.id == task_id:
            queue = queue_of(entry, queues) or entry.routing_key
            return _reserved(layout, entry.message, queue, delivered[tag], now, position), 0
    for (queue, step, ahead, _cmd), reply in zip(ranges, replies):
        for index_in_list, raw in enumerate(reversed(as_list(reply))):
            message = _holding(raw, needles, parse_message)
            if isinstance(message, Message) and message.id == task_id:
                return _queued(message, queue, step, ahead + index_in_list), 0
    return None, unsearched


def _waiting_page(
    client: redis.Redis, layout: CeleryLayout, queue: str, offset: int, window: int
) -> tuple[int, list[CeleryMessage]]:
    """The queue's waiting messages from `offset` in consumption order, `window` at most."""
    lengths = batch.run(client, [("LLEN", key) for key in layout.priority_keys(queue)])
    check_allowed(*lengths)
    sizes = [length if isinstance(length, int) else 0 for length in lengths]
    spans: list[tuple[int, int]] = []
    commands: list[Command] = []
    base = 0
    for step, size in zip(layout.priority_steps, sizes):
        start, stop = max(offset, base), min(offset + window, base + size)
        if start < stop:
            spans.append((step, start))
            commands.append(_tail(layout, queue, step, start - base, stop - base))
        base += size
    replies = batch.run(client, commands)
    check_allowed(*replies)
    listed = []
    for (step, start), reply in zip(spans, replies):
        for i, raw in enumerate(reversed(as_list(reply))):
            listed.append(_queued(parse_message(raw), queue, step, start + i))
    return sum(sizes), listed


def _reserved_of(
    client: redis.Redis, layout: CeleryLayout, queue: str, now: float
) -> list[CeleryMessage]:
    """Every reserved message of `queue`, the oldest delivery first."""
    (index,) = batch.run(client, [_index(layout)])
    check_allowed(index)
    delivered = _delivered(layout, index)
    tags = list(delivered)
    (values,) = batch.run(client, [_values(layout, tags)]) if tags else [[]]
    check_allowed(values)
    found: list[CeleryMessage] = []
    for tag, raw in zip(tags, as_list(values)):
        entry = parse_unacked(raw) if raw is not None else None
        if isinstance(entry, Unacked) and queue_of(entry, (queue,)) == queue:
            found.append(_reserved(layout, entry.message, queue, delivered[tag], now, len(found)))
    return found


def _index(layout: CeleryLayout) -> Command:
    return ("ZRANGE", layout.unacked_index_key, 0, RESERVED_LIMIT, "WITHSCORES")


def _values(layout: CeleryLayout, tags: list[bytes]) -> Command:
    return ("HMGET", layout.unacked_key, *tags)


def _tail(layout: CeleryLayout, queue: str, step: int, start: int, stop: int) -> Command:
    """The LRANGE of a list's messages `start` to `stop` (excluded) from its consuming end."""
    return ("LRANGE", layout.priority_key(queue, step), -stop, -start - 1)


def _delivered(layout: CeleryLayout, index: Any) -> dict[bytes, float]:
    """Delivery time per tag, the oldest first; one line when they cannot be listed."""
    notes: list[str] = []
    times = delivery_times(layout, index, notes, Skips())
    if times is None:
        raise TargetError(f"Celery's reserved messages cannot be listed: {notes[0]}")
    return times


def _needles(task_id: str) -> tuple[bytes, ...]:
    """The id as its bytes stand in a message: as typed, and JSON-escaped."""
    escaped = json.dumps(task_id)[1:-1]
    return tuple(dict.fromkeys((task_id.encode("utf-8", "surrogatepass"), escaped.encode())))


def _holding(raw: Any, needles: tuple[bytes, ...], parse: Callable[[Any], T]) -> T | None:
    """`raw` parsed, only when its bytes hold the id: most messages are never parsed."""
    if isinstance(raw, bytes) and any(needle in raw for needle in needles):
        return parse(raw)
    return None


def _queued(message: Message | Unreadable, queue: str, step: int, position: int) -> CeleryMessage:
    waiting = Waiting(queue, step, position, None, False)
    return _listed(message, job_states.QUEUED, waiting, position)


def _reserved(
    layout: CeleryLayout,
    message: Message,
    queue: str,
    delivered_at: float,
    now: float,
    position: int,
) -> CeleryMessage:
    held = message.eta is not None and message.eta > now
    waiting = Waiting(queue, None, None, delivered_at, layout.overdue(delivered_at, now))
    state = job_states.SCHEDULED if held else job_states.RESERVED
    return _listed(message, state, waiting, position)


def _listed(
    message: Message | Unreadable, status: str, waiting: Waiting, position: int
) -> CeleryMessage:
    """A message's row; an unreadable one keeps its place, with why."""
    if isinstance(message, Unreadable):
        reason = UNREADABLE.format(message.reason)
        return CeleryMessage(None, position, status, reason, "", waiting, None, None, False)
    return CeleryMessage(
        id=message.id,
        position=position,
        status=status,
        function=message.task or UNNAMED,
        arguments=arguments_text(message.argsrepr, message.kwargsrepr),
        waiting=waiting,
        eta=message.eta,
        retries=message.retries,
        redelivered=message.redelivered,
    )


def _numbered(messages: list[CeleryMessage], offset: int) -> list[CeleryMessage]:
    """Reserved messages of one state, numbered within it from `offset`."""
    return [replace(m, position=offset + i) for i, m in enumerate(messages)]


def _in(message: CeleryMessage, request: PageRequest) -> bool:
    if request.state == job_states.OVERDUE:
        return message.waiting.overdue
    return request.state == job_states.RESERVED or message.status == job_states.SCHEDULED


def _matches(message: CeleryMessage, request: PageRequest) -> bool:
    if request.function and request.function.lower() not in message.function.lower():
        return False
    needle = request.text.lower()
    return not needle or any(
        needle in (value or "").lower()
        for value in (message.id, message.function, message.arguments)
    )


def _detail(message: CeleryMessage, retries: int | None) -> JobDetail:
    """A message found by its id, as `qwatch job` and the inspector show a job."""
    return JobDetail(
        id=message.id or "",
        status=message.status,
        function=message.function,
        arguments=message.arguments,
        description=None,
        origin=message.waiting.queue,
        worker=None,
        created_at=None,
        enqueued_at=None,
        started_at=None,
        ended_at=None,
        timeout=None,
        retries_left=None,
        result=None,
        exception=None,
        traceback=None,
        retries_used=message.retries if message.retries is not None else retries,
        system=CELERY,
        scheduled_for=message.eta,
        waiting=message.waiting,
    )
