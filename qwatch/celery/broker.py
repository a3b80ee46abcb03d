from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis

from qwatch.celery.layout import CeleryLayout
from qwatch.snapshot import QueueStats


@dataclass(frozen=True, slots=True)
class CeleryReading:
    queues: tuple[QueueStats, ...]
    reserved: int
    records_skipped: int
    notes: tuple[str, ...]
    task_queues: tuple[tuple[str, str], ...]


def discover_queues(client: redis.Redis, layout: CeleryLayout) -> tuple[str, ...]:
    raise NotImplementedError


def celery_present(client: redis.Redis, layout: CeleryLayout) -> bool:
    raise NotImplementedError


def read_celery_queues(
    client: redis.Redis, layout: CeleryLayout, queues: Sequence[str], now: float | None = None
) -> CeleryReading:
    raise NotImplementedError
