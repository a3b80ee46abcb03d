"""Job totals stay bounded: a queue gone for an hour is forgotten, not before."""

from __future__ import annotations

from qwatch.completions import Completion
from qwatch.exporter.totals import DEFAULT_BUCKETS, FORGET_AFTER, JobTotals
from qwatch.snapshot import QueueStats, RedisInfo, Snapshot


def snapshot(at: float, *queues: str) -> Snapshot:
    stats = tuple(QueueStats(q, 0, 0, 0, 0, 0, 0, 0, 0, None, 0, None) for q in queues)
    return Snapshot(at, stats, (), (), (), False, RedisInfo(None, None, None))


def test_a_vanished_queue_is_forgotten_after_an_hour() -> None:
    totals = JobTotals(DEFAULT_BUCKETS, 50)
    done = Completion("j", "old", "finished", "f", None, 0.0, 1.0, 2.0)
    totals.add(snapshot(0.0, "old"), [done])
    totals.add(snapshot(10.0), [])
    assert totals.finished == {("old", "f"): 1}
    totals.add(snapshot(10.0 + FORGET_AFTER), [])
    assert not totals.finished and not totals.run_time
