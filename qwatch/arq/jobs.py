"""One arq job by its id, wherever it is: ended (its result), running, queued or deferred.

Two round trips: the sizes of its job and result, whether it runs, its
tries and its score in each known queue; then the job and the result when
they are small enough to decode (`MAX_PICKLE_BYTES`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import redis

from qwatch import job_states
from qwatch.arq.layout import ArqLayout
from qwatch.arq.records import ArqRecord, job_record, moment, result_record
from qwatch.model import ARQ, JobDetail
from qwatch.pickle.decode import MAX_PICKLE_BYTES
from qwatch.wire import batch
from qwatch.wire.replies import as_count, as_float, as_int, check_allowed

TOO_LARGE = "<larger than qwatch decodes>"


def arq_job(
    client: redis.Redis, layout: ArqLayout, queues: Sequence[str], job_id: str
) -> JobDetail | None:
    """The job, or None when arq has no trace of it."""
    job_key, result_key = layout.job_key(job_id), layout.result_key(job_id)
    first = batch.run(
        client,
        [
            ("STRLEN", job_key),
            ("STRLEN", result_key),
            ("EXISTS", layout.in_progress_key(job_id)),
            ("GET", layout.retry_key(job_id)),
            *(("ZSCORE", queue, job_id) for queue in queues),
        ],
    )
    check_allowed(*first)
    job_size, result_size, running, tries, *scores = first
    sizes = {job_key: as_int(job_size), result_key: as_int(result_size)}
    small = [key for key, size in sizes.items() if 0 < size <= MAX_PICKLE_BYTES]
    values = dict(zip(small, batch.run(client, [("GET", key) for key in small])))
    queue = next((q for q, score in zip(queues, scores) if score is not None), None)
    score = as_float(scores[queues.index(queue)]) if queue is not None else None
    if not any(sizes.values()) and score is None and running != 1:
        return None
    if sizes[result_key]:
        record = _read(values.get(result_key), result_record)
        outcome = record.success
        status = (
            None if outcome is None else (job_states.FINISHED if outcome else job_states.FAILED)
        )
    else:
        record = _read(values.get(job_key), job_record)
        status = _waiting_state(running == 1, score)
    return _detail(job_id, record, status, queue, as_count(tries), score)


def _read(data: object, parse: Callable[[bytes], ArqRecord]) -> ArqRecord:
    if not isinstance(data, bytes):
        return ArqRecord(TOO_LARGE, "", None, None, problem=TOO_LARGE)
    return parse(data)


def _waiting_state(running: bool, score: float | None) -> str | None:
    if running:
        return job_states.STARTED
    if score is None:
        return None
    return job_states.SCHEDULED if score / 1000 > time.time() else job_states.QUEUED


def _detail(
    job_id: str,
    record: ArqRecord,
    status: str | None,
    queue: str | None,
    tries: int | None,
    score: float | None,
) -> JobDetail:
    return JobDetail(
        id=job_id,
        status=status,
        function=record.function,
        arguments=record.arguments,
        description=None,
        origin=record.queue or queue,
        worker=None,
        created_at=None,
        enqueued_at=record.enqueued_at,
        started_at=record.started_at,
        ended_at=record.finished_at,
        timeout=None,
        retries_left=None,
        result=record.result,
        exception=record.exception,
        traceback=None,
        retries_used=_retries(record.tries if record.tries is not None else tries),
        system=ARQ,
        scheduled_for=moment(score) if status == job_states.SCHEDULED else None,
    )


def _retries(tries: int | None) -> int | None:
    """arq counts tries, the first included."""
    return max(0, tries - 1) if tries is not None else None
