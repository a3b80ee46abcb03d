"""qwatch: monitoring for RQ task queues on Redis."""

from __future__ import annotations

from qwatch.connection import Target, connect
from qwatch.decode import DecodedCall, decode_job_data
from qwatch.errors import QwatchError, RedisUnavailable, TargetError
from qwatch.reader import read_snapshot
from qwatch.snapshot import AbandonedJob, QueueStats, RedisInfo, Snapshot, WorkerStats

__version__ = "0.1.0"

__all__ = [
    "AbandonedJob",
    "DecodedCall",
    "QueueStats",
    "QwatchError",
    "RedisInfo",
    "RedisUnavailable",
    "Snapshot",
    "Target",
    "TargetError",
    "WorkerStats",
    "__version__",
    "connect",
    "decode_job_data",
    "read_snapshot",
]
