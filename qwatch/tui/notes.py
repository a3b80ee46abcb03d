"""What the lines under the status say: what no table of `qwatch top` shows.

Celery's workers and failures are seen only through its events, so the
screen says when they cannot all be there yet: in the first seconds of
listening (a worker appears with its next heartbeat), and for as long as a
worker sends no task events (its failures are then known only from the
results it stores). RQ 3.0's rate limits and cron schedulers get a line
each, where there are some: the keys holding jobs back, and when the next
cron job is due.
"""

from __future__ import annotations

from qwatch.model import CELERY, CronScheduler, Snapshot
from qwatch.text.formatting import duration, plural
from qwatch.text.tables import next_cron_job

HEARTBEAT_SECONDS = 2.0
"""How often a Celery worker sends its heartbeat, unless configured otherwise."""
SETTLING_SECONDS = 3 * HEARTBEAT_SECONDS
"""Listening shorter than this may not have heard every live worker yet."""
NAMED = 2
"""Workers or keys named before the rest are counted."""
INF = float("inf")


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


def rq_notes(snapshot: Snapshot) -> tuple[str, ...]:
    """A line for RQ 3.0's rate limits that hold jobs back, and one for its cron schedulers."""
    notes = []
    waiting = sorted(
        (limit for limit in snapshot.rate_limits if limit.waiting),
        key=lambda limit: -limit.waiting,
    )
    if waiting:
        keys = ", ".join(
            f"{limit.key} {limit.waiting} waiting"
            f" (oldest {duration(limit.oldest_waiting_age_seconds)})"
            for limit in waiting[:NAMED]
        )
        more = f" and {len(waiting) - NAMED} more keys" if len(waiting) > NAMED else ""
        notes.append(f"rate limits hold jobs back: {keys}{more}")
    schedulers = snapshot.cron_schedulers
    if schedulers:
        stale = [cron.name for cron in schedulers if cron.stale]
        due = [cron for cron in schedulers if _due(cron) < INF]
        line = f"cron: {plural(len(schedulers), 'scheduler')}"
        if due:
            line += f", next {next_cron_job(min(due, key=_due), snapshot.taken_at)}"
        if stale:
            line += f"; silent for minutes: {_names(stale)}"
        notes.append(line)
    return tuple(notes)


def _due(cron: CronScheduler) -> float:
    """When the scheduler's next job is due (inf when none is)."""
    return min((job.next_run_at for job in cron.jobs if job.next_run_at is not None), default=INF)
