"""`qwatch job ID`, `--logs` and `--json`: the lines a job logged under `qwatch.rq.Worker`."""

from __future__ import annotations

import io
import json

import redis
from rich.console import Console
from rq import Queue

from harness import tasks
from harness.redis_server import RedisServer
from harness.workers import run_burst
from qwatch.cli.report import job_report
from qwatch.model import ARQ, CELERY, DRAMATIQ, JobDetail
from tests.cli.test_cli import run_cli

HOSTILE = "\x1b[2J\x1b]0;owned\x07<script>alert(1)</script>"
"""A log line may hold anything: a terminal must never act on it."""


def failed_with_logs(client: redis.Redis, url: str, text: str = "mailbox full") -> str:
    job = Queue("default", connection=client).enqueue(tasks.log_then_fail, text)
    run_burst(url, ["default"], worker_class="qwatch.rq.Worker")
    return job.id


def test_a_failed_jobs_lines_come_after_its_traceback(client: redis.Redis, url: str) -> None:
    job_id = failed_with_logs(client, url)
    shown = run_cli("job", job_id, "--url", url)
    assert shown.returncode == 0, shown.stderr
    traceback = shown.stdout.index("RuntimeError: mailbox full\n")
    logs = shown.stdout.index("\nlogs\n")
    assert traceback < logs
    (line,) = shown.stdout[logs:].strip().splitlines()[1:]
    assert line.endswith(" WARNING harness.tasks: giving up on mailbox full")


def test_logs_prints_the_lines_alone_and_json_has_them(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(tasks.log_lines, 250, "step")
    run_burst(url, ["default"], worker_class="qwatch.rq.Worker")
    alone = run_cli("job", job.id, "--logs", "--url", url)
    assert alone.returncode == 0, alone.stderr
    lines = alone.stdout.splitlines()
    assert lines[0] == "… 51 earlier lines not kept" and len(lines) == 200
    assert [line.split(": ", 1)[1] for line in lines[1:]] == [f"{n} step" for n in range(51, 250)]
    data = json.loads(run_cli("job", job.id, "--json", "--url", url).stdout)
    assert data["logs"] == lines and data["status"] == "finished" and data["result"] == "250"


def test_a_hostile_line_is_shown_as_text(client: redis.Redis, url: str) -> None:
    job_id = failed_with_logs(client, url, HOSTILE)
    for argv in (("job", job_id), ("job", job_id, "--logs")):
        shown = run_cli(*argv, "--url", url)
        assert shown.returncode == 0, shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
        assert "\\x1b[2J\\x1b]0;owned\\x07<script>alert(1)</script>" in shown.stdout


def test_logs_says_why_none_are_kept(client: redis.Redis, url: str) -> None:
    queue = Queue("default", connection=client)
    plain = queue.enqueue(tasks.log_lines, 2)
    run_burst(url, ["default"])
    waiting = queue.enqueue(tasks.log_lines, 2)
    shown = run_cli("job", plain.id, "--logs", "--url", url)
    assert shown.returncode == 1 and shown.stdout == ""
    assert "its worker was not a qwatch.rq.Worker, or they expired" in shown.stderr
    assert "none kept" in run_cli("job", plain.id, "--url", url).stdout
    shown = run_cli("job", waiting.id, "--logs", "--url", url)
    assert shown.returncode == 1 and "stored when the job ends" in shown.stderr


def test_the_read_only_user_reads_the_lines(
    client: redis.Redis, url: str, redis_server: RedisServer
) -> None:
    """The least-privilege ACL of docs/security.md."""
    client.acl_setuser(
        "qwatch", reset=True, enabled=True, passwords=["+pw"], keys=["rq:*"],
        commands=["+@read", "+info"],
    )  # fmt: skip
    job_id = failed_with_logs(client, url)
    watcher = f"redis://qwatch:pw@127.0.0.1:{redis_server.port}/0"
    shown = run_cli("job", job_id, "--logs", "--url", watcher)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().endswith("giving up on mailbox full")


def test_other_systems_jobs_say_where_logs_are_kept() -> None:
    for system in (CELERY, DRAMATIQ, ARQ):
        job = JobDetail(
            "t-1", "failed", "f", "", None, "q", None, None, None, None, None, None, None, None,
            None, None, system=system,
        )  # fmt: skip
        console = Console(file=io.StringIO(), width=200)
        console.print(job_report(job))
        expected = f"logs: kept for RQ's jobs under qwatch.rq.Worker only, not for {system}'s"
        assert expected in console.file.getvalue()  # type: ignore[attr-defined]
