"""Read single jobs and the failed-job list, for `qwatch job`, `qwatch failed` and the TUI.

A failure's traceback lives in the job's results stream in RQ 2
(`exc_string`, base64 of zlib text) and in the job hash's `exc_info` in older
layouts; both are read. Everything shown is bounded.
"""

from __future__ import annotations

import heapq
import json
import re
from dataclasses import replace
from functools import partial
from typing import Any

import redis

from qwatch import job_states
from qwatch.errors import UnreadableRecord, described, exception_line
from qwatch.limits import (
    DESCRIPTION_LIMIT,
    EXCEPTION_NAME_LIMIT,
    FUNCTION_LIMIT,
    NAME_LIMIT,
    STATE_LIMIT,
    TRACEBACK_BYTES,
    TRACEBACK_LIMIT,
)
from qwatch.model import RQ, FailedJob, JobDetail
from qwatch.pickle.decode import (
    MAX_PICKLE_BYTES,
    call_name,
    decode_job_data,
    inflate,
    render_pickle,
)
from qwatch.rq import job_fields, logs
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys
from qwatch.rq.reader import queue_names
from qwatch.rq.results import (
    attempts,
    decoded_traceback,
    history_command,
    latest_command,
    result_fields,
    return_value,
)
from qwatch.text.formatting import clip, clip_lines
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import (
    as_count,
    as_float,
    as_int,
    as_list,
    as_name,
    as_pairs,
    as_seconds,
    as_text,
    check_allowed,
)
from qwatch.wire.skips import Skips
from qwatch.wire.timestamps import LATEST, parse_iso_time

MAX_LISTED = 20
"""Dependencies and retry intervals shown per job."""
_EXCEPTION_NAME = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")
_ABANDONED = re.compile(r"due to (\w+)")
_FAILED_ROW_FIELDS = (
    job_fields.DATA,
    job_fields.WORKER_NAME,
    job_fields.ENDED_AT,
    job_fields.EXC_INFO,
)
"""What a failed job's row reads of its hash, in `_failed_row`'s order."""


def read_job(client: redis.Redis, job_id: str, keys: RQKeys = DEFAULT_KEYS) -> JobDetail | None:
    """The job with this id and its own log lines, or None when Redis holds no such job;
    one round trip, and a second for a scheduled job's run time.

    Raises `UnreadableRecord`, one line, if the job cannot be turned into data.
    """
    fields, history, *kept = batch.run(
        client,
        [
            ("HGETALL", keys.job_key(job_id)),
            history_command(job_id, keys),
            *logs.read_commands(job_id, keys),
        ],
    )
    check_allowed(fields)
    pairs = as_pairs(fields)
    if not pairs:
        return None
    try:
        detail = replace(_job_detail(job_id, pairs, history), logs=logs.parsed(*kept))
    except Exception as exc:  # one line for a person, whatever the job holds
        reason = described(exc)
        raise UnreadableRecord(f"job {clip(job_id, 100)} cannot be read: {reason}") from exc
    if detail.status != job_states.SCHEDULED or detail.origin is None:
        return detail
    return replace(detail, scheduled_for=_scheduled_for(client, keys, job_id, detail.origin))


def _scheduled_for(client: redis.Redis, keys: RQKeys, job_id: str, queue: str) -> float | None:
    """The job's score in `queue`'s scheduled registry, a moment; None when it is not there."""
    (score,) = batch.run(
        client, [("ZSCORE", keys.registry_key(job_states.SCHEDULED, queue), job_id)]
    )
    check_allowed(score)
    moment = as_float(score)
    return moment if moment is not None and 0 <= moment < LATEST else None


def _job_detail(job_id: str, pairs: list[tuple[Any, Any]], history: Any) -> JobDetail:
    job = {as_text(name) or "": value for name, value in pairs}
    result = result_fields(history)
    traceback = _traceback(job.get(job_fields.EXC_INFO), result)
    call = decode_job_data(_bytes(job.get(job_fields.DATA)))
    return JobDetail(
        id=job_id,
        status=_clipped(job.get(job_fields.STATUS), STATE_LIMIT),
        function=clip(call.function, FUNCTION_LIMIT),
        arguments=call.arguments,
        description=_clipped(job.get(job_fields.DESCRIPTION), DESCRIPTION_LIMIT),
        origin=_clipped(job.get(job_fields.ORIGIN), NAME_LIMIT),
        worker=_worker(job.get(job_fields.WORKER_NAME), result),
        created_at=parse_iso_time(job.get(job_fields.CREATED_AT)),
        enqueued_at=parse_iso_time(job.get(job_fields.ENQUEUED_AT)),
        started_at=parse_iso_time(job.get(job_fields.STARTED_AT)),
        ended_at=parse_iso_time(job.get(job_fields.ENDED_AT)),
        timeout=_timeout(job.get(job_fields.TIMEOUT)),
        retries_left=as_count(job.get(job_fields.RETRIES_LEFT)),
        result=return_value(result),
        exception=exception_line(traceback),
        traceback=clip_lines(traceback, TRACEBACK_LIMIT) if traceback else None,
        meta=_meta(job.get(job_fields.META)),
        retries_used=as_count(job.get(job_fields.NUMBER_OF_RETRIES)),
        retry_intervals=tuple(
            value
            for value in _json_list(job.get(job_fields.RETRY_INTERVALS))
            if isinstance(value, int)
        ),
        dependencies=dependency_ids(job.get(job_fields.DEPENDENCY_IDS)),
        attempts=attempts(history),
        system=RQ,
    )


def read_failed(
    client: redis.Redis,
    queue: str | None = None,
    limit: int = 20,
    keys: RQKeys = DEFAULT_KEYS,
) -> list[FailedJob]:
    """The newest failed jobs, across queues or in one, newest first.

    The failed registries are scored by expiry: the failure's whole second
    plus the job's failure_ttl. Twice `limit` (and 20 more) of the highest
    scores are read, so jobs that failed within the same second are all
    candidates, then sorted by their real `ended_at`. A job given a shorter
    failure_ttl than its neighbours can still be passed over.
    """
    queues = [queue] if queue else queue_names(client, keys)
    wanted = 2 * limit + 20
    ranges = batch.run(
        client,
        [
            ("ZREVRANGE", keys.registry_key(job_states.FAILED, q), 0, wanted - 1, "WITHSCORES")
            for q in queues
        ],
    )
    check_allowed(*ranges)
    scored = (
        (as_float(score) or 0.0, q, job_id)
        for q, reply in zip(queues, ranges)
        for member, score in as_pairs(reply)
        if (job_id := as_name(member))
    )
    candidates = heapq.nlargest(wanted, scored)
    lookups: list[Command] = []
    for _score, _q, job_id in candidates:
        lookups += [
            ("HMGET", keys.job_key(job_id), *_FAILED_ROW_FIELDS),
            latest_command(job_id, keys),
        ]
    replies = batch.run(client, lookups)
    skips = Skips()
    rows = [
        skips.build(
            "failed job",
            job_id,
            partial(_failed_row, job_id, q, replies[2 * i], replies[2 * i + 1]),
        )
        or FailedJob(job_id, q, f"<unreadable job: {skips.last}>", None, None, None, system=RQ)
        for i, (_score, q, job_id) in enumerate(candidates)
    ]
    return sorted(rows, key=lambda row: row.failed_at or 0.0, reverse=True)[:limit]


def dependency_ids(raw: Any) -> tuple[str, ...]:
    """The ids in a job's `dependency_ids` field (a JSON list); empty when absent or odd."""
    return tuple(clip(item, NAME_LIMIT) for item in _json_list(raw) if isinstance(item, str))


def _json_list(raw: Any) -> list[Any]:
    """The first `MAX_LISTED` items of a JSON list field; empty when absent or not a list."""
    if not isinstance(raw, bytes) or len(raw) > 100_000:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return value[:MAX_LISTED] if isinstance(value, list) else []


def _meta(raw: Any) -> str | None:
    """A job's `meta` (a pickled dict, often progress), decoded without unpickling."""
    if not isinstance(raw, bytes):
        return None
    if len(raw) > MAX_PICKLE_BYTES:
        return f"<meta of {len(raw)} bytes, not read>"
    return render_pickle(raw)


def exception_name(line: str | None) -> str | None:
    """`ZeroDivisionError` from `ZeroDivisionError: division by zero`; never the message."""
    if not line:
        return None
    match = _EXCEPTION_NAME.match(line) or _ABANDONED.search(line)
    name = match.group(1) if match else None
    return name if name and len(name) <= EXCEPTION_NAME_LIMIT else None


def _failed_row(job_id: str, queue: str, fields_reply: Any, result_reply: Any) -> FailedJob:
    data, worker, ended_at, exc_info = (as_list(fields_reply) + [None] * 4)[:4]
    result = result_fields(result_reply)
    return FailedJob(
        id=job_id,
        queue=queue,
        function=clip(call_name(_bytes(data)), FUNCTION_LIMIT),
        exception=exception_line(_traceback(exc_info, result)),
        worker=_worker(worker, result),
        failed_at=parse_iso_time(ended_at),
        system=RQ,
    )


def _worker(name: Any, result: dict[str, Any]) -> str | None:
    """The worker a job names, or its result names."""
    return _clipped(name, NAME_LIMIT) or _clipped(
        result.get(job_fields.RESULT_WORKER_NAME), NAME_LIMIT
    )


def _clipped(reply: Any, limit: int) -> str | None:
    text = as_text(reply[: 4 * limit] if isinstance(reply, bytes) else reply)
    return clip(text, limit) if text else None


def _bytes(reply: Any) -> bytes | None:
    return reply if isinstance(reply, bytes) else None


def _timeout(reply: Any) -> int | None:
    """RQ's job timeout in seconds, -1 for none; None when unset or absurd."""
    if as_int(reply, default=0) == -1:
        return -1
    seconds = as_seconds(reply)
    return int(seconds) if seconds is not None else None


def traceback_of(job: dict[str, Any], latest_result: Any) -> str | None:
    """A failure's traceback from the job's `exc_info` field and its newest result (XREVRANGE)."""
    return _traceback(job.get(job_fields.EXC_INFO), result_fields(latest_result))


def _traceback(legacy: Any, result: dict[str, Any]) -> str | None:
    """The results stream's traceback (RQ 2), else the job hash's `exc_info` (older RQ)."""
    found = decoded_traceback(result)
    if found is not None or not isinstance(legacy, bytes) or not legacy:
        return found
    try:
        text, _cut = inflate(legacy, TRACEBACK_BYTES)
    except ValueError:
        return legacy[:TRACEBACK_BYTES].decode("utf-8", "replace")
    return text.decode("utf-8", "replace")
