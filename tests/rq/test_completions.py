"""Each finished or failed job is reported once, with mixed ttls, by reading only what is new."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from harness import tasks
from harness.polling import wait_until
from harness.workers import run_burst, running_jobs, start_worker, stop_worker
from qwatch.model import Completion
from qwatch.rq.completions import CompletionTracker
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.rq.reader import read_snapshot
from qwatch.rq.tracking import Following
from qwatch.wire.turns import GaveWay, Turn


def poll(tracker: CompletionTracker, client: redis.Redis) -> list[Completion]:
    return tracker.poll(client)


def test_defaults_and_declared_ttls_each_counted_once(client: redis.Redis, url: str) -> None:
    tracker = CompletionTracker(ttls=[60])
    assert poll(tracker, client) == []
    queue = Queue("default", connection=client)
    old = queue.enqueue(tasks.add, 0, 0, result_ttl=60)
    run_burst(url, ["default"])
    assert [c.id for c in poll(tracker, client)] == [old.id]
    jobs = [
        queue.enqueue(tasks.add, 1, 1),
        queue.enqueue(tasks.add, 2, 2, result_ttl=60),
        queue.enqueue(tasks.divide, 1, 0),
        queue.enqueue(tasks.divide, 2, 0, failure_ttl=60),
        queue.enqueue(tasks.fail, "upstream said no"),
    ]
    run_burst(url, ["default"])
    completions = poll(tracker, client)
    assert sorted(c.id for c in completions) == sorted(job.id for job in jobs)
    by_id = {c.id: c for c in completions}
    for job in jobs:
        rq_job = Job.fetch(job.id, connection=client)
        seen = by_id[job.id]
        assert seen.outcome == rq_job.get_status()
        assert seen.function == rq_job.func_name
        assert rq_job.started_at and rq_job.ended_at and rq_job.enqueued_at
        assert seen.run_seconds == pytest.approx(
            (rq_job.ended_at - rq_job.started_at).total_seconds(), abs=1e-3
        )
        assert seen.wait_seconds == pytest.approx(
            (rq_job.started_at - rq_job.enqueued_at).total_seconds(), abs=1e-3
        )
    assert {by_id[job.id].exception for job in jobs[2:4]} == {"ZeroDivisionError"}
    assert by_id[jobs[4].id].exception == "ValueError"
    assert poll(tracker, client) == []


@pytest.fixture
def worker(url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker(url, ["default"], name="tracked")
    yield process
    stop_worker(process)


def test_a_ttl_is_learned_from_a_running_job(
    client: redis.Redis, worker: subprocess.Popen[bytes]
) -> None:
    tracker = CompletionTracker()
    poll(tracker, client)
    queue = Queue("default", connection=client)
    slow = queue.enqueue(tasks.sleep, 0.5, result_ttl=7200)
    wait_until(lambda: slow.id in running_jobs(client, "tracked"), "slow job")
    assert poll(tracker, client) == []
    fast = [queue.enqueue(tasks.add, i, 1, result_ttl=7200) for i in range(3)]
    wait_until(
        lambda: all(Job.fetch(j.id, connection=client).get_status() == "finished" for j in fast),
        "jobs",
    )
    seen = poll(tracker, client)
    assert sorted(c.id for c in seen) == sorted([slow.id, *(j.id for j in fast)])
    assert poll(tracker, client) == []


def test_a_new_job_scoring_below_an_old_one_is_counted(client: redis.Redis, url: str) -> None:
    tracker = CompletionTracker(ttls=[60])
    poll(tracker, client)
    queue = Queue("default", connection=client)
    long_kept = queue.enqueue(tasks.add, 1, 1, result_ttl=86_400)
    queue.enqueue(tasks.add, 0, 0, result_ttl=86_400)  # at the head when polled: its ttl is learned
    poll(tracker, client)
    run_burst(url, ["default"])
    first = poll(tracker, client)
    assert long_kept.id in {c.id for c in first} and len(first) == 2
    short_kept = queue.enqueue(tasks.add, 2, 2, result_ttl=60)
    run_burst(url, ["default"])
    short_score = client.zscore("rq:finished:default", short_kept.id)
    long_score = client.zscore("rq:finished:default", long_kept.id)
    assert short_score is not None and long_score is not None and short_score < long_score
    assert [c.id for c in poll(tracker, client)] == [short_kept.id]


def test_a_restarted_tracker_counts_only_what_ends_after_it_starts(
    client: redis.Redis, url: str
) -> None:
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 1, 1)
    run_burst(url, ["default"])
    restarted = CompletionTracker()
    assert poll(restarted, client) == []
    assert poll(restarted, client) == []
    job = queue.enqueue(tasks.add, 2, 2)
    run_burst(url, ["default"])
    assert [c.id for c in poll(restarted, client)] == [job.id]


def test_state_stays_bounded(client: redis.Redis, url: str) -> None:
    tracker = CompletionTracker()
    poll(tracker, client)
    for round_number in range(3):
        for queue_name in ("a", "b"):
            Queue(queue_name, connection=client).enqueue(tasks.add, round_number, 1)
        run_burst(url, ["a", "b"])
        assert len(poll(tracker, client)) == 2
    Queue("b", connection=client).delete(delete_jobs=True)
    poll(tracker, client)
    assert {queue for queue, _outcome in tracker._registries} == {"a"}
    tracker.poll(client, now=time.time() + 120)
    assert all(not registry.recent for registry in tracker._registries.values())


Outcome = tuple[str, str, str | None, str | None]
"""Queue, outcome, function, exception: what the exporter's counters are labelled by."""
ADD, DIVIDE, FAIL = "harness.tasks.add", "harness.tasks.divide", "harness.tasks.fail"


def tally(completions: list[Completion]) -> Counter[Outcome]:
    return Counter((c.queue, c.outcome, c.function, c.exception) for c in completions)


def test_never_seen_ttls_run_entirely_between_two_polls(client: redis.Redis, url: str) -> None:
    queue, other = Queue("default", connection=client), Queue("other", connection=client)
    for i in range(20):  # older entries a discovery reads past: not new, not counted
        queue.enqueue(tasks.add, i, 0, result_ttl=30 + i)
    queue.enqueue(tasks.divide, 0, 0, failure_ttl=100)
    run_burst(url, ["default"])
    tracker = CompletionTracker()
    assert poll(tracker, client) == []

    truth: Counter[Outcome] = Counter()
    for i, ttl in enumerate((15, 15, 37, 123, 4000, 86_400, 500)):
        queue.enqueue(tasks.add, i, 1, result_ttl=ttl)
        truth[("default", "finished", ADD, None)] += 1
    for ttl in (77, 3000):
        other.enqueue(tasks.divide, 1, 0, failure_ttl=ttl)
        truth[("other", "failed", DIVIDE, "ZeroDivisionError")] += 1
    other.enqueue(tasks.fail, "upstream said no", failure_ttl=55)
    truth[("other", "failed", FAIL, "ValueError")] += 1
    other.enqueue(tasks.add, 2, 2, result_ttl=9_999)
    truth[("other", "finished", ADD, None)] += 1
    run_burst(url, ["default", "other"])

    assert tally(poll(tracker, client)) == truth
    assert tracker.round_trips <= 7
    assert poll(tracker, client) == []
    assert tracker.round_trips == 2  # nothing new: names, then counts and windows

    queue.enqueue(tasks.add, 9, 9, result_ttl=37)  # a ttl learned by the discovery
    run_burst(url, ["default"])
    assert tally(poll(tracker, client)) == {("default", "finished", ADD, None): 1}
    assert tracker.round_trips == 3  # names, counts and windows, the new job: no discovery


def test_jobs_requeued_and_deleted_between_polls(client: redis.Redis, url: str) -> None:
    tracker = CompletionTracker()
    poll(tracker, client)
    queue = Queue("default", connection=client)
    failing = [queue.enqueue(tasks.divide, i, 0) for i in range(3)]
    done = [queue.enqueue(tasks.add, i, 1) for i in range(3)]
    run_burst(url, ["default"])
    assert tally(poll(tracker, client)) == {
        ("default", "failed", DIVIDE, "ZeroDivisionError"): 3,
        ("default", "finished", ADD, None): 3,
    }
    # RQ scores by whole seconds: a re-run ending in the very second of the first end
    # would keep its score, a limit docs/serve.md states; this test is about requeues.
    first_ends = time.time()
    wait_until(lambda: time.time() >= int(first_ends) + 1, "the next whole second")

    failed = FailedJobRegistry("default", connection=client)
    for job in failing[:2]:
        failed.requeue(job.id)  # they run again and fail again: two more failures
    done[0].delete()
    FinishedJobRegistry("default", connection=client).remove(done[1].id)
    truth: Counter[Outcome] = Counter({("default", "failed", DIVIDE, "ZeroDivisionError"): 2})
    queue.enqueue(tasks.add, 7, 7, result_ttl=45)  # a new ttl, where two entries went
    truth[("default", "finished", ADD, None)] += 1
    queue.enqueue(tasks.add, 8, 8)
    truth[("default", "finished", ADD, None)] += 1
    queue.enqueue(tasks.divide, 5, 0, failure_ttl=999)  # a new ttl, where two were requeued
    truth[("default", "failed", DIVIDE, "ZeroDivisionError")] += 1
    run_burst(url, ["default"])
    assert tally(poll(tracker, client)) == truth
    assert poll(tracker, client) == []


def test_rq_clean_up_between_polls(
    client: redis.Redis, url: str, worker: subprocess.Popen[bytes]
) -> None:
    tracker = CompletionTracker()
    poll(tracker, client)
    queue = Queue("default", connection=client)
    short = [queue.enqueue(tasks.add, i, 1, result_ttl=5) for i in range(3)]
    doomed = queue.enqueue(tasks.sleep, 60)  # its worker is killed: RQ's clean-up fails it
    wait_until(
        lambda: doomed.id in running_jobs(client, "tracked"),
        "the slow job to start",
    )
    stop_worker(worker)
    assert tally(poll(tracker, client)) == {("default", "finished", ADD, None): 3}
    expiry = max(client.zscore("rq:finished:default", job.id) or 0 for job in short)
    wait_until(lambda: time.time() > expiry + 1, "the short results to expire")

    queue.enqueue(tasks.add, 5, 5, result_ttl=61)  # a new ttl, where the clean-up removes three
    FinishedJobRegistry("default", connection=client).cleanup()
    run_burst(url, ["default"])
    started = StartedJobRegistry("default", connection=client)
    started.cleanup(timestamp=time.time() + 3600)  # as if its heartbeat had long lapsed
    assert Job.fetch(doomed.id, connection=client).get_status() == "failed"
    assert tally(poll(tracker, client)) == {
        ("default", "finished", ADD, None): 1,
        ("default", "failed", "harness.tasks.sleep", "AbandonedJobError"): 1,
    }
    assert poll(tracker, client) == []


STEPS = 16
"""Where the poll of `three_ended` can stop: before each of its round trips, after each
one's replies, and as it works on the registries' replies."""


@pytest.fixture
def three_ended(client: redis.Redis, url: str) -> CompletionTracker:
    """A tracker past its first poll, and three jobs ended since, one of an unknown ttl."""
    tracker = CompletionTracker()
    poll(tracker, client)
    queue = Queue("default", connection=client)
    queue.enqueue(tasks.add, 1, 1)
    queue.enqueue(tasks.add, 2, 2, result_ttl=71)  # never seen: a discovery, 7 round trips
    queue.enqueue(tasks.divide, 1, 0)
    run_burst(url, ["default"])
    return tracker


@pytest.mark.parametrize("step", range(1, STEPS + 1))
def test_a_poll_stopped_at_any_step_loses_and_doubles_nothing(
    client: redis.Redis, three_ended: CompletionTracker, step: int
) -> None:
    """Redis going away, or a reading the poll gives way to: the next poll reads it all."""
    stop = GaveWay if step % 2 else redis.ConnectionError
    steps = []

    def stops_once() -> None:
        steps.append(step)
        if len(steps) == step:
            raise stop("stopped")

    with pytest.raises(stop):
        three_ended.poll(client, give_way=stops_once)
    assert tally(poll(three_ended, client)) == {
        ("default", "finished", ADD, None): 2,
        ("default", "failed", DIVIDE, "ZeroDivisionError"): 1,
    }
    assert poll(three_ended, client) == []


def test_a_poll_can_stop_at_every_step(client: redis.Redis, three_ended: CompletionTracker) -> None:
    steps = []
    assert len(three_ended.poll(client, give_way=lambda: steps.append(1))) == 3
    assert len(steps) == STEPS


class ReadingArrivesOnce(Turn):
    """A turn at which a reading comes to wait once, in the middle of a poll."""

    def __init__(self) -> None:
        super().__init__()
        self.gave_way = 0

    def give_way(self) -> None:
        if not self.gave_way:
            self.gave_way += 1
            raise GaveWay


def test_a_poll_that_gave_way_runs_again_to_its_end(
    client: redis.Redis, url: str, three_ended: CompletionTracker
) -> None:
    turn = ReadingArrivesOnce()
    following = Following("main", client, DEFAULT_KEYS, interval=3600, turn=turn)
    following.tracker = three_ended
    following.start()
    try:
        assert following.wait_past(0)
        taken = following.take(read_snapshot(client))
    finally:
        following.stop()
    assert turn.gave_way == 1
    assert not following.failing
    assert tally(list(taken.completions)) == {
        ("default", "finished", ADD, None): 2,
        ("default", "failed", DIVIDE, "ZeroDivisionError"): 1,
    }
