"""The real app, driven by Textual's pilot, against a real Redis with real RQ workers."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from collections.abc import Iterator

import pytest
import redis
from rich.syntax import Syntax
from rq import Queue
from rq.job import Job
from textual.geometry import Region
from textual.widgets import Static

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer
from harness.workers import run_burst, start_worker, stop_worker
from harness.workload import mixed_workload
from qwatch.tui.app import TERMINAL_CHECK_SECONDS
from qwatch.tui.dialogs import Confirm
from qwatch.tui.inspector import Inspector
from tests.tui.conftest import (
    SIZE,
    cells,
    inspect_the_failed_job,
    make_app,
    shown_cells,
    table,
    until,
)


@pytest.fixture
def worker(client: redis.Redis, url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker(url, ["emails"], name="tui-worker")
    wait_until(lambda: client.exists("rq:worker:tui-worker"), "the worker to register")
    yield process
    stop_worker(process)


async def test_each_screen_shows_the_right_rows(
    client: redis.Redis, url: str, worker: subprocess.Popen[bytes]
) -> None:
    mixed_workload(client, url)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: table(app, "#queues").row_count == 3, "the queues")
        default = shown_cells(app, "#queues", "rq:default")
        assert default[:7] == ["default", "0", "0", "3", "5", "1", "1"]
        assert shown_cells(app, "#queues", "rq:parked")[1] == "2"
        assert shown_cells(app, "#queues", "rq:parked")[7] == "0"

        await pilot.press("2")
        await until(pilot, lambda: table(app, "#workers-table").row_count == 1, "the worker")
        row = shown_cells(app, "#workers-table", "rq:tui-worker")
        assert row[3] == "idle" and row[4] == "emails"
        await pilot.press("g")
        assert cells(app, "#hosts-table", row[1])[1:4] == ["1", "0", "1"]

        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 4, "the failed jobs")
        exceptions = {cells(app, "#failed", key)[3] for key in table(app, "#failed").keys}
        assert exceptions == {"ZeroDivisionError: division by zero"}

        await pilot.press("4")
        await until(pilot, lambda: table(app, "#functions").row_count > 0, "the functions")
        assert cells(app, "#functions", "harness.tasks.divide")[1:4] == ["0", "0", "4"]
        assert cells(app, "#functions", "harness.tasks.add")[1] == "2"


async def test_the_inspector_shows_the_real_traceback(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(tasks.divide, 7, 0)
    run_burst(url, ["default"])
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        inspector = await inspect_the_failed_job(pilot, app)
        latest = Job.fetch(job.id, connection=client).latest_result()
        assert latest is not None and inspector.job.traceback == latest.exc_string
        assert inspector.job.arguments == "7, 0"
        shown = inspector.query_one("#traceback", Static).content
        assert isinstance(shown, Syntax) and shown.code == latest.exc_string
        assert "in divide\n    return a / b" in shown.code


async def test_the_inspector_cuts_a_long_exception_once_and_counts_what_it_cut(
    client: redis.Redis, url: str
) -> None:
    Queue("default", connection=client).enqueue(tasks.fail, "x" * 30_000)
    run_burst(url, ["default"])
    app = make_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        await inspect_the_failed_job(pilot, app)
        await pilot.pause()
        fields = app.screen.query_one("#fields", Static)
        lines = [strip.text for strip in fields.render_lines(Region(0, 0, *fields.size))]
        shown = "\n".join(lines)
        exception = shown[shown.index("exception ") :]
        (cut,) = re.findall(r"\[(\d+) more\s+characters cut\]", exception)
        assert exception.count("…") == 1, exception  # not cut again where the line ends
        assert exception.replace("exception", "").count("x") + int(cut) == 30_000, exception


async def test_requeue_from_the_tui_then_a_worker_runs_it(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(tasks.flaky, 1.0)
    run_burst(url, ["default"])
    client.hset(job.key, "data", Job.create(tasks.add, args=(2, 3), connection=client).data)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 1, "the failed job")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the confirmation")
        await pilot.press("y")
        await until(
            pilot, lambda: table(app, "#failed").row_count == 0, "the job to leave the list"
        )
    run_burst(url, ["default"])
    assert Job.fetch(job.id, connection=client).return_value() == 5


async def test_actions_are_refused_under_read_only(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(tasks.divide, 1, 0)
    run_burst(url, ["default"])
    app = make_app(url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 1, "the failed job")
        for key in ("r", "d"):
            await pilot.press(key)
            await pilot.pause(0.2)
            assert not isinstance(app.screen, Confirm)
        assert app.check_action("requeue", ()) is False
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
        await pilot.press("r")
        await pilot.pause(0.2)
        assert isinstance(app.screen, Inspector)
        assert "read-only" in str(app.query_one("#status").render())
    assert Job.fetch(job.id, connection=client).get_status() == "failed"


async def test_a_banner_while_redis_is_down(client: redis.Redis) -> None:
    server = RedisServer()
    server.start()
    try:
        Queue("default", connection=server.client()).enqueue(tasks.add, 1, 1)
        app = make_app(server.url)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: table(app, "#queues").row_count == 1, "the queue")
            server.stop()
            await until(pilot, lambda: app.has_class("-offline"), "the offline banner")
            banner = str(app.query_one("#banner").render())
            assert "cannot connect" in banner and "showing data from" in banner
            assert table(app, "#queues").row_count == 1
            await pilot.press("2")
            assert app.view == "workers"
            server.start()
            await until(pilot, lambda: not app.has_class("-offline"), "the reconnection")
            assert "[live]" in str(app.query_one("#status").render())
    finally:
        server.stop()


async def test_top_quits_once_its_terminal_hangs_up(url: str) -> None:
    """A `make demo` in a closed tmux pane: the hangup reaches only the session's leader,
    and a top drawing for nobody used to spin on for hours."""
    leader, terminal = pty.openpty()
    try:
        app = make_app(url)
        app.terminal = terminal
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(2 * TERMINAL_CHECK_SECONDS)
            assert app.return_code is None, "top quit while its terminal was there"
            os.close(leader)
            leader = -1
            await until(pilot, lambda: app.return_code == 1, "top to quit")
    finally:
        os.close(terminal)
        if leader >= 0:
            os.close(leader)


async def test_the_cursor_stays_on_its_row_across_refreshes_and_sorting(
    client: redis.Redis, url: str
) -> None:
    for name, jobs in (("alpha", 3), ("beta", 1), ("gamma", 2)):
        for i in range(jobs):
            Queue(name, connection=client).enqueue(tasks.add, i, 1)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        queues = table(app, "#queues")
        await until(pilot, lambda: queues.row_count == 3, "the queues")
        await pilot.press("down")
        assert queues.selected_key == "rq:beta"
        Queue("delta", connection=client).enqueue(tasks.add, 0, 0)
        Queue("beta", connection=client).enqueue(tasks.add, 0, 0)
        await until(pilot, lambda: queues.row_count == 4, "the new queue")
        beta = "rq:beta"
        await until(pilot, lambda: shown_cells(app, "#queues", beta)[1] == "2", "the new count")
        assert queues.selected_key == "rq:beta"
        await pilot.press("s")
        assert queues.sort_column == "queued"
        assert queues.selected_key == "rq:beta"
        assert queues.keys[:1] == ["rq:alpha"]


async def test_an_empty_db_says_which_was_read_and_where_else_keys_are(
    client: redis.Redis, redis_server: RedisServer, url: str
) -> None:
    redis.Redis(port=redis_server.port, db=2).set("elsewhere", 1)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one("#status", Static)
        await until(pilot, lambda: "No RQ queues" in str(status.render()), "the hint")
        assert f"No RQ queues or workers in {url}" in str(status.render())
        assert "(db 2 holds 1 key)" in str(status.render())


async def test_a_wrapped_status_line_keeps_each_count_with_its_label(
    client: redis.Redis, url: str
) -> None:
    for number in range(12):
        Queue("default", connection=client).enqueue(tasks.add, number, 1)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one("#status", Static)
        await until(pilot, lambda: "12 queued" in str(status.render()), "the totals")
        line = str(status.render())
        # Room for the text up to the count and no more: a wrap at any space puts `queued` first
        # on the second line, apart from its 12.
        await pilot.resize_terminal(line.index(" queued") + 4, 24)

        def shown() -> list[str]:
            return [strip.text.strip() for strip in status.render_lines(Region(0, 0, *status.size))]

        await until(pilot, lambda: shown()[1:2] == [line[line.index("12 queued") :]], "12 queued")
        assert not any(text.startswith(("queued", "failed", "worker")) for text in shown())
