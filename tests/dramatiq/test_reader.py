"""Dramatiq's queues and broker processes as qwatch reads them, from a real producer and worker."""

from __future__ import annotations

import json
import time

import redis
from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import send, stop_dramatiq_worker
from harness.polling import wait_until
from qwatch.dramatiq.layout import HEARTBEATS
from qwatch.model import DRAMATIQ, DramatiqWatch, QueueStats, Snapshot
from qwatch.watch import Watch
from tests.cli.test_cli import run_cli
from tests.dramatiq.conftest import StartWorker
from tests.rq.test_browse import CommandCount

NO_WATCH = DramatiqWatch(silent_held=-1, unknown_brokers=0)


def read(client: redis.Redis) -> Snapshot:
    """A new watch's first reading: it discovers the queues and acks sets there are now."""
    return Watch(client, DRAMATIQ).read()


def queue(snapshot: Snapshot, name: str) -> QueueStats | None:
    return next((q for q in snapshot.queues if q.name == name), None)


def test_every_count_of_a_queue_and_its_worker(
    client: redis.Redis, url: str, broker: RedisBroker, start_worker: StartWorker
) -> None:
    for n in range(3):
        send(broker, "harness.add", n, 1, queue="parked")
    send(broker, "harness.add", 1, 2, delay_ms=600_000)
    send(broker, "harness.fail", "mailbox of customer 4711 is full")
    send(broker, "harness.sleep", 60)
    start_worker("default")

    def settled() -> Snapshot | None:
        snapshot = read(client)
        default = queue(snapshot, "default")
        ok = default is not None and (default.started, default.scheduled, default.failed) == (
            1, 1, 1,
        )  # fmt: skip
        return snapshot if ok else None

    snapshot = wait_until(settled, "the worker to take the sleep, hold the delayed, kill the fail")
    assert snapshot is not None
    default, parked = queue(snapshot, "default"), queue(snapshot, "parked")
    assert default is not None and parked is not None
    assert (default.queued, default.finished, default.workers, default.system) == (
        0, None, None, DRAMATIQ,
    )  # fmt: skip
    head = (parked.queued, parked.started, parked.failed, parked.head_job)
    assert head == (3, 0, 0, "harness.add")
    assert parked.oldest_queued_age_seconds is not None and parked.oldest_queued_age_seconds < 60
    states = sorted(worker.state for worker in snapshot.workers)
    assert states == ["busy", "unknown"], "the worker holds the sleep; the producer fetched nothing"
    (worker,) = [w for w in snapshot.workers if w.state == "busy"]
    assert worker.queues == ("default",) and not worker.heartbeat_overdue
    assert any("producers (which heartbeat too)" in note for note in snapshot.notes)


def test_a_reading_costs_three_round_trips_whatever_the_queues(
    client: redis.Redis, broker: RedisBroker
) -> None:
    for n in range(40):
        send(broker, "harness.add", n, 1, queue=f"queue-{n}")
    watch = Watch(client, DRAMATIQ)
    watch.read()
    count = CommandCount(client)
    snapshot = watch.read()
    assert len(snapshot.queues) == 40
    # the heartbeats, the middleware's marks, the lengths and first ids; each first message's
    # size; the messages
    assert count.since() <= 2 + 5 * 40 + 40 + 40 + 1  # INFO for Redis' own figures


def test_auto_finds_dramatiq_and_the_snapshot_says_whose_each_queue_is(
    url: str, broker: RedisBroker
) -> None:
    send(broker, "harness.add", 1, 2, queue="emails")
    shown = run_cli("snapshot", "--url", url, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    (emails,) = [q for q in data["queues"] if q["name"] == "emails"]
    assert (emails["system"], emails["queued"], emails["failed"]) == (DRAMATIQ, 1, 0)
    other = run_cli("snapshot", "--url", url, "--system", "dramatiq", "--dramatiq-namespace", "x")
    assert other.returncode == 0 and "emails" not in other.stdout
    bad = run_cli("snapshot", "--url", url, "--dramatiq-namespace", "")
    assert bad.returncode == 2 and "Dramatiq namespace" in bad.stderr


def test_messages_a_killed_worker_held_are_counted_until_dramatiq_requeues_them(
    client: redis.Redis, broker: RedisBroker, start_worker: StartWorker
) -> None:
    send(broker, "harness.sleep", 60)
    worker = start_worker("default")

    def busy() -> list[str]:
        return [w.name for w in read(client).workers if w.state == "busy"]

    (name,) = wait_until(busy, "the worker busy with the message")
    assert (read(client).dramatiq or NO_WATCH).silent_held == 0
    stop_dramatiq_worker(worker)
    client.zadd(f"dramatiq:{HEARTBEATS}", {name: int((time.time() - 120) * 1000)})
    silent = read(client)
    assert (silent.dramatiq or NO_WATCH).silent_held == 1
    assert [w.state for w in silent.workers if w.name == name] == ["dead"]
