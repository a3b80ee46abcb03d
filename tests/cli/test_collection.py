"""The long-running commands keep Python from walking every object at every reading."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from qwatch.cli.collection import collect_seldom


@dataclass(frozen=True, slots=True)
class _Record:
    name: str
    count: int


@pytest.fixture
def thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.collect()
    yield
    gc.set_threshold(*before)


def _full_walks_over_readings() -> int:
    """Full collections while two readings' worth of records are made, each kept until the
    next as `qwatch serve` keeps them: 200,000, some of what one at 10,000 queues keeps."""
    walks = []

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            walks.append(1)

    gc.callbacks.append(counted)
    try:
        kept = [_Record(f"queue-{n}", n) for n in range(200_000)]
        for reading in range(2):
            kept = [_Record(f"queue-{n}", reading) for n in range(200_000)]
    finally:
        gc.callbacks.remove(counted)
    assert len(kept) == 200_000
    return len(walks)


def test_python_s_defaults_walk_every_object_at_a_reading(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    assert _full_walks_over_readings() >= 1


def test_the_long_running_commands_do_not(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    collect_seldom()
    assert _full_walks_over_readings() == 0
