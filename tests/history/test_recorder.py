"""A history fed by hand-made samples: rates, unseen queues, the memory bound, the moments."""

from __future__ import annotations

from qwatch.history.moments import (
    ANSWERING,
    APPEARED,
    BACKING_UP,
    DRAINED,
    FAILURES,
    SILENT,
    UNREACHABLE,
)  # fmt: skip
from qwatch.history.recorder import DAY, HOUR, History
from qwatch.model import DRAMATIQ, RQ
from tests.history.records import ended, queue, snapshot, worker


def test_jobs_in_and_out_per_minute_from_the_backlog_and_what_ended() -> None:
    history = History()
    history.record(snapshot(0, (queue("emails", 10),)), [])
    done = [ended("emails", "finished", 10), ended("emails", "failed", 12)]
    history.record(snapshot(15, (queue("emails", 14),)), done)  # grew by 4, 2 ended: 6 came
    measured = history.queue(RQ, "emails")
    assert measured is not None and measured.step == 15
    assert measured.measures["queued"] == [(0, 10.0), (15, 14.0)]
    assert measured.measures["out"] == [(0, 0.0), (15, 8.0)]  # 2 in 15 s
    assert measured.measures["in"] == [(15, 24.0)]  # nothing to count from at first
    assert measured.measures["failed"] == [(0, 0.0), (15, 4.0)]
    day = history.queue(RQ, "emails", DAY)
    assert day is not None and day.step == 300
    assert day.measures["queued"] == [(0, 10.0)]  # the day takes each hour slot once closed


def test_a_rate_reads_the_same_whatever_the_pace_of_the_samples() -> None:
    history = History()
    history.record(snapshot(0, (queue("emails", 0),)), [])
    thirty = [ended("emails", "finished", 10 + n) for n in range(30)]
    history.record(snapshot(300, (queue("emails", 0),)), thirty)  # 30 in 5 minutes
    history.record(snapshot(600, (queue("emails", 0),)), [])  # the day takes the slot
    for tier in (HOUR, DAY):
        measured = history.queue(RQ, "emails", tier)
        assert measured is not None and (300, 6.0) in measured.measures["out"]
    assert (300, 6.0) in history.totals(DAY).measures["out"]


def test_a_queue_whose_ended_jobs_are_unseen_has_no_in_or_out() -> None:
    history = History()
    for at in (0, 15, 30):
        history.record(
            snapshot(at, (queue("exports", 3, system=DRAMATIQ),)), [], {(DRAMATIQ, "exports")}
        )
    measured = history.queue(DRAMATIQ, "exports")
    assert measured is not None
    assert measured.measures["in"] == measured.measures["out"] == []
    assert len(measured.measures["queued"]) == 3


def test_ten_thousand_queues_and_workers_stay_within_the_bound() -> None:
    history = History()
    queues = tuple(queue(f"q{n}", n % 7) for n in range(10_000))
    workers = tuple(worker(f"w{n}", "busy" if n % 2 else "idle") for n in range(10_000))
    for at in range(0, 600, 15):
        history.record(snapshot(at, queues, workers), [])
    assert history.nbytes() <= history.budget
    assert history.coarsening == 4  # a minute a point for the last hour, 20 for the day
    w1 = history.worker(RQ, "w1", HOUR)
    assert w1 is not None and w1.step == 60 and w1.measures["busy"][0] == (0, 1.0)


def test_a_growing_fleet_coarsens_what_it_kept_without_losing_its_span() -> None:
    history = History(budget=100_000)  # room for about eight queues
    history.record(snapshot(0, (queue("a", 1),)), [])
    history.record(snapshot(15, (queue("a", 3),)), [])
    grown = (*(queue(f"q{n}", 0) for n in range(10)), queue("a", 5))
    history.record(snapshot(30, grown), [])
    assert history.coarsening == 2
    measured = history.queue(RQ, "a")
    assert measured is not None and measured.step == 15 * history.coarsening
    assert measured.measures["queued"] == [(0.0, 2.0), (30.0, 5.0)]  # 1 and 3 in one slot
    assert history.nbytes() <= history.budget


def test_the_moments_an_operator_looks_for_newest_first() -> None:
    history = History()
    history.record(snapshot(0, (queue("emails", 0),), (worker("w1"),)), [])
    for n, at in enumerate((15, 30, 45), start=1):
        history.record(snapshot(at, (queue("emails", 10 * n),), (worker("w1"), worker("w2"))), [])
    history.unreachable(50, "connection refused")
    history.unreachable(55, "connection refused")  # told once
    failures = [ended("emails", "failed", 58) for _ in range(6)]
    history.record(snapshot(60, (queue("emails", 0),), (worker("w2"),)), failures)
    kinds = [(m.kind, m.name) for m in history.moments_newest_first(10)]
    assert kinds == [
        (FAILURES, "emails"), (DRAINED, "emails"), (SILENT, "w1"), (ANSWERING, None),
        (UNREACHABLE, None), (BACKING_UP, "emails"), (APPEARED, "w2"),
    ]  # fmt: skip
    assert history.moments_newest_first(10)[0].text == "emails: 6 failures since the last sample"


def test_many_workers_at_once_are_one_moment() -> None:
    history = History()
    history.record(snapshot(0), [])
    history.record(snapshot(15, (), tuple(worker(f"w{n}") for n in range(40))), [])
    (moment,) = history.moments_newest_first(10)
    assert moment.kind == APPEARED and moment.name is None
    assert moment.text == "40 workers appeared: w0, w1, w10, …"


def test_a_queue_is_kept_while_seen_and_forgotten_a_day_after() -> None:
    history = History()
    now = 1_800_000_000.0  # a real clock, not the epoch
    history.record(snapshot(now, (queue("emails", 1), queue("old", 1))), [])
    assert history.counted() == (2, 0)
    history.record(snapshot(now + 86_000, (queue("emails", 2),)), [])
    assert history.counted() == (2, 0)  # "old" is part of the day still
    history.record(snapshot(now + 86_500, (queue("emails", 3),)), [])
    assert history.counted() == (1, 0)
    assert history.queue(RQ, "old") is None


def test_the_fleets_throughput_sums_the_queues_whose_ended_jobs_are_seen() -> None:
    history = History()
    unseen = {(DRAMATIQ, "exports")}
    queues = (queue("emails", 1), queue("exports", 1, system=DRAMATIQ))
    history.record(snapshot(0, queues), [], unseen)
    done = [ended("emails", "finished", 5), ended("emails", "failed", 6)]
    history.record(
        snapshot(15, queues), [*done, ended("exports", "failed", 7, system=DRAMATIQ)], unseen
    )
    totals = history.totals()
    assert totals.measures["out"] == [(0, 0.0), (15, 8.0)]  # 2 of emails in 15 s
    assert totals.measures["failed"] == [(0, 0.0), (15, 8.0)]  # 1 of each
    step, columns = history.queue_columns("queued", now=15)
    assert step == 15 and set(columns) == {"rq:emails", "dramatiq:exports"}
    assert columns["rq:emails"][-2:] == [1.0, 1.0] and len(columns["rq:emails"]) == 240
