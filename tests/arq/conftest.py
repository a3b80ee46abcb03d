"""Real arq workers on the private Redis, stopped after each test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.arq_app import start_arq_worker, stop_arq_worker

StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(url: str) -> Iterator[StartWorker]:
    started: list[subprocess.Popen[bytes]] = []

    def start(**options: Any) -> subprocess.Popen[bytes]:
        process = start_arq_worker(url, **options)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                stop_arq_worker(process)
