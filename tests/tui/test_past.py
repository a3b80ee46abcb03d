"""`qwatch top`'s lines of the last hour at 80x24: the whole Redis's jobs out and failed under
the status line, a queue's backlog, jobs out and failures over its jobs; real RQ workers."""

from __future__ import annotations

import re

from rq import Queue
from textual.widgets import Static

from harness import tasks
from harness.redis_server import RedisServer
from harness.workers import start_worker, stop_worker
from qwatch.text.history_line import BLOCKS
from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import JobBrowser
from tests.tui.conftest import cells, make_app, until


def last_values(line: str) -> dict[str, str]:
    """Each measure's newest value as the line shows it, by its label."""
    found = re.findall(r"(queued|out/min|failed/min) [^\d-]*(\d[\d.k]*|-)", line)
    return dict(found)


def header(app: QwatchApp) -> str:
    return str(app.query_one("#throughput", Static).content)


async def test_the_last_hour_of_jobs_out_and_failed_shows_in_the_header_and_a_queue() -> None:
    server = RedisServer()
    server.start()
    worker = None
    try:
        emails = Queue("emails", connection=server.client())
        app = make_app(server.url, track_interval=0.2)  # the ended jobs found at once
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "out/min" in header(app), "the header's first line")
            assert last_values(header(app)) == {"out/min": "0", "failed/min": "0"}
            assert len(header(app)) <= 78, "one line at 80 columns, inside its padding"
            for n in range(3):
                emails.enqueue(tasks.add, n, n)
            emails.enqueue(tasks.fail, "boom")
            worker = start_worker(server.url, ["emails"], name="past-worker")
            await until(
                pilot,
                lambda: last_values(header(app)).get("failed/min", "0") != "0",
                "the failure, per minute, in the header",
            )
            backlog = cells(app, "#queues", "rq:emails")[-1]
            assert backlog.strip() and set(backlog.strip()) <= set(BLOCKS + " "), "its hour"
            out = last_values(header(app))["out/min"]
            assert out.endswith("k") or float(out) >= 4, "four jobs ended in the slot's time"

            await pilot.press("enter")  # the selected queue, emails, the only one
            await until(pilot, lambda: isinstance(app.screen, JobBrowser), "the job browser")
            past = app.screen.query_one("#browser-past", Static)
            await until(pilot, lambda: "queued" in str(past.content), "the queue's hour")
            line = str(past.content)
            assert last_values(line)["queued"] != "-" and last_values(line)["failed/min"] != "0"
            assert len(line) <= 78
    finally:
        if worker is not None:
            stop_worker(worker)
        server.stop()
