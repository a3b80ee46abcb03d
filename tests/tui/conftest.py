"""Driving the real app against the test Redis with Textual's pilot."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from qwatch.rq.tracking import Following
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.tui.inspector import Inspector
from qwatch.tui.widgets.live_table import LiveTable
from qwatch.wire.connection import Target, connect

SIZE = (160, 40)


def make_app(
    url: str, read_only: bool = False, interval: float = 0.2, track_interval: float = 3600.0
) -> QwatchApp:
    """The app on the test Redis; its completion tracker polls once at start, then only as
    often as a test asks (so that tests counting Redis commands count only their own)."""
    target = Target(url=url, timeout=1.0)
    feed = Feed(target, connect(target), track_interval)
    return QwatchApp(feed, interval=interval, read_only=read_only)


def following(app: QwatchApp) -> Following:
    """The completion tracker of an app made by `make_app`."""
    assert isinstance(app.feed, Feed)
    return app.feed.following


def track(app: QwatchApp) -> None:
    """Have the feed's completion tracker poll once more, as its own clock would, and wait."""
    tracker = following(app)
    assert tracker.wait_past(tracker.poll_soon()), "the tracker did not poll"


async def until(
    pilot: Pilot[None], check: Callable[[], object], what: str, timeout: float = 20.0
) -> None:
    """Let the app run until `check()` holds; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {what}")
        await pilot.pause(0.05)


def table(app: QwatchApp, selector: str) -> LiveTable:
    return app.query_one(selector, LiveTable)


def cells(app: QwatchApp, selector: str, key: str) -> list[str]:
    """A row's cells as the person sees them."""
    return [str(getattr(cell, "plain", cell)) for cell in table(app, selector).get_row(key)]


def shown_cells(app: QwatchApp, selector: str, key: str) -> list[str]:
    """A row's cells in the columns on screen: optional columns of a system not there drop."""
    shown = table(app, selector).column_widths
    keys = table(app, selector).column_keys
    row = cells(app, selector, key)
    return [cell for column, cell in zip(keys, row) if column in shown]


async def inspect_the_failed_job(pilot: Pilot[None], app: QwatchApp) -> Inspector:
    """The failed screen, once its one job is listed, and that job opened in the inspector."""
    await pilot.press("3")
    await until(pilot, lambda: table(app, "#failed").row_count == 1, "the failed job")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
    assert isinstance(app.screen, Inspector)
    return app.screen
