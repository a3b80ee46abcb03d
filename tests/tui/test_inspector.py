"""The inspector of `qwatch top` on a job a real `qwatch.rq.Worker` ran."""

from __future__ import annotations

import redis
from rich.text import Text
from rq import Queue
from textual.widgets import Static

from harness import tasks
from harness.workers import run_burst
from tests.tui.conftest import SIZE, inspect_the_failed_job, make_app


async def test_the_inspector_shows_a_jobs_logs_as_text(client: redis.Redis, url: str) -> None:
    Queue("default", connection=client).enqueue(tasks.log_then_fail, "\x1b[2Jwiped [red]x[/]")
    run_burst(url, ["default"], worker_class="qwatch.rq.Worker")
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        inspector = await inspect_the_failed_job(pilot, app)
        shown = inspector.query_one("#logs", Static).content
        assert isinstance(shown, Text)
        title, line = shown.plain.split("\n")
        assert title == "logs" and "\x1b" not in shown.plain
        assert line.endswith(" WARNING harness.tasks: giving up on \\x1b[2Jwiped [red]x[/]")
