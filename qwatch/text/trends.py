"""Jobs in and out per second per queue, from successive snapshots and completions.

Queues are keyed by system and name (`row_keys`): an RQ and a Celery queue of
the same name keep their own history, and each counts its own system's completions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from qwatch.model import Completion, Snapshot
from qwatch.text.row_keys import key_of, row_key


@dataclass(frozen=True, slots=True)
class QueueTrend:
    """Jobs in and out per second since the last poll."""

    in_per_second: float | None
    out_per_second: float | None


class Trends:
    """Kept by a face between polls; bounded by the queues that exist."""

    def __init__(self) -> None:
        self._previous: Snapshot | None = None

    def update(
        self,
        snapshot: Snapshot,
        completions: Iterable[Completion],
        unseen: Collection[tuple[str, str]] = (),
    ) -> dict[str, QueueTrend]:
        """Out: jobs that ended. In: what the queue grew by, plus what left it. Keyed by
        `row_keys.key_of`. The queues `unseen` (by system and name) have neither: what
        left them is not known."""
        ended = Counter(row_key(done.system, done.queue) for done in completions)
        before = {key_of(queue): queue for queue in self._previous.queues} if self._previous else {}
        elapsed = snapshot.taken_at - self._previous.taken_at if self._previous else 0.0
        self._previous = snapshot
        trends = {}
        for queue in snapshot.queues:
            key = key_of(queue)
            old = before.get(key)
            rate_in = rate_out = None
            if old is not None and elapsed > 0 and (queue.system, queue.name) not in unseen:
                rate_out = ended[key] / elapsed
                grown = (queue.queued + (queue.started or 0)) - (old.queued + (old.started or 0))
                rate_in = max(0.0, (grown + ended[key]) / elapsed)
            trends[key] = QueueTrend(rate_in, rate_out)
        return trends
