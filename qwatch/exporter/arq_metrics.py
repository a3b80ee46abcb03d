"""Series only arq has: the results qwatch left unread, and the counters of its health checks.

They need no `system` label: their names say arq. They are there only while
qwatch watches arq. A health check's counters are a gauge, not a counter: the
next worker to write the check, or the same one restarted, starts from its own.
"""

from __future__ import annotations

from qwatch.exporter.metrics import Reading, Row, Series
from qwatch.model import ARQ, Snapshot

RESULTS_UNREAD = Series(
    "qwatch_arq_results_unread",
    "gauge",
    "Results arq keeps that qwatch did not read (over its limits of number or size), so the"
    " finished and failed jobs of arq's queues leave them out",
    ("redis",),
)
HEALTH_CHECK_JOBS = Series(
    "qwatch_arq_health_check_jobs",
    "gauge",
    "Jobs complete, failed and retried as a queue's arq health check counts them: the"
    " counters of the worker that wrote it last, since that worker started",
    ("outcome", "queue", "redis"),
)
ALL = (RESULTS_UNREAD, HEALTH_CHECK_JOBS)


def reading(redis: str, snapshot: Snapshot) -> Reading:
    watch = snapshot.arq
    if watch is None:
        return []
    jobs: list[Row] = [
        ((outcome, worker.queues[0], redis), float(count))
        for worker in snapshot.workers
        if worker.system == ARQ and worker.queues
        for outcome, count in (
            ("complete", worker.successful_jobs),
            ("failed", worker.failed_jobs),
            ("retried", worker.retried_jobs),
        )
        if count is not None
    ]
    return [
        (RESULTS_UNREAD, [((redis,), float(watch.results_unread))]),
        (HEALTH_CHECK_JOBS, jobs),
    ]
