"""The Overview's arq row and arq's alert against a real Prometheus scraping `qwatch serve`
over a real arq worker.

tests/grafana/test_end_to_end.py does this for the other systems' panels; arq's
are checked here, since only .venv-arq can run arq.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import redis

from harness.arq_app import enqueue
from harness.polling import wait_until
from harness.prometheus import PrometheusServer
from harness.qwatch_serve import qwatch_serve
from qwatch.arq.results import RESULT_BYTES
from tests.arq.conftest import StartWorker
from tests.grafana.shipped import (
    DASHBOARDS,
    RULE_FILES,
    dashboard_queries,
    fill_in,
    load_dashboard,
    system_of,
)

QUEUE = "arq:queue"
UNREAD = "QwatchArqResultsUnread"


def has_a_number(prometheus: PrometheusServer, query: str) -> bool:
    return any(math.isfinite(float(s["value"][1])) for s in prometheus.query(query))


def listed(prometheus: PrometheusServer, variable: dict[str, Any], choice: dict[str, str]) -> Any:
    """The values a dashboard's query variable lists, with the variables before it chosen."""
    selector, label = variable["query"].removeprefix("label_values(").rsplit(", ", 1)
    return prometheus.api(
        f"label/{label.rstrip(')')}/values", **{"match[]": fill_in(selector, choice)}
    )


def test_every_arq_panel_shows_data_and_the_unread_alert_goes_pending(
    client: redis.Redis, url: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    ids = [
        enqueue(url, "add", 1, 1),
        enqueue(url, "add", "x" * RESULT_BYTES, "y"),  # its result is over the limit
        enqueue(url, "fail", "mailbox full"),
        enqueue(url, "retry_once", "second time lucky"),
    ]
    enqueue(url, "send_email", "someone@example.com", "reminder", defer=3600)
    start_worker()  # without exact mode's hooks: its queue is counted from its results
    results = [f"arq:result:{job_id}" for job_id in ids]
    wait_until(lambda: client.exists(*results) == len(ids), "every result kept")
    options = ["--name", "main", "--system", "arq", "--arq-health-check-interval", "1"]
    with (
        qwatch_serve(url, options, tmp_path / "qwatch.log") as address,
        PrometheusServer([address], RULE_FILES) as prometheus,
    ):
        wait_until(lambda: prometheus.query("qwatch_up == 1"), "qwatch scraped")
        instance = prometheus.query("qwatch_up")[0]["metric"]["instance"]
        choice = {"job": "qwatch", "instance": instance, "redis": "main", "system": "arq"}
        choice["queue"] = QUEUE
        for path in DASHBOARDS:
            for variable in load_dashboard(path)["templating"]["list"]:
                if variable["type"] == "query":
                    values = listed(prometheus, variable, choice)
                    assert choice[variable["name"]] in values, (path.name, variable, values)
        filled = {**choice, "__rate_interval": "1m", "__range": "1h"}
        queries = [(p, e) for _d, p, e in dashboard_queries() if system_of(e) == "arq"]
        assert {panel for panel, _e in queries} == {
            "Health-check counters",
            "Scheduled jobs",
            "Results unread",
            "Queues by counting mode",
        }
        for panel, expr in queries:
            query = fill_in(expr, filled)
            wait_until(partial(has_a_number, prometheus, query), f"data for {panel}: {query}")
        retried = f'qwatch_arq_health_check_jobs{{queue="{QUEUE}", outcome="retried"}} == 1'
        wait_until(partial(prometheus.query, retried), "the retry in the health check")
        pending = wait_until(
            lambda: prometheus.query(f'ALERTS{{alertname="{UNREAD}", alertstate="pending"}}'),
            "the unread-results alert pending",
        )
    assert [(a["metric"]["redis"], a["metric"]["severity"]) for a in pending] == [
        ("main", "warning")
    ]
