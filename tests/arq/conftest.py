"""Real arq workers on the private Redis, stopped after each test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from harness.arq_workers import start_arq_worker, stop_arq_worker
from harness.workers import stopped_after

StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(url: str) -> Iterator[StartWorker]:
    with stopped_after(partial(start_arq_worker, url), stop_arq_worker) as start:
        yield start
