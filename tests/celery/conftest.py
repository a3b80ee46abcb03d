"""A started listener and real Celery workers on the private Redis, each stopped after its test."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from celery import Celery

from harness.celery_app import make_app
from harness.celery_workers import start_celery_worker, stop_celery_worker
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
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: Any, **options: Any) -> subprocess.Popen[bytes]:
        process = start_celery_worker(url, *args, **options)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                stop_celery_worker(process)


@pytest.fixture
def app(url: str) -> Iterator[Celery]:
    """The harness's Celery app, as a producer."""
    celery = make_app(url)
    try:
        yield celery
    finally:
        celery.close()
