"""The bundled dashboards and rules against a real Prometheus scraping `qwatch serve`.

Real redis-server, real RQ workers running the mixed workload twice (so that
counters grow between scrapes and rates are not zero), the in-process exporter
and Prometheus with the shipped rule files, scraping and evaluating every second.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import redis
from rq import Queue, Worker

from harness import tasks
from harness.polling import wait_until
from harness.prometheus import PrometheusServer
from harness.redis_server import RedisServer
from harness.workers import start_worker, stop_worker, stop_worker_gracefully
from harness.workload import enqueue_mixed
from tests.exporter.conftest import StartExporter
from tests.grafana.shipped import (
    DASHBOARDS,
    RULE_FILES,
    dashboard_queries,
    fill_in,
    load_dashboard,
)

WORKED_QUEUES = ["default", "high"]
NO_WORKERS = "QwatchQueueWithoutWorkers"


@pytest.fixture
def maxmemory_redis() -> Iterator[RedisServer]:
    """A Redis of its own with a memory limit, so the limit's panel has data."""
    with RedisServer("--maxmemory", "1gb") as server:
        yield server


@pytest.fixture
def prometheus(
    maxmemory_redis: RedisServer, start_exporter: StartExporter
) -> Iterator[PrometheusServer]:
    exporter = start_exporter(url=maxmemory_redis.url, ttls=[600], track_interval=1.0)
    with PrometheusServer([exporter.url.removeprefix("http://")], RULE_FILES) as server:
        yield server


def finite(result: list[dict[str, Any]]) -> bool:
    """Whether an instant vector has a sample that is a number (not NaN: no jobs in a window)."""
    return any(math.isfinite(float(series["value"][1])) for series in result)


def has_a_number(prometheus: PrometheusServer, query: str) -> bool:
    return finite(prometheus.query(query))


def total(prometheus: PrometheusServer, expression: str) -> float:
    result = prometheus.query(f"sum({expression})")
    return float(result[0]["value"][1]) if result else 0.0


def test_every_panel_shows_data_and_the_no_worker_alert_goes_pending(
    maxmemory_redis: RedisServer, prometheus: PrometheusServer
) -> None:
    client = maxmemory_redis.client()
    url = maxmemory_redis.url
    workers = [start_worker(url, WORKED_QUEUES, name=f"e2e-{n}") for n in range(2)]
    try:
        wait_until(
            lambda: prometheus.query("sum(qwatch_workers) == 2"),
            "both workers seen by Prometheus",
        )
        run_workload_twice(client, prometheus)
        variables = check_variables(prometheus)
        check_every_panel(prometheus, variables)
        check_rules_evaluate(prometheus)
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


def counted(prometheus: PrometheusServer, failed: int, finished: int) -> bool:
    """Whether Prometheus has at least so many failed and finished jobs of `default`."""
    return (
        total(prometheus, 'qwatch_jobs_failed_total{queue="default"}') >= failed
        and total(prometheus, 'qwatch_jobs_finished_total{queue="default"}') >= finished
    )


def check_variables(prometheus: PrometheusServer) -> dict[str, str]:
    """Each variable's query lists the values the panels are then checked with."""
    instance = prometheus.query("qwatch_up")[0]["metric"]["instance"]
    chosen = {
        "job": "qwatch",
        "instance": instance,
        "redis": "main",
        "system": "rq",
        "queue": "default",
    }
    for path in DASHBOARDS:
        for variable in load_dashboard(path)["templating"]["list"]:
            if variable["type"] != "query":
                continue
            selector, label = variable["query"].removeprefix("label_values(").rsplit(", ", 1)
            values = prometheus.api(
                f"label/{label.rstrip(')')}/values", **{"match[]": fill_in(selector, chosen)}
            )
            assert chosen[variable["name"]] in values, (path.name, variable["name"], values)
            if variable["name"] == "queue":
                assert {"default", "high", "parked"} <= set(values)
    return {**chosen, "__rate_interval": "1m", "__range": "1h"}


def check_every_panel(prometheus: PrometheusServer, variables: dict[str, str]) -> None:
    """Every query of every panel returns a number for the chosen queue, through the HTTP API;
    but Celery's own panels: no Celery runs here."""
    for dashboard, panel, expr in dashboard_queries():
        if "qwatch_celery_" in expr:
            continue
        query = fill_in(expr, variables)
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
        stop_worker_gracefully(worker)
    Queue("default", connection=client).enqueue(tasks.add, 1, 2)
    alert = wait_until(lambda: pending(prometheus, "default"), "the no-worker alert pending")
    assert alert[0]["metric"]["severity"] == "critical"
