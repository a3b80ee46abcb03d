"""Every screen of qwatch top on frozen data, compared with the saved pictures.

Regenerate after an intended change with `pytest tests/tui --snapshot-update`
and look at the pictures before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from qwatch.tui.app import QwatchApp
from qwatch.tui.widgets.live_table import LiveTable
from tests.tui.frozen import FrozenFeed, MixedFeed

SnapCompare = Callable[..., bool]
SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x50": (200, 50)}
SCREENS = {
    "queues": (),
    "workers": ("2",),
    "workers_by_host": ("2", "g"),
    "failed": ("3",),
    "inspector": ("3", "enter"),
    "inspector_help": ("3", "enter", "question_mark"),
    "functions": ("4",),
    "help": ("question_mark",),
    "job_browser": ("j",),
    "job_browser_finished": ("j", "5"),
    "job_browser_help": ("j", "question_mark"),
    "search": ("3", "S", *"crawl", "enter"),
}
MIXED_SIZES = ("80x24", "120x40")
MIXED_SCREENS = {
    "mixed_queues": (),
    "mixed_workers": ("2",),
    "mixed_celery_queue": ("end", "enter"),
}
"""RQ and Celery on one Redis; `end` selects the last queue, Celery's `video`."""


def app() -> QwatchApp:
    return QwatchApp(FrozenFeed(), interval=3600)


def after(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Wait for the first data, press `keys`, then let the screen settle."""

    async def run_before(pilot: Pilot[Any]) -> None:
        while not pilot.app.query_one("#queues", LiveTable).row_count:
            await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.1)
        await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(snap_compare: SnapCompare, screen: str, size: str) -> None:
    assert snap_compare(app(), terminal_size=SIZES[size], run_before=after(*SCREENS[screen]))


@pytest.mark.parametrize("size", MIXED_SIZES)
@pytest.mark.parametrize("screen", MIXED_SCREENS)
def test_mixed_screen(snap_compare: SnapCompare, screen: str, size: str) -> None:
    mixed = QwatchApp(MixedFeed(), interval=3600)
    assert snap_compare(mixed, terminal_size=SIZES[size], run_before=after(*MIXED_SCREENS[screen]))
