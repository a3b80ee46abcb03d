"""qwatch's key names are RQ's key names."""

from __future__ import annotations

import redis
from rq import Queue, Worker
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.results import Result
from rq.suspension import WORKERS_SUSPENDED
from rq.worker_registration import REDIS_WORKER_KEYS

from qwatch import keys


def test_every_key_matches_rq(client: redis.Redis) -> None:
    queue = Queue("emails", connection=client)
    registries = {
        "started": StartedJobRegistry,
        "finished": FinishedJobRegistry,
        "failed": FailedJobRegistry,
        "deferred": DeferredJobRegistry,
        "scheduled": ScheduledJobRegistry,
        "canceled": CanceledJobRegistry,
    }
    assert set(registries) == set(keys.REGISTRIES)
    for state, registry in registries.items():
        assert keys.registry_key(state, "emails") == registry("emails", connection=client).key
    assert Queue.redis_queues_keys == keys.QUEUES
    assert keys.WORKERS == REDIS_WORKER_KEYS
    assert keys.SUSPENDED == WORKERS_SUSPENDED
    assert keys.queue_key("emails") == queue.key
    assert keys.intermediate_queue_key("emails") == IntermediateQueue(queue.key, client).key
    assert keys.worker_key("w1") == Worker(["emails"], connection=client, name="w1").key
    assert keys.job_key("abc") == Job.key_for("abc")
    assert keys.results_key("abc") == Result.get_key("abc")
    assert keys.dependents_key("abc") == Job.dependents_key_for("abc")


def test_set_members_name_queues_and_workers(client: redis.Redis) -> None:
    queue = Queue("emails", connection=client)
    assert keys.name_in_key(queue.key, keys.QUEUE_PREFIX) == "emails"
    assert keys.name_in_key("rq:queue:", keys.QUEUE_PREFIX) is None
    assert keys.name_in_key("something:else", keys.QUEUE_PREFIX) is None


def test_started_members_carry_an_execution_id() -> None:
    assert keys.job_id_of_execution("job-1:exec-9") == "job-1"
    assert keys.job_id_of_execution("plain") == "plain"
