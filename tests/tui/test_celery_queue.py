"""Keys on a Celery queue's row: its details instead of RQ's job browser, RQ's actions refused."""

from __future__ import annotations

import pytest

from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import JobBrowser
from qwatch.tui.celery_queue import CeleryQueuePanel
from qwatch.tui.dialogs import Choose, Confirm
from tests.tui.conftest import until
from tests.tui.frozen import MixedFeed


def mixed_app(notes: list[str]) -> QwatchApp:
    """The app on frozen RQ and Celery data; its notifications go to `notes`."""
    app = QwatchApp(MixedFeed(), interval=3600)
    app.notify = lambda message, **_kw: notes.append(str(message))  # type: ignore[method-assign]
    return app


async def test_enter_on_a_celery_queue_shows_its_details_not_the_job_browser() -> None:
    app = mixed_app([])
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.tables["queues"].row_count == 7, "the queues")
        app.tables["queues"].select("celery:video")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CeleryQueuePanel), "the details")
        assert not any(isinstance(screen, JobBrowser) for screen in app.screen_stack)
        facts = app.screen.query_one("#celery-facts")
        lines = [facts.render_line(y).text for y in range(facts.size.height)]
        assert any(line.split()[:2] == ["overdue", "2"] for line in lines), lines
        assert any("90  video.tasks.transcode" in line for line in lines), lines
        await pilot.press("escape")
        app.tables["queues"].select("rq:default")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobBrowser), "the RQ queue's jobs")
        assert isinstance(app.screen, JobBrowser) and app.screen.request.queue == "default"


@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("j", "the job browser"),
        ("R", "requeue all failed"),
        ("E", "empty queue"),
        ("X", "empty registry"),
    ],
)
async def test_rq_actions_on_a_celery_queue_say_so_once_and_ask_nothing(
    key: str, what: str
) -> None:
    notes: list[str] = []
    app = mixed_app(notes)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.tables["queues"].row_count == 7, "the queues")
        app.tables["queues"].select("celery:default")
        await pilot.press(key)
        await pilot.pause()
        assert notes == [
            f"{what} works on RQ queues only: celery queue default is unchanged"
            " (enter shows its details)"
        ]
        assert not isinstance(app.screen, (Confirm, Choose, JobBrowser))


async def test_an_rq_action_on_the_rq_queue_of_the_same_name_asks_about_that_queue() -> None:
    app = mixed_app([])
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.tables["queues"].row_count == 7, "the queues")
        app.tables["queues"].select("rq:default")
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        assert isinstance(app.screen, Confirm)
        assert app.screen.question == "Delete every job waiting in default?"
