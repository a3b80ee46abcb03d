"""`rq worker --worker-class qwatch.rq.Worker`: RQ's worker, telling qwatch of every outcome.

For each job that finishes, fails for good or is retried, the worker adds
one entry to the stream `rq:qwatch:completions` (format in
`qwatch.rq.stream`). The entry is queued in the very pipeline in which RQ
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

It runs under RQ 2.12 and later 2.x, and 3.0: RQ 3.0 hands each handler
the job's `Execution` too, which the handlers here pass on untouched, and
keys everything under `RQ_KEY_PREFIX` (the stream too). Another major
version stops the worker at start, before it takes any job.

This is the only module of qwatch that imports RQ, and only the workers
import it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import rq
from rq.version import VERSION

from qwatch import job_states
from qwatch.errors import exception_line
from qwatch.rq import stream
from qwatch.rq.jobs import exception_name
from qwatch.rq.keys import DEFAULT_PREFIX, RQKeys
from qwatch.wire import completions

SUPPORTED_MAJORS = (2, 3)
"""The RQ major versions whose handlers this class is written against."""


@dataclass(frozen=True, slots=True)
class _Ending:
    """The outcome RQ is recording for a job, noted before RQ's pipeline is built."""

    job_id: str
    outcome: str
    exception: str | None


class Worker(rq.Worker):
    """An `rq.Worker` that also appends each job's outcome to qwatch's completions stream.

    Each handler names only what it reads and passes on every argument RQ
    gives it (3.0 adds the job's `execution`), so RQ does exactly what it
    would do without qwatch.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _check_version(VERSION)
        super().__init__(*args, **kwargs)
        self.stream_maxlen = completions.trim_setting(
            completions.MAXLEN_VARIABLE, completions.DEFAULT_MAXLEN
        )
        self.stream_max_age = completions.trim_setting(
            completions.MAX_AGE_VARIABLE, completions.DEFAULT_MAX_AGE
        )
        self.stream_key = RQKeys(getattr(rq.defaults, "RQ_KEY_PREFIX", DEFAULT_PREFIX)).completions
        self._ending: _Ending | None = None

    def serialize(self) -> dict[str, Any]:
        """RQ's worker hash, marked so that qwatch knows this worker's queues are in the stream."""
        fields: dict[str, Any] = super().serialize()
        return {**fields, stream.WORKER_MARK: completions.FORMAT}

    def handle_job_success(self, job: Any, queue: Any, *rest: Any, **named: Any) -> None:
        with self._recording(job, job_states.FINISHED, None):
            super().handle_job_success(job, queue, *rest, **named)

    def handle_job_failure(self, job: Any, queue: Any, *rest: Any, **named: Any) -> None:
        """`exc_string` comes after `started_job_registry` in RQ 2.12 and 3.0 alike."""
        exc_string = named.get("exc_string", rest[1] if len(rest) > 1 else "")
        stopped = self._stopped_job_id == job.id
        outcome = completions.RETRIED if job.should_retry and not stopped else job_states.FAILED
        exception = exception_name(
            exception_line(exc_string if isinstance(exc_string, str) else "")
        )
        with self._recording(job, outcome, exception):
            super().handle_job_failure(job, queue, *rest, **named)

    def handle_job_retry(self, job: Any, queue: Any, retry: Any, *rest: Any, **named: Any) -> None:
        exhausted = bool(job.number_of_retries and job.number_of_retries >= retry.max)
        with self._recording(job, job_states.FAILED if exhausted else completions.RETRIED, None):
            super().handle_job_retry(job, queue, retry, *rest, **named)

    def cleanup_execution(self, job: Any, pipeline: Any, *rest: Any, **named: Any) -> None:
        """RQ's clean-up, plus the job's entry in the same pipeline: one per recorded outcome."""
        super().cleanup_execution(job, pipeline, *rest, **named)
        ending = self._ending
        if ending is None or ending.job_id != job.id:
            return
        fields = completions.entry(
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
        pipeline.xadd(self.stream_key, fields, maxlen=self.stream_maxlen, approximate=True)
        oldest = int((time.time() - self.stream_max_age) * 1000)
        pipeline.xtrim(self.stream_key, minid=f"{oldest}-0", approximate=True)

    @contextmanager
    def _recording(self, job: Any, outcome: str, exception: str | None) -> Iterator[None]:
        self._ending = _Ending(job.id, outcome, exception)
        try:
            yield
        finally:
            self._ending = None


def _check_version(version: str) -> None:
    """Refuse, before any job is taken, an RQ whose handlers this class does not know."""
    major, _, rest = version.partition(".")
    minor = rest.partition(".")[0]
    known = major.isdigit() and minor.isdigit() and int(major) in SUPPORTED_MAJORS
    if not known or (int(major), int(minor)) < (2, 12):
        raise RuntimeError(
            f"qwatch.rq.Worker runs on RQ 2.12 to 3.x, not RQ {version}: "
            "use RQ's own worker class, or a qwatch release made for this RQ"
        )


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
