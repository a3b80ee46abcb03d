"""Every screen of qwatch top on frozen data, compared with the saved pictures.

Regenerate after an intended change with `pytest tests/tui --snapshot-update`
and look at the pictures before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from qwatch.tui.app import QwatchApp
from qwatch.tui.widgets.live_table import LiveTable
from tests.tui.frozen import FrozenFeed

SnapCompare = Callable[..., bool]
SIZE = (150, 32)


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


def test_queues(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after())


def test_workers(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("2"))


def test_workers_by_host(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("2", "g"))


def test_failed(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("3"))


def test_inspector(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("3", "enter"))


def test_functions(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("4"))


def test_help(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("question_mark"))


def test_job_browser(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("j"))


def test_job_browser_finished(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("j", "5"))


def test_job_browser_help(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=after("j", "question_mark"))


def test_job_browser_at_80x24(snap_compare: SnapCompare) -> None:
    assert snap_compare(app(), terminal_size=(80, 24), run_before=after("j", "6"))
