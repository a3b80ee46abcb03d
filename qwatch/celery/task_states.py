"""Celery's task states, as its result backend stores them, and what qwatch calls each.

RQ's job states (`qwatch.job_states`) are the one vocabulary every face
shows; a Celery state that means the same is shown by RQ's word alone
(SUCCESS is `finished`), one that says more keeps Celery's word beside it
(REVOKED is `canceled (Celery's REVOKED)`), and a state of the app's own
(`update_state(state="PROGRESS")`) is shown as Celery's.
"""

from __future__ import annotations

from qwatch import job_states

PENDING = "PENDING"
RECEIVED = "RECEIVED"
STARTED = "STARTED"
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
RETRY = "RETRY"
REVOKED = "REVOKED"
REJECTED = "REJECTED"
"""celery/states.py: the names Celery stores in a result's `status`."""
ENDED = frozenset({SUCCESS, FAILURE})
"""The states that end a task: a completion, counted once."""

_SAME = {
    PENDING: job_states.QUEUED,
    STARTED: job_states.STARTED,
    SUCCESS: job_states.FINISHED,
    FAILURE: job_states.FAILED,
}
_MORE = {
    RECEIVED: job_states.QUEUED,
    RETRY: "retried",
    REVOKED: job_states.CANCELED,
    REJECTED: job_states.FAILED,
}
"""Celery's word adds something: a worker holds the task, it runs again, it was stopped."""


def status_of(state: str) -> str:
    """A Celery state in qwatch's words, Celery's kept where they say more."""
    if state in _SAME:
        return _SAME[state]
    if state in _MORE:
        return f"{_MORE[state]} (Celery's {state})"
    return f"Celery's {state}"
