"""`qwatch jobs`: one queue's jobs in one state on the command line, as the browser lists them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
import rq
from rq import Queue
from rq.registry import ScheduledJobRegistry

from harness import tasks
from harness.workers import run_burst
from harness.workload import busy_workload
from qwatch.cli import main
from qwatch.rq.browse import STATES
from tests.cli.test_cli import run_cli
from tests.rq.test_browse import rq_ids


@pytest.fixture
def workload(client: redis.Redis, url: str) -> Iterator[None]:
    """Jobs in every state of `default`, one of them running on a real worker."""
    with busy_workload(client, url, "cli-worker"):
        yield


def test_each_state_as_json_and_as_a_table(
    client: redis.Redis, url: str, workload: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for state in STATES:
        assert main(["jobs", "default", "--state", state, "--json", "--url", url]) == 0
        page = json.loads(capsys.readouterr().out)
        expected = [member.split(":")[0] for member in rq_ids(client, "default", state)]
        assert [job["id"] for job in page["jobs"]] == expected, state
        assert (page["queue"], page["state"], page["total"]) == ("default", state, len(expected))

        assert main(["jobs", "default", "--state", state, "--url", url]) == 0
        table = capsys.readouterr().out
        for job_id in expected:
            assert job_id in table, (state, table)
        if state == "failed":
            assert table.count("ZeroDivisionError: division by zero") == 3
        if state == "started":
            assert "cli-worker" in table
        if state == "deferred":
            assert rq_ids(client, "parked", "queued")[0] in table
    assert main(["snapshot", "--json", "--url", url]) == 0
    (worker,) = json.loads(capsys.readouterr().out)["workers"]
    assert worker["ip_address"].startswith("127.0.0.1:")
    assert worker["python_version"] and worker["rq_version"] == rq.__version__
    result = run_cli("jobs", "default", "--state", "finished", "--url", url)
    assert result.returncode == 0 and "harness.tasks.add" in result.stdout


def test_pages_go_on_where_the_last_stopped(client: redis.Redis, url: str) -> None:
    queue = Queue("bulk", connection=client)
    ids = [queue.enqueue(tasks.add, i, i).id for i in range(7)]
    first = run_cli("jobs", "bulk", "--limit", "3", "--url", url)
    assert "queued jobs 1-3 of 7" in first.stdout and "next page: --offset 3" in first.stdout
    page = json.loads(
        run_cli("jobs", "bulk", "--limit", "3", "--offset", "6", "--json", "--url", url).stdout
    )
    assert [job["id"] for job in page["jobs"]] == ids[6:]
    assert page["next_offset"] is None and page["previous_offset"] == 3
    found = json.loads(run_cli("jobs", "bulk", "--match", ids[4], "--json", "--url", url).stdout)
    assert [job["id"] for job in found["jobs"]] == [ids[4]] and found["scanned"] == 7


def test_nothing_there_and_no_such_queue(client: redis.Redis, url: str) -> None:
    Queue("emails", connection=client).enqueue(tasks.add, 1, 1)
    empty = run_cli("jobs", "emails", "--state", "failed", "--url", url)
    assert (empty.returncode, empty.stdout) == (0, "no failed jobs in queue emails\n")
    missing = run_cli("jobs", "nowhere", "--url", url)
    assert missing.returncode == 2
    assert missing.stderr.startswith("qwatch: no queue 'nowhere' in ")
    assert missing.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--state", "done"], "argument --state: invalid choice: 'done'"),
        (["--state", ""], "argument --state: invalid choice: ''"),
        (["--limit", "0"], "argument --limit: must be from 1 to 500: '0'"),
        (["--limit", "x"], "argument --limit: not a whole number: 'x'"),
        (["--limit", "100000"], "argument --limit: must be from 1 to 500"),
        (["--offset", "-1"], "argument --offset: must be from 0 to"),
    ],
)
def test_bad_state_or_limit_is_one_line_and_status_2(argv: list[str], message: str) -> None:
    result = run_cli("jobs", "default", *argv)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_at_80_columns_and_in_a_pipe_ids_stay_whole(
    client: redis.Redis, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = Queue("reports", connection=client)
    jobs = [queue.enqueue(tasks.fail, "x" * 300) for _ in range(3)]
    run_burst(url, ["reports"])
    monkeypatch.setenv("COLUMNS", "80")
    narrow = run_cli("jobs", "reports", "--state", "failed", "--url", url)
    assert narrow.returncode == 0
    lines = narrow.stdout.splitlines()
    table = [line for line in lines if "ValueError" in line]
    assert len(table) == 3 and all(len(line) <= 80 for line in table), narrow.stdout
    for job in jobs:
        assert job.id in narrow.stdout
    monkeypatch.delenv("COLUMNS")
    piped = run_cli("jobs", "reports", "--state", "failed", "--url", url)
    assert all(line == line.rstrip() for line in piped.stdout.splitlines())
    assert all(job.id in piped.stdout for job in jobs)


def test_qwatch_job_shows_retries_meta_dependencies_and_attempts(
    client: redis.Redis, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = Queue("default", connection=client)
    asked = queue.enqueue(tasks.ask_retry, 2)
    progress = queue.enqueue(tasks.with_progress, 2)
    waiting = Queue("later", connection=client).enqueue(tasks.add, 1, 1, depends_on=progress)
    run_burst(url, ["default"])
    assert main(["job", asked.id, "--url", url]) == 0
    out = capsys.readouterr().out
    assert out.count("retried") == 2 and "max retries exceeded" in out
    assert main(["job", progress.id, "--url", url]) == 0
    assert "{'progress': {'done': 2, 'of': 2}}" in capsys.readouterr().out
    assert main(["job", waiting.id, "--url", url]) == 0
    assert f"depends on  {progress.id}" in capsys.readouterr().out


def test_at_80_columns_a_deferred_job_says_what_it_waits_for(
    client: redis.Redis, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = Queue("reports", connection=client)
    parent = queue.enqueue(tasks.encode_video, 1)
    child = queue.enqueue(tasks.encode_video, 2, depends_on=parent)
    monkeypatch.setenv("COLUMNS", "80")
    narrow = run_cli("jobs", "reports", "--state", "deferred", "--url", url)
    assert narrow.returncode == 0
    (row,) = [line for line in narrow.stdout.splitlines() if child.id in line]
    assert "waits for" in narrow.stdout and parent.id[:8] in row.split(child.id, 1)[1], row


def test_an_empty_queue_name_is_bad_input_not_a_missing_queue() -> None:
    result = run_cli("jobs", "")
    assert result.returncode == 2
    assert result.stderr == (
        "qwatch jobs: argument QUEUE: a queue name cannot be empty (see qwatch jobs --help)\n"
    )


def test_a_scheduled_page_puts_each_header_over_its_column(client: redis.Redis, url: str) -> None:
    """A moment is text, not a number: `at` starts where the moment starts."""
    queue = Queue("later", connection=client)
    job = queue.enqueue_in(timedelta(hours=2), tasks.add, 1, 1)
    result = run_cli("jobs", "later", "--state", "scheduled", "--url", url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    headers = [
        found for line in lines if "function" in line and (found := re.search(r"\bat\b", line))
    ]
    moments = [
        found
        for line in lines
        if job.id in line and (found := re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", line))
    ]
    assert len(headers) == len(moments) == 1, result.stdout
    assert headers[0].start() == moments[0].start(), result.stdout


def test_a_scheduled_job_says_when_it_runs(
    client: redis.Redis, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`qwatch job ID` (and the inspector: the same rows) says what the scheduled page says."""
    job = Queue("later", connection=client).enqueue_in(timedelta(hours=2), tasks.add, 1, 1)
    due = ScheduledJobRegistry("later", connection=client).get_scheduled_time(job.id)
    assert main(["job", job.id, "--url", url]) == 0
    out = capsys.readouterr().out
    assert f"runs at     {due:%Y-%m-%d %H:%M:%S} UTC, in 1h59m" in out, out
