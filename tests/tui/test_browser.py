"""The job browser and the inspector, driven by the pilot against real Redis and real workers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from rich.console import Group
from rich.table import Table
from rq import Queue
from textual.pilot import Pilot
from textual.widgets import Static

from harness import tasks
from harness.workers import run_burst
from harness.workload import bulk_jobs, busy_workload
from qwatch.rq.browse import STATES
from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import PAGE_SIZE, JobBrowser
from qwatch.tui.inspector import Inspector
from qwatch.tui.widgets.live_table import LiveTable
from tests.rq.test_browse import CommandCount, rq_ids
from tests.tui.conftest import SIZE, make_app, table, track, until


def browser(app: QwatchApp) -> JobBrowser:
    screen = app.screen
    assert isinstance(screen, JobBrowser)
    return screen


def shown(app: QwatchApp, state: str) -> list[str]:
    """The job ids the browser's table shows, top to bottom."""
    return browser(app).query_one(f"#jobs-{state}", LiveTable).keys


def row(app: QwatchApp, state: str, job_id: str) -> list[str]:
    cells = browser(app).query_one(f"#jobs-{state}", LiveTable).get_row(job_id)
    return [str(getattr(cell, "plain", cell)) for cell in cells]


async def open_browser(pilot: Pilot[None], app: QwatchApp, queue: str) -> None:
    await until(pilot, lambda: table(app, "#queues").row_count > 0, "the queues")
    queues = table(app, "#queues")
    queues.select(f"rq:{queue}")
    await pilot.press("j")
    await until(pilot, lambda: isinstance(app.screen, JobBrowser), "the job browser")


async def show_state(pilot: Pilot[None], app: QwatchApp, state: str) -> None:
    await pilot.press(str(STATES.index(state) + 1))
    await until(
        pilot,
        lambda: (page := browser(app).page) is not None and page.request.state == state,
        f"the {state} page",
    )


async def until_shown(pilot: Pilot[None], app: QwatchApp, state: str, ids: list[str]) -> None:
    await until(pilot, lambda: shown(app, state) == ids, f"{state} jobs {ids[0]}…")


@pytest.fixture
def busy(client: redis.Redis, url: str) -> Iterator[None]:
    """Every state in `default`: the mixed workload run, then a worker busy with a long job."""
    with busy_workload(client, url, "browser-worker"):
        yield


async def test_every_state_of_a_queue(client: redis.Redis, url: str, busy: None) -> None:
    app = make_app(url, interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot, app, "default")
        for state in STATES:
            await show_state(pilot, app, state)
            expected = [member.split(":")[0] for member in rq_ids(client, "default", state)]
            assert shown(app, state) == expected, state
        assert row(app, "started", "long-job")[3:] == [
            row(app, "started", "long-job")[3],
            "browser-worker",
        ]
        failed = rq_ids(client, "default", "failed")
        assert {row(app, "failed", job_id)[5] for job_id in failed} == {
            "ZeroDivisionError: division by zero"
        }
        finished = rq_ids(client, "default", "finished")
        assert {row(app, "finished", job_id)[5] for job_id in finished} == {"1", "2", "3", "4", "5"}
        (deferred,) = rq_ids(client, "default", "deferred")
        assert row(app, "deferred", deferred)[4] == rq_ids(client, "parked", "queued")[0]
        (scheduled,) = rq_ids(client, "default", "scheduled")
        assert row(app, "scheduled", scheduled)[4].startswith("in 59m")

        await show_state(pilot, app, "queued")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, JobBrowser), "the queues again")


async def test_pages_over_ten_thousand_jobs_cost_a_bounded_number_of_commands(
    client: redis.Redis, url: str
) -> None:
    ids = bulk_jobs(client, "bulk", 10_000)
    app = make_app(url, interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot, app, "bulk")
        await until(pilot, lambda: shown(app, "queued") == ids[:PAGE_SIZE], "the first page")
        await until(pilot, lambda: app.update is not None, "the app's first poll, then none")
        track(app)  # its first poll is done: from here it polls only when asked
        for state, order, per_job in (("queued", ids, 1), ("finished", ids[::-1], 2)):
            await show_state(pilot, app, state)
            for page in range(1, 4):
                count = CommandCount(client)
                await pilot.press("n")
                wanted = order[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
                await until_shown(pilot, app, state, wanted)
                # SISMEMBER, the length and one range; one HMGET (and one XREVRANGE) a job
                assert count.since() == 3 + per_job * PAGE_SIZE
            summary = str(browser(app).query_one("#browser-summary", Static).content)
            assert f"{state} jobs 301-400 of 10000" in summary
            await pilot.press("p")
            wanted = order[2 * PAGE_SIZE : 3 * PAGE_SIZE]
            await until_shown(pilot, app, state, wanted)

        await pilot.press("f")
        await pilot.press(*"divide", "enter")
        await until(
            pilot,
            lambda: (page := browser(app).page) is not None and page.request.function == "divide",
            "the filtered page",
        )
        summary = str(browser(app).query_one("#browser-summary", Static).content)
        assert "0 finished jobs with function ~ 'divide' among entries 1-1000 of 10000" in summary


async def test_the_inspector_opens_every_kind_of_job(client: redis.Redis, url: str) -> None:
    queue = Queue("default", connection=client)
    asked = queue.enqueue(tasks.ask_retry, 2)
    progress = queue.enqueue(tasks.with_progress, 3)
    failed = queue.enqueue(tasks.divide, 1, 0)
    run_burst(url, ["default"])
    blocker = Queue("parked", connection=client).enqueue(tasks.add, 0, 0)
    waiting = queue.enqueue(tasks.add, 1, 1, depends_on=blocker)
    queued = queue.enqueue(tasks.add, 5, 5)
    later = queue.enqueue_in(timedelta(hours=1), tasks.add, 6, 6)
    app = make_app(url, interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot, app, "default")

        async def inspect(state: str, job_id: str) -> Inspector:
            await show_state(pilot, app, state)
            await until(pilot, lambda: job_id in shown(app, state), f"{job_id} listed")
            jobs = browser(app).query_one(f"#jobs-{state}", LiveTable)
            jobs.select(job_id)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
            inspector = app.screen
            assert isinstance(inspector, Inspector) and inspector.job.id == job_id
            return inspector

        inspector = await inspect("finished", progress.id)
        assert inspector.job.result == "3"
        assert inspector.job.meta == "{'progress': {'done': 3, 'of': 3}}"
        await pilot.press("escape")

        inspector = await inspect("failed", asked.id)
        attempts = inspector.query_one("#attempts", Static).content
        assert isinstance(attempts, Group)
        runs = attempts.renderables[1]
        assert isinstance(runs, Table) and runs.row_count == 3
        outcomes = [attempt.outcome for attempt in inspector.job.attempts]
        assert outcomes == ["retried", "retried", "max retries exceeded"]
        await pilot.press("escape")

        inspector = await inspect("failed", failed.id)
        assert inspector.job.traceback and "ZeroDivisionError" in inspector.job.traceback
        assert inspector.query_one("#traceback")
        await pilot.press("escape")

        inspector = await inspect("deferred", waiting.id)
        assert inspector.job.status == "deferred" and inspector.job.dependencies == (blocker.id,)
        await pilot.press("escape")

        inspector = await inspect("queued", queued.id)
        assert (inspector.job.status, inspector.job.arguments) == ("queued", "5, 5")
        await pilot.press("escape")

        inspector = await inspect("scheduled", later.id)
        assert inspector.job.status == "scheduled" and inspector.job.attempts == ()
        await pilot.press("escape")


async def test_rate_limited_jobs_have_their_tab_while_the_queue_holds_some(
    client: redis.Redis, url: str
) -> None:
    """RQ 3.0: jobs a rate limit holds back wait outside the queue's list, on `9`."""
    from rq.rate_limit import RateLimit

    held = [
        Queue("api", connection=client).enqueue(tasks.add, n, 1, rate_limit=RateLimit("k", 1))
        for n in range(3)
    ]
    Queue("plain", connection=client).enqueue(tasks.add, 1, 1)
    app = make_app(url, interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot, app, "plain")
        assert not browser(app).query_one("#tab-rate_limited").display
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, JobBrowser), "the queues again")
        await open_browser(pilot, app, "api")
        assert browser(app).query_one("#tab-rate_limited").display
        await pilot.press("9")
        waiting = sorted(job.id for job in held[1:])  # held within one second: ties by id
        await until(pilot, lambda: sorted(shown(app, "rate_limited")) == waiting, "the held jobs")
