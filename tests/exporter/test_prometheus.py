"""A real Prometheus scrapes `qwatch serve`; its HTTP API returns the expected series."""

from __future__ import annotations

from typing import Any

import redis

from harness.polling import wait_until
from harness.prometheus import PrometheusServer
from harness.workload import mixed_workload
from tests.exporter.conftest import StartExporter


def by_label(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {series["metric"][label]: float(series["value"][1]) for series in result}


def test_prometheus_scrapes_the_exporter(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    exporter = start_exporter(ttls=[600], track_interval=1.0)  # its own clock, as in production
    target = exporter.url.removeprefix("http://")
    with PrometheusServer([target]) as prometheus:
        wait_until(lambda: prometheus.query('qwatch_up{redis="main"} == 1'), "a first scrape")
        mixed_workload(client, url)
        failed_by_queue = 'sum by (queue) (qwatch_jobs_failed_total{redis="main"})'
        wait_until(  # the tracker counts them as they end, a scrape or two apart
            lambda: (
                by_label(prometheus.query(failed_by_queue), "queue")
                == {"default": 3.0, "high": 1.0}
            ),
            "every failed job counted in Prometheus",
        )
        queued = prometheus.query('qwatch_queue_jobs{redis="main", state="queued"}')
        assert by_label(queued, "queue") == {"default": 0.0, "high": 0.0, "parked": 2.0}
        p95 = prometheus.query(
            "histogram_quantile(0.95, sum by (le, queue) (qwatch_job_duration_seconds_bucket))"
        )
        assert set(by_label(p95, "queue")) == {"default", "high"}
        targets = prometheus.api("targets")["activeTargets"]
        assert [t["health"] for t in targets] == ["up"]
