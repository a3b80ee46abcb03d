"""A `qwatch serve` in this process with its dashboard, over the test Redis and a real workload,
and a real browser (Debian's chromium, driven by selenium) to look at it."""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from rq import Queue
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from harness import tasks
from harness.redis_server import RedisServer
from harness.workers import run_burst
from qwatch.cli.commands import build_parser, watch_from_args
from qwatch.exporter.collector import RedisSource
from qwatch.exporter.http.server import make_server
from qwatch.exporter.http.web_config import WebConfig
from qwatch.wire.connection import Target, connect
from tests.exporter.conftest import Exporter

HOSTILE = '<img src=x onerror="window.pwned=1">'
"""Markup a queue name or an exception may hold: a page must show it as text."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def fetch(base: str, path: str, form: dict[str, str] | None = None, **headers: str) -> Answer:
    """GET `path`, or POST `form` to it; any status is an answer."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read().decode())


StartDashboard = Callable[..., Exporter]


@pytest.fixture
def start_dashboard(redis_server: RedisServer) -> Iterator[StartDashboard]:
    """Start `qwatch serve` on a free port; `actions` turns on the dashboard's writes."""
    started: list[Exporter] = []

    def start(
        actions: bool = False,
        refresh: float = 5.0,
        url: str | None = None,
        timeout: float = 5.0,
        options: tuple[str, ...] = (),
        also: str | None = None,
    ) -> Exporter:
        """`options`: `qwatch serve`'s, for the systems watched (RQ alone by default); `also`:
        a second Redis, named `second`."""
        sources = [_source("main", url or redis_server.url, timeout, options)]
        if also is not None:
            sources.append(_source("second", also, timeout, options))
        server = make_server(
            ("127.0.0.1", 0), sources, timeout, WebConfig(), actions=actions, refresh=refresh
        )
        exporter = Exporter(server)
        started.append(exporter)
        return exporter

    yield start
    for exporter in started:
        exporter.stop()


def _source(name: str, url: str, timeout: float, options: tuple[str, ...]) -> RedisSource:
    client = connect(Target(url=url, timeout=timeout))
    args = build_parser().parse_args(["serve", "--url", url, "--system", "rq", *options])
    watch = watch_from_args(args, client)
    return RedisSource(
        name, client, track_interval=3600.0, watch=watch, history_pace=args.history_interval
    )


@pytest.fixture
def workload(client: redis.Redis, url: str) -> dict[str, str]:
    """Jobs finished and failed by a real worker, some waiting, and markup where names go."""
    emails = Queue("emails", connection=client)
    for n in range(3):
        emails.enqueue(tasks.send_email, f"user{n}@example.com", "hello")
    failing = emails.enqueue(tasks.fail, HOSTILE)
    divide = emails.enqueue(tasks.divide, 1, 0)
    run_burst(url, ["emails"])
    emails.enqueue(tasks.send_email, "late@example.com", "waiting")
    Queue(HOSTILE, connection=client).enqueue(tasks.add, 1, 2)
    return {"hostile_job": failing.id, "divide_job": divide.id}


LAPTOP = (1366, 900)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "make test installs chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.set_window_size(*LAPTOP)
    yield session
    session.quit()


def wait_for(browser: WebDriver, check: object, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not browser.execute_script(f"return Boolean({check})"):
        assert time.monotonic() < deadline, f"waited {seconds:g}s for {what}"
        time.sleep(0.1)


def text(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)
