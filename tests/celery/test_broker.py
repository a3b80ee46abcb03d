"""Celery's queues read from the broker while real Celery workers take, hold and lose messages."""

from __future__ import annotations

import time
from typing import Any

import redis
from celery import Celery

from harness.celery_app import make_app
from harness.celery_workers import stop_celery_worker
from harness.polling import wait_until
from qwatch.celery.broker import (
    CeleryReading,
    celery_present,
    discover_queues,
    read_celery_queues,
)
from qwatch.celery.layout import CeleryLayout
from qwatch.model import QueueStats
from tests.celery.conftest import StartWorker

DEFAULT = CeleryLayout()


def read(client: redis.Redis, layout: CeleryLayout = DEFAULT) -> CeleryReading:
    """Discovered queues and `celery`, whose binding a process declares once only
    (kombu remembers declarations across apps)."""
    return read_celery_queues(client, layout, (*discover_queues(client, layout), "celery"))


def queue(reading: CeleryReading, name: str) -> QueueStats:
    (found,) = [stats for stats in reading.queues if stats.name == name]
    return found


def kombu_size(app: Celery, name: str) -> int:
    with app.connection() as conn:
        size: int = conn.default_channel._size(name)
        return size


def inspected(app: Celery, method: str) -> int:
    """How many requests every worker reports to a remote-control `inspect` call."""
    replies: dict[str, list[Any]] = getattr(app.control.inspect(timeout=5), method)() or {}
    return sum(len(requests) for requests in replies.values())


def test_priorities_land_in_kombus_lists_and_add_up_to_its_size(
    client: redis.Redis, app: Celery
) -> None:
    sent = [app.send_task("harness.add", args=(p, 0), priority=p) for p in (7, 0, 1, 4, 9, 5)]
    celery = queue(read(client), "celery")
    assert celery.celery is not None
    with app.connection() as conn:
        channel = conn.default_channel
        expected = [
            (step, client.llen(channel._q_for_pri("celery", step))) for step in (0, 3, 6, 9)
        ]
    assert list(celery.celery.by_priority) == expected == [(0, 2), (3, 2), (6, 1), (9, 1)]
    assert celery.queued == kombu_size(app, "celery") == 6
    assert celery.head_job == sent[1].id  # priority 0, sent first: consumed next
    assert celery.celery.head_tasks == (("harness.add", 6),)
    assert celery.celery.head_read == 6
    assert (celery.started, celery.finished, celery.workers, celery.system) == (
        None,
        None,
        None,
        "celery",
    )


def test_a_custom_separator_and_ten_steps(client: redis.Redis, url: str) -> None:
    options = {"sep": ":", "priority_steps": list(range(10))}
    app = make_app(url, options)
    for p in range(10):
        app.send_task("harness.add", args=(p, 0), priority=p)
    layout = CeleryLayout(sep=":", priority_steps=tuple(range(10)))
    assert client.exists("celery:9")
    celery = queue(read(client, layout), "celery")
    assert celery.celery is not None
    assert celery.celery.by_priority == tuple((p, 1) for p in range(10))
    assert celery.queued == kombu_size(app, "celery") == 10
    app.close()


def test_discovery_finds_bound_and_named_queues_but_not_kombus_own(
    client: redis.Redis, app: Celery, start_worker: StartWorker
) -> None:
    app.send_task("harness.add", args=(1, 1), queue="reports")
    start_worker(["celery", "emails"], name="discovery")
    kombus_own = ("_kombu.binding.celery.pidbox", "_kombu.binding.celeryev")
    expiring = ("_kombu.binding_deadlines", "_kombu.binding_permanent.emails")
    wait_until(lambda: client.exists(*kombus_own, *expiring) == 4, "the worker's bindings")
    assert discover_queues(client, DEFAULT) == ("celery", "emails", "reports")
    named = CeleryLayout(queues=("nightly",))
    client.lpush("nightly", client.lindex("reports", 0) or b"")
    assert discover_queues(client, named) == ("celery", "emails", "nightly", "reports")
    assert queue(read(client, named), "nightly").queued == 1
    assert celery_present(client, DEFAULT)


def test_a_queue_whose_binding_table_vanished_is_still_read(
    client: redis.Redis, app: Celery, monkeypatch: Any
) -> None:
    app.send_task("harness.add", args=(1, 1), queue="lasting")
    app.send_task("harness.add", args=(1, 1), queue="short_lived")
    queues = discover_queues(client, DEFAULT)
    assert queues == ("lasting", "short_lived")
    client.delete("_kombu.binding.short_lived", "_kombu.binding_permanent.short_lived")
    assert queue(read_celery_queues(client, DEFAULT, queues), "short_lived").queued == 1
    assert discover_queues(client, DEFAULT) == ("lasting",)

    from qwatch.wire import batch

    real_run = batch.run

    def vanishing(conn: redis.Redis, commands: Any) -> list[Any]:
        if commands and commands[0][0] == "SMEMBERS":
            client.delete("_kombu.binding.lasting")  # swept between the SCAN and the read
        return real_run(conn, commands)

    monkeypatch.setattr(batch, "run", vanishing)
    assert discover_queues(client, DEFAULT) == ()


def test_eta_tasks_a_worker_holds_are_reserved_and_scheduled(
    client: redis.Redis, app: Celery, start_worker: StartWorker
) -> None:
    for i in range(3):
        app.send_task("harness.add", args=(i, 0), countdown=600)
    start_worker(["celery"], name="eta")
    wait_until(lambda: read(client).reserved == 3, "the worker to hold the ETA tasks")
    celery = queue(read(client), "celery")
    assert celery.celery is not None
    assert celery.queued == 0
    assert celery.scheduled == celery.celery.reserved == inspected(app, "scheduled") == 3
    assert inspected(app, "reserved") == 0
    assert celery.celery.overdue == 0
    assert celery.celery.oldest_reserved_age_seconds is not None


def test_prefetched_acks_late_tasks_are_reserved(
    client: redis.Redis, app: Celery, start_worker: StartWorker
) -> None:
    running = app.send_task("harness.sleep_late", args=(60,))
    for _ in range(5):
        app.send_task("harness.sleep_late", args=(0,))
    start_worker(["celery"], name="late", concurrency=1, prefetch=2)

    def settled() -> bool:
        reading = read(client)
        return reading.reserved == 2 and queue(reading, "celery").queued == 4

    wait_until(settled, "the worker to prefetch two acks_late tasks")
    celery = queue(read(client), "celery")
    assert celery.celery is not None and celery.celery.reserved == 2
    assert inspected(app, "active") + inspected(app, "reserved") == 2
    assert celery.scheduled == 0
    assert (running.id, "celery") in read(client).task_queues


def test_a_killed_workers_messages_become_overdue(
    client: redis.Redis, url: str, start_worker: StartWorker
) -> None:
    options = {"visibility_timeout": 3}
    app = make_app(url, options)
    for _ in range(4):
        app.send_task("harness.sleep_late", args=(60,))
    worker = start_worker(["celery"], name="doomed", prefetch=2, transport_options=options)
    layout = CeleryLayout(visibility_timeout=3)
    wait_until(lambda: read(client, layout).reserved == 2, "the worker to take two tasks")
    stop_celery_worker(worker)
    celery = queue(read(client, layout), "celery")
    assert celery.celery is not None and celery.celery.reserved == 2 and celery.queued == 2

    def overdue() -> int | None:
        stats = queue(read(client, layout), "celery").celery
        return stats.overdue if stats else None

    assert wait_until(lambda: overdue() == 2, "the visibility timeout to pass")
    age = queue(read(client, layout), "celery").celery
    assert age is not None and (age.oldest_reserved_age_seconds or 0) >= 3
    app.close()


def test_an_idle_redis_holds_no_celery(client: redis.Redis) -> None:
    assert not celery_present(client, DEFAULT)
    assert discover_queues(client, DEFAULT) == ()
    reading = read_celery_queues(client, DEFAULT, ())
    assert (reading.queues, reading.reserved, reading.notes) == ((), 0, ())


def test_a_future_now_sees_held_messages_overdue(client: redis.Redis, app: Celery) -> None:
    """Delivery times are compared with `now`: with no worker, seeded the way kombu writes them."""
    app.send_task("harness.add", args=(1, 1))
    raw = client.rpop("celery")
    assert isinstance(raw, bytes)
    client.hset("unacked", "tag-1", b"[" + raw + b', "", "celery"]')
    client.zadd("unacked_index", {"tag-1": time.time()})
    later = read_celery_queues(client, DEFAULT, ["celery"], now=time.time() + 3601)
    stats = queue(later, "celery").celery
    assert stats is not None and (stats.reserved, stats.overdue) == (1, 1)
