"""Dramatiq's dead letters, and any one message found by its id, as `failed` and `job` show them.

A message dies (`nack`) once its retries are spent, or at once for an actor
that retries nothing: Dramatiq moves it to the queue's `.XQ` sorted set,
scored by the millisecond it died, and keeps it seven days. It stores no
error of the last attempt: the traceback a dead letter shows is the one the
Retries middleware kept in its options at the attempt before, if any.

The broker files each message under an id of its own (`redis_message_id`,
new at every enqueue, so at every retry), not under the `message_id` an
actor's `send` returns, which only the message itself holds. `qwatch job`
takes either: the broker's is looked up directly, the actor's among the
newest `LOOKUP_LIMIT` dead letters and first delayed and queued messages of
each queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import redis

from qwatch import job_states
from qwatch.dramatiq.broker import read_messages
from qwatch.dramatiq.layout import DramatiqLayout
from qwatch.dramatiq.messages import DramatiqMessage, parse_message
from qwatch.errors import exception_line
from qwatch.model import DRAMATIQ, FailedJob, JobDetail
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_float, as_list, as_name, check_allowed

NO_ERROR = (
    "Dramatiq stores no error of a message's last attempt: the traceback, if any, is"
    " the attempt before's, kept by its Retries middleware"
)
TOO_LARGE = "<a message larger than qwatch reads>"
LOOKUP_LIMIT = 1000
"""Dead letters, and queued messages, of each queue read to find a message by its actor's id."""


def read_dead(
    client: redis.Redis, layout: DramatiqLayout, queues: Sequence[str], limit: int
) -> list[FailedJob]:
    """The `limit` newest dead letters of these queues, newest first: one round trip for the
    ids of each queue's newest, then two for their messages (`read_messages`)."""
    replies = batch.run(
        client, [("ZREVRANGE", layout.dead_key(q), 0, limit - 1, "WITHSCORES") for q in queues]
    )
    check_allowed(*replies)
    dead = []
    for queue, reply in zip(queues, replies):
        members = as_list(reply)
        for member, score in zip(members[::2], members[1::2]):
            if (message_id := as_name(member)) is not None:
                dead.append((as_float(score) or 0.0, queue, message_id))
    dead = sorted(dead, reverse=True)[:limit]
    wanted = [(layout.dead_messages_key(queue), message_id) for _at, queue, message_id in dead]
    messages = read_messages(client, wanted)
    return [
        _failed_row(message_id, queue, at / 1000, raw)
        for (at, queue, message_id), raw in zip(dead, messages)
    ]


def _failed_row(redis_id: str, queue: str, died_at: float, raw: object) -> FailedJob:
    """A dead letter by the id its actor's `send` returned, else the broker's."""
    message = parse_message(raw) if raw is not None else None
    return FailedJob(
        id=message.id if message is not None and message.id else redis_id,
        queue=queue,
        function=message.actor if message is not None else TOO_LARGE,
        exception=exception_line(message.traceback) if message is not None else None,
        worker=None,
        failed_at=died_at if died_at > 0 else None,
        system=DRAMATIQ,
    )


def dramatiq_job(
    client: redis.Redis, layout: DramatiqLayout, queues: Sequence[str], message_id: str
) -> JobDetail | None:
    """The message with this id (the broker's, or its actor's) in any queue: dead, delayed, or
    queued or fetched (one hash holds both; the queue's list says which)."""
    places = [
        (queue, state, key, message_id)
        for queue in queues
        for state, key in (
            (job_states.FAILED, layout.dead_messages_key(queue)),
            (job_states.SCHEDULED, layout.delay_messages_key(queue)),
            (job_states.QUEUED, layout.messages_key(queue)),
        )
    ]
    found = _first_found(client, places, lambda _message: True)
    if found is None:
        found = _first_found(
            client, _newest(client, layout, queues), lambda message: message.id == message_id
        )
    if found is None:
        return None
    (queue, state, _key, redis_id), message = found
    died_at = None
    if state == job_states.FAILED:
        (score,) = batch.run(client, [("ZSCORE", layout.dead_key(queue), redis_id)])
        died_at = (as_float(score) or 0.0) / 1000 or None
    elif state == job_states.QUEUED:
        (position,) = batch.run(client, [("LPOS", layout.queue_key(queue), redis_id)])
        state = job_states.QUEUED if isinstance(position, int) else job_states.STARTED
    return _detail(message.id or redis_id, queue, state, message, died_at)


Place = tuple[str, str, str, str]
"""A queue, a state, the hash that would hold the message, and the broker's id for it."""


def _first_found(
    client: redis.Redis, places: list[Place], wanted: Callable[[DramatiqMessage], bool]
) -> tuple[Place, DramatiqMessage] | None:
    """The first place whose message is there and `wanted`: two round trips."""
    raws = read_messages(client, [(key, redis_id) for *_, key, redis_id in places])
    for place, raw in zip(places, raws):
        if raw is not None and wanted(message := parse_message(raw)):
            return place, message
    return None


def _newest(client: redis.Redis, layout: DramatiqLayout, queues: Sequence[str]) -> list[Place]:
    """The newest dead letters and the first delayed and queued messages of each queue (not
    those a worker holds), by the broker's ids: one round trip."""
    commands: list[Command] = []
    for queue in queues:
        commands += [
            ("ZREVRANGE", layout.dead_key(queue), 0, LOOKUP_LIMIT - 1),
            ("LRANGE", layout.delay_queue_key(queue), 0, LOOKUP_LIMIT - 1),
            ("LRANGE", layout.queue_key(queue), 0, LOOKUP_LIMIT - 1),
        ]
    replies = batch.run(client, commands)
    check_allowed(*replies)
    places = []
    for i, queue in enumerate(queues):
        for state, key, reply in (
            (job_states.FAILED, layout.dead_messages_key(queue), replies[3 * i]),
            (job_states.SCHEDULED, layout.delay_messages_key(queue), replies[3 * i + 1]),
            (job_states.QUEUED, layout.messages_key(queue), replies[3 * i + 2]),
        ):
            places += [(queue, state, key, name) for m in as_list(reply) if (name := as_name(m))]
    return places


def _detail(
    message_id: str, queue: str, state: str, message: DramatiqMessage, died_at: float | None
) -> JobDetail:
    return JobDetail(
        id=message_id,
        status=state,
        function=message.actor,
        arguments=message.arguments,
        description=None,
        origin=queue,
        worker=None,
        created_at=message.enqueued_at,
        enqueued_at=message.enqueued_at,
        started_at=None,
        ended_at=died_at,
        timeout=None,
        retries_left=None,
        result=None,
        exception=exception_line(message.traceback) or (NO_ERROR if died_at else None),
        traceback=message.traceback,
        retries_used=message.retries,
        system=DRAMATIQ,
        scheduled_for=message.eta,
    )
