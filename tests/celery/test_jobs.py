"""A Celery task found where it is, from a real Celery producer and worker: `qwatch job ID`."""

from __future__ import annotations

import re
import time

import pytest
import redis
from celery import Celery

from harness.polling import wait_until
from qwatch.cli import main
from tests.celery.conftest import StartWorker

CELERY = ["--system", "celery"]


def shown(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """`qwatch ARGV`'s output, which must succeed."""
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def row(out: str, label: str) -> str:
    """The value of one row of `qwatch job`."""
    found = re.search(rf"^{label} +(.*)$", out, re.MULTILINE)
    assert found is not None, out
    return found.group(1)


def test_a_waiting_task_is_found_in_its_priority_list(
    url: str, app: Celery, capsys: pytest.CaptureFixture[str]
) -> None:
    """No worker consumes `parked`: its tasks wait, the highest priority step first."""
    ahead = [app.send_task("harness.add", (i, 0), queue="parked", priority=0) for i in range(2)]
    mine = app.send_task("harness.add", (7, 8), queue="parked", priority=6)
    out = shown(capsys, "job", mine.id, "--url", url, *CELERY, "--celery-queue", "parked")
    assert row(out, "status") == "queued"
    assert row(out, "function") == "harness.add" and row(out, "arguments") == "(7, 8)"
    assert row(out, "origin") == "parked"
    assert (
        row(out, "waiting") == "in the priority 6 list of parked, 2 messages of the queue before it"
    )
    first = shown(capsys, "job", ahead[0].id, "--url", url, *CELERY, "--celery-queue", "parked")
    assert row(first, "waiting").endswith("0 messages of the queue before it")


def test_a_task_a_worker_holds_for_its_countdown_is_reserved_and_scheduled(
    client: redis.Redis,
    url: str,
    app: Celery,
    start_worker: StartWorker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    later = app.send_task("harness.add", (1, 2), queue="later", countdown=600)
    start_worker(["later"], name="holding")
    wait_until(lambda: client.hlen("unacked") == 1, "the worker to reserve the task")
    argv = ["job", later.id, "--url", url, *CELERY, "--celery-queue", "later"]
    out = shown(capsys, *argv)
    assert row(out, "status") == "scheduled"
    assert row(out, "reserved").endswith("ago: taken by a worker, not acked")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in (9|10)m\d\ds", row(out, "runs at"))
    assert "overdue" not in out
    (delivered,) = client.zrange("unacked_index", 0, -1, withscores=True)
    at = float(delivered[1])
    wait_until(lambda: time.time() - at > 1.0, "a second past its delivery")
    overdue = shown(capsys, *argv, "--celery-visibility-timeout", "1")
    assert row(overdue, "overdue") == "past the visibility timeout: kombu delivers it again"


def test_a_task_nowhere_says_where_it_looked(
    url: str, app: Celery, capsys: pytest.CaptureFixture[str]
) -> None:
    app.send_task("harness.add", (1, 2), queue="parked")
    assert main(["job", "no-such-task", "--url", url, *CELERY, "--celery-queue", "parked"]) == 1
    err = capsys.readouterr().err
    assert "nor a Celery task: no message of it waits or is reserved in 1 queue" in err, err
