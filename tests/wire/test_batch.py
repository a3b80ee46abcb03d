"""One round trip's replies, taken all at once or as they arrive, each by its own caller."""

from __future__ import annotations

import pytest
import redis

from qwatch.wire import batch
from qwatch.wire.connection import Target, connect


def test_replies_taken_as_they_arrive_are_those_of_one_run(client: redis.Redis, url: str) -> None:
    client.rpush("rq:queue:a", *range(5))
    watcher = connect(Target(url=url))
    commands = [("LLEN", "rq:queue:a"), ("LINDEX", "rq:queue:a", 0), ("LLEN", "missing")] * 400
    with batch.sent(watcher, commands) as arriving:
        taken = arriving.take(1) + arriving.take(599) + arriving.take(arriving.left)
    assert taken == batch.run(watcher, commands) == [5, b"0", 0] * 400


SLOW: list[batch.Command] = [("LLEN", "x"), ("BLPOP", "rq:never", 5), ("LLEN", "x")]
"""Replies still on their way when the caller stops taking them: Redis waits in BLPOP."""


def test_replies_left_unread_never_reach_the_next_caller(client: redis.Redis, url: str) -> None:
    client.set("rq:answer", "mine")
    watcher = connect(Target(url=url))
    with pytest.raises(RuntimeError), batch.sent(watcher, SLOW) as arriving:
        arriving.take(1)
        raise RuntimeError("a bug between two takes")
    assert batch.run(watcher, [("GET", "rq:answer")]) == [b"mine"]
    with batch.sent(watcher, SLOW) as arriving:
        arriving.take(1)  # the caller stops early
    assert batch.run(watcher, [("GET", "rq:answer")]) == [b"mine"]
