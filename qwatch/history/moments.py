"""What changed: the notable moments between two samples, newest first, for a person to scan.

A worker appeared or went silent, a queue started backing up or drained,
failures jumped, Redis stopped or started answering. Each moment is told
once (a queue backing up is not told again until it has drained), many of
one kind at once are one moment, and only the last `MOMENTS_KEPT` are kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from qwatch.model import Snapshot
from qwatch.text.row_keys import split_key

MOMENTS_KEPT = 1000
GROUPED = 5
"""More moments of one kind in one sample than this are told as one."""
GROWING_SAMPLES = 3
"""Samples in a row a queue's backlog grows before it is backing up..."""
GROWING_LEAST = 10
"""...and the jobs it must hold by then: a queue of three is not backing up."""
JUMP_LEAST = 5
"""Failures in one sample, at least, for a jump..."""
JUMP_FACTOR = 3.0
"""...and this many times the queue's usual failures a sample."""
USUAL_WEIGHT = 0.2
"""How much one sample moves a queue's usual failures (an exponential mean)."""

APPEARED, SILENT, BACKING_UP, DRAINED, FAILURES, UNREACHABLE, ANSWERING = (
    "worker appeared", "worker went silent", "queue backing up", "queue drained",
    "failures jumped", "redis unreachable", "redis answering",
)  # fmt: skip
KINDS = frozenset({APPEARED, SILENT, BACKING_UP, DRAINED, FAILURES, UNREACHABLE, ANSWERING})
"""Every kind of moment: a saved one of another kind is not qwatch's."""


@dataclass(frozen=True, slots=True)
class Moment:
    """One notable change: when, what kind, the queue or worker it names, and in words."""

    at: float
    kind: str
    system: str | None
    name: str | None
    """The queue's or worker's name; None for Redis, or for a group of many."""
    text: str

    def to_dict(self) -> dict[str, object]:
        return {
            "at": self.at,
            "kind": self.kind,
            "system": self.system,
            "name": self.name,
            "text": self.text,
        }


@dataclass(slots=True)
class _QueueWatch:
    queued: int
    growing: int = 0
    backing_up: bool = False
    usual_failures: float = 0.0


class Moments:
    """Kept by a history between samples; bounded by the queues and workers that exist."""

    def __init__(self) -> None:
        self.kept: deque[Moment] = deque(maxlen=MOMENTS_KEPT)
        self._queues: dict[str, _QueueWatch] = {}
        self._workers: set[str] | None = None
        """The live workers' keys at the last sample; None before the first."""
        self._answering = True

    def newest_first(self, limit: int = MOMENTS_KEPT) -> list[Moment]:
        return [self.kept[-1 - i] for i in range(min(limit, len(self.kept)))]

    def sampled(
        self,
        snapshot: Snapshot,
        failures: Mapping[str, int],
        queue_keys: Sequence[str],
        worker_keys: Sequence[str],
    ) -> None:
        """One sample: `failures` counts each queue's failures since the last (by row key);
        `queue_keys` and `worker_keys` are the snapshot's rows' keys, made once a sample."""
        at = snapshot.taken_at
        if not self._answering:
            self._tell(Moment(at, ANSWERING, None, None, "Redis answers again"))
            self._answering = True
        live = {key for key, w in zip(worker_keys, snapshot.workers) if not w.heartbeat_overdue}
        self._sample_workers(at, live)
        for key, queue in zip(queue_keys, snapshot.queues):
            self._sample_queue(at, key, queue.queued, failures.get(key, 0))
        for gone in self._queues.keys() - set(queue_keys):
            del self._queues[gone]

    def unreachable(self, at: float, reason: str) -> None:
        """A sample that failed: told once until Redis answers again."""
        if self._answering:
            self._tell(Moment(at, UNREACHABLE, None, None, f"Redis unreachable: {reason}"))
            self._answering = False

    def _sample_workers(self, at: float, live: set[str]) -> None:
        if self._workers is not None:
            self._tell_many(at, APPEARED, sorted(live - self._workers), "appeared")
            self._tell_many(at, SILENT, sorted(self._workers - live), "went silent")
        self._workers = live

    def _sample_queue(self, at: float, key: str, queued: int, failed: int) -> None:
        seen = self._queues.get(key)
        if seen is None:
            self._queues[key] = _QueueWatch(queued)
            return
        seen.growing = seen.growing + 1 if queued > seen.queued else 0
        seen.queued = queued
        if not seen.backing_up and seen.growing >= GROWING_SAMPLES and queued >= GROWING_LEAST:
            seen.backing_up = True
            self._tell_queue(at, BACKING_UP, key, f" backing up: {queued:,}")
        elif seen.backing_up and queued == 0:
            seen.backing_up = False
            self._tell_queue(at, DRAINED, key, " drained")
        if failed >= JUMP_LEAST and failed > JUMP_FACTOR * seen.usual_failures:
            self._tell_queue(at, FAILURES, key, f": {failed:,} failures since the last sample")
        seen.usual_failures += USUAL_WEIGHT * (failed - seen.usual_failures)

    def _tell_many(self, at: float, kind: str, keys: Iterable[str], verb: str) -> None:
        keys = list(keys)
        if len(keys) > GROUPED:
            names = ", ".join(split_key(key)[1] for key in keys[:3])
            self._tell(Moment(at, kind, None, None, f"{len(keys):,} workers {verb}: {names}, …"))
            return
        for key in keys:
            system, name = split_key(key)
            self._tell(Moment(at, kind, system, name, f"{name} {verb}"))

    def _tell_queue(self, at: float, kind: str, key: str, words: str) -> None:
        """A moment of the queue whose row key is `key`, its name and then `words`: the name
        is split out only now, as few samples tell one."""
        system, name = split_key(key)
        self._tell(Moment(at, kind, system, name, name + words))

    def _tell(self, moment: Moment) -> None:
        self.kept.append(moment)
