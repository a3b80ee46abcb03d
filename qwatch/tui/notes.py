"""What the line under the status says about Celery: what no table can show.

Celery's workers and failures are seen only through its events, so the
screen says when they cannot all be there yet: in the first seconds of
listening (a worker appears with its next heartbeat), and for as long as a
worker sends no task events (its failures are then known only from the
results it stores).
"""

from __future__ import annotations

from qwatch.model import CELERY, Snapshot

HEARTBEAT_SECONDS = 2.0
"""How often a Celery worker sends its heartbeat, unless configured otherwise."""
SETTLING_SECONDS = 3 * HEARTBEAT_SECONDS
"""Listening shorter than this may not have heard every live worker yet."""
NAMED = 2
"""Workers named before the rest are counted."""


def celery_notes(snapshot: Snapshot) -> tuple[str, ...]:
    """Nothing when Celery is not watched."""
    watch = snapshot.celery
    if watch is None:
        return ()
    notes = []
    if watch.listening_seconds < SETTLING_SECONDS:
        notes.append(
            "just began listening to Celery's events: its workers appear as their"
            f" heartbeats arrive (every {HEARTBEAT_SECONDS:g}s)"
        )
    silent = [w.name for w in snapshot.workers if w.system == CELERY and w.task_events is False]
    if silent:
        notes.append(
            f"{_names(silent)} {'sends' if len(silent) == 1 else 'send'} no task events:"
            " Celery failures come from stored results only (celery worker -E turns them on)"
        )
    return tuple(notes)


def _names(names: list[str]) -> str:
    if len(names) <= NAMED:
        return " and ".join(names)
    return f"{', '.join(names[:NAMED])} and {len(names) - NAMED} more workers"
