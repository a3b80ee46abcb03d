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


def test_a_poll_waits_for_a_face_to_answer() -> None:
    turn = Turn()
    order: list[str] = []

    def poll() -> None:
        with turn.polling(patience=60):
            order.append("poll")

    with turn.answering():
        thread = threading.Thread(target=poll)
        thread.start()
        with turn.reading():  # a reading still has its turn meanwhile
            order.append("reading")
        order.append("answered")
    thread.join(timeout=30)
    assert order == ["reading", "answered", "poll"]


def test_a_poll_waits_for_an_answer_no_longer_than_its_patience() -> None:
    turn = Turn()
    polled = threading.Event()

    def poll() -> None:
        with turn.polling(patience=0.01):
            polled.set()

    with turn.answering():
        threading.Thread(target=poll).start()
        assert polled.wait(timeout=30), "the poll waited past its patience"
