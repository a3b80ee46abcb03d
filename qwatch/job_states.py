"""An RQ job's states: the strings RQ stores in a job's `status` and names registries by.

Every other module names a state through these, so that the list is written once.
"""

from __future__ import annotations

QUEUED = "queued"
STARTED = "started"
FINISHED = "finished"
FAILED = "failed"
DEFERRED = "deferred"
READY = "ready"
"""RQ 3.0: dependents whose dependencies are met, about to be enqueued (a registry, not a
job status: such a job's status reads `ready_to_enqueue`)."""
SCHEDULED = "scheduled"
CANCELED = "canceled"

JOB_STATES = (QUEUED, STARTED, FINISHED, FAILED, DEFERRED, READY, SCHEDULED, CANCELED)
"""Every state qwatch counts, in the order the exporter's series and the snapshot's fields use."""
REGISTRIES = JOB_STATES[1:]
"""The states held in a per-queue registry: every one but queued, which is a list."""
OUTCOMES = (FINISHED, FAILED)
"""How a job ends for good, as qwatch counts it."""

CREATED = "created"
"""RQ 3.0: a job saved but not yet enqueued."""
STOPPED = "stopped"
"""A job stopped on request (`send_stop_job_command`); RQ keeps it in the failed registry."""
RATE_LIMITED = "rate_limited"
"""RQ 3.0: a job its rate limit holds back (in the limit's own set, not in a queue's)."""
READY_TO_ENQUEUE = "ready_to_enqueue"
"""RQ 3.0: the status of a job in the ready registry."""
STATUSES = (*JOB_STATES, CREATED, STOPPED, RATE_LIMITED, READY_TO_ENQUEUE)
"""Every status RQ 2.12 or 3.0 writes in a job's hash."""

RESERVED = "reserved"
"""Celery: taken by a worker and not acked: prefetched, held for its ETA, or running
(`acks_late`)."""
OVERDUE = "overdue"
"""Celery: reserved for longer than the visibility timeout: kombu delivers it again."""
