"""RQ 3.0's cron schedulers and the jobs each one enqueues, read in the snapshot's round trips.

A scheduler started by `rq cron` registers in `<prefix>:cron_schedulers`
(scored by its last heartbeat) and keeps a hash with its host, pid and the
JSON list of its cron jobs, each with its function, queue, schedule and
next and last enqueue times. qwatch reads the first `SCHEDULERS_LIMIT` and
parses each hash once until it changes; a hostile list costs its scheduler
an empty one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from qwatch.limits import NAME_LIMIT
from qwatch.model import CronJob, CronScheduler
from qwatch.rq.keys import RQKeys
from qwatch.text.formatting import clip
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_float, as_name, as_pairs, as_pid
from qwatch.wire.timestamps import parse_iso_time

SCHEDULERS_LIMIT = 100
JOBS_LIMIT = 200
"""Cron jobs kept per scheduler."""
JOBS_BYTES_LIMIT = 256 * 1024
"""A larger `cron_jobs` field is not parsed."""
SCHEDULE_LIMIT = 120
_FIELDS = ("hostname", "pid", "cron_jobs")


def registry_command(keys: RQKeys) -> Command:
    """Round trip 1: the registered schedulers with their heartbeats."""
    return ("ZRANGE", keys.cron_schedulers, 0, SCHEDULERS_LIMIT - 1, "WITHSCORES")


def registered(reply: Any) -> list[tuple[str, float | None]]:
    """(name, heartbeat) of each registered scheduler."""
    return [
        (name, as_float(score)) for member, score in as_pairs(reply) if (name := as_name(member))
    ]


def commands(keys: RQKeys, schedulers: Sequence[tuple[str, float | None]]) -> list[Command]:
    """Round trip 2: each scheduler's hash."""
    return [("HMGET", keys.cron_scheduler_key(name), *_FIELDS) for name, _ in schedulers]


def schedulers(
    found: Sequence[tuple[str, float | None]], replies: Sequence[Any], now: float
) -> tuple[CronScheduler, ...]:
    return tuple(
        _scheduler(name, heartbeat, reply, now) for (name, heartbeat), reply in zip(found, replies)
    )


def _scheduler(name: str, heartbeat: float | None, reply: Any, now: float) -> CronScheduler:
    values = reply if isinstance(reply, list) and len(reply) == len(_FIELDS) else [None] * 3
    hostname, pid, jobs = values
    return CronScheduler(
        name=name,
        hostname=as_name(hostname),
        pid=as_pid(pid),
        heartbeat_age_seconds=max(0.0, now - heartbeat) if heartbeat is not None else None,
        jobs=_jobs(jobs),
    )


def _jobs(raw: Any) -> tuple[CronJob, ...]:
    if not isinstance(raw, bytes) or len(raw) > JOBS_BYTES_LIMIT:
        return ()
    try:
        items = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    return tuple(_job(item) for item in items[:JOBS_LIMIT] if isinstance(item, dict))


def _job(item: dict[str, Any]) -> CronJob:
    return CronJob(
        name=_name(item.get("name")),
        function=_name(item.get("func_name")),
        queue=_name(item.get("queue_name")),
        schedule=_schedule(item.get("cron"), item.get("interval")),
        next_run_at=parse_iso_time(item.get("next_enqueue_time")),
        last_run_at=parse_iso_time(item.get("latest_enqueue_time")),
    )


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value and len(value) <= NAME_LIMIT else None


def _schedule(cron: Any, interval: Any) -> str | None:
    if isinstance(cron, str) and cron:
        return clip(cron, SCHEDULE_LIMIT)
    if isinstance(interval, (int, float)) and not isinstance(interval, bool) and interval > 0:
        return f"every {interval:g} s"
    return None
