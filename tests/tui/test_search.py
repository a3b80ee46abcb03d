"""The search screen of `qwatch top`, driven by the pilot over real jobs run by a real worker."""

from __future__ import annotations

import threading
from collections.abc import Generator

import redis
from rq import Queue
from textual.pilot import Pilot
from textual.widgets import Static

from harness import tasks
from harness.workers import run_burst
from harness.workload import bulk_jobs
from qwatch.limits import SEARCH_BATCH
from qwatch.model import SearchProgress, SearchRequest
from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import JobBrowser
from qwatch.tui.feed import Feed
from qwatch.tui.inspector import Inspector
from qwatch.tui.search import SearchScreen
from qwatch.tui.widgets.live_table import LiveTable
from qwatch.wire.connection import Target, connect
from tests.rq.test_browse import CommandCount
from tests.tui.conftest import SIZE, make_app, table, until
from tests.tui.test_browser import open_browser


def search_screen(app: QwatchApp) -> SearchScreen:
    screen = app.screen
    assert isinstance(screen, SearchScreen)
    return screen


def summary(app: QwatchApp) -> str:
    return str(search_screen(app).query_one("#search-summary", Static).content)


def found(app: QwatchApp) -> list[str]:
    return search_screen(app).query_one("#search-hits", LiveTable).keys


async def search_for(pilot: Pilot[None], app: QwatchApp, text: str) -> None:
    await pilot.press("S")
    await until(pilot, lambda: isinstance(app.screen, SearchScreen), "the search screen")
    await pilot.press(*text, "enter")


def customers(client: redis.Redis, url: str) -> tuple[str, str, str]:
    """A sent email and a failure about customer 4711, run by a worker, and a crawl waiting."""
    emails = Queue("emails", connection=client)
    sent = emails.enqueue(tasks.send_email, "customer-4711@example.com", "receipt")
    broken = emails.enqueue(tasks.fail, "mailbox of customer 4711 is full")
    emails.enqueue(tasks.send_email, "someone@example.com", "receipt")
    run_burst(url, ["emails"])
    waiting = Queue("reports", connection=client).enqueue(tasks.crawl, "https://shop/4711")
    return sent.id, broken.id, waiting.id


async def test_a_search_from_the_failed_screen_finds_every_state_and_opens_the_job(
    client: redis.Redis, url: str
) -> None:
    sent, broken, waiting = customers(client, url)
    app = make_app(url, interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 1, "the failed job")
        await search_for(pilot, app, "4711")
        await until(pilot, lambda: "everything searched" in summary(app), "the search's end")
        assert set(found(app)) == {sent, broken, waiting}
        assert "found 3 jobs in" in summary(app)
        search_screen(app).query_one("#search-hits", LiveTable).select(broken)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
        assert isinstance(app.screen, Inspector) and app.screen.job.id == broken
        await pilot.press("escape", "slash")
        await pilot.press(*"ValueError", "enter")
        await until(pilot, lambda: found(app) == [broken], "the one failure")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SearchScreen), "the failed screen")


async def test_the_browser_searches_its_own_queue_and_an_empty_text_is_refused(
    client: redis.Redis, url: str
) -> None:
    sent, broken, _waiting = customers(client, url)
    app = make_app(url, interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot, app, "emails")
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), "the search screen")
        assert summary(app) == "Search queue emails"
        await pilot.press("enter")
        assert found(app) == [] and summary(app) == "Search queue emails"
        await pilot.press(*"4711", "enter")
        await until(pilot, lambda: "everything searched" in summary(app), "the search's end")
        assert set(found(app)) == {sent, broken}
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobBrowser), "the browser again")


class GatedFeed(Feed):
    """The real feed, whose searches wait after each batch until the test lets them on."""

    def __init__(self, url: str) -> None:
        target = Target(url=url, timeout=1.0)
        super().__init__(target, connect(target), track_interval=3600.0)
        self.gate = threading.Semaphore(0)
        self.closed = threading.Event()

    def search(self, request: SearchRequest) -> Generator[SearchProgress, None, None]:
        try:
            for progress in super().search(request):
                yield progress
                self.gate.acquire(timeout=20)
        finally:
            self.closed.set()


async def test_esc_stops_a_search_between_batches_and_m_searches_further(
    client: redis.Redis, url: str
) -> None:
    bulk_jobs(client, "big", 3 * SEARCH_BATCH)
    feed = GatedFeed(url)
    app = QwatchApp(feed, interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, app, "no such text")
        await until(pilot, lambda: "so far in 1,000 of 6,000" in summary(app), "the first batch")
        count = CommandCount(client)
        await pilot.press("escape")
        feed.gate.release()
        await until(pilot, feed.closed.is_set, "the search to end")
        assert isinstance(app.screen, SearchScreen), "esc stopped the search, kept the screen"
        assert summary(app).startswith("stopped by you, after 1,000 of 6,000 entries: found 0")
        # the batch being read when esc came: its ranges, then a hash (and a result) a job
        assert count.since() <= 2 + 2 * SEARCH_BATCH, "a stopped search reads no further"

        feed.closed.clear()
        await pilot.press("m")
        feed.gate.release(100)  # every batch, and whatever else the search reads after them
        await until(pilot, lambda: "everything searched" in summary(app), "the search's end")
        assert summary(app) == "found 0 jobs in 6,000 of 6,000 entries: everything searched"
        await until(pilot, feed.closed.is_set, "the search to close")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SearchScreen), "the queues")
