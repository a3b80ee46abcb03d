"""arq in every face, over jobs a real arq worker ran: `qwatch jobs`, the dashboard and
`/metrics`, top."""

from __future__ import annotations

import json
import urllib.parse

import pytest
import redis
from textual.widgets import Static

from harness.arq_app import enqueue
from harness.polling import wait_until
from qwatch import job_states
from qwatch.arq.layout import ArqLayout
from qwatch.model import ARQ, PageRequest
from qwatch.tui.app import QwatchApp
from qwatch.tui.browser import JobBrowser
from qwatch.tui.feed import Feed
from qwatch.watch import ARQ_STATES, Watch
from qwatch.wire.connection import Target, connect
from tests.arq.conftest import StartWorker
from tests.cli.test_cli import run_cli
from tests.tui.conftest import table, until
from tests.web.conftest import StartDashboard, fetch, start_dashboard

__all__ = ["start_dashboard"]  # the fixtures this module uses
MARKUP = "<script>alert(1)</script>"


@pytest.fixture
def ran(client: redis.Redis, url: str, start_worker: StartWorker) -> dict[str, str]:
    """A job of each state, the failure's message holding markup: their ids by state."""
    ids = {
        job_states.FINISHED: enqueue(url, "send_email", "someone@example.com", "receipt"),
        job_states.FAILED: enqueue(url, "fail", f"customer 4711 {MARKUP}"),
        job_states.STARTED: enqueue(url, "sleep", 60),
    }
    start_worker()
    watch = Watch(client, ARQ)
    wait_until(lambda: _status(watch, ids[job_states.STARTED]) == job_states.STARTED, "the sleep")
    wait_until(lambda: _status(watch, ids[job_states.FAILED]) == job_states.FAILED, "the failure")
    ids[job_states.SCHEDULED] = enqueue(url, "add", 1, 2, defer=3600)
    return ids


def _status(watch: Watch, job_id: str) -> str | None:
    job = watch.job(job_id)
    return job.status if job is not None else None


def test_each_state_is_a_page_of_its_own_jobs(client: redis.Redis, ran: dict[str, str]) -> None:
    watch = Watch(client, ARQ, arq=ArqLayout(health_check_interval=1))
    for state in ARQ_STATES:
        page = watch.arq_page(PageRequest("arq:queue", state))
        expected = [ran[state]] if state in ran else []
        assert [job.id for job in page.jobs] == expected, state
    failed = watch.arq_page(PageRequest("arq:queue", job_states.FAILED)).jobs[0]
    assert failed.function == "fail" and failed.exception == f"ValueError: customer 4711 {MARKUP}"
    assert not watch.arq_page(PageRequest("nowhere", job_states.QUEUED)).queue_known


def test_qwatch_jobs_pages_an_arq_queue_and_refuses_what_arq_has_not(
    url: str, ran: dict[str, str]
) -> None:
    listed = run_cli("jobs", "arq:queue", "--state", "failed", "--url", url, "--json")
    assert listed.returncode == 0, listed.stderr
    page = json.loads(listed.stdout)
    assert page["system"] == ARQ and [job["id"] for job in page["jobs"]] == [ran["failed"]]
    text = run_cli("jobs", "arq:queue", "--state", "scheduled", "--url", url)
    assert (
        text.returncode == 0 and ran["scheduled"] in text.stdout and "soonest first" in text.stdout
    )
    refused = run_cli("jobs", "arq:queue", "--state", "canceled", "--url", url, "--system", "arq")
    assert refused.returncode == 2
    assert "arq keeps no canceled jobs: an arq queue's states are queued," in refused.stderr
    missing = run_cli("jobs", "nowhere", "--url", url, "--system", "arq")
    assert missing.returncode == 2 and "no arq queue 'nowhere'" in missing.stderr


def test_qwatch_search_finds_arq_jobs_by_their_arguments_and_errors(
    url: str, ran: dict[str, str]
) -> None:
    found = run_cli("search", "4711", "--url", url, "--json")
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["done"] and [hit["id"] for hit in result["hits"]] == [ran["failed"]]
    (hit,) = result["hits"]
    assert hit["system"] == ARQ and hit["state"] == "failed"
    assert hit["detail"] == f"ValueError: customer 4711 {MARKUP}"
    sent = run_cli("search", "someone@example", "--url", url, "--state", "finished", "--json")
    assert [h["id"] for h in json.loads(sent.stdout)["hits"]] == [ran["finished"]]


def test_the_dashboard_shows_arq_queues_and_jobs_as_text(
    ran: dict[str, str], start_dashboard: StartDashboard
) -> None:
    dashboard = start_dashboard(options=("--system", "arq"))
    overview = fetch(dashboard.url, "/")
    assert overview.status == 200 and "arq:queue" in overview.body
    queue = urllib.parse.quote("arq:queue", safe="")
    page = fetch(dashboard.url, f"/queues/{queue}?system=arq&state=failed")
    assert page.status == 200 and "arq queue arq:queue" in page.body
    assert ran["failed"] in page.body and MARKUP not in page.body
    assert "customer 4711 &lt;script&gt;" in page.body
    assert fetch(dashboard.url, f"/queues/{queue}?system=arq&state=canceled").status == 404
    job = fetch(dashboard.url, f"/jobs/{ran['failed']}")
    assert job.status == 200 and "ValueError" in job.body and MARKUP not in job.body
    metrics = fetch(dashboard.url, "/metrics").body
    assert 'qwatch_queue_jobs{queue="arq:queue",redis=' in metrics
    mode = [line for line in metrics.splitlines() if line.startswith("qwatch_queue_counting_mode{")]
    assert len(mode) == 1 and 'mode="unseen"' in mode[0] and 'system="arq"' in mode[0]


async def test_top_browses_an_arq_queue(url: str, ran: dict[str, str]) -> None:
    target = Target(url=url, timeout=1.0)
    watched = connect(target)
    feed = Feed(target, watched, 3600.0, watch=Watch(watched, ARQ))
    app = QwatchApp(feed, interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app, "#queues").row_count == 1, "the queue")
        table(app, "#queues").select("arq:arq:queue")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobBrowser), "the job browser")
        browser = app.screen
        assert isinstance(browser, JobBrowser) and browser.states == ARQ_STATES
        await pilot.press("2")
        await until(
            pilot,
            lambda: browser.page is not None and browser.page.request.state == job_states.STARTED,
            "the running job",
        )
        assert browser.page is not None
        assert [job.id for job in browser.page.jobs] == [ran["started"]]
        summary = str(browser.query_one("#browser-summary", Static).content)
        assert summary == "arq:queue  started jobs 1-1 of 1, running now, in queue order"
