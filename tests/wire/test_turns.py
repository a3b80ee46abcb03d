"""A reading and a poll of one Redis take turns, and a poll gives way to a waiting reading."""

from __future__ import annotations

import threading

import pytest

from harness.polling import wait_until
from qwatch.wire.turns import GaveWay, Turn


def test_a_poll_goes_on_while_no_reading_waits() -> None:
    turn = Turn()
    with turn.polling():
        turn.give_way()


def test_a_poll_gives_way_to_a_reading_that_waits_and_the_reading_goes_first() -> None:
    turn = Turn()
    order: list[str] = []
    read = threading.Event()

    def reading() -> None:
        with turn.reading():
            order.append("reading")
        read.set()

    with turn.polling():
        thread = threading.Thread(target=reading)
        thread.start()
        wait_until(lambda: turn.reading_waits, "the reading to wait")
        with pytest.raises(GaveWay):
            turn.give_way()
        assert not read.is_set()
    thread.join(timeout=10)
    with turn.polling():
        order.append("poll again")
        turn.give_way()
    assert order == ["reading", "poll again"]


def test_a_reading_that_raises_gives_the_turn_back() -> None:
    turn = Turn()
    with pytest.raises(ValueError), turn.reading():
        raise ValueError("the reading failed")
    with turn.polling():
        turn.give_way()
