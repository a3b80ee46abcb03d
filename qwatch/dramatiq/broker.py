"""Dramatiq's queues and broker processes at one moment: three round trips whatever their number.

The first reads every known queue's lengths (its list, its messages hash,
its delay queue's messages, its dead letters) and first id, every known
acks set's size, the heartbeats of the last hour and whether any worker
runs qwatch's middleware; the second the size of
each queue's first message, the third those messages that are small enough
(`HEAD_BYTES`), for the oldest wait and the actor next in line. Queues and
acks sets are found by `discover`, one bounded SCAN, at a slow pace.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from qwatch.dramatiq.layout import HEARTBEAT_TIMEOUT, DramatiqLayout
from qwatch.dramatiq.messages import parse_message
from qwatch.model import DRAMATIQ, DramatiqWatch, QueueStats, WorkerStats
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_float, as_int, as_list, as_name, as_strict_text, check_allowed
from qwatch.wire.scan import scanned
from qwatch.wire.skips import Skips

HEARTBEAT_HISTORY = 3600.0
"""Seconds a silent broker stays listed (as dead): Dramatiq removes one only by chance."""
WORKER_LIMIT = 10_000
"""Broker processes read at most, the most recent first."""
HEAD_BYTES = 64 << 10
"""Largest first message read for its queue's oldest wait and next actor."""
_PER_QUEUE = 5
IN_FLIGHT_NOTE = (
    "Dramatiq: started counts messages fetched and not acked, those a worker prefetched"
    " included; scheduled counts delayed messages, held by workers until their eta"
)

UNSEEN_NOTE = (
    "Dramatiq: no worker runs qwatch.dramatiq.Middleware, so finished messages are not"
    " seen (Redis keeps no trace of an acked message): see docs/dramatiq.md"
)


@dataclass(frozen=True, slots=True)
class Discovered:
    """What one SCAN found: the queues, and the acks sets by (broker id, queue)."""

    queues: tuple[str, ...] = ()
    acks: tuple[tuple[str, str, str], ...] = ()
    """(key, broker id, queue): a set of the messages a broker fetched from a queue."""


NOTHING_FOUND = Discovered()


@dataclass(frozen=True, slots=True)
class DramatiqReading:
    queues: tuple[QueueStats, ...]
    workers: tuple[WorkerStats, ...]
    records_skipped: int
    notes: tuple[str, ...]
    watch: DramatiqWatch


def discover(client: redis.Redis, layout: DramatiqLayout) -> Discovered:
    """Every queue a messages hash names, and every acks set: run it rarely (`wire.scan`)."""
    queues = {
        queue
        for key in scanned(client, layout.messages_pattern)
        if (text := as_strict_text(key)) and (queue := layout.queue_of(text))
    }
    acks = []
    for key in scanned(client, layout.acks_pattern):
        text = as_strict_text(key)
        owner = layout.broker_of(text) if text else None
        if text and owner:
            acks.append((text, *owner))
    return Discovered(tuple(sorted(queues)), tuple(sorted(acks)))


def dramatiq_present(client: redis.Redis, layout: DramatiqLayout) -> bool:
    """Whether a Dramatiq broker has written here: its heartbeats set exists. One EXISTS."""
    (reply,) = batch.run(client, [("EXISTS", layout.heartbeats_key)])
    check_allowed(reply)
    return as_int(reply) > 0


def read_dramatiq(
    client: redis.Redis, layout: DramatiqLayout, found: Discovered, now: float | None = None
) -> DramatiqReading:
    """Sample the queues and acks sets `found`; `now` (seconds since the epoch) is for tests."""
    now = time.time() if now is None else now
    skips = Skips()
    queues = found.queues
    commands: list[Command] = [
        (
            "ZRANGEBYSCORE", layout.heartbeats_key, int((now - HEARTBEAT_HISTORY) * 1000), "+inf",
            "WITHSCORES", "LIMIT", 0, WORKER_LIMIT,
        ),
        ("HLEN", layout.marks_key),
    ]  # fmt: skip
    for queue in queues:
        commands += [
            ("LLEN", layout.queue_key(queue)),
            ("HLEN", layout.messages_key(queue)),
            ("HLEN", layout.delay_messages_key(queue)),
            ("ZCARD", layout.dead_key(queue)),
            ("LRANGE", layout.queue_key(queue), 0, 0),
        ]
    commands += [("SCARD", key) for key, _broker, _queue in found.acks]
    replies = batch.run(client, commands)
    check_allowed(*replies)
    heartbeats, marked, rest = replies[0], replies[1], replies[2:]
    sizes = rest[: _PER_QUEUE * len(queues)]
    fetched = rest[_PER_QUEUE * len(queues) :]
    heads = _heads(client, layout, queues, sizes)
    readable = []
    for i, queue in enumerate(queues):
        lengths = sizes[_PER_QUEUE * i : _PER_QUEUE * (i + 1)]
        if all(isinstance(reply, int) for reply in lengths[:4]):
            readable.append((queue, lengths, heads.get(queue), now))
        else:
            skips.skip("queue", queue, "one of its keys is not of the type Dramatiq writes")
    stats = skips.build_each("queue", _queue_stats, readable)
    workers = _workers(heartbeats, found.acks, fetched, now, skips)
    notes = [IN_FLIGHT_NOTE] if queues else []
    unknown = sum(worker.state == UNKNOWN for worker in workers)
    if unknown:
        notes.append(
            f"Dramatiq: {unknown} of {len(workers)} broker processes have fetched nothing"
            " qwatch has seen: producers (which heartbeat too), or idle workers"
        )
    if queues and as_int(marked) == 0:
        notes.append(UNSEEN_NOTE)
    dead = {worker.name for worker in workers if worker.state == DEAD}
    held = sum(
        as_int(count) for (_k, broker, _q), count in zip(found.acks, fetched) if broker in dead
    )
    watch = DramatiqWatch(silent_held=held, unknown_brokers=unknown)
    return DramatiqReading(tuple(stats), workers, skips.count, tuple(notes), watch)


def _heads(
    client: redis.Redis, layout: DramatiqLayout, queues: Sequence[str], sizes: list[Any]
) -> dict[str, Any]:
    """Each queue's first message, when it is small enough (`read_messages`)."""
    first = {
        queue: message_id
        for i, queue in enumerate(queues)
        if (message_id := _first(sizes[_PER_QUEUE * i + 4])) is not None
    }
    wanted = [(layout.messages_key(queue), message_id) for queue, message_id in first.items()]
    return dict(zip(first, read_messages(client, wanted)))


def read_messages(client: redis.Redis, wanted: Sequence[tuple[str, Any]]) -> list[Any]:
    """The messages of these (hash, id) pairs, two round trips: their sizes, then those of at
    most `HEAD_BYTES`; None for one too large (or gone)."""
    lengths = batch.run(client, [("HSTRLEN", key, message_id) for key, message_id in wanted])
    check_allowed(*lengths)
    small = [i for i, length in enumerate(lengths) if 0 < as_int(length) <= HEAD_BYTES]
    replies = batch.run(client, [("HGET", *wanted[i]) for i in small])
    found: list[Any] = [None] * len(wanted)
    for i, reply in zip(small, replies):
        found[i] = reply
    return found


def _first(reply: Any) -> bytes | None:
    ids = as_list(reply)
    return ids[0] if ids and isinstance(ids[0], bytes) and len(ids[0]) <= 1024 else None


def _queue_stats(queue: str, sizes: list[Any], head: Any, now: float) -> QueueStats:
    """One queue, whose four lengths are integers."""
    queued, held, delayed, dead = sizes[:4]
    message = parse_message(head) if head is not None else None
    enqueued = message.enqueued_at if message is not None else None
    return QueueStats(
        name=queue,
        queued=queued,
        started=max(0, held - queued),
        finished=None,
        failed=dead,
        deferred=None,
        scheduled=delayed,
        canceled=None,
        intermediate=None,
        oldest_queued_age_seconds=max(0.0, now - enqueued) if enqueued is not None else None,
        workers=None,
        head_job=message.actor if message is not None else None,
        system=DRAMATIQ,
    )


BUSY, IDLE, UNKNOWN, DEAD = "busy", "idle", "unknown", "dead"
"""A broker holding fetched messages; one seen fetching before; one never seen fetching; one
silent past `HEARTBEAT_TIMEOUT`, whose fetched messages Dramatiq will requeue."""


def _workers(
    heartbeats: Any,
    acks: Sequence[tuple[str, str, str]],
    fetched: Sequence[Any],
    now: float,
    skips: Skips,
) -> tuple[WorkerStats, ...]:
    """Each broker process of the last hour, newest heartbeat first."""
    holding: Counter[str] = Counter()
    queues: dict[str, set[str]] = {}
    for (_key, broker, queue), count in zip(acks, fetched):
        holding[broker] += as_int(count)
        queues.setdefault(broker, set()).add(queue)
    members = as_list(heartbeats)
    workers = []
    for member, score in zip(members[::2], members[1::2]):
        name, millis = as_name(member), as_float(score)
        if name is None or millis is None:
            skips.skip("broker", member, "an unreadable heartbeat")
            continue
        age = max(0.0, now - millis / 1000)
        state = BUSY if holding[name] else IDLE if name in queues else UNKNOWN
        if age > HEARTBEAT_TIMEOUT:
            state = DEAD
        workers.append(
            WorkerStats(
                name=name, hostname=None, pid=None, state=state,
                queues=tuple(sorted(queues.get(name, ()))), current_job=None,
                current_job_description=f"{holding[name]} messages fetched" if holding[name]
                else None,
                current_job_seconds=None, birth=None, heartbeat_age_seconds=age,
                heartbeat_overdue=age > HEARTBEAT_TIMEOUT, successful_jobs=None,
                failed_jobs=None, working_seconds=None, system=DRAMATIQ,
            )
        )  # fmt: skip
    workers.sort(key=lambda worker: worker.heartbeat_age_seconds or 0.0)
    return tuple(workers)
