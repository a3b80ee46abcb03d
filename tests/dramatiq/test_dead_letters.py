"""Dramatiq's dead letters and messages in `qwatch failed`, `job` and `jobs`, from a real worker."""

from __future__ import annotations

import json
import re

import redis
from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import send
from harness.polling import wait_until
from qwatch.dramatiq.dead import NO_ERROR
from qwatch.model import DRAMATIQ, SearchRequest
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


def test_jobs_pages_a_queues_messages_in_each_state(
    client: redis.Redis, url: str, broker: RedisBroker, start_worker: StartWorker
) -> None:
    waiting = [send(broker, "harness.add", n, 1, queue="parked") for n in range(5)]
    send(broker, "harness.add", 9, 9, queue="parked", delay_ms=600_000)
    died = send(broker, "harness.fail", "customer 4711")
    running = send(broker, "harness.sleep", 60)
    start_worker("default")
    wait_until(
        lambda: (
            (q := Watch(client, DRAMATIQ).read().queues)
            and {(x.name, x.started, x.failed) for x in q} >= {("default", 1, 1)}
        ),
        "the sleep taken and the failure dead",
    )
    cli = ["--url", url, "--system", "dramatiq"]
    first = json.loads(run_cli("jobs", "parked", "--limit", "2", "--json", *cli).stdout)
    assert [job["id"] for job in first["jobs"]] == [m.message_id for m in waiting[:2]]
    assert (first["total"], first["next_offset"]) == (5, 2)
    assert {job["function"] for job in first["jobs"]} == {"harness.add"}
    scheduled = json.loads(run_cli("jobs", "parked", "--state", "scheduled", "--json", *cli).stdout)
    assert scheduled["total"] == 1 and scheduled["jobs"][0]["score"] is not None
    dead = json.loads(run_cli("jobs", "default", "--state", "failed", "--json", *cli).stdout)
    assert [job["id"] for job in dead["jobs"]] == [died.message_id]
    started = json.loads(run_cli("jobs", "default", "--state", "started", "--json", *cli).stdout)
    assert [job["id"] for job in started["jobs"]] == [running.message_id]
    assert started["jobs"][0]["worker"]
    shown = run_cli("jobs", "parked", *cli)
    assert shown.returncode == 0 and "harness.add" in shown.stdout
    bad = run_cli("jobs", "parked", "--state", "finished", *cli)
    assert bad.returncode == 2 and "a Dramatiq queue's states are" in bad.stderr
    missing = run_cli("jobs", "nowhere", *cli)
    assert missing.returncode == 2 and "no Dramatiq queue 'nowhere'" in missing.stderr


def test_a_search_finds_a_customer_in_dead_letters_and_waiting_messages(
    client: redis.Redis, url: str, broker: RedisBroker, start_worker: StartWorker
) -> None:
    died = send(broker, "harness.fail", "mailbox of customer-4711 is full")
    waiting = send(broker, "harness.add", 4711, 1, queue="parked")
    later = send(broker, "harness.add", 1, 4711, queue="parked", delay_ms=600_000)
    send(broker, "harness.add", 1, 2, queue="parked")
    start_worker("default")
    dead(client, 1)
    found = Watch(client, DRAMATIQ).searched(SearchRequest("4711"))
    assert found.done and found.scanned == 4
    assert {(hit.id, hit.queue, hit.state, hit.system) for hit in found.hits} == {
        (died.message_id, "default", "failed", DRAMATIQ),
        (waiting.message_id, "parked", "queued", DRAMATIQ),
        (later.message_id, "parked", "scheduled", DRAMATIQ),
    }
    shown = run_cli("search", "customer-4711", "--url", url, "--json")  # auto finds Dramatiq
    assert [hit["id"] for hit in json.loads(shown.stdout)["hits"]] == [died.message_id]
    cut = Watch(client, DRAMATIQ).searched(SearchRequest("4711", budget=2))
    assert (cut.stopped, cut.scanned) == ("budget", 2)
