"""The first line of every face, and what a face says when Redis holds nothing of RQ's."""

from __future__ import annotations

from collections.abc import Sequence

from qwatch.model import RQ, Snapshot
from qwatch.text.formatting import byte_size, plural
from qwatch.text.printable import printable


def headline(snapshot: Snapshot) -> str:
    """Redis version and memory, then the totals: the first line of every face."""
    info = snapshot.redis
    memory = byte_size(info.used_memory_bytes)
    if info.max_memory_bytes:
        memory += f" of {byte_size(info.max_memory_bytes)}"
    queued = sum(queue.queued for queue in snapshot.queues)
    failed = sum(queue.failed or 0 for queue in snapshot.queues)
    line = (
        f"Redis {info.version or '?'}  {memory}  {plural(len(snapshot.queues), 'queue')}"
        f"  {queued} queued  {failed} failed  {plural(len(snapshot.workers), 'worker')}"
    )
    if snapshot.records_skipped:
        line += f"  {plural(snapshot.records_skipped, 'record')} skipped"
    return line


def empty_hint(snapshot: Snapshot, target: str) -> str | None:
    """When nothing of RQ's is here: which db was read, and where else there are keys."""
    if snapshot.queues or snapshot.workers:
        return None
    elsewhere = [
        f"db {db} holds {plural(count, 'key')}"
        for db, count in snapshot.redis.keys_per_db
        if not target.endswith((f"/{db}", f"db={db}"))
    ]
    where = f" ({', '.join(elsewhere)})" if elsewhere else ""
    return (
        f"No RQ queues or workers in {target}. If RQ uses another Redis or db{where},"
        " point qwatch at it: --url redis://HOST:PORT/DB or $QWATCH_REDIS_URL."
    )


def problems(snapshot: Snapshot, untracked: tuple[tuple[str, int], ...] = ()) -> list[str]:
    """What is wrong, most urgent first, one line each: what a person looks at first."""
    lines = []
    if snapshot.expired_workers:
        lines.append(
            f"{plural(len(snapshot.expired_workers), 'worker')} died without unregistering:"
            f" {_names(snapshot.expired_workers)}"
        )
    stale = [worker.name for worker in snapshot.workers if worker.heartbeat_overdue]
    if stale:
        lines.append(f"{plural(len(stale), 'worker')} with an overdue heartbeat: {_names(stale)}")
    if snapshot.abandoned_jobs:
        lines.append(f"{plural(len(snapshot.abandoned_jobs), 'started job')} whose worker is gone")
    stuck = [queue.name for queue in snapshot.queues if queue.queued and queue.workers == 0]
    if stuck:
        lines.append(f"jobs wait and no worker listens: {_names(stuck)}")
    unscheduled = unscheduled_queues(snapshot)
    if unscheduled:
        lines.append(
            f"scheduled jobs wait in {_names(unscheduled)} but no RQ scheduler runs for them"
        )
    unseen = ", ".join(f"{count} {outcome}" for outcome, count in untracked if count)
    if unseen:
        lines.append(f"jobs the workers reported that no registry showed (result_ttl=0?): {unseen}")
    if snapshot.suspended:
        lines.append("RQ is suspended (rq suspend): workers take no jobs")
    return lines


def unscheduled_queues(snapshot: Snapshot) -> list[str]:
    """RQ queues with scheduled jobs that no scheduler will move when they are due."""
    return [
        queue.name
        for queue in snapshot.queues
        if queue.system == RQ and queue.scheduled and queue.scheduler is None
    ]


def _names(names: Sequence[str], shown: int = 5) -> str:
    """The first few names, written out safely, and how many more."""
    text = ", ".join(printable(name) for name in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")
