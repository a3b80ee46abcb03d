"""`qwatch top` over Dramatiq, driven by the pilot: its queues and brokers, a queue's messages in
the job browser, a dead letter in the inspector, and RQ's actions refused, each once."""

from __future__ import annotations

import redis
from dramatiq.brokers.redis import RedisBroker
from textual.pilot import Pilot
from textual.widgets import Label, Static

from harness.dramatiq_app import send
from harness.polling import wait_until
from qwatch import job_states
from qwatch.dramatiq.dead import NO_ERROR
from qwatch.model import DRAMATIQ
from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import JobBrowser
from qwatch.tui.dialogs import Confirm
from qwatch.tui.feed import Feed
from qwatch.tui.inspector import Inspector
from qwatch.watch import DRAMATIQ_STATES, Watch
from qwatch.wire.connection import Target, connect
from tests.dramatiq.conftest import StartWorker
from tests.tui.conftest import cells, table, until


async def test_top_shows_dramatiq_and_refuses_rqs_actions_on_it(
    client: redis.Redis, url: str, broker: RedisBroker, start_worker: StartWorker
) -> None:
    died = send(broker, "harness.fail", "mailbox of customer 4711 is full")
    for n in range(3):
        send(broker, "harness.add", n, 1, queue="parked")
    start_worker("default")
    wait_until(lambda: Watch(client, DRAMATIQ).failed(5), "the dead letter")
    target = Target(url=url, timeout=1.0)
    watched = connect(target)
    feed = Feed(target, watched, 3600.0, watch=Watch(watched, DRAMATIQ))
    notes: list[str] = []
    app = QwatchApp(feed, interval=3600)
    app.notify = lambda message, **_kw: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app, "#queues").row_count == 2, "both queues")
        assert cells(app, "#queues", "dramatiq:parked")[:3] == ["parked", "", "3"]  # one system
        table(app, "#queues").select("dramatiq:parked")
        await pilot.press("E")
        await pilot.pause()
        assert notes == [
            "empty queue works on RQ queues only: dramatiq queue parked is unchanged"
            " (enter lists its messages)"
        ]
        assert not isinstance(app.screen, Confirm)
        await browse_parked(pilot, app)
        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 1, "the dead letter")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
        assert isinstance(app.screen, Inspector) and app.screen.job.id == died.message_id
        assert app.screen.job.exception == NO_ERROR
        await pilot.press("r")
        await pilot.pause()
        assert notes[-1] == (
            f"requeue works on RQ jobs only: dramatiq message {died.message_id} is unchanged"
        )
        assert not isinstance(app.screen, Confirm)


async def browse_parked(pilot: Pilot[None], app: QwatchApp) -> None:
    """The parked queue's three messages in the browser's first tab, its four states in turn,
    and back to the queues."""
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, JobBrowser), "the job browser")
    browser = app.screen
    assert isinstance(browser, JobBrowser)
    await until(pilot, lambda: browser.page is not None, "the queued messages")
    assert browser.page is not None and browser.page.system == DRAMATIQ
    assert [job.function for job in browser.page.jobs] == ["harness.add"] * 3
    summary = str(browser.query_one("#browser-summary", Static).content)
    assert summary == "parked  queued messages 1-3 of 3, in queue order, next to be fetched first"
    tabs = [str(label.content) for label in browser.query(".state-name").results(Label)]
    assert tabs == list(DRAMATIQ_STATES)
    await pilot.press("4")
    await until(pilot, lambda: page_of(browser, job_states.FAILED), "the failed tab")
    assert browser.page is not None and browser.page.total == 0
    await pilot.press("9")  # no ninth tab: nothing happens
    assert browser.request.state == job_states.FAILED
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, JobBrowser), "the queues")


def page_of(browser: JobBrowser, state: str) -> bool:
    return browser.page is not None and browser.page.request.state == state
