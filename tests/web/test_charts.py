"""The history as a person sees it in a real browser: the overview's chart and sparklines, a
queue's charts, the workers' busy lines and what changed, with markup in a queue's name."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from harness.polling import wait_until
from harness.workers import start_worker, stop_worker
from qwatch.web.tables import queue_href
from tests.web.conftest import HOSTILE, StartDashboard, fetch, text


def labels(browser: WebDriver, selector: str) -> list[str]:
    """Each drawing's words: what a screen reader says, and what a pointer's tooltip shows."""
    found = browser.find_elements(By.CSS_SELECTOR, selector)
    return [element.get_attribute("aria-label") or "" for element in found]


def captions(browser: WebDriver) -> list[str]:
    """Each chart's title, up to its first comma."""
    found = browser.find_elements(By.CSS_SELECTOR, "figure.chart figcaption")
    return [element.text.split(",")[0] for element in found]


def test_the_pages_draw_the_history_and_what_changed(
    start_dashboard: StartDashboard,
    browser: WebDriver,
    workload: dict[str, str],
    url: str,
    tmp_path: Path,
) -> None:
    dashboard = start_dashboard(options=("--history-interval", "1"))
    first = "/api/history?queue=emails&system=rq"
    wait_until(lambda: fetch(dashboard.url, first).status == 200, "the first sample")
    worker = start_worker(url, ["reports"], name="chart-worker")  # so it appears in the next
    try:
        wait_until(
            lambda: "chart-worker appeared" in fetch(dashboard.url, "/events").body,
            "the worker's arrival, on /events",
        )
        browser.get(dashboard.url + "/events")
        assert "worker appeared" in text(browser)
        browser.find_element(By.LINK_TEXT, "chart-worker").click()
        assert browser.current_url.endswith("/workers?redis=main")
        busy = labels(browser, "svg.spark")
        assert any(label.startswith("chart-worker busy, the last hour: last 0%") for label in busy)

        browser.get(dashboard.url + "/")
        (throughput,) = labels(browser, "figure.chart svg")
        assert throughput.startswith("main: jobs out and failed per minute, the last hour, ")
        assert "jobs out last" in throughput and "failed last" in throughput
        sparks = labels(browser, "table svg.spark")
        assert any(label.startswith("emails queued, the last hour: last 1") for label in sparks)
        assert any(label.startswith(f"{HOSTILE} queued, the last hour: last 1") for label in sparks)
        assert HOSTILE in text(browser)
        assert browser.execute_script("return window.pwned") is None
        assert "chart-worker appeared" in text(browser), "the overview's newest changes"
        browser.save_screenshot(str(tmp_path / "overview.png"))

        browser.find_element(By.LINK_TEXT, "the last day").click()
        (throughput,) = labels(browser, "figure.chart svg")
        assert throughput.startswith("main: jobs out and failed per minute, the last day, ")

        browser.get(dashboard.url + queue_href("main", "rq", HOSTILE))
        assert captions(browser) == [
            f"{HOSTILE}: queued and started",
            f"{HOSTILE}: jobs in",
            f"{HOSTILE}: the oldest job's age",
        ]
        assert browser.execute_script("return window.pwned") is None
        assert not browser.find_elements(By.CSS_SELECTOR, "main img")
        browser.save_screenshot(str(tmp_path / "queue.png"))
    finally:
        stop_worker(worker)
