"""Dramatiq's dead letters in `qwatch failed`, `qwatch job` and the inspector, from a real worker."""

from __future__ import annotations

import re

import redis
from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import send
from harness.polling import wait_until
from qwatch.dramatiq.dead import NO_ERROR
from qwatch.model import DRAMATIQ
from qwatch.watch import Watch
from tests.cli.test_cli import run_cli
from tests.dramatiq.conftest import StartWorker


def dead(client: redis.Redis, count: int) -> None:
    wait_until(lambda: len(Watch(client, DRAMATIQ).failed(20)) >= count, f"{count} dead letters")


def test_a_dead_letter_shows_its_actor_arguments_retries_and_the_traceback_kept(
    client: redis.Redis, url: str, broker: RedisBroker, start_worker: StartWorker
) -> None:
    crawl = send(broker, "harness.crawl", "http://shop/customer-4711")
    start_worker("default")
    dead(client, 1)
    failed = run_cli("failed", "--url", url, "--system", "dramatiq")
    assert failed.returncode == 0, failed.stderr
    (row,) = [line for line in failed.stdout.splitlines() if crawl.message_id in line]
    assert "harness.crawl" in row and "UpstreamTimeout" in row
    shown = run_cli("job", crawl.message_id, "--url", url, "--system", "dramatiq")
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^status +failed$", shown.stdout, re.MULTILINE), shown.stdout
    assert "'http://shop/customer-4711'" in shown.stdout
    assert "Traceback (most recent call last)" in shown.stdout
    words = " ".join(shown.stdout.split())
    assert "UpstreamTimeout: http://shop/customer-4711 did not answer in 30 s" in words


def test_a_message_that_died_without_a_retry_says_dramatiq_kept_no_error(
    client: redis.Redis, broker: RedisBroker, start_worker: StartWorker
) -> None:
    failed = send(broker, "harness.fail", "mailbox of customer 4711 is full")
    waiting = send(broker, "harness.add", 1, 2, queue="parked")
    later = send(broker, "harness.add", 3, 4, queue="parked", delay_ms=600_000)
    start_worker("default")
    dead(client, 1)
    watch = Watch(client, DRAMATIQ)
    job = watch.job(failed.message_id)
    assert job is not None and (job.status, job.function, job.system) == (
        "failed", "harness.fail", DRAMATIQ,
    )  # fmt: skip
    assert job.exception == NO_ERROR and job.traceback is None
    assert job.ended_at is not None and job.arguments == "'mailbox of customer 4711 is full'"
    queued = watch.job(waiting.message_id)
    assert queued is not None and (queued.status, queued.origin) == ("queued", "parked")
    delayed = watch.job(later.message_id)
    assert delayed is not None and delayed.status == "scheduled"
    assert delayed.scheduled_for is not None and delayed.scheduled_for > (delayed.enqueued_at or 0)
    assert watch.job("no-such-message") is None
