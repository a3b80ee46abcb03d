"""Read Celery's queues out of kombu's Redis keys alone, in at most two round trips.

1. (`_read_sizes`) per queue the length of every priority list; the size of
   `unacked` and its index of delivery times (the oldest `RESERVED_LIMIT` + 1
   entries);
2. (`_read_contents`) the next messages of every queue that has any, from the
   consuming end (`HEAD_READ` each, fewer when many queues share `HEAD_BUDGET`);
   the `unacked` values of delivery tags not seen at the last reading (none in
   a steady state). Skipped when neither is needed.

Every command is a read of a known key: no KEYS, no SCAN, no write (kombu's
own `restore_visible` and `_size` are never called). Finding the queues
(`discover_queues`) is the one SCAN, and callers run it rarely.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import hiredis
import redis

from qwatch.celery.envelope import Message, Unacked, Unreadable, parse_message, parse_unacked
from qwatch.celery.layout import (
    DEFAULT_EXCHANGE,
    EVENT_EXCHANGE,
    PIDBOX,
    CeleryLayout,
    is_kombu_exchange,
    is_kombu_queue,
)
from qwatch.limits import NAME_LIMIT
from qwatch.model import CELERY, CeleryQueue, QueueStats
from qwatch.wire import batch
from qwatch.wire.batch import Command, Packed
from qwatch.wire.memory import ClientMemory
from qwatch.wire.replies import as_float, as_list, as_pairs, as_strict_text, check_allowed
from qwatch.wire.scan import scanned
from qwatch.wire.skips import Skips
from qwatch.wire.timestamps import LATEST

log = logging.getLogger("qwatch.celery")

HEAD_READ = 100
"""Messages read from the consuming end of a queue, to say which tasks come next."""
HEAD_BUDGET = 1_000
"""Head messages read per reading over all queues: with more than ten non-empty queues
each gets its share (at least one), so a reading moves about a megabyte of messages
whatever the number of queues (each queue's `head_read` says how many)."""
RESERVED_LIMIT = 10_000
"""Unacked messages attributed to their queues; beyond, per-queue reserved counts are None."""
UNREADABLE_TASK = "<unreadable message>"
UNNAMED_TASK = "<no task name>"
"""Head tasks counted under these when a message is unreadable, or names no task (protocol 1)."""

_TAG_LIMIT = 4 * NAME_LIMIT


@dataclass(frozen=True, slots=True)
class CeleryReading:
    """Celery's queues at one moment, from the broker's keys."""

    queues: tuple[QueueStats, ...]
    reserved: int
    """Messages in `unacked` (HLEN): exact, whatever `RESERVED_LIMIT` is."""
    records_skipped: int
    notes: tuple[str, ...]
    task_queues: tuple[tuple[str, str], ...]
    """(task id, queue) of every message seen, since task events do not name their queue."""


def discover_queues(client: redis.Redis, layout: CeleryLayout) -> tuple[str, ...]:
    """Every queue a binding table names, with `layout.queues`, sorted.

    This SCANs the whole keyspace (`wire.scan`): run it
    rarely, not at every reading. Tables may vanish between the SCAN and
    their reading (kombu 5.7 sweeps expired ones); kombu's own exchanges
    (remote control, replies, events) are left out.
    """
    tables = scanned(client, layout.binding_pattern)
    exchanges = [
        (key, exchange) for key in tables if (exchange := _exchange(layout, key)) is not None
    ]
    members = batch.run(client, [("SMEMBERS", key) for key, _exchange in exchanges])
    check_allowed(*members)
    found_queues = {
        queue
        for reply in members
        for member in as_list(reply)
        if (queue := _bound_queue(layout, member)) is not None
    }
    return tuple(sorted(found_queues | set(layout.queues)))


def celery_present(client: redis.Redis, layout: CeleryLayout) -> bool:
    """Whether this Redis holds kombu's keys: the default queue's binding, the bindings
    every Celery worker writes (remote control, events) or unacked messages.

    One EXISTS, no SCAN: a broker no worker has used yet is not recognised until
    one does; `layout.queues` names its queues meanwhile.
    """
    reply = batch.run(
        client,
        [
            (
                "EXISTS",
                layout.binding_key(DEFAULT_EXCHANGE),
                layout.binding_key(f"{DEFAULT_EXCHANGE}{PIDBOX}"),
                layout.binding_key(EVENT_EXCHANGE),
                layout.unacked_key,
                layout.unacked_index_key,
                *layout.queues,
            )
        ],
    )
    check_allowed(*reply)
    return isinstance(reply[0], int) and reply[0] > 0


def read_celery_queues(
    client: redis.Redis,
    layout: CeleryLayout,
    queues: Sequence[str],
    now: float | None = None,
) -> CeleryReading:
    """Sample `queues`; `now` (seconds since the epoch) is for tests.

    A queue one of whose priority lists is not a list is left out and
    counted in `records_skipped`, as is a reserved message that cannot be
    read or whose delivery time is absurd; the rest of the reading stands.
    """
    now = time.time() if now is None else now
    skips = Skips()
    notes: list[str] = []
    names = sorted(set(queues))
    sizes = _read_sizes(client, layout, names, notes, skips)
    contents = _read_contents(client, layout, sizes)
    per_queue = _reserved_by_queue(layout, names, sizes.delivered, contents.held, now, notes, skips)
    stats = skips.build_each(
        "queue",
        _queue_stats,
        (
            (name, layout, sizes.lengths[name], contents.messages[name], per_queue.get(name), now)
            for name in names
        ),
    )
    return CeleryReading(
        queues=tuple(stats),
        reserved=sizes.reserved,
        records_skipped=skips.count,
        notes=tuple(notes),
        task_queues=contents.task_queues(names),
    )


class _Sizes(NamedTuple):
    """Round trip 1: how much is queued and reserved, and when each reserved message left."""

    reserved: int
    delivered: dict[bytes, float] | None
    """Delivery time per tag of `unacked`; None when it cannot be counted per queue."""
    lengths: dict[str, Sequence[Any]]
    """Each queue's priority lists' LLEN replies, in `layout.priority_steps` order."""


def _read_sizes(
    client: redis.Redis, layout: CeleryLayout, names: Sequence[str], notes: list[str], skips: Skips
) -> _Sizes:
    """Round trip 1: `unacked`'s size and delivery times, every priority list's length."""
    steps = len(layout.priority_steps)
    with batch.sent(
        client,
        [
            ("HLEN", layout.unacked_key),
            ("ZRANGE", layout.unacked_index_key, 0, RESERVED_LIMIT, "WITHSCORES"),
            batch.joined(_LENGTHS.of(client).use([(layout, name) for name in names])),
        ],
    ) as arriving:
        hlen, index = arriving.take(2)
        lengths = arriving.take(len(names) * steps)
    check_allowed(hlen, index, *lengths)
    if not isinstance(hlen, int):
        notes.append(f"{layout.unacked_key!r} is not a hash: reserved messages are unknown")
    return _Sizes(
        reserved=hlen if isinstance(hlen, int) else 0,
        delivered=delivery_times(layout, index, notes, skips),
        lengths={name: lengths[i * steps : (i + 1) * steps] for i, name in enumerate(names)},
    )


class _Contents(NamedTuple):
    """Round trip 2: the messages at each queue's head, and the reserved messages."""

    messages: dict[str, list[Message | Unreadable]]
    held: dict[bytes, Unacked | Unreadable]

    def task_queues(self, names: Sequence[str]) -> tuple[tuple[str, str], ...]:
        """(task id, queue) of every message seen, sorted."""
        found = {
            (message.id, name)
            for name, listed in self.messages.items()
            for message in listed
            if isinstance(message, Message) and message.id
        }
        found |= {
            (entry.message.id, queue)
            for entry in self.held.values()
            if isinstance(entry, Unacked)
            and entry.message.id
            and (queue := queue_of(entry, names)) is not None
        }
        return tuple(sorted(found))


def _read_contents(client: redis.Redis, layout: CeleryLayout, sizes: _Sizes) -> _Contents:
    """Round trip 2, skipped when nothing is wanted: the heads of the queues that have
    messages, and the `unacked` values of tags not seen at the last reading."""
    memory = _HELD.setdefault(client, {})
    delivered = sizes.delivered or {}
    new_tags = [tag for tag in delivered if tag not in memory]
    share = _head_share(sizes.lengths.values())
    heads = {
        name: _head_ranges(layout, name, lengths, share) for name, lengths in sizes.lengths.items()
    }
    commands: list[Command] = [cmd for ranges in heads.values() for cmd, _take in ranges]
    if new_tags:
        commands.append(("HMGET", layout.unacked_key, *new_tags))
    replies = batch.run(client, commands)
    check_allowed(*replies)
    found = iter(replies)
    messages = _head_messages(
        client, {name: [next(found) for _ in ranges] for name, ranges in heads.items()}
    )
    held = _held(memory, new_tags, next(found) if new_tags else None)
    _HELD[client] = {tag: held[tag] for tag in delivered if tag in held}
    return _Contents(messages, held)


@dataclass(slots=True)
class _Reserved:
    """One queue's unacked messages, counted."""

    count: int = 0
    scheduled: int = 0
    overdue: int = 0
    oldest_delivery: float | None = None


def _lengths(key: tuple[CeleryLayout, str]) -> Packed:
    layout, queue = key
    return batch.pack(*[("LLEN", list_key) for list_key in layout.priority_keys(queue)])


_LENGTHS: ClientMemory[tuple[CeleryLayout, str], Packed] = ClientMemory(_lengths)
_MESSAGES: ClientMemory[Any, Message | Unreadable] = ClientMemory(parse_message)
"""The last reading's head messages parsed: a waiting queue's head is the same bytes."""
_HELD: WeakKeyDictionary[redis.Redis, dict[bytes, Unacked | Unreadable]] = WeakKeyDictionary()
"""The `unacked` values of the last reading's delivery tags, parsed: a tag's value does not
change while it is unacked, so each is read once."""


def _exchange(layout: CeleryLayout, key: Any) -> str | None:
    """The exchange of a binding table worth reading; None for kombu's own."""
    text = as_strict_text(key)
    exchange = layout.exchange_of(text) if text else None
    return None if exchange is None or is_kombu_exchange(exchange) else exchange


def _bound_queue(layout: CeleryLayout, member: Any) -> str | None:
    """The queue of a `routing key<sep>pattern<sep>queue` member; None for kombu's own."""
    text = as_strict_text(member)
    fields = text.split(layout.sep) if text else []
    if len(fields) != 3:
        return None
    queue = fields[2]
    if not queue or len(queue) > NAME_LIMIT:
        return None
    return None if is_kombu_queue(queue) else queue


def delivery_times(
    layout: CeleryLayout, index: Any, notes: list[str], skips: Skips
) -> dict[bytes, float] | None:
    """Delivery time per tag; None when the index is unreadable or over `RESERVED_LIMIT`."""
    if isinstance(index, hiredis.ReplyError):
        notes.append(
            f"{layout.unacked_index_key!r} is not a sorted set: reserved per queue unknown"
        )
        return None
    pairs = as_pairs(index)
    if len(pairs) > RESERVED_LIMIT:
        notes.append(
            f"over {RESERVED_LIMIT} unacked messages: reserved, ETA-held and overdue"
            " messages per queue are not counted"
        )
        return None
    times = {}
    for tag, score in pairs:
        seconds = as_float(score)
        if not isinstance(tag, bytes) or len(tag) > _TAG_LIMIT:
            skips.skip("reserved message", tag, "a delivery tag that is no name")
        elif seconds is None or not 0 <= seconds < LATEST:
            skips.skip("reserved message", tag, f"delivered at {score!r}")
        else:
            times[tag] = seconds
    return times


def _held(
    memory: dict[bytes, Unacked | Unreadable], new_tags: Sequence[bytes], reply: Any
) -> dict[bytes, Unacked | Unreadable]:
    """Parsed `unacked` values: those remembered, and the new ones (acked meanwhile: left out)."""
    held = dict(memory)
    for tag, raw in zip(new_tags, as_list(reply)):
        if raw is not None:
            held[tag] = parse_unacked(raw)
    return held


def queue_of(entry: Unacked, queues: Sequence[str]) -> str | None:
    """The queue an unacked message came from: its routing key through the anonymous
    exchange, as Celery routes, or a routing key that names a watched queue."""
    if entry.exchange == "" or entry.routing_key in queues:
        return entry.routing_key
    return None


def _reserved_by_queue(
    layout: CeleryLayout,
    queues: Sequence[str],
    delivered: dict[bytes, float] | None,
    held: dict[bytes, Unacked | Unreadable],
    now: float,
    notes: list[str],
    skips: Skips,
) -> dict[str, _Reserved]:
    """Per watched queue its reserved messages counted; empty when they cannot be."""
    if delivered is None:
        return {}
    counted = {queue: _Reserved() for queue in queues}
    elsewhere: Counter[str] = Counter()
    for tag, delivered_at in delivered.items():
        entry = held.get(tag)
        if entry is None:
            continue  # acked between the two round trips
        if isinstance(entry, Unreadable):
            skips.skip("reserved message", tag, entry.reason)
            continue
        queue = queue_of(entry, queues)
        if queue not in counted:
            elsewhere[queue or f"{entry.exchange}/{entry.routing_key}"] += 1
            continue
        record = counted[queue]
        record.count += 1
        record.scheduled += entry.message.eta is not None and entry.message.eta > now
        record.overdue += layout.overdue(delivered_at, now)
        if record.oldest_delivery is None or delivered_at < record.oldest_delivery:
            record.oldest_delivery = delivered_at
    if elsewhere:
        named = ", ".join(sorted(elsewhere)[:5])
        notes.append(
            f"{sum(elsewhere.values())} unacked messages belong to no watched queue ({named})"
        )
    return counted


def _head_share(lengths: Iterable[Sequence[Any]]) -> int:
    """How many head messages each non-empty queue gets of `HEAD_BUDGET`."""
    waiting = sum(1 for lists in lengths if any(isinstance(n, int) and n > 0 for n in lists))
    return min(HEAD_READ, max(1, HEAD_BUDGET // max(1, waiting)))


def _head_ranges(
    layout: CeleryLayout, queue: str, lengths: Sequence[Any], wanted: int
) -> list[tuple[Command, int]]:
    """LRANGEs of the next `wanted` messages, priority list by priority list."""
    ranges: list[tuple[Command, int]] = []
    for step, length in zip(layout.priority_steps, lengths):
        take = min(length, wanted) if isinstance(length, int) else 0
        if take > 0:
            ranges.append((("LRANGE", layout.priority_key(queue, step), -take, -1), take))
            wanted -= take
    return ranges


def _head_messages(
    client: redis.Redis, replies: dict[str, list[Any]]
) -> dict[str, list[Message | Unreadable]]:
    """Each queue's messages from its LRANGEs, in consumption order (index -1 of each list
    first), parsed in one use of the memory: one use per queue kept only the last queue's."""
    raw = {
        name: [item for reply in listed for item in reversed(as_list(reply))]
        for name, listed in replies.items()
    }
    parsed = iter(_MESSAGES.of(client).use([item for items in raw.values() for item in items]))
    return {name: [next(parsed) for _ in items] for name, items in raw.items()}


def _queue_stats(
    name: str,
    layout: CeleryLayout,
    lengths: Sequence[Any],
    head: Sequence[Message | Unreadable],
    reserved: _Reserved | None,
    now: float,
) -> QueueStats:
    """One queue from its lists' lengths, its head messages and its reserved messages."""
    for step, length in zip(layout.priority_steps, lengths):
        if not isinstance(length, int):
            raise ValueError(f"{layout.priority_key(name, step)!r} is not a list")
    first = head[0] if head else None
    tasks = Counter(
        (message.task or UNNAMED_TASK) if isinstance(message, Message) else UNREADABLE_TASK
        for message in head
    )
    return QueueStats(
        name=name,
        queued=sum(lengths),
        started=None,
        finished=None,
        failed=None,
        deferred=None,
        scheduled=reserved.scheduled if reserved is not None else None,
        canceled=None,
        intermediate=None,
        oldest_queued_age_seconds=None,
        workers=None,
        head_job=first.id if isinstance(first, Message) else None,
        system=CELERY,
        celery=CeleryQueue(
            by_priority=tuple(zip(layout.priority_steps, lengths)),
            reserved=reserved.count if reserved is not None else None,
            overdue=reserved.overdue if reserved is not None else None,
            oldest_reserved_age_seconds=_age(reserved, now),
            head_tasks=tuple(sorted(tasks.items(), key=lambda item: (-item[1], item[0]))),
            head_read=len(head),
        ),
    )


def _age(reserved: _Reserved | None, now: float) -> float | None:
    if reserved is None or reserved.oldest_delivery is None:
        return None
    return max(0.0, now - reserved.oldest_delivery)
