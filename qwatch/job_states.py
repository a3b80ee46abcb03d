"""An RQ job's states: the strings RQ stores in a job's `status` and names registries by.

Every other module names a state through these, so that the list is written once.
"""

from __future__ import annotations

QUEUED = "queued"
STARTED = "started"
FINISHED = "finished"
FAILED = "failed"
DEFERRED = "deferred"
SCHEDULED = "scheduled"
CANCELED = "canceled"

JOB_STATES = (QUEUED, STARTED, FINISHED, FAILED, DEFERRED, SCHEDULED, CANCELED)
"""Every state qwatch counts, in the order the exporter's series and the snapshot's fields use."""
REGISTRIES = JOB_STATES[1:]
"""The states held in a per-queue registry: every one but queued, which is a list."""
