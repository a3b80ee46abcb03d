"""The first line of every face, and what a face says when Redis holds nothing of RQ's."""

from __future__ import annotations

from qwatch.model import Snapshot
from qwatch.text.formatting import byte_size, plural


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
