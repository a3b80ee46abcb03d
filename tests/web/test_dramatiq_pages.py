"""The dashboard over Dramatiq: its queues in the overview, a queue's pages, a dead letter."""

from __future__ import annotations

import json
import urllib.parse

import redis
from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import send
from harness.polling import wait_until
from qwatch.model import DRAMATIQ
from qwatch.watch import Watch
from tests.dramatiq.conftest import StartWorker, broker, start_worker
from tests.web.conftest import StartDashboard, fetch

__all__ = ["broker", "start_worker"]  # the fixtures this module uses
MARKUP = "<script>alert(1)</script>"


def test_a_dramatiq_queue_and_its_dead_letter_on_the_dashboard(
    client: redis.Redis,
    broker: RedisBroker,
    start_worker: StartWorker,
    start_dashboard: StartDashboard,
) -> None:
    died = send(broker, "harness.fail", f"customer 4711 {MARKUP}")
    send(broker, "harness.add", 1, 2, queue=f"parked{MARKUP}")
    start_worker("default")
    wait_until(lambda: Watch(client, DRAMATIQ).failed(5), "the dead letter")
    dashboard = start_dashboard(options=("--system", "dramatiq"))
    overview = fetch(dashboard.url, "/")
    assert overview.status == 200 and MARKUP not in overview.body
    assert "parked&lt;script&gt;" in overview.body and "harness.fail" in overview.body
    page = fetch(dashboard.url, "/queues/default?system=dramatiq&state=failed")
    assert page.status == 200 and "Dramatiq queue default" in page.body
    assert died.message_id in page.body
    queued = f"/queues/{urllib.parse.quote('parked' + MARKUP, safe='')}?system=dramatiq"
    parked = fetch(dashboard.url, queued)
    assert parked.status == 200 and MARKUP not in parked.body and "harness.add" in parked.body
    assert fetch(dashboard.url, "/queues/nowhere?system=dramatiq").status == 404
    assert fetch(dashboard.url, "/queues/default?system=dramatiq&state=finished").status == 404
    job = fetch(dashboard.url, f"/jobs/{died.message_id}")
    assert job.status == 200 and "harness.fail" in job.body and MARKUP not in job.body
    (data,) = json.loads(fetch(dashboard.url, "/api/overview").body)
    assert {q["system"] for q in data["snapshot"]["queues"]} == {DRAMATIQ}
