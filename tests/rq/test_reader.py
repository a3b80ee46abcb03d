"""The snapshot against RQ's own API, with real workers running real jobs."""

from __future__ import annotations

import platform
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
import rq
from rq import Queue, Worker
from rq.job import Job
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from harness import tasks
from harness.polling import wait_until
from harness.workers import running_jobs, start_worker, stop_worker
from harness.workload import mixed_workload
from qwatch.model import Snapshot
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.rq.reader import read_snapshot


def rq_counts(queue: Queue) -> dict[str, int]:
    """What RQ's own API reports for a queue (its counts clean registries first)."""
    connection = queue.connection
    return {
        "queued": queue.count,
        "started": StartedJobRegistry(queue.name, connection=connection).count,
        "finished": FinishedJobRegistry(queue.name, connection=connection).count,
        "failed": FailedJobRegistry(queue.name, connection=connection).count,
        "deferred": DeferredJobRegistry(queue.name, connection=connection).count,
        "scheduled": ScheduledJobRegistry(queue.name, connection=connection).count,
        "canceled": CanceledJobRegistry(queue.name, connection=connection).count,
        **_rq3_counts(queue),
    }


def _rq3_counts(queue: Queue) -> dict[str, int]:
    """RQ 3.0's ready registry and the queue's jobs its rate limits hold back; none on RQ 2."""
    try:
        from rq.rate_limit import RateLimitRegistry
        from rq.registry import ReadyJobRegistry
    except ImportError:
        return {"ready": 0, "rate_limited": 0}
    connection = queue.connection
    held = [
        job_id
        for registry in RateLimitRegistry.all(connection)
        for job_id in registry.get_rate_limited_job_ids()
    ]
    origins = [Job.fetch(job_id, connection=connection).origin for job_id in held]
    return {
        "ready": ReadyJobRegistry(queue.name, connection=connection).count,
        "rate_limited": origins.count(queue.name),
    }


STATES = (
    "queued", "started", "finished", "failed", "deferred", "ready", "scheduled", "canceled",
    "rate_limited",
)  # fmt: skip


def qwatch_counts(snapshot: Snapshot, name: str) -> dict[str, int]:
    (queue,) = [queue for queue in snapshot.queues if queue.name == name]
    return {state: getattr(queue, state) for state in STATES}


def test_every_count_equals_rq_after_a_mixed_workload(client: redis.Redis, url: str) -> None:
    mixed_workload(client, url)
    snapshot = read_snapshot(client)
    names = sorted(queue.name for queue in Queue.all(connection=client))
    assert [queue.name for queue in snapshot.queues] == names == ["default", "high", "parked"]
    for queue in Queue.all(connection=client):
        assert qwatch_counts(snapshot, queue.name) == rq_counts(queue), queue.name
    assert qwatch_counts(snapshot, "default") == {
        "queued": 0, "started": 0, "finished": 5, "failed": 3,
        "deferred": 1, "ready": 0, "scheduled": 1, "canceled": 1, "rate_limited": 0,
    }  # fmt: skip
    assert qwatch_counts(snapshot, "high")["finished"] == 1
    assert qwatch_counts(snapshot, "high")["failed"] == 1
    assert qwatch_counts(snapshot, "parked")["queued"] == 2


def test_oldest_queued_age_comes_from_the_head_job(client: redis.Redis) -> None:
    queue = Queue("backlog", connection=client)
    first = queue.enqueue(tasks.add, 1, 1)
    queue.enqueue(tasks.add, 2, 2)
    assert first.enqueued_at is not None
    later = first.enqueued_at.timestamp() + 90
    (stats,) = read_snapshot(client, now=later).queues
    assert stats.queued == 2
    assert stats.oldest_queued_age_seconds == pytest.approx(90, abs=0.01)
    Queue("empty", connection=client).enqueue(tasks.add, 0, 0).delete()
    empty = next(q for q in read_snapshot(client).queues if q.name == "empty")
    assert empty.queued == 0 and empty.oldest_queued_age_seconds is None


def test_the_oldest_age_follows_the_head_job_from_one_sample_to_the_next(
    client: redis.Redis,
) -> None:
    queue = Queue("backlog", connection=client)
    first = queue.enqueue(tasks.add, 1, 1)
    second = queue.enqueue(tasks.add, 2, 2)
    client.hset(first.key, "enqueued_at", "2024-05-01T12:00:00.000000Z")
    client.hset(second.key, "enqueued_at", "2024-05-01T12:01:00.000000Z")
    later = 1714564800.0 + 600  # 12:10
    ages = [read_snapshot(client, now=later).queues[0].oldest_queued_age_seconds]
    ages.append(read_snapshot(client, now=later).queues[0].oldest_queued_age_seconds)
    client.hset(first.key, "enqueued_at", "2024-05-01T12:02:00.000000Z")  # enqueued again
    ages.append(read_snapshot(client, now=later).queues[0].oldest_queued_age_seconds)
    queue.remove(first)
    ages.append(read_snapshot(client, now=later).queues[0].oldest_queued_age_seconds)
    assert ages == [600.0, 600.0, 480.0, 540.0]


def test_a_reading_without_details_sends_two_commands_fewer_per_queue(client: redis.Redis) -> None:
    """The exporter's reading: neither the intermediate list nor the scheduler lock, the
    rest the same."""
    Queue("backlog", connection=client).enqueue(tasks.add, 1, 1)
    client.rpush(DEFAULT_KEYS.intermediate_queue_key("backlog"), "popped")
    client.set(DEFAULT_KEYS.scheduler_lock_key("backlog"), "scheduler-1")
    (full,) = read_snapshot(client, now=time.time()).queues

    def calls() -> int:
        return sum(stat["calls"] for stat in client.info("commandstats").values())

    before = calls()
    (bare,) = read_snapshot(client, now=time.time(), worker_details=False).queues
    bare_commands = calls() - before - 1  # INFO commandstats itself
    before = calls()
    read_snapshot(client, now=time.time())
    assert calls() - before - 1 == bare_commands + 2
    assert (full.intermediate, full.scheduler) == (1, "scheduler-1")
    assert (bare.intermediate, bare.scheduler) == (None, None)
    assert replace(bare, oldest_queued_age_seconds=None) == replace(
        full, intermediate=None, scheduler=None, oldest_queued_age_seconds=None
    )


@pytest.fixture
def busy_worker(client: redis.Redis, url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real worker, in its own process group, busy with a 30 s job."""
    Queue("slow", connection=client).enqueue(tasks.sleep, 30, job_id="slow-job")
    process = start_worker(url, ["slow", "other"], name="busy-worker")
    wait_until(
        lambda: (
            "slow-job" in running_jobs(client, "busy-worker")
            and client.hget("rq:job:slow-job", "worker_name") is not None
        ),
        "the worker to start the slow job",
    )  # RQ 3.0 lists the execution before the work horse names its worker in the job
    yield process
    stop_worker(process)


def test_workers_match_rq(client: redis.Redis, busy_worker: subprocess.Popen[bytes]) -> None:
    snapshot = read_snapshot(client)
    (rq_worker,) = Worker.all(connection=client)
    (worker,) = snapshot.workers
    assert worker.name == rq_worker.name == "busy-worker"
    assert worker.hostname == rq_worker.hostname
    assert worker.pid == rq_worker.pid == busy_worker.pid
    assert worker.state == rq_worker.get_state() == "busy"
    assert worker.queues == tuple(rq_worker.queue_names()) == ("slow", "other")
    assert worker.current_job == "slow-job"
    assert worker.current_job_description == "harness.tasks.sleep(30)"
    assert worker.current_job_seconds is not None and worker.current_job_seconds < 30
    assert worker.heartbeat_age_seconds is not None and not worker.heartbeat_overdue
    assert worker.ip_address == rq_worker.ip_address
    assert worker.ip_address is not None and worker.ip_address.startswith("127.0.0.1:")
    assert worker.python_version == rq_worker.python_version.split()[0] == platform.python_version()
    assert worker.rq_version == rq_worker.version == rq.__version__
    slow = next(q for q in snapshot.queues if q.name == "slow")
    assert (slow.started, slow.workers) == (1, 1)


def test_a_killed_worker_leaves_an_abandoned_job(
    client: redis.Redis, busy_worker: subprocess.Popen[bytes]
) -> None:
    stop_worker(busy_worker)
    # RQ keeps a dead worker's hash until its TTL runs out; expire it now instead of waiting.
    client.delete("rq:worker:busy-worker")
    assert read_snapshot(client).abandoned_jobs == ()
    later = read_snapshot(client, now=time.time() + 600)
    (job,) = later.abandoned_jobs
    assert (job.id, job.queue, job.worker) == ("slow-job", "slow", "busy-worker")
    assert job.overdue_seconds > 400
    assert later.expired_workers == ("busy-worker",)
    assert later.workers == ()
