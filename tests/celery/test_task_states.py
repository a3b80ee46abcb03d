"""Celery's task states in qwatch's words: RQ's where they mean the same, Celery's kept
where they say more."""

from __future__ import annotations

import pytest

from qwatch import job_states
from qwatch.celery.task_states import status_of


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        ("SUCCESS", job_states.FINISHED),
        ("FAILURE", job_states.FAILED),
        ("STARTED", job_states.STARTED),
        ("PENDING", job_states.QUEUED),
        ("RETRY", "retried (Celery's RETRY)"),
        ("REVOKED", "canceled (Celery's REVOKED)"),
        ("RECEIVED", "queued (Celery's RECEIVED)"),
        ("PROGRESS", "Celery's PROGRESS"),
    ],
)
def test_each_state_in_one_vocabulary(state: str, shown: str) -> None:
    assert status_of(state) == shown
