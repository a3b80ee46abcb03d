"""The dashboard's job page shows the lines a job logged, as text whatever they hold."""

from __future__ import annotations

import html
import json

import redis
from rq import Queue

from harness import tasks
from harness.workers import run_burst
from tests.web.conftest import HOSTILE, StartDashboard, fetch

ESCAPES = "\x1b[31m\x1b]0;owned\x07"
SHOWN = "\\x1b[31m\\x1b]0;owned\\x07"
"""`ESCAPES` as the page writes it out."""
SCRIPT = "<script>alert(1)</script>"


def test_a_job_page_shows_its_logs_escaped(
    start_dashboard: StartDashboard, client: redis.Redis, url: str
) -> None:
    queue = Queue("default", connection=client)
    failed = queue.enqueue(tasks.log_then_fail, ESCAPES + HOSTILE + SCRIPT)
    plain = Queue("other", connection=client).enqueue(tasks.log_lines, 1)
    run_burst(url, ["default"], worker_class="qwatch.rq.Worker")
    run_burst(url, ["other"])  # RQ's own worker: nothing kept
    dashboard = start_dashboard()
    page = fetch(dashboard.url, f"/jobs/{failed.id}").body
    assert "<script>alert" not in page and HOSTILE not in page and "\x1b" not in page
    (logs,) = [part for part in page.split("<pre") if "giving up on" in part]
    shown = html.unescape(logs.split("</pre>")[0])
    assert f"giving up on {SHOWN}{HOSTILE}{SCRIPT}" in shown
    assert page.index("Traceback") < page.index("giving up on")
    data = json.loads(fetch(dashboard.url, f"/api/jobs/{failed.id}").body)
    assert data["logs"][0].endswith(ESCAPES + HOSTILE + SCRIPT)
    page = fetch(dashboard.url, f"/jobs/{plain.id}").body
    assert "logs: none kept: its worker was not a qwatch.rq.Worker" in page
