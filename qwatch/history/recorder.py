"""Each queue's and worker's recent past, kept by a face from its samples, within a memory bound.

Per queue: queued, started, jobs in, out and failed per minute, and the
oldest job's age; per worker: the share of samples it was busy. Two tiers:
the last hour (`HOUR_STEP` seconds a slot) and the last day (`DAY_STEP`).
All of it lives in float32 rings (`rings.Ring`) whose size is fixed when a
queue or worker is first seen, so the memory is counted, not guessed: when
one more would take it past `HISTORY_BYTES`, every ring is coarsened (half
the points, twice the step, the same span). A fleet of 1,000 queues and
1,000 workers keeps full resolution; at 10,000 and 10,000 the steps are 4x
longer. A queue or worker not seen for a day is forgotten.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from qwatch.history.moments import Moment, Moments
from qwatch.history.rings import Ring
from qwatch.model import Completion, Snapshot
from qwatch.text.row_keys import key_of, row_key, split_key

HISTORY_BYTES = 48 << 20
"""The most a history's points take (float32s); the rest of its memory is per queue."""
HOUR, DAY = "hour", "day"
TIERS = {HOUR: (3600.0, 15.0), DAY: (86400.0, 300.0)}
"""Each tier's span and its finest step, both in seconds."""
QUEUE_MEASURES = ("queued", "started", "in", "out", "failed", "oldest")
"""What a queue's history holds: counts are per minute; `in` and `out` are absent where
the jobs that ended are unseen (Dramatiq without qwatch's middleware, arq without its hooks)."""
PACE = TIERS[HOUR][1]
"""Seconds between samples by default: one a slot of the last hour."""
PACES = (1.0, 300.0)
"""The paces one may ask for: a sample costs a reading of Redis."""
WORKER_MEASURES = ("busy",)
"""A worker's share of samples in which it was running a job."""
TOTAL_MEASURES = ("out", "failed")
"""Every queue's at once, per minute: `out` summed over the queues whose ended jobs are seen."""
TOTAL = "all queues"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Measured:
    """One queue's or worker's history in one tier: each measure's (unix time, value) points."""

    system: str
    name: str
    step: float
    measures: dict[str, list[tuple[float, float]]]

    def to_dict(self) -> dict[str, object]:
        points = {
            measure: [[at, round(value, 3)] for at, value in values]
            for measure, values in self.measures.items()
        }
        return {"system": self.system, "name": self.name, "step": self.step, **points}


class History:
    """Every queue's and worker's rings, fed one sample at a time."""

    def __init__(self, budget: int = HISTORY_BYTES) -> None:
        self.budget = budget
        self.coarsening = 1
        """How many times coarser than `TIERS` the steps are: 1, 2, 4..."""
        self.moments = Moments()
        self._queues: dict[str, dict[str, Ring]] = {}
        self._workers: dict[str, dict[str, Ring]] = {}
        self._totals = {TOTAL: self._new_rings(TOTAL_MEASURES)}
        self._backlog: dict[str, int] = {}
        """Each queue's queued plus started at the last sample: what `in` is counted from."""
        self._sampled_at: float | None = None
        """When the last sample was taken; after a restart, the totals' last slot stands in."""
        self.lock = threading.Lock()
        """Held by a sample and by each answer, which come from different threads."""

    def record(
        self,
        snapshot: Snapshot,
        completions: Iterable[Completion],
        unseen: Collection[tuple[str, str]] = (),
    ) -> None:
        """One sample; `completions`: the jobs that ended since the last; `unseen`: the
        queues (by system and name) whose ended jobs are not seen."""
        with self.lock:
            self._record(snapshot, completions, unseen)

    def unreachable(self, at: float, reason: str) -> None:
        with self.lock:
            self.moments.unreachable(at, reason)

    def moments_newest_first(self, limit: int) -> list[Moment]:
        with self.lock:
            return self.moments.newest_first(limit)

    def queue(self, system: str, name: str, tier: str = HOUR) -> Measured | None:
        with self.lock:
            return _measured(self._queues, row_key(system, name), QUEUE_MEASURES, tier)

    def worker(self, system: str, name: str, tier: str = HOUR) -> Measured | None:
        with self.lock:
            return _measured(self._workers, row_key(system, name), WORKER_MEASURES, tier)

    def totals(self, tier: str = HOUR) -> Measured:
        """Every queue's jobs out and failed per minute, summed: the fleet's throughput."""
        with self.lock:
            measured = _measured(self._totals, TOTAL, TOTAL_MEASURES, tier)
            assert measured is not None
            return measured

    def queue_columns(self, measure: str, now: float) -> tuple[float, dict[str, list[float]]]:
        """One measure of every queue over the last hour ending `now`, by row key: the
        hour's step, and per queue a value a slot, oldest first, NaN where nobody sampled."""
        with self.lock:
            return _columns(self._queues, QUEUE_MEASURES.index(measure), now)

    def hour_step(self) -> float:
        """Seconds a slot of the hour, as coarse as the bound has made it."""
        return TIERS[HOUR][1] * self.coarsening

    def queue_column(self, system: str, name: str, measure: str, now: float) -> list[float]:
        """One measure of one queue over the last hour ending `now` (as `queue_columns`);
        empty when the queue has no history."""
        with self.lock:
            rings = self._queues.get(row_key(system, name))
            index = QUEUE_MEASURES.index(measure)
            return rings[HOUR].column(index, now) if rings else []

    def total_column(self, measure: str, now: float) -> list[float]:
        """The fleet's jobs `out` or `failed` per minute over the last hour ending `now`."""
        with self.lock:
            return self._totals[TOTAL][HOUR].column(TOTAL_MEASURES.index(measure), now)

    def worker_columns(self, measure: str, now: float) -> tuple[float, dict[str, list[float]]]:
        with self.lock:
            return _columns(self._workers, WORKER_MEASURES.index(measure), now)

    def queues(self, tier: str = HOUR, limit: int | None = None) -> list[Measured]:
        """Every queue's history, by system and name; the first `limit` if given."""
        with self.lock:
            keys = sorted(self._queues)[:limit]
            return [m for k in keys if (m := _measured(self._queues, k, QUEUE_MEASURES, tier))]

    def workers(self, tier: str = HOUR, limit: int | None = None) -> list[Measured]:
        with self.lock:
            keys = sorted(self._workers)[:limit]
            return [m for k in keys if (m := _measured(self._workers, k, WORKER_MEASURES, tier))]

    def counted(self) -> tuple[int, int]:
        """How many queues and workers the history holds."""
        with self.lock:
            return len(self._queues), len(self._workers)

    def nbytes(self) -> int:
        """What the points take: the bound `budget` holds."""
        return sum(
            ring.nbytes() for kept in (self._queues, self._workers, self._totals)
            for rings in kept.values() for ring in rings.values()
        )  # fmt: skip

    def _record(
        self,
        snapshot: Snapshot,
        completions: Iterable[Completion],
        unseen: Collection[tuple[str, str]],
    ) -> None:
        at = snapshot.taken_at
        ended = Counter(row_key(done.system, done.queue) for done in completions)
        failed = Counter(
            row_key(done.system, done.queue) for done in completions if done.outcome == FAILED
        )
        queue_keys = [key_of(queue) for queue in snapshot.queues]
        worker_keys = [key_of(worker) for worker in snapshot.workers]
        self.moments.sampled(snapshot, failed, queue_keys, worker_keys)
        self._make_room(queue_keys, worker_keys)
        backlog = {}
        per_minute = self._per_minute(at)
        total_out = math.nan if snapshot.queues else 0.0  # no queue: nothing ended, seen
        for key, queue in zip(queue_keys, snapshot.queues):
            held = queue.queued + (queue.started or 0)
            backlog[key] = held
            out: float = ended[key]
            before = self._backlog.get(key)
            came: float = max(0.0, held - before + out) if before is not None else math.nan
            if (queue.system, queue.name) in unseen:
                out = came = math.nan
            age = queue.oldest_queued_age_seconds
            sample = (
                float(queue.queued), float(queue.started or 0), came * per_minute,
                out * per_minute, failed[key] * per_minute, age if age is not None else 0.0,
            )  # fmt: skip
            self._add(self._queues, key, QUEUE_MEASURES, at, sample)
            if not math.isnan(out):
                total_out = out + (0.0 if math.isnan(total_out) else total_out)
        self._backlog = backlog
        self._sampled_at = at
        self._add(
            self._totals,
            TOTAL,
            TOTAL_MEASURES,
            at,
            (total_out * per_minute, failed.total() * per_minute),
        )
        for key, worker in zip(worker_keys, snapshot.workers):
            busy = 1.0 if worker.state == "busy" else 0.0
            self._add(self._workers, key, WORKER_MEASURES, at, (busy,))
        self._forget_before(at - TIERS[DAY][0])

    def _per_minute(self, at: float) -> float:
        """What turns a sample's counts into counts per minute: they are what ended since the
        last sample, so over that time, whatever `--history-interval` (a slot's rate is then
        the mean of its samples'). The first sample, and the first after a restart whose
        time is not kept, count over one slot."""
        last = self._sampled_at
        if last is None:
            last = self._totals[TOTAL][HOUR].last_slot_at()
        elapsed = at - last if last is not None else 0.0
        return 60 / (elapsed if elapsed > 0 else self.hour_step())

    def _add(
        self,
        kept: dict[str, dict[str, Ring]],
        key: str,
        measures: Sequence[str],
        at: float,
        sample: Sequence[float],
    ) -> None:
        """`sample` into the hour ring of `key`, made the first time it is seen; the day ring
        takes each hour slot as it closes, so a sample costs one ring, not two."""
        rings = kept.get(key)
        if rings is None:
            rings = kept[key] = self._new_rings(measures)
        closed = rings[HOUR].add(at, sample)
        if closed is not None:
            rings[DAY].add(*closed)

    def _make_room(self, queue_keys: Iterable[str], worker_keys: Iterable[str]) -> None:
        """Coarsen once, as much as the sample's new queues and workers need, before they
        are made: one pass over the rings however many arrive at once."""
        queues = len(self._queues.keys() | set(queue_keys))
        workers = len(self._workers.keys() | set(worker_keys))
        coarsening = self.coarsening
        while self._points_bytes(queues, workers, coarsening) > self.budget:
            coarsening *= 2
        if coarsening == self.coarsening:
            return
        for kept in (self._queues, self._workers, self._totals):
            for rings in kept.values():
                for tier, ring in rings.items():
                    while ring.step < TIERS[tier][1] * coarsening:
                        ring = ring.coarsened()
                    rings[tier] = ring
        self.coarsening = coarsening

    def _new_rings(self, measures: Sequence[str]) -> dict[str, Ring]:
        return {
            tier: Ring(
                len(measures), step * self.coarsening, max(1, int(span // (step * self.coarsening)))
            )
            for tier, (span, step) in TIERS.items()
        }

    def _points_bytes(self, queues: int, workers: int, coarsening: int) -> int:
        """What the points of `queues` and `workers` take, `coarsening` times coarser."""
        slots = sum(int(span // (step * coarsening)) for span, step in TIERS.values())
        measures = queues * len(QUEUE_MEASURES) + workers * len(WORKER_MEASURES)
        return 4 * slots * (measures + len(TOTAL_MEASURES))

    def _forget_before(self, oldest: float) -> None:
        for kept in (self._queues, self._workers):
            stale = [
                key for key, rings in kept.items() if (rings[HOUR].last_slot_at() or 0) < oldest
            ]
            for key in stale:
                del kept[key]


def _columns(
    kept: dict[str, dict[str, Ring]], measure: int, now: float
) -> tuple[float, dict[str, list[float]]]:
    columns = {key: rings[HOUR].column(measure, now) for key, rings in kept.items()}
    step = next(iter(kept.values()))[HOUR].step if kept else TIERS[HOUR][1]
    return step, columns


def _measured(
    kept: dict[str, dict[str, Ring]], key: str, measures: Sequence[str], tier: str
) -> Measured | None:
    rings = kept.get(key)
    if rings is None:
        return None
    ring = rings[tier]
    system, name = split_key(key)
    points = {measure: ring.points(i) for i, measure in enumerate(measures)}
    return Measured(system, name, ring.step, points)
