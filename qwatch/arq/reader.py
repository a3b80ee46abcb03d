"""arq's queues and health checks at one moment: three round trips whatever their number.

The first reads, for every queue, how many jobs are due and how many
deferred, the first `RUNNING_WINDOW` due ids with their scores, and its
health check (text and time to live). The second asks which of those ids
are running (an in-progress key) and the size of the first few jobs; the
third reads the first waiting job when it is small enough (`HEAD_BYTES`),
for the function next in line. A running job stays in its queue until it
ends, so queued is due minus running, and running is counted among the
first due jobs, where workers take them from: a note says when a queue has
more due jobs than qwatch looked at.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from qwatch.arq.layout import DEFAULT_QUEUE, HEALTH_CHECK_SUFFIX, ArqLayout
from qwatch.arq.records import job_record
from qwatch.model import ARQ, QueueStats, WorkerStats
from qwatch.text.formatting import duration
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_count, as_float, as_int, as_name, as_pairs, check_allowed
from qwatch.wire.scan import glob_escaped, scanned
from qwatch.wire.skips import Skips

RUNNING_WINDOW = 500
"""Due jobs of a queue checked for an in-progress key, the first ones: where workers take."""
HEAD_CANDIDATES = 8
"""First due jobs whose size is read, for the first one not running."""
HEAD_BYTES = 64 << 10
"""Largest job read for its queue's next function."""
_PER_QUEUE = 5
_HEALTH = re.compile(
    rb"j_complete=(\d+) j_failed=(\d+) j_retried=(\d+) j_ongoing=(\d+) queued=(\d+)"
)
HEALTH_NOTE = (
    "arq: a worker row is a queue's health check, which the worker that wrote last owns:"
    " its counters are that worker's since it started"
)


@dataclass(frozen=True, slots=True)
class ArqReading:
    queues: tuple[QueueStats, ...]
    workers: tuple[WorkerStats, ...]
    records_skipped: int
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Queue:
    """One queue's first replies, checked."""

    name: str
    due: int
    deferred: int
    first: list[tuple[str, float]]
    """The first due ids and the millisecond each was due."""


def arq_present(client: redis.Redis, layout: ArqLayout) -> bool:
    """Whether arq has written here: its default queue, a queue named, or the health check
    of either. One EXISTS."""
    queues = (DEFAULT_QUEUE, *layout.queues)
    keys = [key for queue in queues for key in (queue, layout.health_check_key(queue))]
    (reply,) = batch.run(client, [("EXISTS", *keys)])
    check_allowed(reply)
    return as_int(reply) > 0


def read_arq(
    client: redis.Redis,
    layout: ArqLayout,
    queues: Sequence[str],
    counts: Mapping[str, tuple[int | None, int | None]],
    now: float | None = None,
) -> ArqReading:
    """Sample `queues`; `counts`: each queue's (finished, failed) results kept, as last
    counted; `now` (seconds since the epoch) is for tests."""
    now = time.time() if now is None else now
    now_ms = int(now * 1000)
    commands: list[Command] = []
    for queue in queues:
        health = layout.health_check_key(queue)
        commands += [
            ("ZCOUNT", queue, "-inf", now_ms),
            ("ZCOUNT", queue, f"({now_ms}", "+inf"),
            ("ZRANGEBYSCORE", queue, "-inf", now_ms, "WITHSCORES", "LIMIT", 0, RUNNING_WINDOW),
            ("GET", health),
            ("PTTL", health),
        ]
    replies = batch.run(client, commands)
    check_allowed(*replies)
    skips = Skips()
    mismatch: str | None = None
    read: list[_Queue] = []
    workers: list[WorkerStats] = []
    for i, queue in enumerate(queues):
        due, deferred, first, health, ttl = replies[_PER_QUEUE * i : _PER_QUEUE * (i + 1)]
        if not (isinstance(due, int) and isinstance(deferred, int)):
            skips.skip("queue", queue, "its key is not the sorted set arq writes")
            continue
        read.append(_Queue(queue, due, deferred, _scored(first)))
        worker = _health(queue, health, ttl, layout)
        if worker is not None:
            workers.append(worker)
            mismatch = mismatch or _interval_mismatch(worker, health, layout, now)
    running, heads = _running_and_heads(client, layout, read)
    listened = {queue for worker in workers for queue in worker.queues}
    stats = [
        _queue_stats(q, running[q.name], heads.get(q.name), counts.get(q.name), listened, now)
        for q in read
    ]
    notes = [HEALTH_NOTE] if workers else []
    unlooked = [q.name for q in read if q.due > RUNNING_WINDOW]
    if unlooked:
        notes.append(
            f"arq: running jobs are looked for among the first {RUNNING_WINDOW:,} due jobs of"
            f" each queue; {', '.join(unlooked[:3])} {'has' if len(unlooked) == 1 else 'have'}"
            " more"
        )
    if mismatch:
        notes.append(mismatch)
    return ArqReading(tuple(stats), tuple(workers), skips.count, tuple(notes))


def _interval_mismatch(
    worker: WorkerStats, text: bytes, layout: ArqLayout, now: float
) -> str | None:
    """A note when a health check's own time (the worker's local clock) and its time to live
    disagree on its age: the workers' health_check_interval is not the one qwatch was told."""
    written = _written_at(text, now)
    age = worker.heartbeat_age_seconds
    if written is None or age is None or abs((now - written) - age) < max(60.0, age / 10):
        return None
    return (
        f"arq: {worker.name} says it was written {duration(now - written)} ago, its time to"
        f" live {duration(age)} ago with a health_check_interval of"
        f" {layout.health_check_interval:.0f} s: give --arq-health-check-interval your workers'"
        " setting (or they run in another timezone)"
    )


def _written_at(text: bytes, now: float) -> float | None:
    """When the worker says it wrote its health check: `Dec-07 09:25:58`, its local time,
    in the year that puts it closest to `now`."""
    try:
        stamp = datetime.strptime(text[:15].decode("ascii"), "%b-%d %H:%M:%S")
    except ValueError:
        return None
    year = datetime.fromtimestamp(now).year
    moments = []
    for candidate in (year - 1, year, year + 1):
        with suppress(ValueError):  # Feb-29 in a year without one
            moments.append(stamp.replace(year=candidate).timestamp())
    return min(moments, key=lambda moment: abs(moment - now), default=None)


def _scored(reply: Any) -> list[tuple[str, float]]:
    return [
        (name, score)
        for member, raw in as_pairs(reply)
        if (name := as_name(member)) and (score := as_float(raw)) is not None
    ]


def _running_and_heads(
    client: redis.Redis, layout: ArqLayout, queues: Sequence[_Queue]
) -> tuple[dict[str, set[str]], dict[str, Any]]:
    """Which of each queue's first due jobs run, and its first waiting job's data (if small)."""
    commands: list[Command] = []
    for queue in queues:
        commands += [("EXISTS", layout.in_progress_key(job_id)) for job_id, _s in queue.first]
        commands += [
            ("STRLEN", layout.job_key(job_id)) for job_id, _s in queue.first[:HEAD_CANDIDATES]
        ]
    replies = iter(batch.run(client, commands))
    running: dict[str, set[str]] = {}
    wanted: dict[str, str] = {}
    for queue in queues:
        flags = [next(replies) for _ in queue.first]
        sizes = [next(replies) for _ in queue.first[:HEAD_CANDIDATES]]
        running[queue.name] = {
            job_id for (job_id, _s), flag in zip(queue.first, flags) if flag == 1
        }
        for (job_id, _s), size in zip(queue.first, sizes):
            if job_id not in running[queue.name]:
                if 0 < as_int(size) <= HEAD_BYTES:
                    wanted[queue.name] = job_id
                break
    data = batch.run(client, [("GET", layout.job_key(job_id)) for job_id in wanted.values()])
    return running, dict(zip(wanted, data))


def _queue_stats(
    queue: _Queue,
    running: set[str],
    head: Any,
    counts: tuple[int | None, int | None] | None,
    listened: set[str],
    now: float,
) -> QueueStats:
    waiting = [score for job_id, score in queue.first if job_id not in running]
    oldest = max(0.0, now - waiting[0] / 1000) if waiting else None
    finished, failed = counts or (None, None)
    function = job_record(head).function if isinstance(head, bytes) else None
    return QueueStats(
        name=queue.name,
        queued=max(0, queue.due - len(running)),
        started=len(running),
        finished=finished,
        failed=failed,
        deferred=None,
        scheduled=queue.deferred,
        canceled=None,
        intermediate=None,
        oldest_queued_age_seconds=oldest,
        workers=None if queue.name in listened else 0,
        head_job=function,
        system=ARQ,
    )


def _health(queue: str, text: Any, ttl: Any, layout: ArqLayout) -> WorkerStats | None:
    """The worker row a queue's health check makes; None when there is none."""
    if not isinstance(text, bytes):
        return None
    found = _HEALTH.search(text[:1024])
    counters = [as_count(group) for group in found.groups()] if found else [None] * 5
    complete, failed, retried, ongoing, _queued = counters
    left = as_int(ttl, -1) / 1000
    age = layout.health_check_interval + 1 - left if left >= 0 else None
    return WorkerStats(
        name=layout.health_check_key(queue),
        hostname=None,
        pid=None,
        state=("busy" if ongoing else "idle") if ongoing is not None else "unknown",
        queues=(queue,),
        current_job=None,
        current_job_description=None,
        current_job_seconds=None,
        birth=None,
        heartbeat_age_seconds=max(0.0, age) if age is not None else None,
        heartbeat_overdue=False,
        successful_jobs=complete,
        failed_jobs=failed,
        working_seconds=None,
        system=ARQ,
        retried_jobs=retried,
    )


def discover_arq_queues(client: redis.Redis, layout: ArqLayout) -> tuple[str, ...]:
    """The queues named, arq's default one if it is there, and every queue a health check
    names: run it
    rarely (`wire.scan`). A queue with no worker for an hour and not named is not found."""
    (default,) = batch.run(client, [("EXISTS", DEFAULT_QUEUE)])
    found = {*layout.queues, *([DEFAULT_QUEUE] if default == 1 else [])}
    for key in scanned(client, "*" + glob_escaped(HEALTH_CHECK_SUFFIX)):
        name = as_name(key)
        queue = layout.queue_of(name) if name else None
        if queue:
            found.add(queue)
    return tuple(sorted(found))
