"""The demo's Celery side: the part of the team's work not yet moved to RQ, on the same Redis.

Two real `celery worker`s: one sends task events (`-E`), one does not, so
qwatch top names it and shows its failures from stored results alone. A
trickle of tasks keeps both busy at a few percent of a core: priorities on
`emails` (Celery's `emails`, a queue apart from RQ's), countdowns that the
worker holds reserved until their ETA, crawls that fail, retries and a
task with `acks_late`.
"""

from __future__ import annotations

import random
import subprocess
import threading

from celery import Celery

from harness.celery_app import make_app
from harness.celery_workers import start_celery_worker

CELERY_WORKERS: tuple[tuple[str, tuple[str, ...], bool, str], ...] = (
    ("legacy-events", ("emails", "celery"), True, "prefork"),
    ("legacy-quiet", ("thumbnails",), False, "solo"),
)
"""Name, queues, task events, pool: concurrency 1 each, so two cores are not crowded."""

ROUND_SECONDS = 1.0
BURST_EVERY = 45
BURST_TASKS = 12
"""Every 45 s a dozen emails at mixed priorities back `emails` up for a few seconds."""
PRIORITIES = (0, 3, 9)
"""kombu's Redis transport consumes step 0 first: password resets before newsletters."""
FIRST_ROLLS = (0.0, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95)
"""One task of each kind first, so that every queue and both workers' work show at once."""


def start_celery_workers(url: str) -> list[subprocess.Popen[bytes]]:
    """Start the demo's Celery workers on the Redis at `url`."""
    return [
        start_celery_worker(
            url, queues, name=name, task_events=events, pool=pool, concurrency=1, prefetch=4
        )
        for name, queues, events, pool in CELERY_WORKERS
    ]


def produce_celery(url: str, stop: threading.Event, started: threading.Event) -> None:
    """Send Celery tasks until `stop` is set, about one a second and a burst now and then.

    `started` is set once the first tasks are sent: their queues' bindings are
    then in Redis, so a qwatch opened after it finds Celery at once rather
    than at its next look a minute later.
    """
    app = make_app(url)
    # The workers store results; a producer that sends and never waits does not subscribe to each.
    app.conf.result_backend = "disabled"
    try:
        for roll in FIRST_ROLLS:
            _send_one(app, roll)
        started.set()
        round_number = 0
        while not stop.wait(ROUND_SECONDS):
            round_number += 1
            if round_number % BURST_EVERY == 0:
                for _ in range(BURST_TASKS):
                    _send_one(app, 0.0)
            _send_one(app, random.random())
    finally:
        app.close()


def _send_one(app: Celery, roll: float) -> None:
    if roll < 0.40:
        app.send_task(
            "harness.sleep",
            (round(random.uniform(0.2, 1.5), 1),),
            queue="emails",
            priority=random.choice(PRIORITIES),
        )
    elif roll < 0.60:
        app.send_task("harness.sleep", (round(random.uniform(0.5, 3.0), 1),), queue="thumbnails")
    elif roll < 0.70:
        page = f"https://legacy.example/page/{random.randint(1, 999)}"
        app.send_task("harness.crawl", (page,), queue=random.choice(("celery", "thumbnails")))
    elif roll < 0.85:
        app.send_task(
            "harness.add",
            (random.randint(1, 99), 1),
            queue="celery",
            countdown=random.randint(10, 90),
        )
    elif roll < 0.95:
        app.send_task("harness.retry_once", (f"sync-{random.randint(1, 999)}",), queue="celery")
    else:
        app.send_task("harness.sleep_late", (2.0,), queue="thumbnails")
