"""Exact mode for Dramatiq: a real worker with qwatch's middleware, as /metrics counts it."""

from __future__ import annotations

import time

import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import send
from harness.polling import wait_until
from qwatch.dramatiq.broker import UNSEEN_NOTE
from qwatch.dramatiq.layout import DramatiqLayout
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.model import DRAMATIQ
from qwatch.text.trends import Trends
from qwatch.watch import Watch
from qwatch.wire import completions
from tests.celery.side_by_side import scrape_until
from tests.dramatiq.conftest import StartWorker
from tests.exporter.conftest import Scrape

LAYOUT = DramatiqLayout()


def counted(scrape: Scrape, name: str, **labels: str) -> float:
    return sum(scrape.matching(name, system=DRAMATIQ, **labels).values())


def test_every_outcome_is_counted_once_per_actor_with_its_run_time(
    client: redis.Redis, broker: RedisBroker, start_worker: StartWorker
) -> None:
    start_worker("default", exact=True)
    wait_until(lambda: client.hlen(LAYOUT.marks_key) == 1, "the worker to say it writes")
    source = RedisSource("main", client, track_interval=0.1, watch=Watch(client, DRAMATIQ))
    collector = QwatchCollector([source], timeout=10)
    try:
        source.start()
        scrape_until(collector, lambda got: got.value("qwatch_up") == 1, "a first reading")
        for i in range(3):
            send(broker, "harness.add", i, 1)
        send(broker, "harness.fail", "mailbox of customer 4711 is full")
        send(broker, "harness.crawl", "http://shop/customer-4711")
        got = scrape_until(
            collector,
            lambda got: (
                counted(got, "qwatch_jobs_failed_total") == 2
                and counted(got, "qwatch_jobs_finished_total") == 3
            ),
            "three finished, two failed for good",
        )
    finally:
        source.close()
    assert counted(got, "qwatch_jobs_finished_total", function="harness.add") == 3
    assert counted(got, "qwatch_jobs_failed_total", exception="ValueError") == 1
    upstream = "harness.dramatiq_app.UpstreamTimeout"
    assert counted(got, "qwatch_jobs_failed_total", function="harness.crawl") == 1
    assert counted(got, "qwatch_jobs_retried_total", exception=upstream) == 1
    assert counted(got, "qwatch_job_duration_seconds_count", queue="default") == 5
    assert got.value("qwatch_queue_counting_mode", queue="default", system=DRAMATIQ) == 1
    assert got.matching("qwatch_queue_counting_mode", mode="exact", queue="default")


def test_a_queue_a_plain_worker_holds_is_not_counted_exactly(
    client: redis.Redis, broker: RedisBroker, start_worker: StartWorker
) -> None:
    """A worker without the middleware leaves no trace of what it acks: its queue's mode
    says so instead of claiming zeros."""
    start_worker("default")
    send(broker, "harness.sleep", 30)
    client.xadd(LAYOUT.completions_key, {"v1": "[]"})  # the stream exists: someone writes
    wait_until(
        lambda: list(client.scan_iter(f"{LAYOUT.namespace}:__acks__.*")), "the message fetched"
    )
    watch = Watch(client, DRAMATIQ)
    watch.follow("main")
    for _poll in range(2):
        taken = watch.take(watch.read())
    assert taken.dramatiq.present and "default" not in taken.dramatiq.exact_queues


def test_a_stream_qwatch_cannot_write_changes_no_outcome(
    client: redis.Redis, broker: RedisBroker, start_worker: StartWorker
) -> None:
    """Whatever fails in the middleware, the worker runs and acks every message as without
    it: here its stream's key holds a string, so every write is refused."""
    client.set(LAYOUT.completions_key, "not a stream")
    worker = start_worker("default", exact=True)
    for i in range(5):
        send(broker, "harness.add", i, 1)
    wait_until(
        lambda: (
            client.llen(LAYOUT.queue_key("default")) == 0
            and client.hlen(LAYOUT.messages_key("default")) == 0
        ),
        "every message processed and acked",
    )
    assert worker.poll() is None
    assert client.zcard(LAYOUT.dead_key("default")) == 0
    assert client.get(LAYOUT.completions_key) == b"not a stream"


def test_queues_the_stream_names_are_read_within_a_bound(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue that empties at once has no key to discover: the stream's names make it known,
    as many as the bound allows; entries beyond it are skipped, and say so."""
    monkeypatch.setattr(completions, "STREAM_QUEUES_LIMIT", 3)
    client.zadd(LAYOUT.heartbeats_key, {"a-broker": int(time.time() * 1000)})
    watch = Watch(client, DRAMATIQ)
    watch.follow("main")
    watch.take(watch.read())
    for i in range(5):
        fields = completions.entry(
            f"m{i}", f"fast-{i}", "finished", function="app.ping", exception=None,
            enqueued_at=None, started_at=None, ended_at=time.time(), worker="a-broker",
        )  # fmt: skip
        client.xadd(LAYOUT.completions_key, fields)  # type: ignore[arg-type]
    taken = watch.take(watch.read())
    assert sorted(c.queue for c in taken.completions) == ["fast-0", "fast-1", "fast-2"]
    assert taken.dramatiq.skipped == 2
    shown = [queue.name for queue in watch.read().queues]
    assert shown == ["fast-0", "fast-1", "fast-2"]


def test_without_the_middleware_nothing_reads_as_zero_finished(
    client: redis.Redis, broker: RedisBroker, start_worker: StartWorker
) -> None:
    """A plain worker's queue shows no rate out, not 0 a second, and the snapshot says why."""
    send(broker, "harness.add", 1, 1, queue="parked")
    watch = Watch(client, DRAMATIQ)
    watch.follow("main")
    trends = Trends()
    for _poll in range(2):
        snapshot = watch.read()
        taken = watch.take(snapshot)
        trend = trends.update(snapshot, taken.completions, taken.unseen(snapshot))
    assert (trend["dramatiq:parked"].in_per_second, trend["dramatiq:parked"].out_per_second) == (
        None, None,
    )  # fmt: skip
    assert UNSEEN_NOTE in snapshot.notes
    start_worker("default", exact=True)
    wait_until(lambda: client.hlen(LAYOUT.marks_key) == 1, "the worker to say it writes")
    assert UNSEEN_NOTE not in watch.read().notes


def test_only_a_queue_the_stream_names_is_counted_exactly(
    client: redis.Redis, broker: RedisBroker
) -> None:
    """No worker seen on either queue: the one the stream named is exact, the other is not,
    since a plain worker may take it between two discoveries."""
    send(broker, "harness.add", 1, 1, queue="parked")
    watch = Watch(client, DRAMATIQ)
    watch.follow("main")
    watch.take(watch.read())
    fields = completions.entry(
        "m0", "default", "finished", function="harness.add", exception=None,
        enqueued_at=None, started_at=None, ended_at=time.time(), worker="a-broker",
    )  # fmt: skip
    client.xadd(LAYOUT.completions_key, fields)  # type: ignore[arg-type]
    taken = watch.take(watch.read())
    assert taken.dramatiq.exact_queues == {"default"}
    assert taken.unseen(watch.read()) == {(DRAMATIQ, "parked")}
