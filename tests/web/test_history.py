"""`qwatch serve` keeps a history while nobody scrapes: /api/history and /api/events, with a
real RQ worker, a Redis that goes away and comes back, and a serve stopped and started again."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from rq import Queue

from harness import tasks
from harness.polling import wait_until
from harness.qwatch_serve import qwatch_serve
from harness.redis_server import RedisServer
from harness.workers import start_worker, stop_worker
from qwatch.exporter.history_file import history_path
from qwatch.history.recorder import HOUR, TIERS
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


STEP = TIERS[HOUR][1]
QUEUED = "/api/history?queue=emails&system=rq"


def answered(base: str, path: str) -> Any:
    """`path`'s JSON, or None while serve is not listening yet."""
    try:
        return answer(base, path)
    except OSError:
        return None


def test_a_restart_keeps_the_history_and_the_time_it_was_down_is_a_gap(tmp_path: Path) -> None:
    server = RedisServer()
    server.start()
    state = tmp_path / "qwatch-state.json"
    options = ["--system", "rq", "--history-interval", "1", "--state-file", str(state)]
    worker = None
    try:
        Queue("emails", connection=server.client()).enqueue(tasks.send_email, "a@b.c", "hi")
        with qwatch_serve(server.url, options, tmp_path / "first.log") as address:
            base = f"http://{address}"
            wait_until(lambda: (answered(base, QUEUED) or {}).get("queues"), "the first sample")
            worker = start_worker(server.url, ["emails"], name="restart-worker")
            wait_until(lambda: ("worker appeared", "restart-worker") in kinds(base), "the worker")
            wait_until(lambda: answer(base, QUEUED)["queues"][0]["queued"][-1][1] == 0, "drained")
            before = answer(base, QUEUED)["queues"][0]
            told = answer(base, "/api/events")["events"]
        stopped = time.time()  # SIGTERM answered: serve wrote the history as it stopped
        assert history_path(str(state)).stat().st_size > 0
        assert "Traceback" not in (tmp_path / "first.log").read_text()
        empty = (math.floor(stopped / STEP) + 1) * STEP  # a slot serve was down for, whole
        wait_until(lambda: time.time() >= empty + STEP, "a slot of the hour to pass", 2 * STEP + 5)

        with qwatch_serve(server.url, options, tmp_path / "second.log") as address:
            base = f"http://{address}"

            def sampled_again() -> Any:
                got = answered(base, QUEUED)
                return got and got["queues"][0]["queued"][-1][0] > empty and got["queues"][0]

            after = wait_until(sampled_again, "a sample after the restart")
            events = answer(base, "/api/events")["events"]
            busy = answer(base, "/api/history?worker=restart-worker")["workers"][0]["busy"]
        assert "not read" not in (tmp_path / "second.log").read_text()
    finally:
        if worker is not None:
            stop_worker(worker)
        server.stop()
    # the last point was the open slot when asked: it may have taken a sample more since
    kept = after["queued"][: len(before["queued"])]
    assert [at for at, _value in kept] == [at for at, _value in before["queued"]]
    assert kept[:-1] == before["queued"][:-1], "the points from before the restart"
    assert before["queued"][0][1] > 0, "the job that waited before the worker came"
    assert all(point in events for point in told), "the moments from before the restart"
    assert ("worker appeared", "restart-worker") in [(e["kind"], e["name"]) for e in events]
    assert busy[0][0] < stopped, "the worker's points from before the restart too"
    times = [at for at, _value in after["queued"]]
    last, first = max(t for t in times if t <= stopped), min(t for t in times if t > stopped)
    assert empty not in times and first - last >= 2 * STEP, "a gap while down, not zeros"
