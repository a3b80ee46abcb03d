"""Celery fixtures: the harness app on the private Redis, and workers that are always stopped."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery

from harness.celery_app import make_app
from harness.celery_workers import start_celery_worker, stop_celery_worker

StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def app(url: str) -> Iterator[Celery]:
    """The harness app with kombu's default transport options."""
    celery = make_app(url)
    yield celery
    celery.close()


@pytest.fixture
def start_worker(url: str) -> Iterator[StartWorker]:
    """Start Celery workers on the private Redis; each is SIGKILLed at the end of the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process = start_celery_worker(url, *args, **kwargs)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                stop_celery_worker(process)
