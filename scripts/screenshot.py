"""Draw docs/top.svg and docs/web.png: `qwatch top` and the dashboard of `qwatch serve`
watching a real RQ workload, so the pictures cannot drift.

Everything runs here, as the test suite runs it: a private redis-server on a
free port, real `rq worker` processes (qwatch's exact-mode worker class), the
app `qwatch top --url URL` builds, driven by Textual's pilot, and the
dashboard as `qwatch serve` serves it, in Debian's chromium. Every process it
starts is stopped, even on error. Run it with `make screenshot`,
which puts the tree's root, and so `harness`, on the import path.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import threading
import time
from contextlib import ExitStack

import redis
from rq import Queue
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from textual.pilot import Pilot

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer
from harness.workers import ROOT, run_burst, running_jobs, start_worker, stop_worker
from qwatch.cli.commands import build_parser, target_from_args, watch_from_args
from qwatch.exporter.collector import RedisSource
from qwatch.exporter.http.server import make_server
from qwatch.exporter.http.web_config import WebConfig
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.tui.widgets.live_table import LiveTable
from qwatch.wire.connection import Target, connect

OUTPUT = ROOT / "docs" / "top.svg"
WEB_OUTPUT = ROOT / "docs" / "web.png"
SIZE = (100, 32)
WEB_SIZE = (1280, 860)
INTERVAL = "0.25"
"""Seconds between the app's polls: enough polls for a backlog's trend in a few seconds."""
EXACT = "qwatch.rq.Worker"
QUEUES = ("default", "emails", "reports")
BUSY_WORKER, IDLE_WORKER = "reports-1", "mail-1"
LONG_JOB = "monthly-report"
POLLS = 12
"""Polls the app shows, each but the first with the reports backlog two jobs longer: the
sparkline's rise."""
DEADLINE = 60.0


def run_finished_work(client: redis.Redis, url: str) -> None:
    """Jobs on every queue, run to the end by one burst worker: successes and failures."""
    default, emails, reports = (Queue(name, connection=client) for name in QUEUES)
    for i in range(6):
        default.enqueue(tasks.add, i, 1)
    for i in range(3):
        default.enqueue(tasks.divide, i, 0)
    for i in range(5):
        emails.enqueue(tasks.send_email, f"user{i}@example.com", "Your receipt")
    emails.enqueue(tasks.fail, "mailbox unavailable: quota exceeded")
    for i in range(4):
        reports.enqueue(tasks.add, i, i)
    run_burst(url, QUEUES, worker_class=EXACT)


def start_workers(client: redis.Redis, url: str, stack: ExitStack) -> None:
    """One worker busy with a long report, one idle on the other queues; `stack` stops them."""
    Queue("reports", connection=client).enqueue(tasks.sleep, 600, job_id=LONG_JOB)
    for name, queues in ((BUSY_WORKER, ["reports"]), (IDLE_WORKER, ["default", "emails"])):
        process = start_worker(url, queues, name=name, worker_class=EXACT)
        stack.callback(stop_worker, process)
    wait_until(lambda: LONG_JOB in running_jobs(client, BUSY_WORKER), "the long report to start")
    wait_until(lambda: client.exists(f"rq:worker:{IDLE_WORKER}"), "the idle worker to register")


def make_app(url: str) -> QwatchApp:
    """The app exactly as `qwatch top --url URL --interval INTERVAL` builds it."""
    args = build_parser().parse_args(["top", "--url", url, "--interval", INTERVAL])
    target = target_from_args(args)
    client = connect(target)
    feed = Feed(target, client, args.track_interval, watch_from_args(args, client))
    first = feed.poll(with_functions=False)
    return QwatchApp(feed, args.interval, args.read_only, first=first)


async def watch_the_backlog_grow(app: QwatchApp, pilot: Pilot[None], reports: Queue) -> None:
    """Two more reports wait after each poll, until `POLLS` polls have been shown and the
    last shows every queue and worker."""
    deadline = time.monotonic() + DEADLINE
    seen, polls = app.update, 1
    while polls < POLLS or not shows_everything(app):
        if time.monotonic() > deadline:
            raise TimeoutError(f"qwatch top showed no full picture in {DEADLINE:g} s")
        if app.update is not seen:
            seen, polls = app.update, polls + 1
            if polls < POLLS:
                for i in range(2):
                    reports.enqueue(tasks.add, polls, i)
        await pilot.pause(0.05)


def shows_everything(app: QwatchApp) -> bool:
    """Every queue in the table, and both workers, one busy, in the latest poll."""
    update = app.update
    if update is None or app.query_one("#queues", LiveTable).row_count != len(QUEUES):
        return False
    states = {worker.name: worker.state for worker in update.snapshot.workers}
    return states == {BUSY_WORKER: "busy", IDLE_WORKER: "idle"}


async def draw(url: str, client: redis.Redis) -> None:
    """Run the app on the workload until it shows everything, then save its screen."""
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await watch_the_backlog_grow(app, pilot, Queue("reports", connection=client))
        await pilot.pause()
        app.save_screenshot(OUTPUT.name, str(OUTPUT.parent))


def photograph(url: str, stack: ExitStack) -> None:
    """The dashboard's overview of the same Redis, as a browser on a laptop shows it."""
    args = build_parser().parse_args(["serve", "--url", url])
    client = connect(Target(url=url))
    source = RedisSource("queues-1", client, watch=watch_from_args(args, client))
    server = make_server(("127.0.0.1", 0), [source], 5.0, WebConfig())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(source.close)
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    stack.callback(browser.quit)
    browser.set_window_size(*WEB_SIZE)
    browser.get(f"http://127.0.0.1:{server.server_address[1]}/")
    browser.save_screenshot(str(WEB_OUTPUT))


def main() -> int:
    """Redis first and stopped last: the workers and the app need it until they are done."""
    started = time.monotonic()
    with ExitStack() as stack:
        server = stack.enter_context(RedisServer())
        client = server.client()
        stack.callback(client.close)
        run_finished_work(client, server.url)
        start_workers(client, server.url, stack)
        asyncio.run(draw(server.url, client))
        photograph(server.url, stack)
    print(
        f"wrote {OUTPUT.relative_to(ROOT)} and {WEB_OUTPUT.relative_to(ROOT)}"
        f" in {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
