"""`qwatch top --prometheus`: the lines of the past over a longer window, from a real
Prometheus scraping a real `qwatch serve` with the bundled rules, and what top says when
Prometheus does not answer."""

from __future__ import annotations

from pathlib import Path

from rq import Queue
from textual.widgets import Static

from harness import tasks
from harness.polling import wait_until
from harness.prometheus import PrometheusServer
from harness.qwatch_serve import qwatch_serve
from harness.redis_server import RedisServer, free_port
from harness.workers import start_worker, stop_worker
from qwatch.prometheus.longer import LongerPast
from qwatch.prometheus.recorded import RECORDED
from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import JobBrowser
from qwatch.tui.feed import Feed
from qwatch.wire.connection import Target, connect
from tests.grafana.shipped import RULE_FILES
from tests.tui.conftest import until
from tests.tui.test_past import header, last_values

TWO_HOURS = 7200.0


def app_with(url: str, longer: LongerPast) -> QwatchApp:
    target = Target(url=url, timeout=1.0)
    return QwatchApp(Feed(target, connect(target), 0.2, longer=longer), interval=0.2)


def notes(app: QwatchApp) -> str:
    return str(app.query_one("#notes", Static).content)


async def test_the_lines_span_the_window_prometheus_recorded(tmp_path: Path) -> None:
    server = RedisServer()
    server.start()
    worker = None
    try:
        emails = Queue("emails", connection=server.client())
        worker = start_worker(server.url, ["emails"], name="prometheus-worker")
        options = ["--name", "main", "--track-interval", "1"]
        with (
            qwatch_serve(server.url, options, tmp_path / "serve.log") as address,
            PrometheusServer([address], RULE_FILES) as prometheus,
        ):
            wait_until(lambda: prometheus.query('qwatch_up{redis="main"}'), "a first scrape", 60)
            emails.enqueue(tasks.add, 0, 0)  # the counters' first values...
            emails.enqueue(tasks.fail, "first")
            counted = 'qwatch_jobs_failed_total{redis="main",queue="emails"}'
            wait_until(lambda: prometheus.query(counted), "the first failure scraped", 60)
            for n in range(5):  # ...then more, so that their rates are above zero
                emails.enqueue(tasks.add, n, n)
            emails.enqueue(tasks.fail, "boom")
            recorded = f'{RECORDED.failed}{{redis="main",queue="emails"}} > 0'
            wait_until(lambda: prometheus.query(recorded), "the failure's recorded rate", 60)
            longer = LongerPast(prometheus.url, TWO_HOURS, 'redis="main"')
            app = app_with(server.url, longer)
            async with app.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: header(app).startswith("2h "), "Prometheus' lines")
                shown = last_values(header(app))
                assert float(shown["out/min"]) > 0 and float(shown["failed/min"]) > 0
                assert not notes(app)

                await pilot.press("enter")
                await until(pilot, lambda: isinstance(app.screen, JobBrowser), "the browser")
                past = app.screen.query_one("#browser-past", Static)
                await until(pilot, lambda: str(past.content).startswith("2h "), "the queue's")
                assert float(last_values(str(past.content))["failed/min"]) > 0
    finally:
        if worker is not None:
            stop_worker(worker)
        server.stop()


async def test_a_prometheus_that_does_not_answer_is_said_and_top_draws_its_own_hour() -> None:
    server = RedisServer()
    server.start()
    try:
        nowhere = LongerPast(f"http://127.0.0.1:{free_port()}", TWO_HOURS)
        app = app_with(server.url, nowhere)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "Prometheus unreachable" in notes(app), "the note")
            assert notes(app).endswith(": the lines show top's own last hour")
            assert header(app).startswith("1h ")
    finally:
        server.stop()
