"""The collector only reads: constant round trips, read commands, and a read-only ACL user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.connection import Connection
from rq import Queue, Worker

from harness import tasks
from harness.redis_server import RedisServer
from qwatch import batch
from qwatch.connection import Target, connect
from qwatch.jobs import read_failed, read_job
from qwatch.reader import read_snapshot

READ_COMMANDS = {
    "smembers", "info", "exists", "llen", "lindex", "zcount", "zcard", "zrangebyscore",
    "hmget", "hget", "pttl", "hgetall", "xrevrange", "zrevrange",
}  # fmt: skip
CONNECTION_COMMANDS = {"client|setinfo", "hello", "auth", "ping", "select"}


def populate(client: redis.Redis, queues: int, workers: int) -> None:
    """Queues with jobs and registered workers, written with RQ's own API."""
    for i in range(queues):
        queue = Queue(f"q{i}", connection=client)
        queue.enqueue(tasks.add, i, 1)
    for i in range(workers):
        worker = Worker([f"q{i % queues}"], connection=client, name=f"w{i}")
        worker.register_birth()
        worker.set_state("idle")


class RoundTrips:
    """Counts every wait for Redis' replies: a qwatch batch, or any plain redis-py reply."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        read_replies = batch._read_replies
        read_response = Connection.read_response

        def counting_batch(conn: Connection, count: int) -> list[Any]:
            self.count += 1
            return read_replies(conn, count)

        def counting_reply(conn: Connection, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return read_response(conn, *args, **kwargs)

        monkeypatch.setattr(batch, "_read_replies", counting_batch)
        monkeypatch.setattr(Connection, "read_response", counting_reply)


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    yield RoundTrips(monkeypatch)


def trips_for_snapshot(client: redis.Redis, round_trips: RoundTrips) -> int:
    read_snapshot(client)  # connects, so the handshake is not counted below
    before = round_trips.count
    snapshot = read_snapshot(client)
    assert snapshot.queues and snapshot.workers
    return round_trips.count - before


def test_round_trips_do_not_grow_with_queues_and_workers(
    client: redis.Redis, round_trips: RoundTrips
) -> None:
    populate(client, queues=3, workers=3)
    small = trips_for_snapshot(client, round_trips)
    client.flushall()
    populate(client, queues=300, workers=300)
    large = trips_for_snapshot(client, round_trips)
    assert small == large <= 4
    assert len(read_snapshot(client).queues) == 300


def command_calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def test_every_command_is_a_read(client: redis.Redis) -> None:
    populate(client, queues=2, workers=2)
    failing = Queue("q0", connection=client).enqueue(tasks.divide, 1, 0)
    before = command_calls(client)
    read_snapshot(client)
    read_failed(client, limit=5)
    read_job(client, failing.id)
    after = command_calls(client)
    used = {name for name, calls in after.items() if calls > before.get(name, 0)}
    used.discard("info")  # the two command_calls() above are INFO too
    assert used <= READ_COMMANDS | CONNECTION_COMMANDS
    assert {"llen", "zcount", "hmget", "hgetall", "xrevrange"} <= used


@pytest.mark.parametrize("commands", [["+@read", "+info"], ["+@read"]], ids=["with-info", "bare"])
def test_works_under_a_read_only_acl_user(
    client: redis.Redis, redis_server: RedisServer, commands: list[str]
) -> None:
    populate(client, queues=2, workers=2)
    failing = Queue("q0", connection=client).enqueue(tasks.divide, 1, 0)
    client.acl_setuser(
        "watcher",
        reset=True,
        enabled=True,
        passwords=["+watch-pw"],
        keys=["rq:*"],
        commands=commands,
    )
    url = f"redis://watcher@127.0.0.1:{redis_server.port}/0"
    watcher = connect(Target(url=url, password="watch-pw"))
    with pytest.raises(redis.exceptions.NoPermissionError):
        watcher.set("rq:anything", "x")
    now = read_snapshot(client).taken_at
    seen = read_snapshot(watcher, now=now)
    truth = read_snapshot(client, now=now)
    assert (seen.queues, seen.workers) == (truth.queues, truth.workers)
    assert [queue.queued for queue in seen.queues] == [2, 1]
    assert (seen.redis.version is not None) == ("+info" in commands)
    job = read_job(watcher, failing.id)
    assert job is not None and job.function == "harness.tasks.divide"
