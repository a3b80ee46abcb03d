"""The key of a queue's or a worker's row: its system and its name, so RQ's `default` and
Celery's `default` are two rows, two trends and two selections."""

from __future__ import annotations

from qwatch.model import QueueStats, WorkerStats


def row_key(system: str, name: str) -> str:
    """`system:name`: a system's name holds no colon, so the first one splits them back."""
    return f"{system}:{name}"


def key_of(record: QueueStats | WorkerStats) -> str:
    return row_key(record.system, record.name)


def split_key(key: str) -> tuple[str, str]:
    """(system, name) of a key made by `row_key`."""
    system, _colon, name = key.partition(":")
    return system, name
