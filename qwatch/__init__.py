"""qwatch: a read-only monitor for the Python task queues that live in Redis (RQ, Celery)."""

from __future__ import annotations

from qwatch.errors import QwatchError, RedisUnavailable, TargetError
from qwatch.model import AbandonedJob, QueueStats, RedisInfo, Snapshot, WorkerStats
from qwatch.pickle.decode import DecodedCall, decode_job_data
from qwatch.rq.reader import read_snapshot
from qwatch.watch import Watch
from qwatch.wire.connection import Target, connect

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
    "Watch",
    "WorkerStats",
    "__version__",
    "connect",
    "decode_job_data",
    "read_snapshot",
]
