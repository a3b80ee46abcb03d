"""A Dramatiq producer and real Dramatiq workers on the private Redis, stopped after each test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import make_broker, start_dramatiq_worker, stop_dramatiq_worker
from harness.workers import stopped_after

StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def broker(url: str) -> Iterator[RedisBroker]:
    """The producer's broker: it heartbeats too, as Dramatiq's producers do."""
    producer = make_broker(url)
    try:
        yield producer
    finally:
        producer.close()


@pytest.fixture
def start_worker(url: str) -> Iterator[StartWorker]:
    def start(*queues: str, **options: Any) -> subprocess.Popen[bytes]:
        return start_dramatiq_worker(url, queues or ("default",), **options)

    with stopped_after(start, stop_dramatiq_worker) as remembered:
        yield remembered
