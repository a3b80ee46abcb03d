"""`qwatch search` over Celery, with a real producer and a real worker: the failures heard while
listening, and the messages waiting in a queue no worker consumes."""

from __future__ import annotations

import json

import redis
from celery import Celery

from harness.polling import wait_until
from qwatch.model import CELERY, SearchRequest
from qwatch.watch import Watch
from tests.celery.conftest import StartWorker
from tests.celery.test_events import live_worker
from tests.cli.test_cli import run_cli


def test_a_search_finds_a_failure_heard_and_a_message_waiting(
    client: redis.Redis, url: str, app: Celery, start_worker: StartWorker
) -> None:
    waiting = app.send_task("harness.add", (4711, 1), queue="search-parked")
    app.send_task("harness.add", (1, 1), queue="search-parked")
    watch = Watch(client, CELERY)
    watch.read()  # discovers the queues and starts listening
    assert watch.events is not None
    start_worker(name="searched", task_events=True)
    live_worker(watch.events, "searched")
    failed = app.send_task("harness.crawl", ("http://shop/customer-4711",))
    wait_until(lambda: [f.id for f in watch.celery_failures()] == [failed.id], "the failure")
    try:
        found = watch.searched(SearchRequest("4711"))
        assert found.done and found.stopped is None
        assert {(hit.id, hit.queue, hit.state, hit.system) for hit in found.hits} == {
            (failed.id, "-", "failed", CELERY),  # a failure event names no queue
            (waiting.id, "search-parked", "queued", CELERY),
        }
        (failure,) = watch.searched(SearchRequest("UpstreamTimeout")).hits
        assert failure.function == "harness.crawl" and "did not answer" in (failure.detail or "")
        assert watch.searched(SearchRequest("4711", states=("queued",))).hits[0].id == waiting.id
    finally:
        watch.close()
    shown = run_cli("search", "4711", "--url", url, "--system", "celery", "--json")
    data = json.loads(shown.stdout)  # one-shot: no failure heard, the waiting message found
    assert [hit["id"] for hit in data["hits"]] == [waiting.id]
