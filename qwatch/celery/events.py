from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from qwatch.completions import Completion
from qwatch.snapshot import CeleryWatch, WorkerStats


@dataclass(frozen=True, slots=True)
class CeleryView:
    workers: tuple[WorkerStats, ...]
    expired_workers: tuple[str, ...]
    watch: CeleryWatch
    records_skipped: int
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CeleryFailure:
    id: str


class CeleryEvents:
    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "",
        result_prefix: str = "",
        db: int | None = None,
    ) -> None: ...
    def start(self) -> None: ...
    def stop(self, timeout: float = 10.0) -> None: ...
    def remember_queues(self, pairs: Iterable[tuple[str, str]]) -> None: ...
    def view(self, now: float | None = None) -> CeleryView:
        raise NotImplementedError

    def take_completions(self) -> list[Completion]:
        return []

    def failures(self) -> tuple[CeleryFailure, ...]:
        return ()

    def wait_for_events(self, count: int, timeout: float) -> bool:
        return False
