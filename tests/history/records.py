"""Snapshots built by hand for the history's pure arithmetic: no Redis is read there."""

from __future__ import annotations

from qwatch.model import RQ, Completion, QueueStats, RedisInfo, Snapshot, WorkerStats


def queue(name: str, queued: int, started: int = 0, *, system: str = RQ) -> QueueStats:
    return QueueStats(
        name=name, queued=queued, started=started, finished=0, failed=0, deferred=0,
        scheduled=0, canceled=0, intermediate=0, oldest_queued_age_seconds=None,
        workers=1, head_job=None, system=system,
    )  # fmt: skip


def worker(name: str, state: str = "idle", *, overdue: bool = False) -> WorkerStats:
    return WorkerStats(
        name=name, hostname=None, pid=None, state=state, queues=("q",), current_job=None,
        current_job_description=None, current_job_seconds=None, birth=None,
        heartbeat_age_seconds=1.0, heartbeat_overdue=overdue, successful_jobs=None,
        failed_jobs=None, working_seconds=None, system=RQ,
    )  # fmt: skip


def snapshot(
    at: float, queues: tuple[QueueStats, ...] = (), workers: tuple[WorkerStats, ...] = ()
) -> Snapshot:
    return Snapshot(
        taken_at=at, queues=queues, workers=workers, abandoned_jobs=(), expired_workers=(),
        suspended=False, redis=RedisInfo("7.0", None, None),
    )  # fmt: skip


def ended(queue: str, outcome: str, at: float, *, system: str = RQ) -> Completion:
    return Completion(
        id=f"{queue}-{at}", queue=queue, outcome=outcome, function="f", exception=None,
        enqueued_at=None, started_at=None, ended_at=at, system=system,
    )  # fmt: skip
