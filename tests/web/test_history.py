"""`qwatch serve` keeps a history while nobody scrapes: /api/history and /api/events, with a
real RQ worker and a Redis that goes away and comes back."""

from __future__ import annotations

import json
from typing import Any

from rq import Queue

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer
from harness.workers import start_worker, stop_worker
from tests.web.conftest import StartDashboard, fetch


def answer(base: str, path: str) -> Any:
    got = fetch(base, path)
    return (
        json.loads(got.body)
        if got.status == 200
        else {"status": got.status, **json.loads(got.body)}
    )


def kinds(base: str) -> list[tuple[str, str | None]]:
    return [(e["kind"], e["name"]) for e in answer(base, "/api/events")["events"]]


def test_the_history_goes_on_unscraped_and_tells_what_changed(
    start_dashboard: StartDashboard,
) -> None:
    server = RedisServer()
    server.start()
    worker = None
    try:
        client = server.client()
        Queue("emails", connection=client).enqueue(tasks.send_email, "a@example.com", "hi")
        base = start_dashboard(url=server.url, options=("--history-interval", "1")).url
        queued = "/api/history?queue=emails&system=rq"
        wait_until(lambda: fetch(base, queued).status == 200, "the first sample, unscraped")
        worker = start_worker(server.url, ["emails"], name="history-worker")
        wait_until(lambda: ("worker appeared", "history-worker") in kinds(base), "the worker")
        wait_until(lambda: not client.llen("rq:queue:emails"), "the job to run")
        wait_until(
            lambda: answer(base, queued)["queues"][0]["queued"][-1][1] == 0, "the queue drained"
        )
        history = answer(base, queued)
        (emails,) = history["queues"]
        assert emails["step"] == 15  # the hour, 15 s a point, each the mean of its samples
        assert emails["queued"][0][1] > 0, "the job that waited before the worker came"
        assert history["queues_kept"] == 1 and history["workers_kept"] == 1
        busy = answer(base, "/api/history?worker=history-worker")["workers"][0]["busy"]
        assert all(0 <= value <= 1 for _at, value in busy)

        stop_worker(worker)
        worker = None
        server.stop()
        wait_until(lambda: kinds(base)[0] == ("redis unreachable", None), "Redis gone, said")
        server.start()
        wait_until(lambda: kinds(base)[0][0] in ("redis answering", "worker went silent"), "back")
        assert ("redis answering", None) in kinds(base)
    finally:
        if worker is not None:
            stop_worker(worker)
        server.stop()


def test_bad_history_questions_are_plain_404s(start_dashboard: StartDashboard) -> None:
    base = start_dashboard().url
    for path, said in (
        ("/api/history?window=week", "no window 'week': hour, day"),
        ("/api/history?queue=nope", "no history of queue 'nope' in main"),
        ("/api/history?limit=0", "0 is not between 1 and 1000"),
        ("/api/events?limit=x", "not a number: 'x'"),
    ):
        got = fetch(base, path)
        assert (got.status, json.loads(got.body)["error"]) == (404, said), path
