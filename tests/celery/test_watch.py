"""One Redis holding RQ and Celery: `--system` picks what is read, `auto` finds both.

kombu writes a queue's binding once per process, so a test process's second
app writes none: these tests name their Celery queue, as `--celery-queue` does.
"""

from __future__ import annotations

import json
import re

import pytest
import redis
from celery import Celery
from rq import Queue

import qwatch.watch
from harness import tasks
from harness.polling import wait_until
from qwatch.celery.layout import CeleryLayout
from qwatch.model import CELERY, RQ
from qwatch.watch import Watch
from tests.celery.conftest import StartWorker
from tests.cli.test_cli import run_cli


@pytest.fixture
def both(client: redis.Redis, app: Celery) -> None:
    """An RQ queue and a Celery queue both named `default`, and Celery's own `celery`."""
    Queue("default", connection=client).enqueue(tasks.add, 1, 2)
    for priority in (0, 3, 9):
        app.send_task("harness.add", (1, 2), queue="default", priority=priority)
    app.send_task("harness.add", (1, 2))


def test_auto_watches_both_systems_and_keeps_same_named_queues_apart(
    client: redis.Redis, both: None
) -> None:
    layout = CeleryLayout(queues=("default", "celery"))
    snapshot = Watch(client, layout=layout, listen=False).read()
    queued = {(queue.system, queue.name): queue.queued for queue in snapshot.queues}
    assert queued == {(RQ, "default"): 1, (CELERY, "default"): 3, (CELERY, "celery"): 1}


@pytest.mark.parametrize(("system", "seen"), [(RQ, {RQ}), (CELERY, {CELERY})])
def test_a_chosen_system_is_the_only_one_read(
    client: redis.Redis, both: None, system: str, seen: set[str]
) -> None:
    layout = CeleryLayout(queues=("default",))
    snapshot = Watch(client, system, layout, listen=False).read()
    assert {queue.system for queue in snapshot.queues} == seen


def test_a_redis_holding_neither_is_read_as_rq(client: redis.Redis) -> None:
    watch = Watch(client, listen=False)
    assert watch.systems() == (RQ,)
    assert watch.read().queues == ()


def test_snapshot_json_says_each_queues_system(url: str, both: None) -> None:
    result = run_cli(
        "snapshot", "--json", "--url", url, "--celery-listen", "0", "--celery-queue", "default"
    )
    assert result.returncode == 0, result.stderr
    queues = json.loads(result.stdout)["queues"]
    by_key = {(queue["system"], queue["name"]): queue for queue in queues}
    celery = by_key[(CELERY, "default")]
    assert celery["queued"] == 3 and celery["finished"] is None
    assert celery["celery"]["by_priority"] == [[0, 1], [3, 1], [6, 0], [9, 1]]
    assert by_key[(RQ, "default")]["queued"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--system", "kafka"], "argument --system: invalid choice: 'kafka'"),
        (["--celery-priority-steps", "x"], "not a list of whole numbers like 0,3,6,9"),
        (["--celery-priority-steps", "6,3"], "Celery options: "),
        (["--celery-priority-steps", "0,12"], "Celery options: "),
        (["--celery-sep", ""], "a separator cannot be empty"),
        (["--celery-queue", ""], "a Celery queue name cannot be empty"),
        (["--celery-visibility-timeout", "0"], "must be from 1 to"),
        (["--celery-listen", "-1"], "argument --celery-listen: must be from 0 to 60"),
    ],
)
def test_bad_celery_flags_are_one_line_and_status_2(argv: list[str], message: str) -> None:
    result = run_cli("snapshot", "--url", "redis://127.0.0.1:1/0", *argv)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_snapshot_table_names_each_queues_system_and_how_long_it_listened(
    url: str, both: None
) -> None:
    result = run_cli(
        "snapshot", "--url", url, "--celery-listen", "0.5", "--celery-queue", "default"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("queue "))
    assert header.split()[:3] == ["queue", "system", "queued"]
    assert "reserved" in header and "overdue" in header
    rows = {tuple(line.split()[:3]) for line in lines}
    assert {("default", "rq", "1"), ("default", "celery", "3")} <= rows
    assert any(line.startswith("Celery: listened 0.") for line in lines), result.stdout


def test_auto_finds_celery_that_starts_after_qwatch(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch, start_worker: StartWorker
) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 1, 2)
    watch = Watch(client, listen=False)
    assert watch.systems() == (RQ,)
    monkeypatch.setattr(qwatch.watch, "DETECT_SECONDS", 0.0)
    watch.systems()  # looks again at once from now on
    start_worker(["late"], name="late")
    wait_until(lambda: CELERY in watch.systems(), "auto to find the Celery worker's bindings")
    assert "late" in {queue.name for queue in watch.read().queues}


def test_snapshot_table_shows_what_a_celery_worker_counts(
    url: str, app: Celery, start_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker without task events tells no outcomes, only the tasks it processed and its
    load: those show, and its ok, failed and working are `-`, as in `qwatch top`."""
    start_worker(["counted"], name="counted")
    done = [app.send_task("harness.add", (i, 1), queue="counted") for i in range(3)]
    assert [result.get(timeout=30) for result in done] == [1, 2, 3]
    monkeypatch.setenv("COLUMNS", "200")
    result = run_cli(
        "snapshot", "--url", url, "--system", "celery", "--celery-queue", "counted",
        "--celery-listen", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("worker "))
    (row,) = [line for line in lines if line.startswith("counted@")]

    def under(label: str) -> str:
        """The cell under a right-aligned header."""
        end = header.index(f" {label}") + 1 + len(label)
        return row[:end].split()[-1]

    assert [under(label) for label in ("ok", "failed", "processed", "working")] == [
        "-", "-", "3", "-",
    ], result.stdout  # fmt: skip
    assert re.search(r"\d\.\d\d \d\.\d\d \d\.\d\d", row), row
