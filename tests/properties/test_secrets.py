"""No password in any output: every command and face run with one, everything they show grepped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq import Queue

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer, free_port
from harness.workers import run_burst, start_worker, stop_worker
from qwatch.cli import main
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.tui.inspector import Inspector
from qwatch.wire.connection import Target, connect
from tests.tui.conftest import SIZE, table, until

SECRET = "Sx7-qwatch-secret-Kq2"
QWATCH = str(Path(sys.executable).parent / "qwatch")


@pytest.fixture
def secured() -> Iterator[RedisServer]:
    """A Redis of this test's own (it is stopped midway), whose user `app` has SECRET."""
    with RedisServer() as server:
        add_user(server)
        admin = server.client()
        Queue("default", connection=admin).enqueue(tasks.divide, 1, 0)
        run_burst(server.url, ["default"])
        Queue("default", connection=admin).enqueue(tasks.add, 1, 1)
        yield server


def add_user(server: RedisServer) -> None:
    server.client().acl_setuser(
        "app", reset=True, enabled=True, passwords=[f"+{SECRET}"], keys=["*"], commands=["+@all"]
    )


def secret_url(server: RedisServer, password: str = SECRET) -> str:
    return f"redis://app:{password}@127.0.0.1:{server.port}/0"


def failed_id(server: RedisServer) -> str:
    ids: list[bytes] = server.client().zrange("rq:failed:default", 0, -1)  # type: ignore[assignment]
    return ids[0].decode()


class Runner:
    """Runs qwatch commands in this process and keeps everything they print."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *argv: str, env: dict[str, str] | None = None) -> str:
        for name, value in (env or {}).items():
            self.monkeypatch.setenv(name, value)
        with contextlib.suppress(SystemExit):  # --help exits
            main(list(argv))
        for name in env or {}:
            self.monkeypatch.delenv(name)
        out, err = self.capsys.readouterr()
        return out + err


def test_no_command_prints_the_password(
    secured: RedisServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = Runner(capsys, monkeypatch)
    password_file = tmp_path / "password"
    password_file.write_text(SECRET + "\n")
    by_file = ["--url", f"redis://app@127.0.0.1:{secured.port}/0"]
    by_file += ["--password-file", str(password_file)]
    by_url = ["--url", secret_url(secured)]
    outputs = {}
    for how, connection in (("url", by_url), ("file", by_file)):
        for command in (
            ["snapshot"],
            ["snapshot", "--json"],
            ["failed"],
            ["job", failed_id(secured)],
            ["job", "missing"],
        ):
            outputs[f"{how} {' '.join(command)}"] = run(*command, *connection)
    env = {"QWATCH_REDIS_URL": secret_url(secured)}
    outputs["environment snapshot"] = run("snapshot", env=env)
    for name in ("", "snapshot", "failed", "job", "top", "serve"):
        outputs[f"{name} --help"] = run(*name.split(), "--help", env=env)
    outputs["wrong password"] = run("snapshot", "--url", secret_url(secured, SECRET + "-wrong"))
    unreachable = f"redis://app:{SECRET}@127.0.0.1:{free_port()}/0"
    outputs["unreachable"] = run("snapshot", "--url", unreachable, "--timeout", "1")
    outputs["timeout"] = run("snapshot", "--url", secret_url(secured), "--timeout", "0.000001")
    process = subprocess.run(
        [QWATCH, "snapshot", *by_url], capture_output=True, text=True, timeout=60
    )
    outputs["a process"] = process.stdout + process.stderr
    assert "ZeroDivisionError" in outputs["url job " + failed_id(secured)]
    assert '"queued": 1' in outputs["file snapshot --json"]
    assert "usage: qwatch serve" in outputs["serve --help"]
    assert "authentication failed" in outputs["wrong password"]
    assert "cannot connect" in outputs["unreachable"]
    assert "default" in outputs["a process"]
    leaks = [name for name, text in outputs.items() if SECRET in text]
    assert leaks == []


def get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return str(answer.read().decode())
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode())


def test_serve_never_shows_the_password(secured: RedisServer) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [QWATCH, "serve", "--listen", f"127.0.0.1:{port}", "--timeout", "1"],
        env={**os.environ, "QWATCH_REDIS_URL": secret_url(secured)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: _answers(base), "qwatch serve to answer")
        pages = [get(base + path) for path in ("/metrics", "/", "/healthz", "/nope")]
        assert 'qwatch_up{redis="127.0.0.1:' in pages[0]
        process = Path(f"/proc/{serve.pid}")
        pages += [(process / "cmdline").read_bytes().decode(errors="replace")]
        pages += [(process / "comm").read_text()]
        secured.stop()  # a Redis gone: the log says so, with its name only
        pages.append(get(base + "/metrics"))
        secured.start()  # without the user at first: authentication fails, then works
        pages.append(get(base + "/metrics"))
        add_user(secured)
        up = f'qwatch_up{{redis="127.0.0.1:{secured.port}/0"}} 1.0'
        wait_until(lambda: up in get(base + "/metrics"), "Redis to be back")
    finally:
        serve.send_signal(signal.SIGTERM)
        _out, log = serve.communicate(timeout=30)
    assert "down" in log and "reachable again" in log
    assert [page for page in [*pages, log] if SECRET in page] == []


def _answers(base: str) -> bool:
    try:
        get(base + "/healthz")
        return True
    except OSError:
        return False


async def test_top_never_shows_the_password(secured: RedisServer) -> None:
    worker = start_worker(secured.url, ["default"], name="secret-test-worker")
    try:
        target = Target(url=secret_url(secured), timeout=1.0)
        app = QwatchApp(Feed(target, connect(target)), interval=0.2)
        screens = []
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: table(app, "#queues").row_count == 1, "the queue")
            for key in ("1", "2", "3", "4"):
                await pilot.press(key)
                await pilot.pause(0.3)
                screens.append(app.export_screenshot())
            await until(pilot, lambda: table(app, "#failed").row_count == 1, "the failed job")
            await pilot.press("3", "enter")
            await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
            screens.append(app.export_screenshot())
            await pilot.press("escape", "question_mark")
            await pilot.pause(0.3)
            screens.append(app.export_screenshot())
            await pilot.press("escape")
            secured.stop()  # the offline banner names the Redis
            await until(pilot, lambda: app.has_class("-offline"), "the offline banner")
            screens.append(app.export_screenshot())
            assert app.sub_title and SECRET not in app.sub_title
    finally:
        stop_worker(worker)
    assert any("ZeroDivisionError" in screen for screen in screens)
    assert [screen for screen in screens if SECRET in screen] == []


def test_the_password_is_not_in_redis_client_names(secured: RedisServer) -> None:
    client = connect(Target(url=secret_url(secured)))
    client.ping()
    listing = secured.client().client_list()
    assert all(SECRET not in str(entry) for entry in listing)
    assert isinstance(client, redis.Redis)
