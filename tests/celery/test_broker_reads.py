"""The Celery reader's manners: constant round trips, only reads, hostile values survived."""

from __future__ import annotations

import json
import time

import pytest
import redis
from celery import Celery

from qwatch.celery import broker
from qwatch.celery.broker import (
    HEAD_READ,
    RESERVED_LIMIT,
    UNREADABLE_TASK,
    discover_queues,
    read_celery_queues,
)
from qwatch.celery.envelope import Message, Unreadable, parse_message
from qwatch.celery.layout import CeleryLayout
from qwatch.wire.memory import ClientMemory
from tests.properties.test_read_only import RoundTrips, command_calls

DEFAULT = CeleryLayout()
READS = {"llen", "lrange", "hlen", "hmget", "zrange", "scan", "smembers", "exists"}


def hold(client: redis.Redis, message: bytes, tag: str, queue: str) -> None:
    """Seed one unacked message, delivered now, the way kombu's `QoS.append` writes it."""
    client.hset("unacked", tag, json.dumps([json.loads(message), "", queue]))
    client.zadd("unacked_index", {tag: time.time()})


def populate(client: redis.Redis, app: Celery, queues: int) -> list[str]:
    names = [f"q{i}" for i in range(queues)]
    for i, name in enumerate(names):
        app.send_task("harness.add", args=(i, 0), queue=name, priority=i % 10)
    message = client.lindex("q0", 0)
    assert isinstance(message, bytes)
    for i in range(20):
        hold(client, message, f"tag-{i}", "q0")
    return names


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    return RoundTrips(monkeypatch)


def trips(client: redis.Redis, round_trips: RoundTrips, queues: list[str]) -> int:
    before = round_trips.count
    reading = read_celery_queues(client, DEFAULT, queues)
    assert len(reading.queues) == len(queues) and reading.reserved == 20
    return round_trips.count - before


def test_round_trips_do_not_grow_with_queues(
    client: redis.Redis, app: Celery, round_trips: RoundTrips
) -> None:
    small = populate(client, app, 3)
    read_celery_queues(client, DEFAULT, small)  # connects: the handshake is not counted
    few = trips(client, round_trips, small)
    client.flushall()
    many = trips(client, round_trips, populate(client, app, 300))
    assert few == many == 2


def test_a_steady_state_reads_no_unacked_value_again(client: redis.Redis, app: Celery) -> None:
    queues = populate(client, app, 2)
    read_celery_queues(client, DEFAULT, queues)
    before = command_calls(client).get("hmget", 0)
    again = read_celery_queues(client, DEFAULT, queues)
    assert command_calls(client).get("hmget", 0) == before
    assert [q.celery.reserved if q.celery else None for q in again.queues] == [20, 0]


def test_waiting_heads_of_every_queue_are_parsed_once(
    client: redis.Redis, app: Celery, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[object] = []

    def counting(raw: object) -> Message | Unreadable:
        parsed.append(raw)
        return parse_message(raw)

    monkeypatch.setattr(broker, "_MESSAGES", ClientMemory(counting))
    queues = populate(client, app, 3)
    first = read_celery_queues(client, DEFAULT, queues)
    again = read_celery_queues(client, DEFAULT, queues)
    assert len(parsed) == 3
    assert [q.head_job for q in again.queues] == [q.head_job for q in first.queues]


def test_every_command_is_a_read(client: redis.Redis, app: Celery) -> None:
    queues = populate(client, app, 3)
    client.sadd("_kombu.binding.q0", "q0\x06\x16\x06\x16q0")  # kombu declares once a process
    before = command_calls(client)
    read_celery_queues(client, DEFAULT, discover_queues(client, DEFAULT) + tuple(queues))
    after = command_calls(client)
    used = {name for name, calls in after.items() if calls > before.get(name, 0)}
    used.discard("info")
    assert used <= READS
    assert {"llen", "lrange", "hlen", "hmget", "zrange", "scan", "smembers"} <= used


def test_the_head_read_is_bounded_across_priority_lists(client: redis.Redis, app: Celery) -> None:
    for p in (0, 9):
        for _ in range(HEAD_READ):
            app.send_task("harness.add", args=(p, 0), queue="deep", priority=p)
    deep = read_celery_queues(client, DEFAULT, ["deep"]).queues[0]
    assert deep.queued == 2 * HEAD_READ
    assert deep.celery is not None and deep.celery.head_read == HEAD_READ


def test_many_queues_share_the_head_budget(
    client: redis.Redis, app: Celery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "HEAD_BUDGET", 10)
    queues = populate(client, app, 20)
    for queue in queues:
        app.send_task("harness.add", args=(2, 2), queue=queue)
    reading = read_celery_queues(client, DEFAULT, queues)
    assert {q.celery.head_read if q.celery else None for q in reading.queues} == {1}
    assert {q.queued for q in reading.queues} == {2}


def test_hostile_values_cost_their_own_record_only(client: redis.Redis, app: Celery) -> None:
    app.send_task("harness.add", args=(1, 1), queue="good")
    app.send_task("harness.add", args=(1, 1), queue="garbage")
    message = client.lindex("good", 0)
    assert isinstance(message, bytes)
    client.set("wrongtype\x06\x163", "a string where a list belongs")
    client.rpush("garbage", b"{not json", b"x" * (2 << 20))  # the next two to be consumed
    hold(client, message, "fine", "good")
    client.hset("unacked", "garbled", "[[[")
    client.zadd("unacked_index", {"garbled": time.time(), "infinite": float("inf")})
    client.hset("unacked", "infinite", client.hget("unacked", "fine") or b"")
    client.sadd(
        "_kombu.binding.odd", b"\xff\xfe", "only\x06\x16two", "a\x06\x16b\x06\x16c\x06\x16d"
    )
    client.set("_kombu.binding.string", "not a set")
    assert "wrongtype" not in discover_queues(client, DEFAULT)
    reading = read_celery_queues(client, DEFAULT, ["garbage", "good", "wrongtype"])
    assert [q.name for q in reading.queues] == ["garbage", "good"]
    garbage, good = reading.queues
    assert garbage.queued == 3 and garbage.head_job is None
    assert garbage.celery is not None
    assert dict(garbage.celery.head_tasks) == {UNREADABLE_TASK: 2, "harness.add": 1}
    assert good.celery is not None and good.celery.reserved == 1
    assert reading.reserved == 3
    assert reading.records_skipped == 3  # the queue, the garbled and the infinite entries


def test_wrong_types_for_kombus_own_keys_are_noted(client: redis.Redis, app: Celery) -> None:
    app.send_task("harness.add", args=(1, 1), queue="good")
    client.set("unacked", "x")
    client.set("unacked_index", "y")
    reading = read_celery_queues(client, DEFAULT, ["good"])
    (good,) = reading.queues
    assert good.queued == 1 and good.celery is not None and good.celery.reserved is None
    assert reading.reserved == 0 and len(reading.notes) == 2


def test_over_the_reserved_limit_per_queue_counts_are_unknown(
    client: redis.Redis, app: Celery
) -> None:
    app.send_task("harness.add", args=(1, 1), queue="busy")
    client.zadd("unacked_index", {f"t{i}": time.time() for i in range(RESERVED_LIMIT + 1)})
    reading = read_celery_queues(client, DEFAULT, ["busy"])
    (busy,) = reading.queues
    assert busy.celery is not None and busy.celery.reserved is None and busy.scheduled is None
    assert any(str(RESERVED_LIMIT) in note for note in reading.notes)
