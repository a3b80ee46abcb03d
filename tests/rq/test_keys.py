"""qwatch's key names are RQ's key names, under RQ's default prefix and under another."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from qwatch.rq.keys import (
    DEFAULT_KEYS,
    REGISTRIES,
    PrefixError,
    RQKeys,
    checked_prefix,
    job_id_of_execution,
)

RQ_3 = int(__import__("rq").version.VERSION.split(".")[0]) >= 3

# Run in a fresh interpreter: RQ reads RQ_KEY_PREFIX once, when it is imported.
_RQ_KEYS = """
import json
from rq import Queue, Worker
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq import registry
from rq.results import Result
from rq.scheduler import RQScheduler
from rq.suspension import WORKERS_SUSPENDED
from rq.worker_registration import REDIS_WORKER_KEYS
from redis import Redis

client = Redis()
names = {
    "started": "StartedJobRegistry", "finished": "FinishedJobRegistry",
    "failed": "FailedJobRegistry", "deferred": "DeferredJobRegistry",
    "scheduled": "ScheduledJobRegistry", "canceled": "CanceledJobRegistry",
    "ready": "ReadyJobRegistry",
}
found = {
    state: getattr(registry, name)("emails", connection=client).key
    for state, name in names.items() if hasattr(registry, name)
}
found.update(
    queues=Queue.redis_queues_keys,
    workers=REDIS_WORKER_KEYS,
    suspended=WORKERS_SUSPENDED,
    queue=Queue("emails", connection=client).key,
    intermediate=IntermediateQueue(Queue("emails", connection=client).key, client).key,
    worker=Worker(["emails"], connection=client, name="w1").key,
    job=Job.key_for("abc"),
    results=Result.get_key("abc"),
    dependents=Job.dependents_key_for("abc"),
    scheduler_lock=RQScheduler.get_locking_key("emails"),
)
try:
    from rq.executions import WORKER_EXECUTIONS_KEY_TEMPLATE, Execution
    from rq.rate_limit import RateLimitRegistry
    from rq import cron_scheduler_registry
    limit = RateLimitRegistry("api", client)
    found.update(
        executions=WORKER_EXECUTIONS_KEY_TEMPLATE.format("w1"),
        execution=Execution("x1", "abc", client).key,
        rate_limit_keys=RateLimitRegistry.rl_keys_key,
        rate_limit=limit.config_key,
        allowed=limit.allowed_key,
        rate_limited=limit.rate_limited_key,
        cron_schedulers=cron_scheduler_registry.get_registry_key(),
    )
except ImportError:
    pass
print(json.dumps(found))
"""


def rq_keys(prefix: str | None) -> dict[str, str]:
    """RQ's own key names, from an RQ imported with this `RQ_KEY_PREFIX` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "RQ_KEY_PREFIX"}
    if prefix is not None:
        env["RQ_KEY_PREFIX"] = prefix
    out = subprocess.run(
        [sys.executable, "-c", _RQ_KEYS], env=env, capture_output=True, text=True, check=True
    )
    found: dict[str, str] = json.loads(out.stdout)
    return found


def ours(keys: RQKeys) -> dict[str, str]:
    found = {state: keys.registry_key(state, "emails") for state in REGISTRIES}
    found.update(
        queues=keys.queues,
        workers=keys.workers,
        suspended=keys.suspended,
        queue=keys.queue_key("emails"),
        intermediate=keys.intermediate_queue_key("emails"),
        worker=keys.worker_key("w1"),
        job=keys.job_key("abc"),
        results=keys.results_key("abc"),
        dependents=keys.dependents_key("abc"),
        scheduler_lock=keys.scheduler_lock_key("emails"),
        executions=keys.executions_key("w1"),
        execution=keys.execution_key("abc:x1"),
        rate_limit_keys=keys.rate_limit_keys,
        rate_limit=keys.rate_limit_key("api"),
        allowed=keys.rate_limit_allowed_key("api"),
        rate_limited=keys.rate_limited_key("api"),
        cron_schedulers=keys.cron_schedulers,
    )
    return found


def test_every_key_matches_rq() -> None:
    theirs = rq_keys(None)
    mine = ours(DEFAULT_KEYS)
    assert {name: mine[name] for name in theirs} == theirs
    assert ("rate_limited" in theirs) == RQ_3, "RQ 3.0's keys are all checked on RQ 3.0"


@pytest.mark.skipif(not RQ_3, reason="RQ 2 has no RQ_KEY_PREFIX")
@pytest.mark.parametrize("prefix", ["acme", "{tenant}:rq", "a.b-c_d"])
def test_every_key_matches_rq_under_another_prefix(prefix: str) -> None:
    theirs = rq_keys(prefix)
    mine = ours(RQKeys(prefix))
    assert {name: mine[name] for name in theirs} == theirs


@pytest.mark.parametrize("prefix", ["", "has space", "semi;colon", "é"])
def test_a_prefix_rq_refuses_is_refused(prefix: str) -> None:
    with pytest.raises(PrefixError, match="only letters, digits"):
        checked_prefix(prefix)
    with pytest.raises(PrefixError):
        RQKeys(prefix)


def test_set_members_name_queues_and_workers() -> None:
    assert DEFAULT_KEYS.queue_name("rq:queue:emails") == "emails"
    assert DEFAULT_KEYS.queue_name("rq:queue:") is None
    assert DEFAULT_KEYS.queue_name("something:else") is None
    assert RQKeys("acme").worker_name("acme:worker:w1") == "w1"
    assert RQKeys("acme").worker_name("rq:worker:w1") is None


def test_started_members_carry_an_execution_id() -> None:
    assert job_id_of_execution("job-1:exec-9") == "job-1"
    assert job_id_of_execution("plain") == "plain"
