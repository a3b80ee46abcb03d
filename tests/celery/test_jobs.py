"""A Celery task found where it is, and a Celery queue's messages a page at a time, from a
real Celery producer and worker: `qwatch job ID` and `qwatch jobs QUEUE`."""

from __future__ import annotations

import json
import re
import time

import pytest
import redis
from celery import Celery
from rq import Queue

from harness import tasks
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


def test_jobs_pages_a_celery_queues_messages_in_consumption_order(
    url: str, app: Celery, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = {
        priority: [app.send_task("harness.add", (priority, i), queue="parked", priority=priority)
                   for i in range(2)]
        for priority in (9, 0, 3)
    }  # fmt: skip
    order = [result.id for priority in (0, 3, 9) for result in sent[priority]]
    argv = ["jobs", "parked", "--url", url, *CELERY, "--celery-queue", "parked", "--json"]
    page = json.loads(shown(capsys, *argv, "--limit", "4"))
    assert [job["id"] for job in page["jobs"]] == order[:4]
    assert [job["position"] for job in page["jobs"]] == [0, 1, 2, 3]
    assert (page["total"], page["next_offset"], page["system"]) == (6, 4, "celery")
    rest = json.loads(shown(capsys, *argv, "--limit", "4", "--offset", "4"))
    assert [job["id"] for job in rest["jobs"]] == order[4:] and rest["next_offset"] is None
    assert rest["jobs"][0]["waiting"]["priority"] == 9
    found = json.loads(shown(capsys, *argv, "--match", "(3, 1)"))
    assert [job["id"] for job in found["jobs"]] == [sent[3][1].id]
    table = shown(capsys, "jobs", "parked", "--url", url, *CELERY, "--celery-queue", "parked")
    assert table.startswith("Queued messages of Celery queue parked\n"), table
    assert all(task_id in table for task_id in order)
    assert "queued messages 1-6 of 6, in consumption order" in table


def test_jobs_lists_the_messages_a_worker_reserved(
    client: redis.Redis,
    url: str,
    app: Celery,
    start_worker: StartWorker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    held = [app.send_task("harness.add", (i, 0), queue="later", countdown=600) for i in range(2)]
    start_worker(["later"], name="holding")
    wait_until(lambda: client.hlen("unacked") == 2, "the worker to reserve both tasks")
    argv = ["jobs", "later", "--url", url, *CELERY, "--celery-queue", "later"]
    for state in ("reserved", "scheduled"):
        page = json.loads(shown(capsys, *argv, "--state", state, "--json"))
        assert {job["id"] for job in page["jobs"]} == {task.id for task in held}, state
        assert all(job["waiting"]["reserved_at"] for job in page["jobs"])
    overdue = json.loads(shown(capsys, *argv, "--state", "overdue", "--json"))
    assert (overdue["total"], overdue["jobs"]) == (0, [])
    table = shown(capsys, *argv, "--state", "reserved")
    assert all(task.id in table for task in held) and "in 9m" in table, table


def test_jobs_says_which_states_a_celery_queue_has(
    url: str, app: Celery, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Celery queue has no registries: asking for one is one line and exit status 2."""
    app.send_task("harness.add", (1, 2), queue="parked")
    argv = ["jobs", "parked", "--url", url, "--celery-queue", "parked", "--state", "finished"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Celery keeps no finished tasks per queue" in err, err
    assert "queued, scheduled, reserved, overdue" in err


def test_jobs_of_a_name_both_systems_have_lists_rqs_and_says_celerys_is_there(
    client: redis.Redis, url: str, app: Celery, capsys: pytest.CaptureFixture[str]
) -> None:
    Queue("parked", connection=client).enqueue(tasks.add, 1, 1)
    app.send_task("harness.add", (1, 2), queue="parked")
    out = shown(capsys, "jobs", "parked", "--url", url, "--celery-queue", "parked")
    assert out.startswith("Queued jobs of parked\n") and "harness.tasks.add" in out, out
    assert out.endswith("Celery has a queue 'parked' too: --system celery lists its messages\n")
    page = json.loads(shown(capsys, "jobs", "parked", "--url", url, "--json"))
    assert page["system"] == "rq" and page["total"] == 1
