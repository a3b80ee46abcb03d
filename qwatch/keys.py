"""Every Redis key name of RQ's layout that qwatch reads, in one place.

RQ builds its key names in several modules; qwatch names them here only, and
a test pins each one against RQ's own attributes.
"""

from __future__ import annotations

from qwatch import job_states

QUEUES = "rq:queues"
"""The set of every queue's key (`rq:queue:<name>`), not of names."""
WORKERS = "rq:workers"
"""The set of every live worker's key (`rq:worker:<name>`)."""
SUSPENDED = "rq:suspended"

QUEUE_PREFIX = "rq:queue:"
WORKER_PREFIX = "rq:worker:"

REGISTRIES = job_states.REGISTRIES
"""The job registries every queue has, by the state they hold."""

_REGISTRY_PREFIX = {
    job_states.STARTED: "rq:wip:",
    job_states.FINISHED: "rq:finished:",
    job_states.FAILED: "rq:failed:",
    job_states.DEFERRED: "rq:deferred:",
    job_states.SCHEDULED: "rq:scheduled:",
    job_states.CANCELED: "rq:canceled:",
}


def name_in_key(key: str, prefix: str) -> str | None:
    """The name in a set member such as `rq:queue:<name>`; None for another shape."""
    if not key.startswith(prefix) or len(key) == len(prefix):
        return None
    return key[len(prefix) :]


def queue_key(queue: str) -> str:
    """The list of job ids waiting in a queue, oldest at the head."""
    return QUEUE_PREFIX + queue


def intermediate_queue_key(queue: str) -> str:
    """Jobs a worker has popped but not yet marked as started."""
    return f"{QUEUE_PREFIX}{queue}:intermediate"


def registry_key(state: str, queue: str) -> str:
    """The sorted set holding a queue's jobs in one of `REGISTRIES`."""
    return _REGISTRY_PREFIX[state] + queue


def worker_key(name: str) -> str:
    """A worker's hash: state, queues, heartbeat, counters."""
    return WORKER_PREFIX + name


def job_key(job_id: str) -> str:
    """A job's hash."""
    return f"rq:job:{job_id}"


def dependents_key(job_id: str) -> str:
    """The set of jobs waiting for this one to finish."""
    return f"rq:job:{job_id}:dependents"


def results_key(job_id: str) -> str:
    """A job's results stream; in RQ 2 a failure's traceback lives here."""
    return f"rq:results:{job_id}"


def job_id_of_execution(member: str) -> str:
    """The job id in a started-registry member, stored as `<job id>:<execution id>`."""
    job_id, sep, _execution = member.rpartition(":")
    return job_id if sep else member


COMPLETIONS_STREAM = "rq:qwatch:completions"
"""Not RQ's: the stream `qwatch.rq.Worker` appends one entry to per job outcome (exact mode).

Under `rq:` so that the read ACL of RQ's keys (`~rq:*`) covers it."""
