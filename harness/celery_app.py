"""A real Celery app on a private Redis, for the tests, the demo and the benchmarks.

The worker process and the test build the same app from the same settings:
the broker URL and kombu's transport options (`sep`, `priority_steps`,
`visibility_timeout`) travel to the worker in environment variables.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from celery import Celery, Task

BROKER = "QWATCH_CELERY_BROKER"
TRANSPORT_OPTIONS = "QWATCH_CELERY_TRANSPORT_OPTIONS"


class UpstreamTimeout(Exception):
    """What a failing crawl raises: a traceback worth reading in the inspector."""


def make_app(url: str, transport_options: dict[str, Any] | None = None) -> Celery:
    """A Celery app whose broker and result backend are the Redis at `url`."""
    app = Celery("harness", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        broker_transport_options=transport_options or {},
        result_backend_transport_options=transport_options or {},
        task_default_queue="celery",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_track_started=False,
    )
    _register(app)
    return app


def _register(app: Celery) -> None:
    @app.task(name="harness.add")
    def add(a: int, b: int) -> int:
        return a + b

    @app.task(name="harness.sleep")
    def sleep(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @app.task(name="harness.crawl")
    def crawl(url: str) -> None:
        raise UpstreamTimeout(f"{url} did not answer in 30 s")

    @app.task(name="harness.sleep_late", acks_late=True)
    def sleep_late(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @app.task(name="harness.retry_once", bind=True, max_retries=3, default_retry_delay=0)
    def retry_once(task: Task, marker: str) -> str:
        if task.request.retries == 0:
            raise task.retry(exc=UpstreamTimeout(f"{marker}: first try"), countdown=0)
        return marker


def worker_app() -> Celery:
    """The app a `celery worker` process loads, built from its environment."""
    options = json.loads(os.environ.get(TRANSPORT_OPTIONS, "{}"))
    return make_app(os.environ[BROKER], options)
