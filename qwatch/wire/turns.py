"""Turns at one Redis between a face's readings and a background poll: readings go first.

Python runs one thread at a time, so a reading and a completion poll of the
same Redis run at once would each take as long as both: they take turns.
A reading is what a scrape or a page waits for, and a poll at 10,000 queues
takes as long as a reading, so a poll that a reading comes to wait for gives
way: it stops at its next step, undoes what it did (a poll that fails
changes nothing), and runs again after it, to its end that time. A poll
also waits while a face writes out what a reading found (a scrape's 12 MB at
10,000 queues), for up to its patience, so that readings back to back
cannot starve it.
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
        self._state = threading.Condition()
        self._held = False
        self._readings_waiting = 0
        self._answering = 0

    @property
    def reading_waits(self) -> bool:
        return self._readings_waiting > 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A face's turn: a poll in progress gives way to it at its next step."""
        with self._state:
            self._readings_waiting += 1
            try:
                self._state.wait_for(lambda: not self._held)
            finally:
                self._readings_waiting -= 1
            self._held = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """A face writing out a reading: polls wait for it to be done."""
        with self._state:
            self._answering += 1
        try:
            yield
        finally:
            with self._state:
                self._answering -= 1
                self._state.notify_all()

    @contextmanager
    def polling(self, patience: float = 0.0) -> Iterator[None]:
        """A poll's turn, after any reading that holds or waits for one, and after the faces
        answering, for up to `patience` seconds."""
        with self._state:
            self._state.wait_for(lambda: not self._answering, timeout=patience)
            self._state.wait_for(lambda: not self._held and not self._readings_waiting)
            self._held = True
        try:
            yield
        finally:
            self._release()

    def give_way(self) -> None:
        """Called by a poll between its steps: raises `GaveWay` when a reading waits."""
        if self.reading_waits:
            raise GaveWay

    def _release(self) -> None:
        with self._state:
            self._held = False
            self._state.notify_all()
