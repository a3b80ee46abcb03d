"""The dashboard in a real browser (Debian's chromium, driven by selenium): what a person sees.

Each test loads pages against a real workload and saves a screenshot beside
its temporary files, for a person to look at when it fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.registry import FailedJobRegistry
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from harness import tasks
from tests.web.conftest import HOSTILE, StartDashboard, text, wait_for

PHONE = (390, 844)


def test_the_overview_shows_hostile_names_as_text_and_runs_none(
    start_dashboard: StartDashboard, browser: WebDriver, workload: dict[str, str], tmp_path: Path
) -> None:
    dashboard = start_dashboard()
    browser.get(dashboard.url + "/")
    shown = text(browser)
    assert "emails" in shown and "Newest failures" in shown
    assert HOSTILE in shown  # the queue's name and the exception, as text
    assert browser.execute_script("return window.pwned") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "main img")
    browser.save_screenshot(str(tmp_path / "overview.png"))


def test_a_phone_reads_the_overview_without_scrolling_sideways(
    start_dashboard: StartDashboard, browser: WebDriver, workload: dict[str, str], tmp_path: Path
) -> None:
    dashboard = start_dashboard()
    browser.set_window_size(*PHONE)
    browser.get(dashboard.url + "/")
    width = browser.execute_script("return window.innerWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "th") if cell.text]
    assert {"queue", "queued", "failed"} <= set(headers)
    browser.save_screenshot(str(tmp_path / "phone.png"))


def test_dark_and_light_follow_the_system(
    start_dashboard: StartDashboard, browser: WebDriver, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    colours = []
    for scheme in ("light", "dark"):
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )
        browser.get(dashboard.url + "/")
        colours.append(
            browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        )
    assert colours[0] != colours[1]


def test_the_keyboard_reaches_a_queue_and_its_jobs(
    start_dashboard: StartDashboard, browser: WebDriver, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    browser.get(dashboard.url + "/")
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(40):
        body.send_keys(Keys.TAB)
        focused = browser.switch_to.active_element
        if focused.tag_name == "a" and focused.text == "emails":
            break
    else:
        pytest.fail("tab never reached the emails queue")
    focused.send_keys(Keys.ENTER)
    wait_for(browser, "location.pathname.startsWith('/queues/')", "the queue's page")
    assert "Queue emails" in text(browser)


def test_the_page_refreshes_itself_without_reloading(
    start_dashboard: StartDashboard,
    browser: WebDriver,
    client: redis.Redis,
    workload: dict[str, str],
) -> None:
    dashboard = start_dashboard(refresh=0.5)
    browser.get(dashboard.url + "/")
    marker = browser.execute_script("window.marker = 1; return window.marker")
    for n in range(7):
        Queue("reports", connection=client).enqueue(tasks.add, n, 1)
    wait_for(browser, "document.querySelector('main').innerText.includes('reports')", "new queue")
    assert browser.execute_script("return window.marker") == marker  # not a reload


def test_a_failed_job_is_requeued_after_a_confirmation(
    start_dashboard: StartDashboard,
    browser: WebDriver,
    client: redis.Redis,
    workload: dict[str, str],
    tmp_path: Path,
) -> None:
    dashboard = start_dashboard(actions=True)
    job = workload["divide_job"]
    browser.get(f"{dashboard.url}/jobs/{job}")
    assert "ZeroDivisionError" in text(browser) and "Traceback" in text(browser)
    browser.find_element(By.XPATH, "//button[text()='Requeue']").click()
    wait_for(browser, "document.querySelector('.question')", "the confirmation")
    assert job in FailedJobRegistry("emails", connection=client).get_job_ids()
    browser.save_screenshot(str(tmp_path / "confirm.png"))
    browser.find_element(By.XPATH, "//button[text()='Yes, do it']").click()
    wait_for(browser, "document.querySelector('.message')", "the action's message")
    assert f"requeued job {job}" in text(browser)
    assert job not in FailedJobRegistry("emails", connection=client).get_job_ids()
