"""Keys people expect, against a real Redis and real workers: Ctrl-C, sorting, the palette."""

from __future__ import annotations

from collections import Counter

import pytest
import redis
from rich.text import Text
from rq import Queue
from textual.widgets import Label, Static
from textual.widgets._footer import FooterKey

from harness import tasks
from harness.workers import run_burst
from qwatch.rq.browse import STATES
from qwatch.rq.jobs import read_failed
from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import OPTIONAL, JobBrowser
from qwatch.tui.dialogs import Help
from qwatch.tui.inspector import Inspector
from tests.tui.conftest import SIZE, inspect_the_failed_job, make_app, table, until


@pytest.mark.parametrize("where", ["table", "filter", "inspector"])
async def test_ctrl_c_quits(client: redis.Redis, url: str, where: str) -> None:
    Queue("default", connection=client).enqueue(tasks.divide, 1, 0)
    run_burst(url, ["default"])
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 1, "the failed job")
        if where == "filter":
            await pilot.press("slash")
        elif where == "inspector":
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: app.return_code is not None, "the app to quit")
    assert app.return_code == 0


async def test_a_new_failure_lands_in_its_sorted_place(client: redis.Redis, url: str) -> None:
    queue = Queue("default", connection=client)
    for job in (tasks.divide, tasks.fail, tasks.divide, tasks.fail):
        queue.enqueue(job, 1, 0) if job is tasks.divide else queue.enqueue(job, "no")
    run_burst(url, ["default"])
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        failed = table(app, "#failed")
        await until(pilot, lambda: failed.row_count == 4, "the failed jobs")
        await pilot.press("s", "s")
        assert failed.sort_column == "function"
        assert "function ▲" in failed.render_line(0).text

        def expected() -> list[str]:
            """By function, and within a function in the reader's order, newest first."""
            jobs = read_failed(client)
            return [f"rq:{job.id}" for job in sorted(jobs, key=lambda job: job.function)]

        assert failed.keys == expected()
        queue.enqueue(tasks.divide, 2, 0)
        run_burst(url, ["default"])
        await until(pilot, lambda: failed.row_count == 5, "the new failure")
        assert failed.keys == expected()
        assert failed.keys[0] == f"rq:{read_failed(client)[0].id}"
        await pilot.press("s")
        assert "exception ▲" in failed.render_line(0).text


async def test_the_palette_lists_each_command_once(url: str) -> None:
    app = make_app(url)
    async with app.run_test(size=SIZE):
        titles = Counter(command.title for command in app.get_system_commands(app.screen))
        assert titles["Keys"] == 1 and titles["Quit"] == 1
        assert max(titles.values()) == 1


async def test_a_header_click_sorts_by_that_column_and_again_reverses(
    client: redis.Redis, url: str
) -> None:
    for name, jobs in (("alpha", 1), ("beta", 3), ("gamma", 2)):
        for i in range(jobs):
            Queue(name, connection=client).enqueue(tasks.add, i, 1)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        queues = table(app, "#queues")
        await until(pilot, lambda: queues.row_count == 3, "the queues")
        left = 1 + queues.column_widths["queue"]  # the queued column starts after it
        await pilot.click("#queues", offset=(left + 2, 0))
        assert queues.sort_column == "queued" and queues.keys == ["rq:beta", "rq:gamma", "rq:alpha"]
        assert "queued ▼" in queues.render_line(0).text
        await pilot.click("#queues", offset=(left + 2, 0))
        assert queues.keys == ["rq:alpha", "rq:gamma", "rq:beta"]
        assert "queued ▲" in queues.render_line(0).text


def footer(app: QwatchApp) -> dict[str, FooterKey]:
    """The keys the footer of the screen on top shows, by key."""
    return {key.key: key for key in app.screen.query(FooterKey)}


def within_80_columns(app: QwatchApp, *keys: str) -> bool:
    shown = footer(app)
    return all(key in shown and shown[key].region.right <= 80 for key in keys)


async def test_the_inspector_shows_help_and_quit_and_its_own_keys(
    client: redis.Redis, url: str
) -> None:
    Queue("default", connection=client).enqueue(tasks.divide, 1, 0)
    run_burst(url, ["default"])
    app = make_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        await inspect_the_failed_job(pilot, app)
        await until(pilot, lambda: within_80_columns(app, "question_mark", "q"), "? help, q quit")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, Help), "the inspector's keys")
        help_screen = app.screen
        assert isinstance(help_screen, Help)
        keys = dict(help_screen.lines)
        assert keys["esc"] == "back" and keys["c"] == "copy traceback" and keys["r"] == "requeue"
        assert not {"1", "/", "j", "s"} & keys.keys()  # the failed screen's keys do not work here
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, Inspector), "back to the inspector")
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None, "qwatch to quit")


async def test_help_lists_the_keys_of_the_screen_it_is_opened_on(url: str) -> None:
    app = make_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        for screen, works, elsewhere in (
            ("1", {"j", "R", "E", "X", "enter"}, {"g", "r", "d"}),
            ("2", {"g"}, {"j", "r", "d", "enter", "E"}),
            ("3", {"r", "d", "enter"}, {"j", "g", "E", "X"}),
        ):
            await pilot.press(screen)
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, Help), "the help")
            assert isinstance(app.screen, Help)
            keys = dict(app.screen.lines)
            assert works <= keys.keys() and not elsewhere & keys.keys(), (screen, keys)
            assert {"1", "2", "3", "4", "?", "q"} <= keys.keys()
            if screen == "1":
                assert keys["enter"] == "an RQ, Dramatiq or arq queue: its jobs, as j"
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, Help), "the help to close")


async def test_screen_keys_are_drawn_as_keys_not_counts(url: str) -> None:
    """`2 Workers` is the key 2 on a key's own background, then the screen's name."""
    app = make_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: within_80_columns(app, "2", "question_mark", "q"), "the footer")
        for key, name in (("2", "Workers"), ("3", "Failed"), ("4", "Functions")):
            drawn = footer(app)[key].render()
            assert isinstance(drawn, Text) and drawn.plain == f"{key} {name}"
            key_style = drawn.get_style_at_offset(app.console, 0)
            name_style = drawn.get_style_at_offset(app.console, 2)
            assert key_style.bgcolor != name_style.bgcolor and key_style.bold


async def test_the_job_browser_shows_its_states_on_one_line_at_80_columns(
    client: redis.Redis, url: str
) -> None:
    Queue("a-queue-with-a-rather-long-name", connection=client).enqueue(tasks.add, 1, 1)
    app = make_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app, "#queues").row_count == 1, "the queue")
        await pilot.press("j")
        await until(pilot, lambda: isinstance(app.screen, JobBrowser), "the job browser")
        await until(pilot, lambda: within_80_columns(app, "question_mark", "q"), "? help, q quit")
        tabs = app.screen.query_one("#browser-states")
        assert tabs.region.height == 1
        shown = [tab for tab in tabs.query(".state-tab") if tab.display]
        names = [str(tab.query_one(".state-name", Label).content) for tab in shown]
        assert names == [state for state in STATES if state not in OPTIONAL]
        assert all(tab.region.right <= 80 for tab in shown)
        summary = app.screen.query_one("#browser-summary", Static)
        await until(pilot, lambda: "queued jobs 1-1 of 1" in str(summary.render()), "the page")
        assert str(summary.render()).startswith("a-queue-with-a-rather-long-name  ")
