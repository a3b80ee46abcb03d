"""Actions on jobs and queues do what RQ does, atomically, and touch nothing else."""

from __future__ import annotations

import threading

import pytest
import redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer
from harness.workers import run_burst
from qwatch.rq.actions import (
    ActionError,
    delete_failed_job,
    empty_queue,
    empty_registry,
    requeue_all_failed,
    requeue_failed_job,
)


def failed_job(client: redis.Redis, url: str, queue: str = "default") -> Job:
    """A job that really failed, then fixed so that a rerun succeeds."""
    job = Queue(queue, connection=client).enqueue(tasks.divide, 6, 0)
    run_burst(url, [queue])
    assert job.get_status() == "failed"
    return job


def test_a_requeued_failed_job_runs_again_to_success(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(tasks.flaky, 1.0)
    run_burst(url, ["default"])
    assert job.get_status() == "failed"
    Job.fetch(job.id, connection=client)  # still readable by RQ
    client.hset(job.key, "data", Job.create(tasks.add, args=(2, 3), connection=client).data)
    assert requeue_failed_job(client, job.id) == f"requeued job {job.id} on default"
    assert job.id not in FailedJobRegistry("default", connection=client)
    assert Queue("default", connection=client).job_ids == [job.id]
    run_burst(url, ["default"])
    rerun = Job.fetch(job.id, connection=client)
    assert rerun.get_status() == "finished" and rerun.return_value() == 5
    assert job.id in FinishedJobRegistry("default", connection=client)


def test_delete_removes_the_job_and_its_results(client: redis.Redis, url: str) -> None:
    job = failed_job(client, url)
    other = failed_job(client, url)
    client.set(f"{job.key}:qwatch-logs", "what qwatch.rq.Worker keeps of its log")
    assert delete_failed_job(client, job.id) == f"deleted job {job.id}"
    assert not client.exists(job.key, f"rq:results:{job.id}", f"{job.key}:qwatch-logs")
    assert FailedJobRegistry("default", connection=client).get_job_ids(cleanup=False) == [other.id]
    with pytest.raises(ActionError, match="no longer exists"):
        requeue_failed_job(client, job.id)


def test_requeue_all_failed(client: redis.Redis, url: str) -> None:
    jobs = [failed_job(client, url, "emails") for _ in range(3)]
    untouched = failed_job(client, url, "other")
    assert requeue_all_failed(client, "emails") == "requeued 3 failed jobs on emails"
    assert sorted(Queue("emails", connection=client).job_ids) == sorted(j.id for j in jobs)
    assert FailedJobRegistry("emails", connection=client).count == 0
    assert FailedJobRegistry("other", connection=client).get_job_ids() == [untouched.id]


def test_emptying_a_queue_while_producers_enqueue_loses_nothing_else(
    client: redis.Redis, redis_server: RedisServer
) -> None:
    queue = Queue("busy", connection=client)
    enqueued = [queue.enqueue(tasks.add, i, 1).id for i in range(3000)]
    stop = threading.Event()

    def produce() -> None:
        producer = Queue("busy", connection=redis_server.client())
        while not stop.is_set():
            enqueued.append(producer.enqueue(tasks.add, 0, 0).id)

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        wait_until(lambda: len(enqueued) > 3050, "the producer to start")
        message = empty_queue(client, "busy")
        produced_during = len(enqueued)
        wait_until(lambda: len(enqueued) > produced_during + 50, "the producer to go on")
    finally:
        stop.set()
        thread.join()
    deleted = int(message.split()[1])
    assert message == f"deleted {deleted} queued jobs from busy" and deleted >= 3050
    assert queue.job_ids == enqueued[deleted:]
    assert not any(client.exists(f"rq:job:{job_id}") for job_id in enqueued[:deleted])
    assert all(client.exists(f"rq:job:{job_id}") for job_id in enqueued[deleted:])


def test_empty_registry(client: redis.Redis, url: str) -> None:
    for i in range(2):
        Queue("default", connection=client).enqueue(tasks.add, i, 1)
    failed = failed_job(client, url)
    run_burst(url, ["default"])
    assert empty_registry(client, "default", "finished") == "deleted 2 finished jobs of default"
    assert FinishedJobRegistry("default", connection=client).count == 0
    assert FailedJobRegistry("default", connection=client).get_job_ids() == [failed.id]
    with pytest.raises(ActionError, match="cannot be emptied"):
        empty_registry(client, "default", "started")
