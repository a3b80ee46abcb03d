"""Job totals stay bounded: a queue gone for an hour is forgotten, not before."""

from __future__ import annotations

from dataclasses import replace

from qwatch.exporter.totals import DEFAULT_BUCKETS, FORGET_AFTER, JobTotals
from qwatch.model import RQ, Completion, QueueStats, RedisInfo, Snapshot


def snapshot(at: float, *queues: str) -> Snapshot:
    stats = tuple(QueueStats(q, 0, 0, 0, 0, 0, 0, 0, 0, None, 0, None, system=RQ) for q in queues)
    return Snapshot(at, stats, (), (), (), False, RedisInfo(None, None, None))


def test_a_vanished_queue_is_forgotten_after_an_hour() -> None:
    totals = JobTotals(DEFAULT_BUCKETS, 50)
    done = Completion("j", "old", "finished", "f", None, 0.0, 1.0, 2.0, system=RQ)
    totals.add(snapshot(0.0, "old"), [done])
    totals.add(snapshot(10.0), [])
    assert totals.finished == {("rq", "old", "f"): 1}
    totals.add(snapshot(10.0 + FORGET_AFTER), [])
    assert not totals.finished and not totals.run_time


def test_an_rq_and_a_celery_queue_of_one_name_are_counted_and_forgotten_apart() -> None:
    totals = JobTotals(DEFAULT_BUCKETS, 1)
    rq = Completion("j", "emails", "failed", "app.send", "ValueError", 0.0, 1.0, 2.0, system=RQ)
    celery = Completion(
        "t", "emails", "failed", "tasks.send", "KeyError", 0.0, 1.0, 5.0, system="celery"
    )
    celery_queue = QueueStats(
        "emails", 0, 0, None, None, None, 0, None, None, None, None, None, system="celery"
    )
    totals.add(snapshot(0.0, "emails"), [rq, celery])
    assert totals.failed == {
        ("rq", "emails", "app.send", "ValueError"): 1,
        ("celery", "emails", "tasks.send", "KeyError"): 1,
    }, "each queue has its own label limit of 1"
    assert totals.run_time[("celery", "emails")].total == 4.0
    only_celery = Snapshot(10.0, (celery_queue,), (), (), (), False, RedisInfo(None, None, None))
    totals.add(only_celery, [])
    totals.add(replace(only_celery, taken_at=10.0 + FORGET_AFTER), [])
    assert totals.failed == {("celery", "emails", "tasks.send", "KeyError"): 1}
    assert set(totals.run_time) == {("celery", "emails")}
