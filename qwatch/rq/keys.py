"""Every Redis key name of RQ's layout that qwatch reads, in one place.

RQ builds its key names in several modules, all under one prefix: `rq`, or
since RQ 3.0 the `RQ_KEY_PREFIX` environment variable, read once when RQ is
imported. qwatch names them here only, for any prefix, and a test pins each
one against RQ's own attributes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from qwatch import job_states

PREFIX_VARIABLE = "RQ_KEY_PREFIX"
DEFAULT_PREFIX = "rq"
_VALID_PREFIX = re.compile(r"[A-Za-z0-9_.:{}-]+")
"""RQ's own rule (`rq/defaults.py`): the prefix is spliced into templates and Lua."""

REGISTRIES = job_states.REGISTRIES
"""The job registries every queue has, by the state they hold."""

_REGISTRY_NAMES = {
    job_states.STARTED: "wip",
    job_states.FINISHED: "finished",
    job_states.FAILED: "failed",
    job_states.DEFERRED: "deferred",
    job_states.READY: "ready",
    job_states.SCHEDULED: "scheduled",
    job_states.CANCELED: "canceled",
}


class PrefixError(ValueError):
    """A key prefix RQ itself would refuse."""


def checked_prefix(prefix: str) -> str:
    """The prefix, if RQ would accept it; else one line saying why not."""
    if not _VALID_PREFIX.fullmatch(prefix):
        raise PrefixError(
            f"invalid RQ key prefix {prefix!r}: only letters, digits and _ . : - {{ }} are allowed"
        )
    return prefix


def prefix_from(environ: Mapping[str, str] = os.environ) -> str:
    """The prefix RQ 3.0 would use in this environment."""
    return checked_prefix(environ.get(PREFIX_VARIABLE, DEFAULT_PREFIX))


@dataclass(frozen=True, slots=True)
class RQKeys:
    """The key names of one RQ deployment, all under `prefix`."""

    prefix: str = DEFAULT_PREFIX
    queues: str = field(init=False)
    """The set of every queue's key (`<prefix>:queue:<name>`), not of names."""
    workers: str = field(init=False)
    """The set of every live worker's key (`<prefix>:worker:<name>`)."""
    suspended: str = field(init=False)
    queue_prefix: str = field(init=False)
    worker_prefix: str = field(init=False)
    job_prefix: str = field(init=False)
    rate_limit_keys: str = field(init=False)
    """RQ 3.0: the set of every rate-limit key's name."""
    cron_schedulers: str = field(init=False)
    """RQ 3.0: the sorted set of running cron schedulers' names, scored by heartbeat."""
    completions: str = field(init=False)
    """Not RQ's: the stream `qwatch.rq.Worker` appends one entry to per job outcome
    (exact mode). Under the prefix so that the read ACL of RQ's keys covers it."""
    _registries: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p = checked_prefix(self.prefix)
        for name, value in (
            ("queues", f"{p}:queues"),
            ("workers", f"{p}:workers"),
            ("suspended", f"{p}:suspended"),
            ("queue_prefix", f"{p}:queue:"),
            ("worker_prefix", f"{p}:worker:"),
            ("job_prefix", f"{p}:job:"),
            ("rate_limit_keys", f"{p}:rl-keys"),
            ("cron_schedulers", f"{p}:cron_schedulers"),
            ("completions", f"{p}:qwatch:completions"),
            ("_registries", {s: f"{p}:{n}:" for s, n in _REGISTRY_NAMES.items()}),
        ):
            object.__setattr__(self, name, value)

    def queue_name(self, member: str) -> str | None:
        """The name in a member of `queues`; None for another shape."""
        return name_in_key(member, self.queue_prefix)

    def worker_name(self, member: str) -> str | None:
        """The name in a member of `workers`; None for another shape."""
        return name_in_key(member, self.worker_prefix)

    def queue_key(self, queue: str) -> str:
        """The list of job ids waiting in a queue, oldest at the head."""
        return self.queue_prefix + queue

    def intermediate_queue_key(self, queue: str) -> str:
        """Jobs a worker has popped but not yet marked as started."""
        return f"{self.queue_prefix}{queue}:intermediate"

    def registry_key(self, state: str, queue: str) -> str:
        """The sorted set holding a queue's jobs in one of `REGISTRIES`."""
        return self._registries[state] + queue

    def worker_key(self, name: str) -> str:
        """A worker's hash: state, queues, heartbeat, counters."""
        return self.worker_prefix + name

    def executions_key(self, worker: str) -> str:
        """RQ 3.0: the set of a worker's running executions, as `<job id>:<execution id>`."""
        return f"{self.worker_prefix}{worker}:executions"

    def execution_key(self, member: str) -> str:
        """RQ 3.0: one execution's hash (its start, its heartbeat), by its `executions` member."""
        return f"{self.prefix}:execution:{member}"

    def job_key(self, job_id: str) -> str:
        """A job's hash."""
        return self.job_prefix + job_id

    def dependents_key(self, job_id: str) -> str:
        """The set of jobs waiting for this one to finish."""
        return f"{self.job_prefix}{job_id}:dependents"

    def logs_key(self, job_id: str) -> str:
        """Not RQ's: the lines a job logged while `qwatch.rq.Worker` ran it, beside its hash
        and expiring with it."""
        return f"{self.job_prefix}{job_id}:qwatch-logs"

    def results_key(self, job_id: str) -> str:
        """A job's results stream; in RQ 2 and later a failure's traceback lives here."""
        return f"{self.prefix}:results:{job_id}"

    def rate_limit_key(self, key: str) -> str:
        """RQ 3.0: a rate-limit key's settings hash (`concurrency`)."""
        return f"{self.prefix}:rl:{key}"

    def rate_limit_allowed_key(self, key: str) -> str:
        """RQ 3.0: the jobs a rate limit has let through (queued or running)."""
        return f"{self.prefix}:rl:{key}:allowed"

    def rate_limited_key(self, key: str) -> str:
        """RQ 3.0: the jobs a rate limit holds back, oldest first."""
        return f"{self.prefix}:rl:{key}:rate_limited"

    def scheduler_lock_key(self, queue: str) -> str:
        """The lock the RQ scheduler that moves a queue's due scheduled jobs holds: its name."""
        return f"{self.prefix}:scheduler-lock:{queue}"

    def cron_scheduler_key(self, name: str) -> str:
        """RQ 3.0: a cron scheduler's hash (host, pid, config, heartbeat)."""
        return f"{self.prefix}:cron_scheduler:{name}"


DEFAULT_KEYS = RQKeys()
"""RQ's keys under its default prefix, `rq`."""


def name_in_key(key: str, prefix: str) -> str | None:
    """The name in a set member such as `<prefix>:queue:<name>`; None for another shape."""
    if not key.startswith(prefix) or len(key) == len(prefix):
        return None
    return key[len(prefix) :]


def job_id_of_execution(member: str) -> str:
    """The job id in a started-registry or executions member, stored as
    `<job id>:<execution id>`."""
    job_id, sep, _execution = member.rpartition(":")
    return job_id if sep else member
