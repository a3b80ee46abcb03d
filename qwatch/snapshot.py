"""A sample of RQ's state: plain frozen values that every face reads.

Times are seconds since the epoch as floats; ages are seconds. A value RQ
did not record, or recorded out of any sensible range, is None, never a guess.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class QueueStats:
    """One queue: jobs waiting, jobs in every registry, who listens."""

    name: str
    queued: int
    started: int
    finished: int
    failed: int
    deferred: int
    scheduled: int
    canceled: int
    intermediate: int
    oldest_queued_age_seconds: float | None
    workers: int
    head_job: str | None


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """One registered worker, as its hash in Redis describes it."""

    name: str
    hostname: str | None
    pid: int | None
    state: str
    queues: tuple[str, ...]
    current_job: str | None
    current_job_description: str | None
    current_job_seconds: float | None
    birth: float | None
    heartbeat_age_seconds: float | None
    heartbeat_overdue: bool
    successful_jobs: int | None
    failed_jobs: int | None
    working_seconds: float | None


@dataclass(frozen=True, slots=True)
class AbandonedJob:
    """A started job whose execution stopped heartbeating and whose worker is gone."""

    id: str
    queue: str
    worker: str | None
    overdue_seconds: float


@dataclass(frozen=True, slots=True)
class RedisInfo:
    """What INFO says about the server; None where INFO was not allowed."""

    version: str | None
    used_memory_bytes: int | None
    max_memory_bytes: int | None
    keys_per_db: tuple[tuple[int, int], ...] = ()
    """(db, number of keys) of every non-empty database: where RQ may be when not here."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything qwatch knows about one Redis at one moment."""

    taken_at: float
    queues: tuple[QueueStats, ...]
    workers: tuple[WorkerStats, ...]
    abandoned_jobs: tuple[AbandonedJob, ...]
    expired_workers: tuple[str, ...]
    suspended: bool
    redis: RedisInfo
    records_skipped: int = 0
    """Queues, workers and abandoned jobs left out because a value in them was absurd."""
    notes: tuple[str, ...] = ()
    """What this reading could not see, and why: for a person to read."""

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data; its keys are documented in the README."""
        return asdict(self)
