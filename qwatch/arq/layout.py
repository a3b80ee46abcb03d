"""Where arq keeps what: the one place for its key names.

From arq 0.28's `constants.py` and `worker.py` (the same since 0.26): a queue is one sorted
set of job ids scored by the millisecond each may run (default `arq:queue`,
any key a deployment names), holding the queued, the deferred (a score in the
future) and the running jobs alike. A job's call is `arq:job:<id>`; a running
job has `arq:in-progress:<id>` (it stays in the queue until it ends); its tries
are counted in `arq:retry:<id>`; its outcome, finished or failed, is
`arq:result:<id>` for `keep_result` seconds (3600 by default). Those prefixes
are fixed whatever the queue's name. Each worker writes its counters to
`<queue>:health-check` every `health_check_interval` seconds, expiring one
second after the next write is due: one key per queue, the last writer's.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_QUEUE = "arq:queue"
JOB_PREFIX = "arq:job:"
IN_PROGRESS_PREFIX = "arq:in-progress:"
RESULT_PREFIX = "arq:result:"
RETRY_PREFIX = "arq:retry:"
HEALTH_CHECK_SUFFIX = ":health-check"
COMPLETIONS = "arq:__qwatch_completions__"
"""qwatch's own key beside arq's: the stream exact mode's hooks write (`qwatch.arq.exact`)."""
HEALTH_CHECK_INTERVAL = 3600.0
"""arq's default `health_check_interval`: the key expires one second after the next is due."""


@dataclass(frozen=True, slots=True)
class ArqLayout:
    """arq's keys: the queues named (besides those discovered), and the workers' health-check
    interval, which says how old a health check is."""

    queues: tuple[str, ...] = ()
    health_check_interval: float = HEALTH_CHECK_INTERVAL

    def __post_init__(self) -> None:
        for queue in self.queues:
            if not queue or any(c in queue for c in "\r\n\0"):
                raise ValueError(f"not an arq queue name: {queue!r}")
        if not 0 < self.health_check_interval <= 86_400 * 365:
            raise ValueError("the health-check interval must be a positive number of seconds")

    @staticmethod
    def job_key(job_id: str) -> str:
        return JOB_PREFIX + job_id

    @staticmethod
    def in_progress_key(job_id: str) -> str:
        return IN_PROGRESS_PREFIX + job_id

    @staticmethod
    def result_key(job_id: str) -> str:
        return RESULT_PREFIX + job_id

    @staticmethod
    def retry_key(job_id: str) -> str:
        return RETRY_PREFIX + job_id

    @staticmethod
    def health_check_key(queue: str) -> str:
        return queue + HEALTH_CHECK_SUFFIX

    @staticmethod
    def queue_of(health_check_key: str) -> str | None:
        """The queue a health-check key is written for; None for any other key."""
        queue = health_check_key.removesuffix(HEALTH_CHECK_SUFFIX)
        return queue if queue and queue != health_check_key else None
