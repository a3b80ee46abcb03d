"""Driving the real app against the test Redis with Textual's pilot."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from qwatch.connection import Target, connect
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.tui.widgets.live_table import LiveTable

SIZE = (160, 40)


def make_app(url: str, read_only: bool = False, interval: float = 0.2) -> QwatchApp:
    target = Target(url=url, timeout=1.0)
    return QwatchApp(Feed(target, connect(target)), interval=interval, read_only=read_only)


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
