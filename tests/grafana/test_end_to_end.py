"""The bundled dashboards and rules against a real Prometheus scraping `qwatch serve`.

One real redis-server with real RQ workers, real Celery workers and a real
Dramatiq worker (in exact mode) on it, each running its workload twice (so
that counters grow between scrapes and rates are not zero), `qwatch serve` in
its own process watching them all, and Prometheus with
the shipped rule files, scraping and evaluating every second.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from rq import Queue, Worker

from harness import tasks
from harness.celery_app import make_app
from harness.celery_workers import start_celery_worker, stop_celery_worker
from harness.dramatiq_app import make_broker, send, start_dramatiq_worker, stop_dramatiq_worker
from harness.polling import wait_until
from harness.prometheus import PrometheusServer
from harness.qwatch_serve import qwatch_serve
from harness.redis_server import RedisServer
from harness.workers import start_worker, stop_worker, stop_worker_gracefully
from harness.workload import enqueue_mixed
from tests.grafana.shipped import (
    DASHBOARDS,
    RULE_FILES,
    alerting_rules,
    dashboard_queries,
    fill_in,
    load_dashboard,
    system_of,
)

WORKED_QUEUES = ["default", "high"]
NO_WORKERS = "QwatchQueueWithoutWorkers"
CELERY_QUEUE = "celery"
LATE_QUEUE = "late"
"""Where an acks_late worker with a short visibility timeout reserves messages, then dies."""
VISIBILITY_TIMEOUT = 2
LATE_TASKS = 6
"""More than the late worker reserves (prefetch 4, one process): the rest wait in the queue."""
LISTENED_ENOUGH = "qwatch_celery_events_listening_seconds > 60"


@pytest.fixture
def maxmemory_redis() -> Iterator[RedisServer]:
    """A Redis of its own with a memory limit, so the limit's panel has data."""
    with RedisServer("--maxmemory", "1gb") as server:
        yield server


@pytest.fixture
def prometheus(maxmemory_redis: RedisServer, tmp_path: Path) -> Iterator[PrometheusServer]:
    """Prometheus scraping `qwatch serve`, told the Celery queues and visibility timeout:
    kombu writes a queue's binding once per process, so the options name the queues."""
    options = [
        "--name", "main",
        "--ttl", "600",
        "--track-interval", "1",
        "--celery-queue", CELERY_QUEUE,
        "--celery-queue", LATE_QUEUE,
        "--celery-visibility-timeout", str(VISIBILITY_TIMEOUT),
    ]  # fmt: skip
    with (
        qwatch_serve(maxmemory_redis.url, options, tmp_path / "qwatch.log") as address,
        PrometheusServer([address], RULE_FILES) as server,
    ):
        yield server


@pytest.fixture
def celery_app(maxmemory_redis: RedisServer) -> Iterator[Celery]:
    """The producer, sending `task-sent` events: without them (or `result_extended`) a task
    run before qwatch saw its message has no queue, and the per-queue panels miss it."""
    app = make_app(maxmemory_redis.url)
    app.conf.task_send_sent_event = True
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def celery_workers(maxmemory_redis: RedisServer) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """A worker on `celery` and an acks_late one on `late` with a short visibility timeout,
    both sending task events; both killed after the test."""
    url = maxmemory_redis.url
    workers = {
        CELERY_QUEUE: start_celery_worker(url, [CELERY_QUEUE], name="e2e", task_events=True),
        LATE_QUEUE: start_celery_worker(
            url,
            [LATE_QUEUE],
            name="e2e-late",
            task_events=True,
            transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        ),
    }
    try:
        yield workers
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                stop_celery_worker(worker)


@pytest.fixture
def dramatiq_worker(maxmemory_redis: RedisServer) -> Iterator[subprocess.Popen[bytes]]:
    """A Dramatiq worker with qwatch's middleware, on Dramatiq's queue `default`."""
    worker = start_dramatiq_worker(maxmemory_redis.url, ("default",), exact=True)
    try:
        yield worker
    finally:
        stop_dramatiq_worker(worker)


def finite(result: list[dict[str, Any]]) -> bool:
    """Whether an instant vector has a sample that is a number (not NaN: no jobs in a window)."""
    return any(math.isfinite(float(series["value"][1])) for series in result)


def has_a_number(prometheus: PrometheusServer, query: str) -> bool:
    return finite(prometheus.query(query))


def total(prometheus: PrometheusServer, expression: str) -> float:
    result = prometheus.query(f"sum({expression})")
    return float(result[0]["value"][1]) if result else 0.0


def test_every_panel_shows_data_and_the_alerts_go_pending(
    maxmemory_redis: RedisServer,
    prometheus: PrometheusServer,
    celery_app: Celery,
    celery_workers: dict[str, subprocess.Popen[bytes]],
    dramatiq_worker: subprocess.Popen[bytes],
) -> None:
    client = maxmemory_redis.client()
    url = maxmemory_redis.url
    workers = [start_worker(url, WORKED_QUEUES, name=f"e2e-{n}") for n in range(2)]
    try:
        wait_until(
            lambda: (
                prometheus.query('sum(qwatch_workers{system="rq"}) == 2')
                and prometheus.query('sum(qwatch_workers{system="celery"}) == 2')
                and prometheus.query('sum(qwatch_workers{system="dramatiq"}) >= 1')
            ),
            "the RQ, Celery and Dramatiq workers seen by Prometheus",
        )
        run_workload_twice(client, prometheus)
        hold_back_rate_limited_jobs(client)
        run_celery_workload_twice(celery_app, prometheus)
        reserve_late_tasks(celery_app, prometheus)
        run_dramatiq_workload_twice(url, prometheus)
        variables = check_variables(prometheus)
        check_every_panel(prometheus, variables)
        check_rules_evaluate(prometheus)
        check_celery_alerts(celery_app, prometheus, celery_workers)
        check_no_worker_alert(client, prometheus, workers)
    finally:
        for worker in workers:
            if worker.poll() is None:
                stop_worker(worker)
        client.close()


def run_workload_twice(client: redis.Redis, prometheus: PrometheusServer) -> None:
    """Two rounds of the mixed workload, each seen by Prometheus before the next starts."""
    for rounds in (1, 2):
        enqueue_mixed(client)
        wait_until(
            partial(counted, prometheus, failed=3 * rounds, finished=5 * rounds),
            f"round {rounds} of the workload counted in Prometheus",
        )


def hold_back_rate_limited_jobs(client: redis.Redis) -> None:
    """RQ 3.0 rate-limited jobs on the unworked queue: one holds the key's slot, two wait."""
    from rq.rate_limit import RateLimit

    for n in range(3):
        Queue("parked", connection=client).enqueue(
            tasks.add, n, n, rate_limit=RateLimit("partner", 1)
        )


def counted(
    prometheus: PrometheusServer, failed: int, finished: int, selector: str = 'queue="default"'
) -> bool:
    """Whether Prometheus has at least so many failed and finished jobs of the selected queue."""
    return (
        total(prometheus, f"qwatch_jobs_failed_total{{{selector}}}") >= failed
        and total(prometheus, f"qwatch_jobs_finished_total{{{selector}}}") >= finished
    )


def run_celery_workload_twice(app: Celery, prometheus: PrometheusServer) -> None:
    """Two rounds of Celery tasks that succeed and fail, each seen by Prometheus."""
    selector = f'system="celery", queue="{CELERY_QUEUE}"'
    for rounds in (1, 2):
        for n in range(3):
            app.send_task("harness.add", (n, 1), queue=CELERY_QUEUE)
        for n in range(2):
            app.send_task("harness.crawl", (f"https://example.com/{n}",), queue=CELERY_QUEUE)
        wait_until(
            partial(counted, prometheus, failed=2 * rounds, finished=3 * rounds, selector=selector),
            f"round {rounds} of the Celery tasks counted in Prometheus",
        )


def run_dramatiq_workload_twice(url: str, prometheus: PrometheusServer) -> None:
    """Two rounds of Dramatiq messages that finish and die, each counted in Prometheus."""
    broker = make_broker(url)
    try:
        for rounds in (1, 2):
            for n in range(3):
                send(broker, "harness.add", n, 1)
            send(broker, "harness.fail", f"round {rounds}")
            counted = (
                f'sum(qwatch_jobs_finished_total{{system="dramatiq"}}) >= {3 * rounds}'
                f' and on () sum(qwatch_jobs_failed_total{{system="dramatiq"}}) >= {rounds}'
            )
            wait_until(
                partial(prometheus.query, counted),
                f"round {rounds} of the Dramatiq messages counted in Prometheus",
            )
    finally:
        broker.close()


def reserve_late_tasks(app: Celery, prometheus: PrometheusServer) -> None:
    """Long acks_late tasks: the late worker reserves some, the rest wait at the queue's head."""
    for _ in range(LATE_TASKS):
        app.send_task("harness.sleep_late", (60,), queue=LATE_QUEUE)
    late = f'queue="{LATE_QUEUE}"'
    wait_until(
        lambda: (
            prometheus.query(f"qwatch_celery_queue_reserved{{{late}}} > 0")
            and prometheus.query(f'qwatch_queue_jobs{{{late}, state="queued"}} > 0')
        ),
        "late tasks reserved and waiting",
    )


def check_variables(prometheus: PrometheusServer) -> dict[str, dict[str, str]]:
    """Each variable's query lists the values the panels are then checked with: an RQ queue
    for the panels of every system, a Celery queue for Celery's own panels."""
    instance = prometheus.query("qwatch_up")[0]["metric"]["instance"]
    common = {"job": "qwatch", "instance": instance, "redis": "main"}
    chosen = {
        "rq": {**common, "system": "rq", "queue": "default"},
        "celery": {**common, "system": "celery", "queue": LATE_QUEUE},
        "dramatiq": {**common, "system": "dramatiq", "queue": "default"},
    }
    queues = {
        "rq": {"default", "high", "parked"},
        "celery": {CELERY_QUEUE, LATE_QUEUE},
        "dramatiq": {"default"},
    }
    for system, choice in chosen.items():
        for path in DASHBOARDS:
            for variable in load_dashboard(path)["templating"]["list"]:
                if variable["type"] != "query":
                    continue
                selector, label = variable["query"].removeprefix("label_values(").rsplit(", ", 1)
                values = prometheus.api(
                    f"label/{label.rstrip(')')}/values", **{"match[]": fill_in(selector, choice)}
                )
                assert choice[variable["name"]] in values, (path.name, variable["name"], values)
                if variable["name"] == "queue":
                    assert set(values) == queues[system], (path.name, system, values)
    return {
        system: {**choice, "__rate_interval": "1m", "__range": "1h"}
        for system, choice in chosen.items()
    }


def check_every_panel(prometheus: PrometheusServer, variables: dict[str, dict[str, str]]) -> None:
    """Every query of every panel returns a number through the HTTP API: Celery's and
    Dramatiq's own panels for their queue, the others for the RQ queue. arq's own panels
    are checked by tests/arq/test_grafana.py: arq runs only in .venv-arq."""
    for dashboard, panel, expr in dashboard_queries():
        system = system_of(expr)
        if system == "arq":
            continue
        query = fill_in(expr, variables[system])
        wait_until(
            partial(has_a_number, prometheus, query),
            f"data for {dashboard} / {panel}: {query}",
            timeout=20,
        )


def check_rules_evaluate(prometheus: PrometheusServer) -> None:
    """Both rule groups are loaded and every rule evaluated on real series without error."""
    groups = prometheus.api("rules")["groups"]
    assert {group["name"] for group in groups} == {"qwatch.recording", "qwatch.alerts"}
    broken = [
        (rule["name"], rule.get("lastError"))
        for group in groups
        for rule in group["rules"]
        if rule["health"] != "ok"
    ]
    assert broken == []


def alerts(prometheus: PrometheusServer, name: str, **labels: str) -> list[dict[str, Any]]:
    """The `ALERTS` series of alert `name` with these labels."""
    selector = ", ".join(f'{key}="{value}"' for key, value in {"alertname": name, **labels}.items())
    return prometheus.query(f"ALERTS{{{selector}}}")


def alert_expression(name: str) -> str:
    """The shipped rule's expression of alert `name`."""
    return next(str(rule["expr"]) for rule in alerting_rules() if rule["alert"] == name)


def check_celery_alerts(
    app: Celery, prometheus: PrometheusServer, workers: dict[str, subprocess.Popen[bytes]]
) -> None:
    """A SIGKILLed Celery worker is lost, the messages its acks_late tasks reserved are
    overdue, and once no Celery worker is left a growing queue has none.

    Their `for:` (2 to 5 minutes) is longer than this test should run: an alert going
    pending is Prometheus finding its expression true at an evaluation, which is awaited.
    """
    assert alerts(prometheus, "QwatchCeleryWorkersLost") == []
    stop_celery_worker(workers[LATE_QUEUE])
    lost = wait_until(
        lambda: alerts(prometheus, "QwatchCeleryWorkersLost", alertstate="pending"),
        "the lost-worker alert pending",
    )
    assert (lost[0]["metric"]["redis"], lost[0]["metric"]["severity"]) == ("main", "warning")
    wait_until(
        lambda: alerts(
            prometheus, "QwatchCeleryReservedOverdue", alertstate="pending", queue=LATE_QUEUE
        ),
        "the overdue alert pending for the late queue",
    )
    overdue = prometheus.query(alert_expression("QwatchCeleryReservedOverdue"))
    reserved = total(prometheus, f'qwatch_celery_queue_reserved{{queue="{LATE_QUEUE}"}}')
    assert [(s["metric"]["queue"], float(s["value"][1])) for s in overdue] == [
        (LATE_QUEUE, reserved)
    ]
    check_queue_without_workers(app, prometheus, workers)


def check_queue_without_workers(
    app: Celery, prometheus: PrometheusServer, workers: dict[str, subprocess.Popen[bytes]]
) -> None:
    """With every Celery worker dead and messages still coming, the alert's expression names
    the queue. It also wants a minute of listening to Celery's events (before that, a worker
    may be alive but not yet heard): that one clause is lowered to keep the test short."""
    stop_celery_worker(workers[CELERY_QUEUE])
    lost = (
        'qwatch_workers_heartbeat_stale{system="celery"} + qwatch_workers_expired{system="celery"}'
    )
    wait_until(
        lambda: prometheus.query(f"{lost} == 2"),
        "both Celery workers lost",
    )
    assert prometheus.query('qwatch_workers_expired{system="rq"} > 0') == []
    assert alerts(prometheus, "QwatchWorkerHeartbeatOverdue") == [], "an RQ alert, for RQ's workers"
    for queued in (1, 2):
        app.send_task("harness.add", (queued, 1), queue=CELERY_QUEUE)
        wait_until(
            partial(celery_queued, prometheus, queued), f"{queued} message(s) waiting in Prometheus"
        )
    expression = alert_expression("QwatchCeleryQueueWithoutWorkers")
    assert LISTENED_ENOUGH in expression
    relaxed = expression.replace(LISTENED_ENOUGH, "qwatch_celery_events_listening_seconds > 0")
    found = wait_until(
        lambda: [s for s in prometheus.query(relaxed) if s["metric"]["queue"] == CELERY_QUEUE],
        "the queue without workers",
    )
    assert float(found[0]["value"][1]) == 2


def celery_queued(prometheus: PrometheusServer, count: int) -> bool:
    selector = f'system="celery", queue="{CELERY_QUEUE}", state="queued"'
    return bool(prometheus.query(f"qwatch_queue_jobs{{{selector}}} == {count}"))


def pending(prometheus: PrometheusServer, queue: str) -> list[dict[str, Any]]:
    return prometheus.query(
        f'ALERTS{{alertname="{NO_WORKERS}", alertstate="pending", queue="{queue}"}}'
    )


def check_no_worker_alert(
    client: redis.Redis, prometheus: PrometheusServer, workers: list[subprocess.Popen[bytes]]
) -> None:
    """Silent while workers listen; pending once they stop with a job left in their queue."""
    wait_until(lambda: pending(prometheus, "parked"), "the alert for the unworked queue")
    assert prometheus.query(f'ALERTS{{alertname="{NO_WORKERS}", queue="default"}}') == []
    wait_until(
        lambda: all(worker.get_state() == "idle" for worker in Worker.all(connection=client)),
        "idle workers",
    )
    for worker in workers:
        stop_worker_gracefully(worker, timeout=120)  # and its scheduler process, on a busy machine
    Queue("default", connection=client).enqueue(tasks.add, 1, 2)
    alert = wait_until(lambda: pending(prometheus, "default"), "the no-worker alert pending")
    assert alert[0]["metric"]["severity"] == "critical"
