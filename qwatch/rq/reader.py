"""Read RQ's state from Redis into a `Snapshot`, in three round trips at most.

1. the sets of queues, workers and rate-limit keys, the cron schedulers,
   INFO, the suspension flag;
2. per worker its hash fields, remaining TTL and (RQ 3.0) running
   executions; the enqueue time of each queue's head job at the last
   sample; then per queue its length, every registry's size, its head job,
   its scheduler's lock and expired executions; per rate-limit key its
   limit and counts; per cron scheduler its hash. The replies are worked on
   as they arrive (the workers while Redis still reads the queues), so that
   Python and Redis work at once;
3. the enqueue times of head jobs that moved since the last sample (all of
   them at the first), the workers named by expired executions, the
   current jobs' descriptions and start times, and the queues of
   rate-limited jobs not seen before; none when nothing is needed.

RQ 2 names a worker's one current job in its hash; RQ 3.0 keeps a set of
executions per worker instead (several at once for some workers), and
both are read, so either version is watched with the same code.

Every command is a read of a known key: no KEYS, no SCAN, no write, and
RQ's own helpers are never called because they clean registries as they
read. Work is linear in queues plus workers; nothing joins the two.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from operator import attrgetter
from typing import Any, NamedTuple

import hiredis
import redis

from qwatch import job_states
from qwatch.limits import (
    NAME_LIMIT,
    QUEUES_TEXT_LIMIT,
    ROW_DESCRIPTION_LIMIT,
    SHORT_LIMIT,
    STATE_LIMIT,
)
from qwatch.model import RQ, AbandonedJob, CurrentJob, QueueStats, RedisInfo, Snapshot, WorkerStats
from qwatch.rq import cron, job_fields, rate_limits
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys, job_id_of_execution
from qwatch.text.formatting import clip
from qwatch.wire import batch
from qwatch.wire.batch import Command, Packed
from qwatch.wire.memory import PerClient, Remembered
from qwatch.wire.packed import NOW, Template, fill_all, template
from qwatch.wire.replies import (
    any_denied,
    as_counter,
    as_float,
    as_int,
    as_list,
    as_name,
    as_pairs,
    as_pid,
    as_seconds,
    as_strict_text,
    as_text,
    check_allowed,
    parse_info,
)
from qwatch.wire.skips import Skips, unexpected
from qwatch.wire.timestamps import LATEST, parse_iso_time

WORKER_STATE_FIELDS = (
    "state",
    "queues",
    "birth",
    "last_heartbeat",
    "successful_job_count",
    "failed_job_count",
    "total_working_time",
    "death",
)
"""What every reading needs of a worker's hash: the exporter reads only these."""
WORKER_FIELDS = (
    *WORKER_STATE_FIELDS,
    "hostname",
    "pid",
    "current_job",
    "ip_address",
    "python_version",
    "version",
)

HEARTBEAT_OVERDUE_MS = 30_000
"""RQ renews a worker's key with 60 s to spare beyond its next heartbeat,
so less than 30 s left means that heartbeat is late."""

EXECUTION_STARTED = "created_at"
"""RQ 3.0's execution hash: when the execution began, in seconds since the epoch."""
EXECUTIONS_LIMIT = 16
"""Running executions read per RQ 3.0 worker: a worker runs one job at a time, a pool some."""
EXPIRED_LIMIT = 100
"""How many expired executions are examined per queue, so a registry that
nobody has cleaned for months costs no more than a fresh one."""

RQ3_DENIED = (
    "RQ 3.0's rate limits and cron schedulers are not readable under this ACL (NOPERM):"
    " give it ~rq:* as the user of docs/security.md has"
)
JOBS_DENIED = (
    "job hashes are not readable under this ACL (NOPERM): oldest job ages, current jobs"
    " and the workers of abandoned jobs are unknown"
)

_KEYS_IN_DB = re.compile(r"keys=(\d{1,18}),")
_QUEUES_AT_ONCE = 100
"""Queues whose replies are taken at a time, and worked on while Redis sends the next."""


def read_snapshot(
    client: redis.Redis,
    now: float | None = None,
    *,
    worker_details: bool = True,
    keys: RQKeys = DEFAULT_KEYS,
) -> Snapshot:
    """Sample one Redis; `now` (seconds since the epoch) is for tests.

    A queue, worker or abandoned job whose values are absurd, or that fails
    to turn into data for any reason, is left out and counted in
    `records_skipped`; the rest of the sample stands. Without `worker_details`, the
    workers' hostnames, pids, addresses, versions and current jobs, and the
    queues' intermediate lists and scheduler locks, are not read and stay None
    (the exporter shows none of them): two commands fewer per queue.
    """
    now = time.time() if now is None else now
    skips = Skips()
    memory = memory_of(client, keys)
    queue_set, worker_set, limit_set, cron_set, info, suspended = batch.run(
        client,
        [
            ("SMEMBERS", keys.queues),
            ("SMEMBERS", keys.workers),
            ("SMEMBERS", keys.rate_limit_keys),
            cron.registry_command(keys),
            ("INFO",),
            ("EXISTS", keys.suspended),
        ],
    )
    check_allowed(queue_set, worker_set)
    queue_names = _names(memory.queue_names, queue_set, "queue", skips)
    worker_names = _names(memory.worker_names, worker_set, "worker", skips)
    limit_names = rate_limits.key_names(limit_set)
    schedulers = cron.registered(cron_set)

    worker_read = memory.detailed if worker_details else memory.bare
    queue_read = memory.detailed_queues if worker_details else memory.bare_queues
    heads = memory.heads
    guessed = [(queue, head) for queue in queue_names if (head := heads.last.get(queue))]
    with batch.sent(
        client,
        [
            worker_read.commands(worker_names),
            batch.joined(heads.lookups.use([head for _queue, head in guessed])),
            _queue_commands(queue_read, queue_names, now),
            *rate_limits.commands(keys, limit_names),
            *cron.commands(keys, schedulers),
        ],
    ) as arriving:
        # Workers come first: they are made into data while Redis reads the queues.
        workers = _take_workers(arriving, worker_read, worker_names, now, skips)
        queues = _take_queues(
            arriving, heads, guessed, queue_names, queue_read, workers.listeners, now, skips
        )
        limit_replies = arriving.take(rate_limits.size(limit_names))
        cron_replies = arriving.take(len(schedulers))
    heads.last = queues.heads

    origins = memory.origins.lookups(keys, limit_replies)
    running = workers.lookups(keys)
    details = batch.run(client, [*queues.lookups(keys), *running, *origins])
    head_times, expired_workers, current_jobs, origin_replies = _split(
        details, len(queues.moved), len(queues.expired), len(running)
    )
    memory.origins.learn(origin_replies)
    limits = rate_limits.reading(
        limit_names, len(as_list(limit_set)), limit_replies, memory.origins, now
    )
    return Snapshot(
        taken_at=now,
        queues=_held_back(queues.finished(head_times, workers.listeners, now, skips), limits),
        workers=workers.finished(current_jobs, now, skips),
        abandoned_jobs=tuple(
            AbandonedJob(id=job, queue=queue, worker=worker, overdue_seconds=overdue)
            for (job, queue, overdue), worker in zip(queues.expired, map(as_name, expired_workers))
            if worker not in workers.live
        ),
        expired_workers=workers.expired,
        suspended=as_int(suspended) > 0,
        redis=_redis_info(info),
        records_skipped=skips.count,
        notes=(
            *((JOBS_DENIED,) if any_denied(details) else ()),
            *((RQ3_DENIED,) if any_denied([limit_set, cron_set]) else ()),
            *limits.notes,
        ),
        rate_limits=limits.limits,
        cron_schedulers=cron.schedulers(schedulers, cron_replies, now),
    )


def _held_back(
    queues: tuple[QueueStats, ...], limits: rate_limits.RateLimitReading
) -> tuple[QueueStats, ...]:
    """Each queue with its rate-limited jobs, once the limits' jobs' queues are known."""
    held = limits.held_by_queue
    if not held:
        return queues
    return tuple(
        replace(queue, rate_limited=held[queue.name]) if queue.name in held else queue
        for queue in queues
    )


class _Workers(NamedTuple):
    """Round trip 2's workers: the idle ones made into data, the busy ones waiting for
    their current jobs, read in round trip 3."""

    stats: list[WorkerStats]
    busy: list[tuple[str, WorkerHash, int, tuple[_Running, ...]]]
    """Name, parsed hash, key's TTL and current jobs of each busy worker."""
    live: dict[str, WorkerHash]
    listeners: Counter[str]
    """Live workers per queue."""
    expired: tuple[str, ...]
    """Workers registered but whose hash has expired."""

    def lookups(self, keys: RQKeys) -> list[Command]:
        """What round trip 3 reads of each busy worker's current jobs."""
        found: list[Command] = []
        for *_, jobs in self.busy:
            for job, execution in jobs:
                found.append(
                    ("HMGET", keys.job_key(job), job_fields.DESCRIPTION, job_fields.STARTED_AT)
                )
                if execution:
                    found.append(("HGET", keys.execution_key(execution), EXECUTION_STARTED))
        return found

    def finished(self, replies: Sequence[Any], now: float, skips: Skips) -> tuple[WorkerStats, ...]:
        """Every worker, by name, given the busy ones' `lookups` replies."""
        if not self.busy:
            return tuple(self.stats)
        arriving = iter(replies)
        found = [
            (
                name,
                h,
                pttl,
                [
                    (
                        job,
                        as_list(next(arriving, None)),
                        next(arriving, None) if execution else None,
                    )
                    for job, execution in jobs
                ],
                now,
            )
            for name, h, pttl, jobs in self.busy
        ]
        busy = skips.build_each("worker", _worker_stats, found)
        return tuple(sorted(self.stats + busy, key=attrgetter("name")))


def _take_workers(
    arriving: batch.Arriving,
    read: _WorkerRead,
    names: Sequence[str],
    now: float,
    skips: Skips,
) -> _Workers:
    """The workers' replies of round trip 2, each hash parsed once until it changes."""
    per = read.per_worker
    replies = arriving.take(len(names) * per)
    check_allowed(*replies)
    hashes = dict(zip(names, read.parsed(replies[::per])))
    for name, h in hashes.items():
        if isinstance(h, str):
            skips.skip("worker", name, h)
    parsed = [
        (name, h, as_int(pttl, default=-1))
        for (name, h), pttl in zip(hashes.items(), replies[1::per])
        if isinstance(h, WorkerHash)
    ]
    live = {name: h for name, h in hashes.items() if isinstance(h, WorkerHash) and not h.dead}
    running = dict(zip(names, replies[2::per])) if per > 2 else {}
    currents = {
        name: jobs for name, h in live.items() if (jobs := _current_jobs(h, running.get(name)))
    }
    return _Workers(
        stats=skips.build_each(
            "worker",
            _worker_stats,
            ((name, h, pttl, None, now) for name, h, pttl in parsed if name not in currents),
        ),
        busy=[(name, h, pttl, currents[name]) for name, h, pttl in parsed if name in currents],
        live=live,
        listeners=Counter(queue for h in live.values() for queue in h.queues),
        expired=tuple(name for name, h in hashes.items() if h is None),
    )


class _Queues(NamedTuple):
    """Round trip 2's queues: those made into data, and what round trip 3 reads for the rest."""

    stats: list[QueueStats]
    moved: list[tuple[str, Sequence[Any], str]]
    """Name, replies and head job of each queue whose head is not the last sample's."""
    expired: list[tuple[str, str, float]]
    """Job id, queue and seconds overdue of each expired execution."""
    heads: dict[str, str]
    """Each queue's head job."""

    def lookups(self, keys: RQKeys) -> list[Command]:
        """Round trip 3's reads: the moved heads' enqueue times, the expired executions' workers."""
        lookups: list[Command] = [
            ("HGET", keys.job_key(head), job_fields.ENQUEUED_AT) for *_, head in self.moved
        ]
        lookups += [
            ("HGET", keys.job_key(job), job_fields.WORKER_NAME) for job, _queue, _ in self.expired
        ]
        return lookups

    def finished(
        self, head_times: Sequence[Any], listeners: Counter[str], now: float, skips: Skips
    ) -> tuple[QueueStats, ...]:
        """Every queue, by name, given the moved heads' enqueue times."""
        if not self.moved:
            return tuple(self.stats)
        moved = skips.build_each(
            "queue",
            _queue_stats,
            (
                (queue, replies, head, parse_iso_time(enqueued_at), listeners[queue], now)
                for (queue, replies, head), enqueued_at in zip(self.moved, head_times)
            ),
        )
        return tuple(sorted(self.stats + moved, key=attrgetter("name")))


def _take_queues(
    arriving: batch.Arriving,
    heads: _HeadMemory,
    guessed: Sequence[tuple[str, str]],
    names: Sequence[str],
    read: _QueueRead,
    listeners: Counter[str],
    now: float,
    skips: Skips,
) -> _Queues:
    """The last sample's heads' enqueue times, then the queues' replies of round trip 2,
    `_QUEUES_AT_ONCE` queues at a time, each worked on while Redis sends the next."""
    guess_replies = arriving.take(len(guessed))
    known = {
        queue: (head, enqueued_at)
        for (queue, head), reply, enqueued_at in zip(
            guessed, guess_replies, heads.times.use(guess_replies)
        )
        if not isinstance(reply, hiredis.ReplyError)
    }
    found = _Queues(stats=[], moved=[], expired=[], heads={})
    for first in range(0, len(names), _QUEUES_AT_ONCE):
        chunk_names = names[first : first + _QUEUES_AT_ONCE]
        replies = arriving.take(len(chunk_names) * read.per_queue)
        check_allowed(*replies)
        chunk = _chunks(replies, read.per_queue)
        ready: list[tuple[str, Sequence[Any], str | None, float | None, int, float]] = []
        for queue, queue_replies in zip(chunk_names, chunk):
            head = as_name(queue_replies[_REPLY.head])
            if head is None:
                ready.append((queue, queue_replies, None, None, listeners[queue], now))
                continue
            found.heads[queue] = head
            last = known.get(queue)
            if last is not None and last[0] == head:
                ready.append((queue, queue_replies, head, last[1], listeners[queue], now))
            else:
                found.moved.append((queue, queue_replies, head))
        found.stats.extend(skips.build_each("queue", _queue_stats, ready))
        found.expired.extend(
            (job_id, queue, overdue)
            for queue, queue_replies in zip(chunk_names, chunk)
            if queue_replies[_REPLY.expired]  # most queues have none: no call for those
            for job_id, overdue in _expired_executions(queue_replies[_REPLY.expired], now, skips)
        )
    return found


def _split(replies: Sequence[Any], *sizes: int) -> list[Sequence[Any]]:
    """`replies` cut into parts of `sizes`, and the rest."""
    parts, start = [], 0
    for size in sizes:
        parts.append(replies[start : start + size])
        start += size
    return [*parts, replies[start:]]


def queue_names(client: redis.Redis, keys: RQKeys = DEFAULT_KEYS) -> list[str]:
    """Every registered queue's name, sorted."""
    (members,) = batch.run(client, [("SMEMBERS", keys.queues)])
    check_allowed(members)
    return _names(memory_of(client, keys).queue_names, members, "queue", None)


def _names(
    memory: Remembered[Any, str | None], members: Any, kind: str, skips: Skips | None
) -> list[str]:
    """Names from a set of keys, sorted; members of another shape are skipped."""
    found = as_list(members)
    names = []
    for member, name in zip(found, memory.use(found)):
        if name is not None:
            names.append(name)
        elif skips is not None:
            skips.skip(kind, member, f"not a {kind} key of up to {NAME_LIMIT} characters")
    return sorted(names)


def _name_in(name_of: Callable[[str], str | None]) -> Callable[[Any], str | None]:
    """The name in a member of a set of keys; None when it has none."""

    def name(member: Any) -> str | None:
        key = as_strict_text(member)
        found = name_of(key) if key else None
        return found if found is not None and len(found) <= NAME_LIMIT else None

    return name


def _chunks(replies: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [replies[i : i + size] for i in range(0, len(replies), size)]


def _queue_commands(read: _QueueRead, queues: Sequence[str], now: float) -> Packed:
    """Per queue the `_QueueReads` commands, packed once; four of them read up to `now`.

    Finished and failed entries are scored by expiry and RQ drops the past:
    what scores above `now` is live. Started entries are scored by heartbeat
    deadline: what scores below `now` has expired.
    """
    return fill_all(read.commands.use(queues), f"({now}")


class _QueueReads(NamedTuple):
    """What round trip 2 reads of each queue, by name: its commands, and where their replies
    are. The details come last, so that a reading without them sends the others alone."""

    queued: Any
    head: Any
    deferred: Any
    ready: Any
    scheduled: Any
    canceled: Any
    started: Any
    finished: Any
    failed: Any
    expired: Any
    intermediate: Any
    scheduler: Any


_REPLY = _QueueReads(*range(len(_QueueReads._fields)))
"""Where each read's reply is among a queue's replies."""
_DETAILS = _REPLY.intermediate
"""How many replies a queue has without the details."""


def _queue_template(keys: RQKeys, details: bool, queue: str) -> Template:
    started = keys.registry_key(job_states.STARTED, queue)
    reads = _QueueReads(
        queued=("LLEN", keys.queue_key(queue)),
        head=("LINDEX", keys.queue_key(queue), 0),
        deferred=("ZCARD", keys.registry_key(job_states.DEFERRED, queue)),
        ready=("ZCARD", keys.registry_key(job_states.READY, queue)),
        scheduled=("ZCARD", keys.registry_key(job_states.SCHEDULED, queue)),
        canceled=("ZCARD", keys.registry_key(job_states.CANCELED, queue)),
        started=("ZCOUNT", started, NOW, "+inf"),
        finished=("ZCOUNT", keys.registry_key(job_states.FINISHED, queue), NOW, "+inf"),
        failed=("ZCOUNT", keys.registry_key(job_states.FAILED, queue), NOW, "+inf"),
        expired=("ZRANGEBYSCORE", started, "-inf", NOW, "WITHSCORES", "LIMIT", 0, EXPIRED_LIMIT),
        intermediate=("LLEN", keys.intermediate_queue_key(queue)),
        scheduler=("GET", keys.scheduler_lock_key(queue)),
    )
    return template(*(reads if details else reads[:_DETAILS]))


class _QueueRead:
    """Reading the queues with their details or without, and each queue's commands packed."""

    def __init__(self, keys: RQKeys, *, details: bool) -> None:
        self.per_queue = len(_REPLY) if details else _DETAILS
        self.commands: Remembered[str, Template] = Remembered(
            partial(_queue_template, keys, details)
        )


def _enqueued_at_lookup(keys: RQKeys, job: str) -> Packed:
    return batch.pack(("HGET", keys.job_key(job), job_fields.ENQUEUED_AT))


class _HeadMemory:
    """Each queue's head job at the last sample, with its lookup packed and its enqueue time
    parsed: that time is read in round trip 2 and stands while the job is still the head,
    so round trip 3 reads only heads that moved (a waiting queue keeps its head for long)."""

    def __init__(self, keys: RQKeys) -> None:
        self.last: dict[str, str] = {}
        self.lookups: Remembered[str, Packed] = Remembered(partial(_enqueued_at_lookup, keys))
        self.times: Remembered[Any, float | None] = Remembered(parse_iso_time)


@dataclass(frozen=True, slots=True)
class WorkerHash:
    """What a worker's hash holds, parsed: the same bytes give the same values at every
    sample, so a hash is parsed once and again only when a field of it changes."""

    hostname: str | None
    pid: int | None
    state: str
    queues: tuple[str, ...]
    current_job: str | None
    birth: float | None
    heartbeat: float | None
    successful_jobs: int | None
    failed_jobs: int | None
    working_seconds: float | None
    dead: bool
    ip_address: str | None
    python_version: str | None
    rq_version: str | None


def _parse_hash(names: tuple[str, ...], values: tuple[Any, ...]) -> WorkerHash | str | None:
    """The hash's fields, in `names` order, parsed; None when the hash has expired,
    and why, when parsing it failed."""
    if len(values) != len(names) or all(value is None for value in values):
        return None
    try:
        return _worker_hash(dict(zip(names, values)))
    except Exception as exc:  # whatever one hash holds, the rest of the reading stands
        return unexpected(exc)


def _worker_hash(fields: dict[str, Any]) -> WorkerHash:
    """The hash parsed; the fields left out of `WORKER_STATE_FIELDS` may not have been read."""
    return WorkerHash(
        hostname=_clipped(fields.get("hostname"), NAME_LIMIT),
        pid=as_pid(fields.get("pid")),
        state=_clipped(fields["state"], STATE_LIMIT) or "?",
        queues=_listened(fields["queues"]),
        current_job=as_name(fields.get("current_job")),
        birth=parse_iso_time(fields["birth"]),
        heartbeat=parse_iso_time(fields["last_heartbeat"]),
        successful_jobs=as_counter(fields["successful_job_count"]),
        failed_jobs=as_counter(fields["failed_job_count"]),
        working_seconds=as_seconds(fields["total_working_time"]),
        dead=fields["death"] is not None,
        ip_address=_short(fields.get("ip_address")),
        python_version=_short(fields.get("python_version")),
        rq_version=_short(fields.get("version")),
    )


class _WorkerRead:
    """Reading one set of worker fields, with what it remembers: each worker's commands
    packed, and each hash's values parsed."""

    def __init__(self, keys: RQKeys, fields: tuple[str, ...], *, executions: bool) -> None:
        self.keys = keys
        self.fields = fields
        self.executions = executions
        self.per_worker = 3 if executions else 2
        self.packed: Remembered[str, Packed] = Remembered(self._pack)
        self.hashes: Remembered[tuple[Any, ...], WorkerHash | str | None] = Remembered(
            partial(_parse_hash, fields)
        )

    def commands(self, workers: Sequence[str]) -> Packed:
        """Per worker: HMGET of the fields, PTTL, and with `executions` RQ 3.0's running ones."""
        return batch.joined(self.packed.use(workers))

    def parsed(self, replies: Sequence[Any]) -> list[WorkerHash | str | None]:
        """The workers' HMGET replies parsed, each hash once until it changes."""
        return self.hashes.use([tuple(as_list(fields)) for fields in replies])

    def _pack(self, name: str) -> Packed:
        key = self.keys.worker_key(name)
        commands: list[Command] = [("HMGET", key, *self.fields), ("PTTL", key)]
        if self.executions:
            commands.append(("SRANDMEMBER", self.keys.executions_key(name), EXECUTIONS_LIMIT))
        return batch.pack(*commands)


class _Memory:
    """What the reader keeps of one client under one key layout from one sample to the next."""

    def __init__(self, keys: RQKeys) -> None:
        self.queue_names: Remembered[Any, str | None] = Remembered(_name_in(keys.queue_name))
        self.worker_names: Remembered[Any, str | None] = Remembered(_name_in(keys.worker_name))
        self.detailed_queues = _QueueRead(keys, details=True)
        self.bare_queues = _QueueRead(keys, details=False)
        self.heads = _HeadMemory(keys)
        self.detailed = _WorkerRead(keys, WORKER_FIELDS, executions=True)
        self.bare = _WorkerRead(keys, WORKER_STATE_FIELDS, executions=False)
        self.origins = rate_limits.QueueOrigins()


_MEMORY: PerClient[dict[RQKeys, _Memory]] = PerClient(dict)


def memory_of(client: redis.Redis, keys: RQKeys) -> _Memory:
    """The reader's memory of this client under these keys, made at their first reading."""
    layouts = _MEMORY.of(client)
    found = layouts.get(keys)
    if found is None:
        found = layouts[keys] = _Memory(keys)
    return found


_Running = tuple[str, str | None]
"""A running job's id and, on RQ 3.0, its execution (`<job id>:<execution id>`)."""


def _current_jobs(fields: WorkerHash, executions: Any) -> tuple[_Running, ...]:
    """The jobs a worker runs: RQ 3.0's executions, else RQ 2's `current_job`."""
    members = sorted({m for m in map(as_name, as_list(executions)) if m}) if executions else ()
    if members:
        return tuple((job_id_of_execution(member), member) for member in members)
    return ((fields.current_job, None),) if fields.current_job else ()


def _listened(reply: Any) -> tuple[str, ...]:
    """The queues a worker's `queues` field names, read up to `QUEUES_TEXT_LIMIT` characters."""
    text = as_text(reply) or ""
    names = text[: QUEUES_TEXT_LIMIT + 1].split(",")
    if len(text) > QUEUES_TEXT_LIMIT:
        names.pop()  # cut in the middle
    return tuple(queue for queue in names if queue and len(queue) <= NAME_LIMIT)


def _expired_executions(reply: Any, now: float, skips: Skips) -> list[tuple[str, float]]:
    """(job id, seconds overdue) for executions whose heartbeat deadline has passed."""
    pairs = []
    for member, score in as_pairs(reply):
        execution = as_strict_text(member)
        deadline = as_float(score)
        job_id = job_id_of_execution(execution) if execution else None
        if job_id and len(job_id) <= NAME_LIMIT and deadline is not None and deadline >= 0:
            pairs.append((job_id, max(0.0, now - deadline)))
        else:
            skips.skip("abandoned job", member, f"an execution scored {score!r}")
    return pairs


def _queue_stats(
    name: str,
    replies: Sequence[Any],
    head: str | None,
    enqueued_at: float | None,
    workers: int,
    now: float,
) -> QueueStats:
    """From one queue's replies, in `_QueueReads` order."""
    queued = as_int(replies[_REPLY.queued])
    oldest = max(0.0, now - enqueued_at) if queued and enqueued_at is not None else None
    details = len(replies) > _DETAILS
    return QueueStats(
        name=name,
        queued=queued,
        intermediate=as_int(replies[_REPLY.intermediate]) if details else None,
        deferred=as_int(replies[_REPLY.deferred]),
        ready=as_int(replies[_REPLY.ready]),
        scheduled=as_int(replies[_REPLY.scheduled]),
        canceled=as_int(replies[_REPLY.canceled]),
        scheduler=as_name(replies[_REPLY.scheduler]) if details else None,
        rate_limited=0,  # until the rate limits' waiting jobs are counted
        started=as_int(replies[_REPLY.started]),
        finished=as_int(replies[_REPLY.finished]),
        failed=as_int(replies[_REPLY.failed]),
        oldest_queued_age_seconds=oldest,
        workers=workers,
        head_job=head if queued else None,
        system=RQ,
    )


def _worker_stats(
    name: str,
    fields: WorkerHash,
    pttl: int,
    jobs: list[tuple[str, list[Any], Any]] | None,
    now: float,
) -> WorkerStats:
    """The worker at `now`: its parsed hash, its key's TTL and its current jobs' fields."""
    heartbeat = fields.heartbeat
    current = (
        sorted(
            (_current_job(job_id, reply, execution, now) for job_id, reply, execution in jobs),
            key=lambda job: -(job.seconds or 0.0),
        )
        if jobs
        else []
    )
    first = current[0] if current else None
    return WorkerStats(
        name=name,
        hostname=fields.hostname,
        pid=fields.pid,
        state=fields.state,
        queues=fields.queues,
        current_job=first.id if first else fields.current_job,
        current_job_description=first.description if first else None,
        current_job_seconds=first.seconds if first else None,
        birth=fields.birth,
        heartbeat_age_seconds=max(0.0, now - heartbeat) if heartbeat is not None else None,
        heartbeat_overdue=0 <= pttl < HEARTBEAT_OVERDUE_MS,
        successful_jobs=fields.successful_jobs,
        failed_jobs=fields.failed_jobs,
        working_seconds=fields.working_seconds,
        ip_address=fields.ip_address,
        python_version=fields.python_version,
        rq_version=fields.rq_version,
        current_jobs=tuple(current),
        system=RQ,
    )


def _current_job(job_id: str, reply: list[Any], execution: Any, now: float) -> CurrentJob:
    """A running job; its start is its execution's when RQ 3.0 keeps one (the job's own
    `started_at` is written a moment later, and is the latest attempt's)."""
    description, started = reply if len(reply) == 2 else (None, None)
    began = as_float(execution)
    started_at = began if began is not None and 0 <= began < LATEST else parse_iso_time(started)
    return CurrentJob(
        id=job_id,
        description=_clipped(description, ROW_DESCRIPTION_LIMIT) if description else None,
        seconds=max(0.0, now - started_at) if started_at is not None else None,
    )


def _clipped(reply: Any, limit: int) -> str | None:
    text = as_text(reply[: 4 * limit] if isinstance(reply, bytes) else reply)
    return clip(text, limit) if text else None


def _short(value: Any) -> str | None:
    """A version or address: its first word, bounded (RQ stores all of `sys.version`)."""
    words = (as_text(value[: 4 * SHORT_LIMIT] if isinstance(value, bytes) else value) or "").split(
        maxsplit=1
    )
    return words[0][:SHORT_LIMIT] if words else None


def _redis_info(reply: Any) -> RedisInfo:
    info = parse_info(reply)
    return RedisInfo(
        version=info.get("redis_version"),
        used_memory_bytes=as_int(info["used_memory"].encode()) if "used_memory" in info else None,
        max_memory_bytes=as_int(info["maxmemory"].encode()) if "maxmemory" in info else None,
        keys_per_db=tuple(
            (int(name[2:]), int(found[1]))
            for name, value in info.items()
            if name[:2] == "db" and name[2:].isdigit() and (found := _KEYS_IN_DB.match(value))
        ),
    )


def read_redis_info(client: redis.Redis) -> RedisInfo:
    """What INFO says, for a Redis read without RQ's first round trip."""
    (info,) = batch.run(client, [("INFO",)])
    return _redis_info(info)
