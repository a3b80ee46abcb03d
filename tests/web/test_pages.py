"""The dashboard's pages and API over HTTP: what they show, what they refuse, what they cost."""

from __future__ import annotations

import json
import urllib.parse

import redis
from rq import Queue
from rq.registry import FailedJobRegistry

from harness import tasks
from harness.celery_app import make_app
from harness.redis_server import RedisServer
from harness.workers import run_burst
from qwatch.watch import Watch
from tests.web.conftest import HOSTILE, StartDashboard, fetch


def test_the_overview_shows_queues_workers_and_failures_with_markup_as_text(
    start_dashboard: StartDashboard, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    page = fetch(dashboard.url, "/")
    assert page.status == 200
    assert "emails" in page.body and "Queues" in page.body and "Newest failures" in page.body
    assert "ZeroDivisionError" in page.body
    assert HOSTILE not in page.body  # the queue's name and the exception, escaped
    assert "&lt;img src=x onerror=" in page.body
    assert "jobs wait and no worker listens" in page.body


def test_every_page_has_a_strict_policy_and_no_asset_from_elsewhere(
    start_dashboard: StartDashboard, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    job = urllib.parse.quote(workload["divide_job"])
    for path in ("/", "/workers", "/functions", "/queues/emails?state=failed", f"/jobs/{job}"):
        page = fetch(dashboard.url, path)
        assert page.status == 200, path
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "http://" not in page.body.replace(dashboard.url, "")
        assert "<script>" not in page.body and HOSTILE not in page.body


def test_a_queue_page_lists_one_state_a_page_at_a_time(
    start_dashboard: StartDashboard, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    page = fetch(dashboard.url, "/queues/emails?state=finished")
    assert page.status == 200
    assert page.body.count("send_email") == 3
    failed = fetch(dashboard.url, "/queues/emails?state=failed")
    assert workload["divide_job"] in failed.body and "ZeroDivisionError" in failed.body
    data = json.loads(fetch(dashboard.url, "/api/queues/emails?state=failed").body)
    assert {job["id"] for job in data["jobs"]} == set(workload.values())
    assert (data["queue"], data["state"], data["total"], data["system"]) == (
        "emails",
        "failed",
        2,
        "rq",
    )


def test_what_is_not_there_is_a_404_page_never_a_traceback(
    start_dashboard: StartDashboard, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    for path in (
        "/queues/nope",
        "/queues/emails?state=bogus",
        "/queues/emails?offset=-1",
        "/queues/emails?offset=x",
        "/jobs/nope",
        "/nope",
        "/?redis=other",
        "/static/../../etc/passwd",
        "/queues/emails?system=bogus",
        "/queues/emails?offset=%D9%A3",
        "/api/queues/nope",
        "/api/queues/emails?redis=other",
        "/api/jobs/nope",
    ):
        page = fetch(dashboard.url, path)
        assert page.status == 404, path
        assert "Traceback" not in page.body


def test_a_job_page_has_the_call_and_traceback_and_its_json_the_same_fields(
    start_dashboard: StartDashboard, client: redis.Redis, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    job_id = workload["hostile_job"]
    page = fetch(dashboard.url, f"/jobs/{job_id}")
    assert "harness.tasks.fail" in page.body and "Traceback" in page.body
    assert HOSTILE not in page.body
    data = json.loads(fetch(dashboard.url, f"/api/jobs/{job_id}").body)
    expected = Watch(client).job(job_id)
    assert expected is not None
    assert (data["id"], data["status"], data["function"]) == (job_id, "failed", expected.function)
    assert data["exception"] == expected.exception and HOSTILE in (data["exception"] or "")


def test_the_api_overview_has_the_shape_of_snapshot_json(
    start_dashboard: StartDashboard, client: redis.Redis, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    (redis_seen,) = json.loads(fetch(dashboard.url, "/api/overview").body)
    assert redis_seen["up"] is True and redis_seen["redis"] == "main"
    assert set(redis_seen["snapshot"]) == set(Watch(client).read().to_dict())
    names = {queue["name"] for queue in redis_seen["snapshot"]["queues"]}
    assert names == {"emails", HOSTILE}
    assert {row["id"] for row in redis_seen["failed"]} == set(workload.values())


def test_pages_opened_together_share_one_reading(
    start_dashboard: StartDashboard, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard(refresh=60.0)
    (source,) = dashboard.server.sources
    assert fetch(dashboard.url, "/").status == 200
    first = source.overview
    for _ in range(10):
        assert fetch(dashboard.url, "/").status == 200
        assert fetch(dashboard.url, "/workers").status == 200
    assert source.overview is first


def test_actions_are_off_unless_asked_for(
    start_dashboard: StartDashboard, client: redis.Redis, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    job = workload["divide_job"]
    page = fetch(dashboard.url, f"/jobs/{job}")
    assert "Requeue" not in page.body
    posted = fetch(dashboard.url, "/actions/requeue", {"job": job, "confirmed": "yes"})
    assert posted.status == 403 and "actions are off" in posted.body
    assert job in FailedJobRegistry("emails", connection=client).get_job_ids()


def test_an_action_needs_the_pages_token_and_a_confirmation(
    start_dashboard: StartDashboard, client: redis.Redis, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard(actions=True)
    job = workload["divide_job"]
    failed = FailedJobRegistry("emails", connection=client)
    token = dashboard.server.dashboard.guard.token
    form = {"job": job, "token": token, "back": "javascript:alert(1)"}
    forged = fetch(dashboard.url, "/actions/requeue", {**form, "token": "x", "confirmed": "yes"})
    assert forged.status == 403
    elsewhere = fetch(
        dashboard.url,
        "/actions/requeue",
        {**form, "confirmed": "yes"},
        Origin="http://evil.example",
    )
    assert elsewhere.status == 403
    asked = fetch(dashboard.url, "/actions/requeue", form)
    assert asked.status == 200 and "Requeue failed job" in asked.body
    assert job in failed.get_job_ids()  # nothing done before the confirmation
    done = fetch(dashboard.url, "/actions/requeue", {**form, "confirmed": "yes"})
    assert done.status == 200 and f"requeued job {job}" in done.body
    assert "javascript:" not in done.body
    assert job not in failed.get_job_ids()
    again = fetch(dashboard.url, "/actions/requeue", {**form, "confirmed": "yes"})
    assert again.status == 409 and "no longer failed" in again.body


def test_an_action_sent_through_another_host_name_or_back_elsewhere_is_refused(
    start_dashboard: StartDashboard, client: redis.Redis, workload: dict[str, str]
) -> None:
    """A page whose own name resolves to the dashboard (DNS rebinding) sends both Host and
    Origin as its own: the host name itself is refused."""
    dashboard = start_dashboard(actions=True)
    job = workload["divide_job"]
    token = dashboard.server.dashboard.guard.token
    form = {"job": job, "token": token, "confirmed": "yes"}
    evil = "evil.example:" + dashboard.url.rsplit(":", 1)[1]
    rebound = fetch(dashboard.url, "/actions/requeue", form, Host=evil, Origin=f"http://{evil}")
    assert rebound.status == 403 and "host name" in rebound.body
    assert job in FailedJobRegistry("emails", connection=client).get_job_ids()
    asked = fetch(
        dashboard.url, "/actions/requeue", {**form, "confirmed": "", "back": "/\t/x.example/"}
    )
    assert 'href="/"' in asked.body and "x.example" not in asked.body


def test_an_action_reaches_the_redis_its_page_showed(
    start_dashboard: StartDashboard, redis_server: RedisServer, workload: dict[str, str]
) -> None:
    """Two Redis with a queue of one name: emptying one's leaves the other's."""
    other = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/1")
    other.flushdb()
    Queue("emails", connection=other).enqueue(tasks.add, 1, 2)
    dashboard = start_dashboard(actions=True, also=redis_server.url.rsplit("/", 1)[0] + "/1")
    token = dashboard.server.dashboard.guard.token
    form = {"redis": "second", "queue": "emails", "token": token, "confirmed": "yes"}
    done = fetch(dashboard.url, "/actions/empty", form)
    assert done.status == 200 and done.body.count("second") >= 1
    assert other.llen("rq:queue:emails") == 0
    assert redis.Redis.from_url(redis_server.url).llen("rq:queue:emails") == 1
    other.flushdb()


def test_queues_in_trouble_come_first_and_a_filter_finds_any(
    start_dashboard: StartDashboard, client: redis.Redis, url: str, workload: dict[str, str]
) -> None:
    Queue("..", connection=client).enqueue(tasks.add, 1, 2)
    Queue("a-quiet", connection=client).enqueue(tasks.add, 1, 2)
    run_burst(url, ["a-quiet"])
    dashboard = start_dashboard()
    page = fetch(dashboard.url, "/").body
    assert page.index(">emails<") < page.index(">a-quiet<")  # failures first
    found = fetch(dashboard.url, "/?q=EMA").body
    assert ">emails<" in found and ">..<" not in found
    link = next(part for part in found.split('"') if part.startswith("/queues/emails"))
    assert fetch(dashboard.url, link.replace("&amp;", "&")).status == 200
    dots = fetch(dashboard.url, "/queues/?name=..&system=rq").body
    assert "Queue .." in dots and "harness.tasks.add" in dots


def test_when_redis_is_down_the_page_says_so_and_metrics_still_answer(
    start_dashboard: StartDashboard,
) -> None:
    dashboard = start_dashboard(url="redis://127.0.0.1:1/0", timeout=1.0)
    page = fetch(dashboard.url, "/")
    assert page.status == 200 and "does not answer" in page.body
    metrics = fetch(dashboard.url, "/metrics")
    assert metrics.status == 200 and "qwatch_up" in metrics.body


def test_a_celery_queue_beside_rqs_has_its_messages_and_tasks_on_pages(
    start_dashboard: StartDashboard, url: str, workload: dict[str, str]
) -> None:
    app = make_app(url)
    try:
        waiting = app.send_task("harness.add", (HOSTILE, 2), queue="parked", priority=3)
    finally:
        app.close()
    options = ("--system", "auto", "--celery-queue", "parked")
    dashboard = start_dashboard(options=options)
    overview = fetch(dashboard.url, "/")
    assert "parked" in overview.body and "celery" in overview.body and "emails" in overview.body
    page = fetch(dashboard.url, "/queues/parked?system=celery&state=queued")
    assert page.status == 200 and "harness.add" in page.body and waiting.id in page.body
    assert HOSTILE not in page.body
    job = fetch(dashboard.url, f"/jobs/{waiting.id}")
    assert job.status == 200 and "priority 3 list of parked" in job.body
    registry = fetch(dashboard.url, "/queues/parked?system=celery&state=finished")
    assert registry.status == 404


def test_rq_3_rate_limits_and_cron_schedulers_have_their_tables(
    start_dashboard: StartDashboard, client: redis.Redis
) -> None:
    from rq.cron import CronScheduler
    from rq.rate_limit import RateLimit

    for n in range(3):
        Queue("api", connection=client).enqueue(tasks.add, n, 1, rate_limit=RateLimit("k1", 1))
    scheduler = CronScheduler(connection=client, name="cron-1")
    scheduler.register(tasks.add, "default", args=(1, 2), interval=600)
    scheduler.register_birth()
    page = fetch(start_dashboard().url, "/").body
    assert "Rate limits" in page and ">k1<" in page
    assert "Cron schedulers" in page and "cron-1" in page


def test_a_search_page_finds_a_job_by_its_arguments_and_its_json_the_same(
    start_dashboard: StartDashboard, workload: dict[str, str]
) -> None:
    dashboard = start_dashboard()
    page = fetch(dashboard.url, "/search?q=user1%40example")
    assert page.status == 200 and "everything searched" in page.body
    assert "send_email" in page.body and "data-refresh" not in page.body
    data = json.loads(fetch(dashboard.url, "/api/search?q=window.pwned").body)
    assert [hit["id"] for hit in data["hits"]] == [workload["hostile_job"]]
    hostile = fetch(dashboard.url, "/search?q=window.pwned").body
    assert HOSTILE not in hostile and workload["hostile_job"] in hostile
    assert fetch(dashboard.url, "/search?q=(&regex=1").status == 404
    assert fetch(dashboard.url, "/api/search").status == 404
    cut = fetch(dashboard.url, "/search?q=nothing&budget=2").body
    assert "stopped at the budget (search further below)" in cut
    assert "budget=20&amp;seconds=100" in cut and "Search further: 20 entries" in cut
