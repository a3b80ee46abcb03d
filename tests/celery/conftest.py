"""A started listener and real Celery workers on the private Redis, each stopped after its test."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest
import redis
from celery import Celery

from harness.celery_app import make_app
from harness.celery_workers import start_celery_worker, stop_celery_worker
from harness.workers import stopped_after
from qwatch.celery.events import CeleryEvents

StartWorker = Callable[..., subprocess.Popen[bytes]]


class Clock:
    """The wall clock, which a test can move forward."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def listener(client: redis.Redis, clock: Clock) -> Iterator[CeleryEvents]:
    """A listener subscribed before the test's workers start."""
    events = CeleryEvents(client, clock=clock)
    events.start()
    try:
        yield events
    finally:
        events.stop()


@pytest.fixture
def start_worker(url: str) -> Iterator[StartWorker]:
    """Start `celery worker`s on the private Redis; every one is killed after the test."""
    with stopped_after(partial(start_celery_worker, url), stop_celery_worker) as start:
        yield start


@pytest.fixture
def app(url: str) -> Iterator[Celery]:
    """The harness's Celery app, as a producer."""
    celery = make_app(url)
    try:
        yield celery
    finally:
        celery.close()
