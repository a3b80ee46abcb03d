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

The work horse also keeps the job's own log lines (`qwatch.rq.logs`): each
logging record while the job runs, and with `QWATCH_CAPTURE_OUTPUT=1` what it
prints, written once when the job ends to `rq:job:<id>:qwatch-logs` with the
TTL RQ gave the job's hash: its result TTL when it finished, its failure TTL
when it failed (or was retried: the next run's lines replace these). That
write is on a connection of its own with a `LOG_WRITE_SECONDS` timeout, after
RQ recorded the outcome, and any failure of it is one log line: the job's
outcome is RQ's already.

This is the only module of qwatch that imports RQ, and only the workers
import it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis
import rq
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq.defaults import DEFAULT_FAILURE_TTL
from rq.version import VERSION

from qwatch import job_states
from qwatch.errors import described, exception_line
from qwatch.limits import LOG_WRITE_SECONDS
from qwatch.rq import logs, stream
from qwatch.rq.jobs import exception_name
from qwatch.rq.keys import DEFAULT_PREFIX, RQKeys
from qwatch.wire import completions

SUPPORTED_MAJORS = (2, 3)
"""The RQ major versions whose handlers this class is written against."""
log = logging.getLogger(__name__)


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
        self.capture_output = logs.capture_output_setting()
        self.keys = RQKeys(getattr(rq.defaults, "RQ_KEY_PREFIX", DEFAULT_PREFIX))
        self.stream_key = self.keys.completions
        self._ending: _Ending | None = None
        self._ended: _Ending | None = None

    def serialize(self) -> dict[str, Any]:
        """RQ's worker hash, marked so that qwatch knows this worker's queues are in the stream."""
        fields: dict[str, Any] = super().serialize()
        return {**fields, stream.WORKER_MARK: completions.FORMAT}

    def perform_job(self, job: Any, queue: Any, *rest: Any, **named: Any) -> bool:
        """RQ's run of the job in the work horse, its log lines kept, and stored once RQ has
        recorded its outcome."""
        with logs.captured(self.capture_output) as capture:
            done: bool = super().perform_job(job, queue, *rest, **named)
        self._store_logs(job, capture)
        return done

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

    def _store_logs(self, job: Any, capture: logs.Capture) -> None:
        """One write beside the job, with the TTL of its hash; a failure is logged, never
        raised: the job's outcome is recorded already, and the horse must end as RQ's does."""
        ended = self._ended
        if ended is None or ended.job_id != job.id:
            return  # no outcome recorded here (RQ's own clean-up will record it)
        try:
            ttl = _kept_for(job, ended.outcome, self.default_result_ttl)
            pool = self._logs_pool()
            try:
                logs.store(
                    redis.Redis(connection_pool=pool),
                    self.keys.logs_key(job.id),
                    capture.text(),
                    ttl,
                )
            finally:
                pool.disconnect()
        except Exception as exc:
            log.warning("qwatch: job %s's log lines not stored: %s", job.id, described(exc))

    def _logs_pool(self) -> redis.ConnectionPool:
        """The worker's connection settings, with a short timeout and no retry."""
        pool = self.connection.connection_pool
        options = {
            **pool.connection_kwargs,
            "socket_timeout": LOG_WRITE_SECONDS,
            "socket_connect_timeout": LOG_WRITE_SECONDS,
            "retry": Retry(NoBackoff(), 0),
        }
        return redis.ConnectionPool(connection_class=pool.connection_class, **options)

    @contextmanager
    def _recording(self, job: Any, outcome: str, exception: str | None) -> Iterator[None]:
        self._ending = self._ended = _Ending(job.id, outcome, exception)
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


def _kept_for(job: Any, outcome: str, default_result_ttl: int) -> int:
    """The TTL RQ gave the job's hash for this outcome (`Job.cleanup`, on RQ 2.12 and 3.0):
    the result TTL when it finished, else the failure TTL; -1 keeps it, 0 deletes it."""
    if outcome == job_states.FINISHED:
        return int(job.get_result_ttl(default_result_ttl))
    return int(DEFAULT_FAILURE_TTL if job.failure_ttl is None else job.failure_ttl)


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
