"""The only writes qwatch makes, each asked for by a person, each atomic.

Each action does what RQ itself does, with raw commands in a MULTI/EXEC
transaction that WATCHes the keys it read first: if a worker or a producer
changes them in between, the transaction is retried on fresh data, so
nothing but what the person asked for is touched. Faces call these only
after a confirmation, and never under `--read-only`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from typing import Any

import redis
from redis.client import Pipeline

from qwatch import job_states
from qwatch.errors import QwatchError
from qwatch.rq import job_fields
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys
from qwatch.wire.replies import as_strict_text

CLEARABLE = (
    job_states.FINISHED,
    job_states.FAILED,
    job_states.CANCELED,
    job_states.DEFERRED,
    job_states.SCHEDULED,
)
"""Registries a person may empty; the started one holds running jobs, so it is not."""

CHUNK = 1000
"""Jobs removed per transaction, so one transaction never blocks Redis for long."""

MAX_ATTEMPTS = 50


class ActionError(QwatchError):
    """An action could not be done: the job is gone, or Redis kept changing under it."""


def requeue_failed_job(client: redis.Redis, job_id: str, keys: RQKeys = DEFAULT_KEYS) -> str:
    """Put a failed job back at the end of its origin queue, as RQ's `requeue` does."""

    def requeue(pipe: Pipeline) -> str:
        origin = as_strict_text(pipe.hget(keys.job_key(job_id), job_fields.ORIGIN))
        if origin is None:
            raise ActionError(f"job {job_id} no longer exists")
        if pipe.zscore(keys.registry_key(job_states.FAILED, origin), job_id) is None:
            raise ActionError(f"job {job_id} is no longer failed")
        pipe.multi()
        _requeue(keys, pipe, job_id, origin)
        return origin

    origin = _transaction(
        client, requeue, keys.job_key(job_id), *_failed_keys(keys, client, job_id)
    )
    return f"requeued job {job_id} on {origin}"


def delete_failed_job(client: redis.Redis, job_id: str, keys: RQKeys = DEFAULT_KEYS) -> str:
    """Delete a failed job, its results and its registry entry, as RQ's `Job.delete` does."""

    def delete(pipe: Pipeline) -> None:
        origin = as_strict_text(pipe.hget(keys.job_key(job_id), job_fields.ORIGIN))
        if origin is None:
            raise ActionError(f"job {job_id} no longer exists")
        pipe.multi()
        pipe.zrem(keys.registry_key(job_states.FAILED, origin), job_id)
        _delete_job(keys, pipe, job_id)

    _transaction(client, delete, keys.job_key(job_id), *_failed_keys(keys, client, job_id))
    return f"deleted job {job_id}"


def requeue_all_failed(client: redis.Redis, queue: str, keys: RQKeys = DEFAULT_KEYS) -> str:
    """Requeue every job in a queue's failed registry, oldest failure first."""
    failed = keys.registry_key(job_states.FAILED, queue)
    count = _each_chunk(keys, client, failed, partial(_requeue, keys), queue)
    return f"requeued {count} failed jobs on {queue}"


def empty_queue(client: redis.Redis, queue: str, keys: RQKeys = DEFAULT_KEYS) -> str:
    """Delete the jobs waiting in a queue, as RQ's `Queue.empty` does.

    Only the jobs present when asked are removed. Each chunk leaves the list
    in one MULTI/EXEC (LRANGE and LTRIM of the head), so a job a producer
    pushes or a worker pops meanwhile is never taken by mistake; the removed
    jobs, now in no queue, are deleted right after.
    """
    queue_key = keys.queue_key(queue)
    remaining = int(client.llen(queue_key))
    count = 0
    while remaining > 0:
        with client.pipeline(transaction=True) as pipe:
            pipe.lrange(queue_key, 0, min(CHUNK, remaining) - 1)
            pipe.ltrim(queue_key, min(CHUNK, remaining), -1)
            removed, _trimmed = pipe.execute()
        job_ids = _members(removed)
        if not job_ids:
            break
        with client.pipeline(transaction=True) as pipe:
            for job_id in job_ids:
                _delete_job(keys, pipe, job_id)
            pipe.execute()
        remaining -= len(job_ids)
        count += len(job_ids)
    return f"deleted {count} queued jobs from {queue}"


def empty_registry(client: redis.Redis, queue: str, state: str, keys: RQKeys = DEFAULT_KEYS) -> str:
    """Delete every job in one of a queue's registries (not `started`: those are running)."""
    if state not in CLEARABLE:
        choices = ", ".join(CLEARABLE)
        raise ActionError(f"the {state} registry cannot be emptied: choose one of {choices}")
    registry_key = keys.registry_key(state, queue)

    def delete(pipe: Pipeline, job_id: str, _queue: str) -> None:
        pipe.zrem(registry_key, job_id)
        _delete_job(keys, pipe, job_id)

    count = _each_chunk(keys, client, registry_key, delete, queue)
    return f"deleted {count} {state} jobs of {queue}"


def _each_chunk(
    keys: RQKeys,
    client: redis.Redis,
    registry_key: str,
    write: Callable[[Pipeline, str, str], None],
    queue: str,
) -> int:
    """Apply `write` to every job of a registry, a chunk per transaction.

    Each transaction WATCHes the chunk's job hashes, not the registry: workers
    adding other jobs to the registry do not disturb it, while a job that
    someone else requeues or deletes meanwhile makes it start over.
    """
    total = 0
    while True:
        job_ids = _members(client.zrange(registry_key, 0, CHUNK - 1))
        if not job_ids:
            return total

        def body(pipe: Pipeline, job_ids: list[str] = job_ids) -> int:
            scores = pipe.zmscore(registry_key, job_ids)
            present = [job for job, score in zip(job_ids, scores) if score is not None]
            pipe.multi()
            for job_id in present:
                write(pipe, job_id, queue)
            return len(present)

        total += _transaction(client, body, *map(keys.job_key, job_ids))


def _requeue(keys: RQKeys, pipe: Pipeline, job_id: str, queue: str) -> None:
    """What RQ's `FailedJobRegistry.requeue` writes: out of the registry, into the queue."""
    pipe.zrem(keys.registry_key(job_states.FAILED, queue), job_id)
    pipe.hset(
        keys.job_key(job_id),
        mapping={
            job_fields.STATUS: job_states.QUEUED,
            job_fields.ORIGIN: queue,
            job_fields.ENQUEUED_AT: _rq_now(),
            job_fields.STARTED_AT: "",
            job_fields.ENDED_AT: "",
            job_fields.EXC_INFO: "",
        },
    )
    pipe.rpush(keys.queue_key(queue), job_id)
    pipe.sadd(keys.queues, keys.queue_key(queue))


def _delete_job(keys: RQKeys, pipe: Pipeline, job_id: str) -> None:
    """The job's keys as RQ's `Job.delete` removes them, and the log lines qwatch kept."""
    pipe.delete(
        keys.job_key(job_id),
        keys.results_key(job_id),
        keys.dependents_key(job_id),
        keys.logs_key(job_id),
    )


def _failed_keys(keys: RQKeys, client: redis.Redis, job_id: str) -> list[str]:
    """The failed registry to WATCH along with the job: its origin's."""
    origin = as_strict_text(client.hget(keys.job_key(job_id), job_fields.ORIGIN))
    if origin is None:
        raise ActionError(f"job {job_id} no longer exists")
    return [keys.registry_key(job_states.FAILED, origin)]


def _members(reply: Any) -> list[str]:
    return [job_id for job_id in map(as_strict_text, reply or []) if job_id]


def _transaction(client: redis.Redis, body: Callable[[Pipeline], Any], *watched: str) -> Any:
    """Run `body` in WATCH + MULTI/EXEC, again while a watched key changes under it."""
    for _attempt in range(MAX_ATTEMPTS):
        with client.pipeline() as pipe:
            try:
                pipe.watch(*watched)
                result = body(pipe)
                pipe.execute()
                return result
            except redis.WatchError:
                time.sleep(0.001)
    raise ActionError("Redis kept changing under the action; nothing was done, try again")


def _rq_now() -> str:
    """Now in RQ's own timestamp format."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
