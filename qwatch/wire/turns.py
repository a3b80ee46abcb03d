"""Turns at one Redis between a face's readings and a background poll: readings go first.

Python runs one thread at a time, so a reading and a completion poll of the
same Redis run at once would each take as long as both: they take turns.
A reading is what a scrape or a page waits for, and a poll at 10,000 queues
takes as long as a reading, so a poll that a reading comes to wait for gives
way: it stops at its next step, undoes what it did (a poll that fails
changes nothing), and runs again once the reading is done. It gives way
once per poll, so that readings back to back cannot starve it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class GaveWay(Exception):
    """A poll stopped so that a waiting reading could go first."""


class Turn:
    """Who reads one Redis now: one reading or one poll at a time."""

    def __init__(self) -> None:
        self._held = threading.Lock()
        self._count = threading.Lock()
        self._readings_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A face's turn: a poll in progress gives way to it at its next step."""
        with self._count:
            self._readings_waiting += 1
        try:
            self._held.acquire()
        finally:
            with self._count:
                self._readings_waiting -= 1
        try:
            yield
        finally:
            self._held.release()

    @contextmanager
    def polling(self) -> Iterator[None]:
        """A poll's turn, after any reading that holds or waits for one."""
        with self._held:
            yield

    @property
    def reading_waits(self) -> bool:
        return self._readings_waiting > 0

    def give_way(self) -> None:
        """Called by a poll between its steps: raises `GaveWay` when a reading waits."""
        if self.reading_waits:
            raise GaveWay
