"""The command line: output, exit statuses and one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer, free_port
from harness.workers import run_burst
from qwatch.cli import main
from qwatch.wire.connection import display_url, resolve_url


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    qwatch = Path(sys.executable).parent / "qwatch"
    return subprocess.run([str(qwatch), *argv], capture_output=True, text=True, timeout=60)


def test_snapshot_json_has_the_documented_keys(client: redis.Redis, url: str) -> None:
    Queue("default", connection=client).enqueue(tasks.divide, 1, 0)
    Queue("default", connection=client).enqueue(tasks.add, 1, 0)
    run_burst(url, ["default"])
    result = run_cli("snapshot", "--json", "--url", url)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"queues", "workers", "abandoned_jobs"} <= data.keys()
    (queue,) = data["queues"]
    assert {
        "name", "queued", "started", "finished", "failed", "deferred", "scheduled", "canceled",
        "oldest_queued_age_seconds", "workers",
    } <= queue.keys()  # fmt: skip
    assert (queue["name"], queue["finished"], queue["failed"]) == ("default", 1, 1)


def test_snapshot_tables_show_queues_and_workers(client: redis.Redis, url: str) -> None:
    Queue("emails", connection=client).enqueue(tasks.add, 1, 1)
    result = run_cli("snapshot", "--url", url)
    assert result.returncode == 0
    assert "emails" in result.stdout and "Workers" in result.stdout


def test_job_and_failed_commands(
    client: redis.Redis, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job = Queue("default", connection=client).enqueue(tasks.divide, 7, 0)
    run_burst(url, ["default"])
    assert main(["job", job.id, "--url", url]) == 0
    out = capsys.readouterr().out
    assert "harness.tasks.divide" in out and "7, 0" in out
    assert "in divide\n    return a / b" in out and "ZeroDivisionError: division by zero" in out
    assert main(["failed", "--url", url]) == 0
    out = capsys.readouterr().out
    assert job.id in out and "ZeroDivisionError: division by zero" in out
    assert main(["job", "nope", "--url", url]) == 1
    assert "no job nope" in capsys.readouterr().err


def test_unreachable_redis_is_one_line_and_status_2() -> None:
    port = free_port()
    result = run_cli("snapshot", "--url", f"redis://:hunter2@127.0.0.1:{port}/0", "--timeout", "2")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"qwatch: redis://127.0.0.1:{port}/0: cannot connect")
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_a_refused_password_is_one_line_and_status_2(
    client: redis.Redis, redis_server: RedisServer, tmp_path: Path
) -> None:
    client.acl_setuser(
        "app", reset=True, enabled=True, passwords=["+right-pw"], keys=["*"], commands=["+@all"]
    )
    url = f"redis://app:wrong-pw@127.0.0.1:{redis_server.port}/0"
    result = run_cli("snapshot", "--url", url)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"qwatch: redis://app@127.0.0.1:{redis_server.port}/0: authentication failed"
    )
    assert "wrong-pw" not in result.stderr and result.stderr.count("\n") == 1
    password_file = tmp_path / "password"
    password_file.write_text("right-pw\n")
    url = f"redis://app@127.0.0.1:{redis_server.port}/0"
    assert run_cli("snapshot", "--url", url, "--password-file", str(password_file)).returncode == 0


def test_a_redis_that_wants_a_password_and_got_none(tmp_path: Path) -> None:
    with RedisServer("--requirepass", "s3cret") as server:
        result = run_cli("snapshot", "--url", server.url)
    assert result.returncode == 2
    assert "authentication failed" in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["snapshot", "--url", "http://localhost"], "unsupported Redis URL scheme 'http'"),
        (
            ["snapshot", "--url", "redis://localhost:notaport"],
            "malformed Redis URL: the port must be a number below 65536",
        ),
        (["snapshot", "--url", "redis://[::1"], "malformed Redis URL: its host is not a name"),
        (["snapshot", "--url", "redis://localhost/zero"], "database 'zero'"),
        (["snapshot", "--url", "qw:s3cretPW@127.0.0.1:6420"], "the Redis URL needs a scheme"),
        (["snapshot", "--url", "redis://localhost:99999"], "malformed Redis URL"),
        (["snapshot", "--url", "unix://"], "needs a socket path"),
        (["snapshot", "--password-file", "/nonexistent/pw"], "cannot read password file"),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv: list[str], message: str) -> None:
    result = run_cli(*argv)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["snapshot", "--timeout", "0"], "argument --timeout: must be from 0.1 to 300 seconds"),
        (["snapshot", "--timeout", "inf"], "must be from 0.1 to 300 seconds: 'inf'"),
        (["snapshot", "--timeout", "1e20"], "must be from 0.1 to 300 seconds: '1e20'"),
        (["snapshot", "--timeout", "nan"], "must be from 0.1 to 300 seconds: 'nan'"),
        (["snapshot", "--watch", "inf"], "argument --watch: must be from 0.1 to 86400 seconds"),
        (["snapshot", "--watch", "0.0001"], "argument --watch: must be from 0.1"),
        (["top", "--interval", "0.01"], "argument --interval: must be from 0.1 to 3600"),
        (["top", "--interval=-inf"], "argument --interval: must be from 0.1 to 3600"),
        (["top", "--prometheus", "localhost:9090"], "not an http:// or https:// URL"),
        (["top", "--prometheus-window", "1h"], "argument --prometheus-window: must be from 2h"),
        (["top", "--prometheus-window", "7w"], "not a span such as 6h, 24h or 7d: '7w'"),
        (["top", "--prometheus-match", "redis=main"], "is not label matchers such as"),
        (["top", "--prometheus-match", 'a="1"}) or up{'], "is not label matchers such as"),
        (["failed", "--limit", "x"], "argument --limit: not a whole number: 'x'"),
        (["failed", "--limit", "99999999"], "argument --limit: must be from 1 to 10000"),
        (["job", ""], "argument ID: a job id cannot be empty"),
        (["job", "  "], "argument ID: a job id cannot be empty"),
        (["serve", "--timeout", "inf"], "argument --timeout: must be from 0.1 to 300 seconds"),
        (["serve", "--buckets", "1,inf"], "+Inf is always there"),
        (["serve", "--buckets", "0,1"], "bucket bounds must be positive"),
        (["serve", "--ttl", "inf"], "argument --ttl: must be from 1 to"),
        (["serve", "--label-limit", "0"], "argument --label-limit: must be from 1 to 10000"),
        (["bogus"], "argument COMMAND: invalid choice: 'bogus'"),
    ],
)
def test_bad_flags_are_one_line_and_status_2(argv: list[str], message: str) -> None:
    result = run_cli(*argv)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert "--help)" in result.stderr and "Traceback" not in result.stderr


def test_help_explains_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("snapshot", "job", "failed"):
        assert command in result.stdout
    assert "QWATCH_REDIS_URL" in run_cli("snapshot", "--help").stdout


def test_url_comes_from_flag_then_environment_then_default() -> None:
    env = {"QWATCH_REDIS_URL": "redis://q:1/0", "REDIS_URL": "redis://r:2/0"}
    assert resolve_url("redis://flag:3/0", env) == "redis://flag:3/0"
    assert resolve_url(None, env) == "redis://q:1/0"
    assert resolve_url(None, {"REDIS_URL": "redis://r:2/0"}) == "redis://r:2/0"
    assert resolve_url(None, {}) == "redis://localhost:6379/0"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6380/2", "redis://host:6380/2"),
        ("rediss://user:pw@host", "rediss://user@host:6379/0"),
        ("unix:///run/redis.sock?db=3&password=pw", "unix:///run/redis.sock?db=3"),
        ("redis://[::1]:7000", "redis://[::1]:7000/0"),
    ],
)
def test_targets_are_shown_without_passwords(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_markup_in_names_and_arguments_is_shown_as_it_is(
    client: redis.Redis, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job = Queue("[bold]odd[/]", connection=client).enqueue(tasks.fail, "[/] closing tag")
    run_burst(url, ["[bold]odd[/]"])
    for argv in (["snapshot"], ["failed"], ["job", job.id]):
        assert main([*argv, "--url", url]) == 0
    out = capsys.readouterr().out
    assert "[bold]odd[/]" in out and "ValueError: [/] closing tag" in out


def test_an_acl_that_hides_rq_keys_is_an_error_not_an_idle_system(
    client: redis.Redis, redis_server: RedisServer
) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    client.acl_setuser(
        "blind", reset=True, enabled=True, passwords=["+pw"], keys=["app:*"], commands=["+@read"]
    )
    url = f"redis://blind:pw@127.0.0.1:{redis_server.port}/0"
    for argv in (["snapshot"], ["failed"], ["job", "x"]):
        result = run_cli(*argv, "--url", url)
        assert result.returncode == 2, argv
        assert "Redis refused" in result.stderr and "NOPERM" in result.stderr
        assert "pw@" not in result.stderr


def test_a_server_that_is_not_redis_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _listening(port), "the HTTP server")
        result = run_cli("snapshot", "--url", f"redis://127.0.0.1:{port}/0", "--timeout", "2")
    finally:
        server.terminate()
        server.wait()
    assert result.returncode == 2
    assert result.stderr.startswith(f"qwatch: redis://127.0.0.1:{port}/0: ")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_failed_says_when_there_is_nothing_or_no_such_queue(client: redis.Redis, url: str) -> None:
    Queue("emails", connection=client).enqueue(tasks.add, 1, 1)
    empty = run_cli("failed", "--url", url)
    assert (empty.returncode, empty.stdout.strip()) == (0, f"no failed jobs in {display_url(url)}")
    missing = run_cli("failed", "--queue", "nosuch", "--url", url)
    assert missing.returncode == 2 and "no queue 'nosuch'" in missing.stderr


def test_one_table_starts_on_the_first_line(client: redis.Redis, url: str) -> None:
    """Only the snapshot's tables, under its header, have a blank line before them."""
    Queue("emails", connection=client).enqueue(tasks.divide, 1, 0)
    run_burst(url, ["emails"])
    failed = run_cli("failed", "--url", url)
    assert failed.returncode == 0 and failed.stdout.startswith("Failed jobs\n"), failed.stdout
    jobs = run_cli("jobs", "emails", "--state", "failed", "--url", url)
    assert jobs.stdout.startswith("Failed jobs of emails\n"), jobs.stdout
    snapshot = run_cli("snapshot", "--url", url).stdout.splitlines()
    for title in ("Queues", "Workers"):
        assert snapshot[snapshot.index(title) - 1] == "", snapshot


def _at_columns(width: int, *argv: str) -> list[str]:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "qwatch"), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": str(width)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_failed_keeps_ids_whole_and_function_names_readable_when_narrow(
    client: redis.Redis, url: str
) -> None:
    queue = Queue("billing-reconciliation-nightly", connection=client)
    jobs = [queue.enqueue(tasks.fail, "x" * 300), queue.enqueue(tasks.divide, 1, 0)]
    run_burst(url, [queue.name])
    lines = _at_columns(80, "failed", "--url", url)
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines), lines
    for job in jobs:
        assert len([line for line in lines if job.id in line]) == 1, lines
    assert any("ValueError: xxx" in line and line.count("…") for line in lines)
    cut = "\n".join(_at_columns(70, "failed", "--url", url))  # leaves the function 12-13 cells
    assert "…tasks.fail " in cut and re.search(r"…(tasks\.)?divide ", cut), cut  # not harness.ta…
    narrow = _at_columns(60, "failed", "--url", url)
    assert all(len(line) <= 60 for line in narrow), narrow
    for job in jobs:
        assert len([line for line in narrow if job.id in line]) == 1, narrow
    assert narrow[-1].endswith("left out at 60 columns"), narrow


def test_job_cuts_a_long_exception_once_and_counts_what_it_cut(
    client: redis.Redis, url: str
) -> None:
    job = Queue("default", connection=client).enqueue(tasks.fail, "x" * 30_000)
    run_burst(url, ["default"])
    for width in (80, 200):
        out = "\n".join(_at_columns(width, "job", job.id, "--url", url))
        exception = out[out.index("\nexception ") : out.index("\nattempts")]
        attempt = out[out.index("\nattempts") : out.index("\nTraceback")]
        for shown in (exception, attempt):
            (cut,) = re.findall(r"\[(\d+) more\s+characters cut\]", shown)
            assert shown.count("…") == 1, shown  # one cut, not one more where the line ends
            assert shown.replace("exception", "").count("x") + int(cut) == 30_000, shown


def test_snapshot_keeps_names_on_one_line_at_80_columns(client: redis.Redis, url: str) -> None:
    queue = Queue("a-queue-with-a-rather-long-name", connection=client)
    queue.enqueue(tasks.add, 1, 1)
    worker = Worker([queue], connection=client)
    worker.register_birth()
    lines = _at_columns(80, "snapshot", "--url", url)
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines), lines
    (row,) = [line for line in lines if line.startswith(worker.name[:8])]
    shown = row.split()[0]
    assert shown == worker.name or (shown.endswith("…") and worker.name.startswith(shown[:-1]))
    assert any(line.startswith(queue.name[:8]) for line in lines)


def test_piped_output_has_no_trailing_spaces(client: redis.Redis, url: str) -> None:
    Queue("default", connection=client).enqueue(tasks.divide, 1, 0)
    run_burst(url, ["default"])
    for argv in (["snapshot"], ["failed"]):
        lines = run_cli(*argv, "--url", url).stdout.splitlines()
        assert lines and all(line == line.rstrip() for line in lines), argv


def test_an_empty_db_says_where_rq_data_might_be(
    client: redis.Redis, redis_server: RedisServer
) -> None:
    other = redis.Redis(port=redis_server.port, db=3)
    Queue("default", connection=other).enqueue(tasks.add, 1, 1)
    result = run_cli("snapshot", "--url", f"redis://127.0.0.1:{redis_server.port}/0")
    assert result.returncode == 0
    hint = " ".join(result.stdout.split())
    assert f"No RQ queues or workers in redis://127.0.0.1:{redis_server.port}/0" in hint
    assert "(db 3 holds 3 keys)" in hint and "--url redis://HOST:PORT/DB" in hint


def test_a_closed_pipe_ends_quietly(client: redis.Redis, url: str) -> None:
    for n in range(600):  # more than a pipe holds, so the writer meets the closed end
        Queue(f"queue-{n:03d}", connection=client).enqueue(tasks.add, n, 1)
    qwatch = str(Path(sys.executable).parent / "qwatch")
    for argv in (["snapshot"], ["snapshot", "--json"]):
        result = subprocess.run(
            f"{qwatch} {' '.join(argv)} --url {url} | head -c 10",
            shell=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.stderr == "", argv


NOWHERE = ("--url", "redis://127.0.0.1:1/0", "--timeout", "1")
"""A Redis that is not there, so that a flag let through never reads the default one."""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["snapshot", "--url", "redis://a/0", "--url", "redis://a/1"], "--url: given twice"),
        (["snapshot", "--url", ""], "a Redis URL cannot be empty"),
        (["failed", "--queue", ""], "a queue name cannot be empty"),
        (["snapshot", *NOWHERE, "--password-file", ""], "a password file path cannot be empty"),
        (["snapshot", *NOWHERE, "--tls-ca", " "], "a CA file path cannot be empty"),
        (["job", "x", *NOWHERE, "--tls-cert", ""], "a certificate path cannot be empty"),
        (["failed", *NOWHERE, "--tls-key", ""], "a key path cannot be empty"),
        (["serve", *NOWHERE, "--web-config", ""], "a web config path cannot be empty"),
        (["serve", *NOWHERE, "--state-file", ""], "a state file path cannot be empty"),
        (["serve", "--sentinel", "", "--sentinel-master", "m"], "a Sentinel address cannot"),
        (["serve", "--sentinel", "s:26379", "--sentinel-master", ""], "a master name cannot"),
    ],
)
def test_ambiguous_or_empty_targets_are_refused(argv: list[str], message: str) -> None:
    """An empty path is most often an unset variable: serving without the web config's
    basic auth, or without the state file, because of it would go unnoticed."""
    result = run_cli(*argv)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "listening" not in result.stderr


def test_top_without_a_terminal_says_so(client: redis.Redis, url: str) -> None:
    result = run_cli("top", "--url", url)
    assert result.returncode == 2
    assert result.stderr == (
        "qwatch: qwatch top needs a terminal; in a pipe, use qwatch snapshot --watch\n"
    )
    assert result.stdout == ""


def test_the_header_breaks_into_two_lines_when_narrow(client: redis.Redis, url: str) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    lines = _at_columns(80, "snapshot", "--url", url)
    assert lines[0] == url and lines[1].startswith("Redis ")
