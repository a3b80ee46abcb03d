"""Celery's failed tasks in `qwatch failed`, `qwatch job` and `qwatch top`, from real workers."""

from __future__ import annotations

import subprocess
import sys

import pytest
import redis
from celery import Celery

from harness.polling import wait_until
from qwatch.celery.events import CeleryEvents
from qwatch.cli import main
from qwatch.connection import Target, connect
from qwatch.snapshot import CELERY
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.tui.inspector import Inspector
from qwatch.watch import Watch
from tests.celery.conftest import StartWorker
from tests.celery.test_events import live_worker
from tests.tui.conftest import SIZE, table, until

LISTEN = 15
"""Seconds `qwatch failed` listens: room for a worker on a loaded machine to fail the task."""
MESSAGE = "UpstreamTimeout: http://upstream did not answer in 30 s"


def patterns(client: redis.Redis) -> int:
    """Connections holding pattern subscriptions (NUMPAT counts distinct patterns only)."""
    return sum(1 for connection in client.client_list() if int(connection.get("psub", 0)) > 0)


def test_failed_lists_a_celery_failure_heard_while_listening(
    client: redis.Redis, url: str, listener: CeleryEvents, start_worker: StartWorker, app: Celery
) -> None:
    start_worker(name="failing", task_events=True)
    live_worker(listener, "failing")
    before = patterns(client)
    command = [sys.executable, "-m", "qwatch", "failed", "--url", url, "--system", "celery"]
    process = subprocess.Popen(
        [*command, "--celery-listen", str(LISTEN)], stdout=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: patterns(client) >= before + 1, "the command listening")
        crawl = app.send_task("harness.crawl", ("http://upstream",))
        out, _err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0
    rows = [line for line in out.splitlines() if crawl.id in line]
    assert len(rows) == 1, out
    [row] = rows
    assert "harness.crawl" in row and "UpstreamTimeout" in row
    assert f"Celery keeps no list of failures: only those heard during the {LISTEN} s listen" in out


def test_job_shows_a_failed_celery_tasks_traceback_from_the_result_backend(
    url: str, start_worker: StartWorker, app: Celery, capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker(name="failing")
    crawl = app.send_task("harness.crawl", ("http://upstream",))
    crawl.get(timeout=30, propagate=False)
    assert main(["job", crawl.id, "--url", url, "--system", "celery"]) == 0
    out = capsys.readouterr().out
    assert "FAILURE" in out and "Traceback (most recent call last)" in out and MESSAGE in out


def test_job_of_an_unknown_celery_task_is_no_job(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["job", "no-such-task", "--url", url, "--system", "celery"]) == 1
    assert "nor a Celery result" in capsys.readouterr().err


async def test_top_lists_a_celery_failure_opens_it_and_refuses_to_requeue_it(
    client: redis.Redis, url: str, listener: CeleryEvents, start_worker: StartWorker, app: Celery
) -> None:
    start_worker(name="failing", task_events=True)
    live_worker(listener, "failing")
    target = Target(url=url, timeout=1.0)
    feed_client = connect(target)
    feed = Feed(target, feed_client, 3600.0, Watch(feed_client, CELERY))
    before = patterns(client)
    top = QwatchApp(feed, interval=0.2)
    notes: list[str] = []
    top.notify = lambda message, **_kw: notes.append(str(message))  # type: ignore[method-assign]
    async with top.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: patterns(client) >= before + 1, "the monitor listening")
        crawl = app.send_task("harness.crawl", ("http://upstream",))
        await pilot.press("3")
        failed = table(top, "#failed")
        await until(pilot, lambda: failed.row_count == 1, "the Celery failure")
        assert failed.keys == [f"celery:{crawl.id}"]
        await pilot.press("r")
        assert notes[-1] == f"requeue works on RQ jobs only: celery task {crawl.id} is unchanged"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(top.screen, Inspector), "the inspector")
        assert isinstance(top.screen, Inspector)
        assert top.screen.job.traceback and MESSAGE in top.screen.job.traceback
        await pilot.press("r")
        assert isinstance(top.screen, Inspector) and len(notes) == 2
        assert notes[-1].startswith("requeue works on RQ jobs only")
    assert client.llen("celery") == 0  # nothing was sent again
