"""Read RQ's state from Redis into a `Snapshot`, in three round trips.

1. the sets of queues and workers, INFO, the suspension flag;
2. per queue its length, every registry's size, its head job and expired
   executions; per worker its hash fields and remaining TTL;
3. the head jobs' enqueue times, the current jobs' descriptions and start
   times, and the workers named by expired executions.

Every command is a read of a known key: no KEYS, no SCAN, no write, and
RQ's own helpers are never called because they clean registries as they
read. Work is linear in queues plus workers; nothing joins the two.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis

from qwatch import batch, keys
from qwatch.batch import Command, Packed
from qwatch.replies import (
    as_float,
    as_int,
    as_list,
    as_pairs,
    as_strict_text,
    as_text,
    check_allowed,
    parse_info,
)
from qwatch.snapshot import AbandonedJob, QueueStats, RedisInfo, Snapshot, WorkerStats
from qwatch.timestamps import parse_rq_time

WORKER_FIELDS = (
    "hostname",
    "pid",
    "state",
    "queues",
    "current_job",
    "birth",
    "last_heartbeat",
    "successful_job_count",
    "failed_job_count",
    "total_working_time",
    "death",
    "ip_address",
    "python_version",
    "version",
)

HEARTBEAT_OVERDUE_MS = 30_000
"""RQ renews a worker's key with 60 s to spare beyond its next heartbeat,
so less than 30 s left means that heartbeat is late."""

EXPIRED_LIMIT = 100
"""How many expired executions are examined per queue, so a registry that
nobody has cleaned for months costs no more than a fresh one."""

MAX_SHORT = 64
"""Longer is not a version or an address."""

_PER_QUEUE = 10
_PER_WORKER = 2

WorkerHash = dict[str, Any]


def read_snapshot(client: redis.Redis, now: float | None = None) -> Snapshot:
    """Sample one Redis; `now` (seconds since the epoch) is for tests."""
    now = time.time() if now is None else now
    queue_set, worker_set, info, suspended = batch.run(
        client,
        [
            ("SMEMBERS", keys.QUEUES),
            ("SMEMBERS", keys.WORKERS),
            ("INFO",),
            ("EXISTS", keys.SUSPENDED),
        ],
    )
    check_allowed(queue_set, worker_set)
    queue_names = _names(queue_set, keys.QUEUE_PREFIX)
    worker_names = _names(worker_set, keys.WORKER_PREFIX)

    replies = batch.run(
        client, [*_queue_commands(queue_names, now), *_worker_commands(worker_names)]
    )
    per_queue = _chunks(replies[: len(queue_names) * _PER_QUEUE], _PER_QUEUE)
    hashes = {
        name: _worker_hash(fields, pttl)
        for name, (fields, pttl) in zip(
            worker_names, _chunks(replies[len(per_queue) * _PER_QUEUE :], _PER_WORKER)
        )
    }
    live = {name: fields for name, fields in hashes.items() if fields and fields["death"] is None}

    heads = [as_strict_text(queue_replies[2]) for queue_replies in per_queue]
    currents = {
        name: job for name, fields in live.items() if (job := as_strict_text(fields["current_job"]))
    }
    expired = [
        (job_id, queue, overdue)
        for queue, queue_replies in zip(queue_names, per_queue)
        for job_id, overdue in _expired_executions(queue_replies[9], now)
    ]

    lookups: list[Command] = [("HGET", keys.job_key(job), "enqueued_at") for job in heads if job]
    lookups += [
        ("HMGET", keys.job_key(job), "description", "started_at") for job in currents.values()
    ]
    lookups += [("HGET", keys.job_key(job), "worker_name") for job, _queue, _overdue in expired]
    found = iter(batch.run(client, lookups))
    enqueued = [parse_rq_time(next(found)) if job else None for job in heads]
    current_jobs = {name: as_list(next(found)) for name in currents}
    expired_workers = [as_text(next(found)) for _ in expired]

    listeners = Counter(queue for fields in live.values() for queue in fields["queues"])
    return Snapshot(
        taken_at=now,
        queues=tuple(
            _queue_stats(name, queue_replies, head, enqueued_at, listeners[name], now)
            for name, queue_replies, head, enqueued_at in zip(
                queue_names, per_queue, heads, enqueued
            )
        ),
        workers=tuple(
            _worker_stats(name, fields, current_jobs.get(name), now)
            for name, fields in hashes.items()
            if fields
        ),
        abandoned_jobs=tuple(
            AbandonedJob(id=job, queue=queue, worker=worker, overdue_seconds=overdue)
            for (job, queue, overdue), worker in zip(expired, expired_workers)
            if worker not in live
        ),
        expired_workers=tuple(name for name, fields in hashes.items() if not fields),
        suspended=as_int(suspended) > 0,
        redis=_redis_info(info),
    )


def queue_names(client: redis.Redis) -> list[str]:
    """Every registered queue's name, sorted."""
    (members,) = batch.run(client, [("SMEMBERS", keys.QUEUES)])
    check_allowed(members)
    return _names(members, keys.QUEUE_PREFIX)


def _names(members: Any, prefix: str) -> list[str]:
    """Names from a set of keys, sorted; members of another shape are skipped."""
    names = (keys.name_in_key(key, prefix) for key in map(as_strict_text, as_list(members)) if key)
    return sorted(name for name in names if name)


def _chunks(replies: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [replies[i : i + size] for i in range(0, len(replies), size)]


def _queue_commands(queues: Iterable[str], now: float) -> list[Command | Packed]:
    """Per queue: six commands that never change, packed once, then four that depend on now."""
    live = f"({now}"  # finished and failed entries are scored by expiry; RQ drops the past
    commands: list[Command | Packed] = []
    for queue in queues:
        started = keys.registry_key("started", queue)
        expired = ("ZRANGEBYSCORE", started, "-inf", now, "WITHSCORES", "LIMIT", 0, EXPIRED_LIMIT)
        commands += [
            _packed(queue, _static_queue_commands),
            ("ZCOUNT", started, live, "+inf"),
            ("ZCOUNT", keys.registry_key("finished", queue), live, "+inf"),
            ("ZCOUNT", keys.registry_key("failed", queue), live, "+inf"),
            expired,
        ]
    return commands


def _static_queue_commands(queue: str) -> Packed:
    return batch.pack(
        ("LLEN", keys.queue_key(queue)),
        ("LLEN", keys.intermediate_queue_key(queue)),
        ("LINDEX", keys.queue_key(queue), 0),
        ("ZCARD", keys.registry_key("deferred", queue)),
        ("ZCARD", keys.registry_key("scheduled", queue)),
        ("ZCARD", keys.registry_key("canceled", queue)),
    )


def _worker_commands(workers: Iterable[str]) -> list[Command | Packed]:
    return [_packed(name, _static_worker_commands) for name in workers]


def _static_worker_commands(name: str) -> Packed:
    key = keys.worker_key(name)
    return batch.pack(("HMGET", key, *WORKER_FIELDS), ("PTTL", key))


_PACKED: dict[tuple[str, Callable[[str], Packed]], Packed] = {}
_PACKED_LIMIT = 100_000


def _packed(name: str, make: Callable[[str], Packed]) -> Packed:
    """The commands `make` packs for `name`, packed once and kept while they are not too many."""
    key = (name, make)
    found = _PACKED.get(key)
    if found is None:
        if len(_PACKED) >= _PACKED_LIMIT:
            _PACKED.clear()
        found = _PACKED[key] = make(name)
    return found


def _worker_hash(fields: Any, pttl: Any) -> WorkerHash | None:
    """The worker's fields by name plus its TTL; None when the hash has expired."""
    values = as_list(fields)
    if len(values) != len(WORKER_FIELDS) or all(value is None for value in values):
        return None
    named = dict(zip(WORKER_FIELDS, values))
    named["pttl"] = as_int(pttl, default=-1)
    text = as_text(named["queues"]) or ""
    named["queues"] = tuple(queue for queue in text.split(",") if queue)
    return named


def _expired_executions(reply: Any, now: float) -> list[tuple[str, float]]:
    """(job id, seconds overdue) for executions whose heartbeat deadline has passed."""
    pairs = []
    for member, score in as_pairs(reply):
        execution = as_strict_text(member)
        deadline = as_float(score)
        if execution and deadline is not None:
            pairs.append((keys.job_id_of_execution(execution), max(0.0, now - deadline)))
    return pairs


def _queue_stats(
    name: str,
    replies: Sequence[Any],
    head: str | None,
    enqueued_at: float | None,
    workers: int,
    now: float,
) -> QueueStats:
    """From one queue's replies, in `_queue_commands` order."""
    queued = as_int(replies[0])
    oldest = max(0.0, now - enqueued_at) if queued and enqueued_at is not None else None
    return QueueStats(
        name=name,
        queued=queued,
        intermediate=as_int(replies[1]),
        deferred=as_int(replies[3]),
        scheduled=as_int(replies[4]),
        canceled=as_int(replies[5]),
        started=as_int(replies[6]),
        finished=as_int(replies[7]),
        failed=as_int(replies[8]),
        oldest_queued_age_seconds=oldest,
        workers=workers,
        head_job=head if queued else None,
    )


def _worker_stats(name: str, fields: WorkerHash, job: list[Any] | None, now: float) -> WorkerStats:
    heartbeat = parse_rq_time(fields["last_heartbeat"])
    pid = as_int(fields["pid"], default=-1)
    started_at = parse_rq_time(job[1]) if job and len(job) == 2 else None
    return WorkerStats(
        name=name,
        hostname=as_text(fields["hostname"]),
        pid=pid if pid >= 0 else None,
        state=as_text(fields["state"]) or "?",
        queues=fields["queues"],
        current_job=as_strict_text(fields["current_job"]),
        current_job_description=as_text(job[0]) if job else None,
        current_job_seconds=max(0.0, now - started_at) if started_at is not None else None,
        birth=parse_rq_time(fields["birth"]),
        heartbeat_age_seconds=max(0.0, now - heartbeat) if heartbeat is not None else None,
        heartbeat_overdue=0 <= fields["pttl"] < HEARTBEAT_OVERDUE_MS,
        successful_jobs=as_int(fields["successful_job_count"]),
        failed_jobs=as_int(fields["failed_job_count"]),
        working_seconds=as_float(fields["total_working_time"]) or 0.0,
        ip_address=_short(fields["ip_address"]),
        python_version=_short(fields["python_version"]),
        rq_version=_short(fields["version"]),
    )


def _short(value: Any) -> str | None:
    """A version or address: its first word, bounded (RQ stores all of `sys.version`)."""
    words = (as_text(value) or "").split(maxsplit=1)
    return words[0][:MAX_SHORT] if words else None


def _redis_info(reply: Any) -> RedisInfo:
    info = parse_info(reply)
    return RedisInfo(
        version=info.get("redis_version"),
        used_memory_bytes=as_int(info["used_memory"].encode()) if "used_memory" in info else None,
        max_memory_bytes=as_int(info["maxmemory"].encode()) if "maxmemory" in info else None,
    )
