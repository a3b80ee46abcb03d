"""`rq worker --worker-class qwatch.rq.Worker`: RQ's worker, telling qwatch of every outcome.

For each job that finishes, fails for good or is retried, the worker adds
one entry to the stream `rq:qwatch:completions` (format in
`qwatch.stream`). The entry is queued in the very pipeline in which RQ
records that outcome: RQ's `cleanup_execution` runs in it on every path
(success, failure, retry, retries exhausted), inside the MULTI/EXEC that
moves the job to its registry, so the entry exists exactly when RQ's
record does. (The `increment_*_job_count` hooks would do for successes,
but for a failure RQ writes the failed registry in one transaction and
the worker's counter in a second one.) A success retried by RQ after a
WATCH conflict queues its entry again with the rest, so it is still one.

Not covered: jobs of a worker killed outright, which RQ's own clean-up
later moves to the failed registry without any worker's help.

The stream is trimmed as it is written, approximately (whole blocks), to
its newest `QWATCH_STREAM_MAXLEN` entries (default 10,000,000) and to
those of the last `QWATCH_STREAM_MAX_AGE` seconds (default 10,800: 3 h).
An entry takes about 210 bytes (measured with RQ's random job ids and
worker names), so the stream holds at most about 2.1 GB at the cap,
reached only above some 900 jobs a second; at 100 jobs a second it holds
the 3 h in about 230 MB.

This is the only module of qwatch that imports RQ, and only the workers
import it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import rq

from qwatch import job_states, keys, stream
from qwatch.jobs import exception_name
from qwatch.results import exception_line

MAXLEN_VARIABLE = "QWATCH_STREAM_MAXLEN"
DEFAULT_MAXLEN = 10_000_000
MAX_AGE_VARIABLE = "QWATCH_STREAM_MAX_AGE"
DEFAULT_MAX_AGE = 3 * 3600


@dataclass(frozen=True, slots=True)
class _Ending:
    """The outcome RQ is recording for a job, noted before RQ's pipeline is built."""

    job_id: str
    outcome: str
    exception: str | None


class Worker(rq.Worker):
    """An `rq.Worker` that also appends each job's outcome to qwatch's completions stream."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream_maxlen = _setting(MAXLEN_VARIABLE, DEFAULT_MAXLEN)
        self.stream_max_age = _setting(MAX_AGE_VARIABLE, DEFAULT_MAX_AGE)
        self._ending: _Ending | None = None

    def serialize(self) -> dict[str, Any]:
        """RQ's worker hash, marked so that qwatch knows this worker's queues are in the stream."""
        fields: dict[str, Any] = super().serialize()
        return {**fields, stream.WORKER_MARK: stream.FORMAT}

    def handle_job_success(self, job: Any, queue: Any, started_job_registry: Any) -> None:
        with self._recording(job, job_states.FINISHED, None):
            super().handle_job_success(job, queue, started_job_registry)

    def handle_job_failure(
        self, job: Any, queue: Any, started_job_registry: Any = None, exc_string: str = ""
    ) -> None:
        stopped = getattr(self, "_stopped_job_id", None) == job.id
        outcome = stream.RETRIED if job.should_retry and not stopped else job_states.FAILED
        with self._recording(job, outcome, exception_name(exception_line(exc_string))):
            super().handle_job_failure(
                job, queue, started_job_registry=started_job_registry, exc_string=exc_string
            )

    def handle_job_retry(
        self, job: Any, queue: Any, retry: Any, started_job_registry: Any, execution: Any
    ) -> None:
        exhausted = bool(job.number_of_retries and job.number_of_retries >= retry.max)
        with self._recording(job, job_states.FAILED if exhausted else stream.RETRIED, None):
            super().handle_job_retry(job, queue, retry, started_job_registry, execution)

    def cleanup_execution(self, job: Any, pipeline: Any) -> None:
        """RQ's clean-up, plus the job's entry in the same pipeline: one per recorded outcome."""
        super().cleanup_execution(job, pipeline)
        ending = self._ending
        if ending is None or ending.job_id != job.id:
            return
        fields = stream.entry(
            job.id,
            job.origin,
            ending.outcome,
            function=_guarded(lambda: job.func_name),
            exception=ending.exception,
            enqueued_at=_seconds(job.enqueued_at),
            started_at=_seconds(job.started_at),
            ended_at=_seconds(job.ended_at) or time.time(),
            worker=self.name,
        )
        pipeline.xadd(keys.COMPLETIONS_STREAM, fields, maxlen=self.stream_maxlen, approximate=True)
        oldest = int((time.time() - self.stream_max_age) * 1000)
        pipeline.xtrim(keys.COMPLETIONS_STREAM, minid=f"{oldest}-0", approximate=True)

    @contextmanager
    def _recording(self, job: Any, outcome: str, exception: str | None) -> Iterator[None]:
        self._ending = _Ending(job.id, outcome, exception)
        try:
            yield
        finally:
            self._ending = None


def _setting(variable: str, default: int) -> int:
    """A positive whole number from the environment; a bad one stops the worker at start."""
    text = os.environ.get(variable)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) <= 0:
        raise ValueError(f"{variable} must be a positive whole number, not {text!r}")
    return int(text)


def _seconds(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # RQ writes UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _guarded(read: Callable[[], Any]) -> str | None:
    """A job's function name; None if its data cannot be read (the job still gets its entry)."""
    try:
        value = read()
    except Exception:
        return None
    return value if isinstance(value, str) else None
