"""Celery's failed tasks in `qwatch failed`, `qwatch job` and `qwatch top`, from real workers."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from harness.celery_app import UpstreamTimeout
from harness.polling import wait_until
from qwatch.celery.events import CeleryEvents
from qwatch.celery.failures import UNKNOWN_TASK, read_stored_result, result_key, stored_detail
from qwatch.cli import main
from qwatch.errors import UnreadableRecord
from qwatch.model import CELERY
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.tui.inspector import Inspector
from qwatch.watch import Watch
from qwatch.wire.connection import Target, connect
from tests.celery.conftest import StartWorker
from tests.celery.test_events import live_worker
from tests.tui.conftest import SIZE, table, until

LISTEN = 15
"""Seconds `qwatch failed` listens: room for a worker on a loaded machine to fail the task."""
MESSAGE = "UpstreamTimeout: http://upstream did not answer in 30 s"


def subscribed(client: redis.Redis, name: str) -> bool:
    """Whether a connection named `name` holds pattern subscriptions: the command's own,
    whatever the workers subscribe meanwhile."""
    return any(c.get("name") == name and int(c.get("psub", 0)) > 0 for c in client.client_list())


def test_failed_lists_a_celery_failure_heard_while_listening(
    client: redis.Redis, url: str, listener: CeleryEvents, start_worker: StartWorker, app: Celery
) -> None:
    start_worker(name="failing", task_events=True)
    live_worker(listener, "failing")
    named = f"{url}?client_name=qwatch-failed"
    command = [sys.executable, "-m", "qwatch", "failed", "--url", named, "--system", "celery"]
    process = subprocess.Popen(
        [*command, "--celery-listen", str(LISTEN)], stdout=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: subscribed(client, "qwatch-failed"), "the command listening")
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
    assert "Traceback (most recent call last)" in out and MESSAGE in out
    assert re.search(r"^status +failed$", out, re.MULTILINE), out


def test_job_says_a_celery_tasks_state_in_rqs_words(
    url: str, start_worker: StartWorker, app: Celery, capsys: pytest.CaptureFixture[str]
) -> None:
    """SUCCESS is what RQ calls finished: one vocabulary beside RQ's jobs."""
    start_worker(name="adding")
    added = app.send_task("harness.add", (2, 3))
    assert added.get(timeout=30) == 5
    assert main(["job", added.id, "--url", url, "--system", "celery"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^status +finished$", out, re.MULTILINE), out
    assert re.search(r"^result +5$", out, re.MULTILINE), out


def test_job_of_an_unknown_celery_task_is_no_job(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["job", "no-such-task", "--url", url, "--system", "celery"]) == 1
    assert "nor a Celery task: no message of it waits or is reserved" in capsys.readouterr().err


async def test_top_lists_a_celery_failure_opens_it_and_refuses_to_requeue_it(
    client: redis.Redis, url: str, listener: CeleryEvents, start_worker: StartWorker, app: Celery
) -> None:
    start_worker(name="failing", task_events=True)
    live_worker(listener, "failing")
    target = Target(url=f"{url}?client_name=qwatch-top", timeout=1.0)
    feed_client = connect(target)
    feed = Feed(target, feed_client, 3600.0, Watch(feed_client, CELERY))
    top = QwatchApp(feed, interval=0.2)
    notes: list[str] = []
    top.notify = lambda message, **_kw: notes.append(str(message))  # type: ignore[method-assign]
    async with top.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: subscribed(client, "qwatch-top"), "the monitor listening")
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


class CreatesFile:
    """Unpickling this would create a file: reading a result must never do it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def store(client: redis.Redis, key: str, kind: str, value: Any) -> None:
    """Put a hostile value of `kind` at `key`."""
    if kind == "list":
        client.rpush(key, value)
    elif kind == "hash":
        client.hset(key, "status", value)
    else:
        client.set(key, value)


HOSTILE = {
    "a list": ("list", b'{"status": "FAILURE"}', "WRONGTYPE"),
    "a hash": ("hash", b"FAILURE", "WRONGTYPE"),
    "oversized": ("string", b'{"status": "FAILURE", "x": "' + b"x" * (5 << 20), "larger than"),
    "garbage": ("string", bytes(range(256)) * 10, "not JSON"),
    "a pickle of garbage": ("string", b"\x80\x04\x95garbage", "undecodable pickle"),
    "nested too deep": ("string", b"[" * 100_000, "not JSON"),
    "a JSON list": ("string", b'["FAILURE"]', "not an object"),
    "a status of the wrong type": ("string", b'{"status": {"a": 1}}', "no status"),
    "a task id of the wrong type": (
        "string",
        json.dumps({"status": "FAILURE", "task_id": ["x"] * 1000}).encode(),
        None,
    ),
    "fields of the wrong types": (
        "string",
        json.dumps(
            {
                "status": "FAILURE",
                "result": [1, {"exc_type": 3}],
                "traceback": {"a": 1},
                "date_done": [2026],
                "name": 42,
                "args": {"deep": [[[[]]]]},
                "retries": -1,
            }
        ).encode(),
        None,
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_stored_result_costs_one_line_never_a_traceback(
    client: redis.Redis, case: str
) -> None:
    kind, value, reason = HOSTILE[case]
    task_id = "hostile\x1b[2Jtask"
    store(client, result_key(task_id), kind, value)
    if reason is None:
        stored = read_stored_result(client, task_id)
        assert stored is not None and stored.status == "FAILURE"
        detail = stored_detail(stored)
        assert (detail.id, detail.function) == (task_id, UNKNOWN_TASK)
        return
    with pytest.raises(UnreadableRecord) as raised:
        read_stored_result(client, task_id)
    message = str(raised.value)
    assert reason in message and "\n" not in message and len(message) < 400


def test_a_pickled_result_is_shown_and_never_unpickled(
    client: redis.Redis, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "unpickled"
    meta = {
        "status": "FAILURE",
        "result": UpstreamTimeout("http://x did not answer"),
        "task_id": "pickled",
        "name": "harness.crawl",
        "args": ("http://x", CreatesFile(marker)),
        "kwargs": {"depth": 2},
        "evil": CreatesFile(marker),
    }
    client.set(result_key("pickled"), pickle.dumps(meta, protocol=4))
    assert main(["job", "pickled", "--url", url, "--system", "celery"]) == 0
    out = capsys.readouterr().out
    assert "harness.crawl" in out and "UpstreamTimeout: http://x did not answer" in out
    assert "('http://x', " in out and "{'depth': 2}" in out  # shown as Python, not "<Dict>"
    assert not marker.exists()


def test_job_of_an_unreadable_celery_result_says_so_in_one_line(
    client: redis.Redis, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client.rpush(result_key("listed"), "x")
    assert main(["job", "listed", "--url", url, "--system", "celery"]) != 0
    err = capsys.readouterr().err
    assert "WRONGTYPE" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
