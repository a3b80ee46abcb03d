"""RQ 3.0's rate limits, read in the snapshot's round trips.

A job enqueued with `rate_limit=RateLimit(key, concurrency)` takes one of
the key's slots (the `:allowed` set) or waits in the key's `:rate_limited`
set, outside every queue, until a slot frees. Per key qwatch reads the
limit, how many hold a slot and how many wait (ZCARD, exact), and the
oldest waiting job's age. Which queue a waiting job belongs to is in its
hash only: the first `WAITING_READ` waiting jobs of each key are read, and
each job's queue is looked up once while it waits (a job's queue never
changes), so a queue's `rate_limited` count is exact unless a key holds
more than that, when the snapshot says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qwatch.limits import NAME_LIMIT
from qwatch.model import RateLimitStats
from qwatch.rq import job_fields
from qwatch.rq.keys import RQKeys
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_count, as_float, as_int, as_list, as_name, as_pairs

KEYS_LIMIT = 200
"""Rate-limit keys read per sample; more are counted in a note."""
WAITING_READ = 1_000
"""Waiting jobs of each key whose queue is looked up."""
CONCURRENCY_FIELD = "concurrency"


@dataclass(frozen=True, slots=True)
class RateLimitReading:
    limits: tuple[RateLimitStats, ...]
    held_by_queue: Counter[str]
    """Waiting jobs per queue, among those read."""
    notes: tuple[str, ...]


_PER_KEY = 4


def key_names(reply: Any) -> list[str]:
    """The keys in `rl-keys`, sorted, bounded by `KEYS_LIMIT` and `NAME_LIMIT`."""
    names = sorted(
        name for name in map(as_name, as_list(reply)) if name and len(name) <= NAME_LIMIT
    )
    return names[:KEYS_LIMIT]


def commands(keys: RQKeys, names: Sequence[str]) -> list[Command]:
    """Round trip 2: per key its limit, its counts and its first waiting jobs."""
    found: list[Command] = []
    for name in names:
        waiting = keys.rate_limited_key(name)
        found += [
            ("HGET", keys.rate_limit_key(name), CONCURRENCY_FIELD),
            ("ZCARD", keys.rate_limit_allowed_key(name)),
            ("ZCARD", waiting),
            ("ZRANGE", waiting, 0, WAITING_READ - 1, "WITHSCORES"),
        ]
    return found


def size(names: Sequence[str]) -> int:
    return len(names) * _PER_KEY


class QueueOrigins:
    """Each waiting job's queue, looked up once while the job waits, forgotten when it stops."""

    def __init__(self) -> None:
        self.known: dict[str, str | None] = {}
        self._asked: list[str] = []

    def lookups(self, keys: RQKeys, replies: Sequence[Any]) -> list[Command]:
        """Round trip 3: the queue of every waiting job not seen waiting at the last sample."""
        jobs = _waiting_jobs(replies)
        self.known = {job: self.known[job] for job in jobs if job in self.known}
        self._asked = [job for job in jobs if job not in self.known]
        return [("HGET", keys.job_key(job), job_fields.ORIGIN) for job in self._asked]

    def learn(self, replies: Sequence[Any]) -> None:
        self.known.update(zip(self._asked, map(as_name, replies)))


def reading(
    names: Sequence[str], total: int, replies: Sequence[Any], origins: QueueOrigins, now: float
) -> RateLimitReading:
    """The keys' records and the waiting jobs per queue, from round trips 2 and 3."""
    limits, held = [], Counter[str]()
    partly = []
    for index, name in enumerate(names):
        concurrency, running, waiting, first = replies[index * _PER_KEY : (index + 1) * _PER_KEY]
        pairs = as_pairs(first)
        oldest = as_float(pairs[0][1]) if pairs else None
        count = as_int(waiting)
        limits.append(
            RateLimitStats(
                key=name,
                concurrency=as_count(concurrency),
                running=as_int(running),
                waiting=count,
                oldest_waiting_age_seconds=max(0.0, now - oldest) if oldest is not None else None,
            )
        )
        for member, _score in pairs:
            queue = origins.known.get(as_name(member) or "")
            if queue:
                held[queue] += 1
        if count > len(pairs):
            partly.append(name)
    notes = []
    if total > len(names):
        notes.append(f"{total - len(names)} rate-limit keys beyond the first {KEYS_LIMIT} unread")
    if partly:
        notes.append(
            f"rate-limited jobs per queue counted among the first {WAITING_READ} of each key;"
            f" more wait under {', '.join(partly[:3])}{' …' if len(partly) > 3 else ''}"
        )
    return RateLimitReading(tuple(limits), held, tuple(notes))


def _waiting_jobs(replies: Sequence[Any]) -> list[str]:
    jobs = []
    for index in range(_PER_KEY - 1, len(replies), _PER_KEY):
        jobs += [job for member, _ in as_pairs(replies[index]) if (job := as_name(member))]
    return jobs
