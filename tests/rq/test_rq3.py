"""What RQ 3.0 added, as real RQ 3.0 writes it, in the snapshot and on `qwatch snapshot`'s page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import redis
import rq.version

pytestmark = pytest.mark.skipif(
    int(rq.version.VERSION.split(".")[0]) < 3, reason="RQ 3.0's layout, on RQ 3.0"
)

from rq import Queue  # noqa: E402

from harness import tasks  # noqa: E402
from harness.polling import wait_until  # noqa: E402
from harness.workers import ROOT, run_burst, start_worker, stop_worker  # noqa: E402
from qwatch.rq.keys import RQKeys  # noqa: E402
from qwatch.rq.reader import read_snapshot  # noqa: E402
from tests.cli.test_cli import run_cli  # noqa: E402


def test_rate_limited_jobs_are_counted_per_key_and_per_queue(client: redis.Redis) -> None:
    from rq.rate_limit import RateLimit

    api = Queue("api", connection=client)
    for n in range(6):
        api.enqueue(tasks.add, n, 1, rate_limit=RateLimit("partner-api", 1))
    Queue("other", connection=client).enqueue(tasks.add, 1, 1, rate_limit=RateLimit("mail", 2))
    snapshot = read_snapshot(client)
    limits = {limit.key: limit for limit in snapshot.rate_limits}
    assert (limits["partner-api"].concurrency, limits["partner-api"].running) == (1, 1)
    assert limits["partner-api"].waiting == 5
    assert (limits["mail"].running, limits["mail"].waiting) == (1, 0)
    queues = {queue.name: queue for queue in snapshot.queues}
    assert (queues["api"].queued, queues["api"].rate_limited) == (1, 5)
    assert queues["other"].rate_limited == 0


def test_rate_limited_jobs_show_on_the_snapshot_page(client: redis.Redis, url: str) -> None:
    from rq.rate_limit import RateLimit

    for n in range(3):
        Queue("api", connection=client).enqueue(tasks.add, n, 1, rate_limit=RateLimit("k", 1))
    shown = run_cli("snapshot", "--url", url, "--system", "rq")
    assert shown.returncode == 0, shown.stderr
    assert "limited" in shown.stdout and "Rate limits" in shown.stdout
    data = json.loads(run_cli("snapshot", "--json", "--url", url, "--system", "rq").stdout)
    (queue,) = data["queues"]
    assert (queue["queued"], queue["rate_limited"], queue["ready"]) == (1, 2, 0)
    assert data["rate_limits"] == [
        {"key": "k", "concurrency": 1, "running": 1, "waiting": 2,
         "oldest_waiting_age_seconds": data["rate_limits"][0]["oldest_waiting_age_seconds"]}
    ]  # fmt: skip


def test_ready_registry_is_counted(client: redis.Redis) -> None:
    from rq.registry import ReadyJobRegistry

    job = Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    ReadyJobRegistry("default", connection=client).add(job)
    (queue,) = read_snapshot(client).queues
    assert queue.ready == 1


def test_cron_schedulers_and_their_jobs(client: redis.Redis) -> None:
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=client, name="cron-1")
    scheduler.register(tasks.add, "default", args=(1, 2), interval=60)
    scheduler.register(tasks.add, "reports", args=(3, 4), cron="0 9 * * *")
    scheduler.register_birth()
    (found,) = read_snapshot(client).cron_schedulers
    assert found.name == "cron-1" and found.pid == os.getpid() and not found.stale
    assert sorted((job.queue, job.schedule) for job in found.jobs) == [
        ("default", "every 60 s"),
        ("reports", "0 9 * * *"),
    ]
    assert {job.function for job in found.jobs} == {"harness.tasks.add"}


def test_a_queue_shows_its_scheduler_and_its_absence(client: redis.Redis, url: str) -> None:
    from datetime import timedelta

    Queue("later", connection=client).enqueue_in(timedelta(hours=1), tasks.add, 1, 1)
    page = run_cli("snapshot", "--url", url, "--system", "rq")
    assert "no RQ scheduler holds" in " ".join(page.stdout.split())
    process = start_worker(url, ["later"], name="scheduling")
    try:
        wait_until(lambda: read_snapshot(client).queues[0].scheduler, "the scheduler's lock")
        page = run_cli("snapshot", "--url", url, "--system", "rq")
        assert "no RQ scheduler" not in " ".join(page.stdout.split())
    finally:
        stop_worker(process)


def test_a_busy_worker_shows_every_running_job(client: redis.Redis, url: str) -> None:
    Queue("slow", connection=client).enqueue(tasks.sleep, 30, job_id="slow-1")
    process = start_worker(url, ["slow"], name="busy")
    try:
        worker = wait_until(
            lambda: next((w for w in read_snapshot(client).workers if w.current_jobs), None),
            "the worker's execution",
        )
        assert worker is not None
        assert worker.current_job == "slow-1"
        assert [job.id for job in worker.current_jobs] == ["slow-1"]
        assert worker.current_jobs[0].description == "harness.tasks.sleep(30)"
        assert worker.current_job_seconds is not None
    finally:
        stop_worker(process)


_ENQUEUE = """
from rq import Queue
from redis import Redis
from harness import tasks
Queue("emails", connection=Redis.from_url({url!r})).enqueue(tasks.add, 1, 1)
"""


def test_another_prefix_is_watched_with_rq_prefix(client: redis.Redis, url: str) -> None:
    env = {**os.environ, "RQ_KEY_PREFIX": "{acme}", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", _ENQUEUE.format(url=url)], env=env, check=True)
    run_burst(url, ["emails"], env={"RQ_KEY_PREFIX": "{acme}"})
    assert read_snapshot(client).queues == ()
    (queue,) = read_snapshot(client, keys=RQKeys("{acme}")).queues
    assert (queue.name, queue.finished) == ("emails", 1)
    shown = json.loads(run_cli("snapshot", "--json", "--url", url, "--rq-prefix", "{acme}").stdout)
    assert [q["name"] for q in shown["queues"]] == ["emails"]
    refused = run_cli("snapshot", "--url", url, "--rq-prefix", "no spaces")
    assert refused.returncode == 2
    assert "invalid RQ key prefix 'no spaces'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


async def test_top_shows_the_rate_limited_jobs_at_80_columns(client: redis.Redis, url: str) -> None:
    from rq.rate_limit import RateLimit

    from qwatch.text.row_keys import row_key
    from tests.tui.conftest import cells, make_app, table, until

    for n in range(4):
        Queue("api", connection=client).enqueue(tasks.add, n, 1, rate_limit=RateLimit("k", 1))
    app = make_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        queues = table(app, "#queues")
        await until(pilot, lambda: queues.row_count == 1, "the queue")
        assert "limited" in queues.column_widths, "shown at 80 columns"
        row = dict(zip(queues.column_keys, cells(app, "#queues", row_key("rq", "api"))))
        assert (row["queued"], row["limited"]) == ("1", "3")


def test_jobs_lists_a_queues_rate_limited_jobs_oldest_first(client: redis.Redis, url: str) -> None:
    from rq.rate_limit import RateLimit

    api, other = Queue("api", connection=client), Queue("other", connection=client)
    held = [api.enqueue(tasks.add, n, 1, rate_limit=RateLimit("k", 1)).id for n in range(4)]
    other.enqueue(tasks.add, 9, 9, rate_limit=RateLimit("k", 1))
    page = json.loads(
        run_cli("jobs", "api", "--state", "rate_limited", "--json", "--url", url).stdout
    )
    # RQ lets them through in its set's order (score, then id): the first holds the slot
    members: Any = client.zrange("rq:rl:k:rate_limited", 0, -1)
    order = [job_id.decode() for job_id in members]
    held = [job_id for job_id in order if job_id in held[1:]]
    assert len(held) == 3
    assert [job["id"] for job in page["jobs"]] == held
    assert page["total"] == 3 and page["next_offset"] is None
    assert {job["status"] for job in page["jobs"]} == {"rate_limited"}
    second = json.loads(
        run_cli(
            "jobs", "api", "--state", "rate_limited", "--limit", "2", "--offset", "1",
            "--json", "--url", url,
        ).stdout
    )  # fmt: skip
    assert [job["id"] for job in second["jobs"]] == held[1:]
    shown = run_cli("jobs", "api", "--state", "rate_limited", "--url", url)
    assert shown.returncode == 0 and "held since" in shown.stdout


def test_serve_reads_each_url_under_its_own_prefix(
    client: redis.Redis, url: str, tmp_path: Any
) -> None:
    """One Redis, two RQ deployments: `--rq-prefix` once per `--url`, like `--name`."""
    import urllib.request

    from harness.qwatch_serve import qwatch_serve
    from tests.exporter.conftest import Scrape, parse

    Queue("plain", connection=client).enqueue(tasks.add, 1, 1)
    env = {**os.environ, "RQ_KEY_PREFIX": "acme", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", _ENQUEUE.format(url=url)], env=env, check=True)
    options = ["--url", url, "--name", "main", "--name", "acme"]
    options += ["--rq-prefix", "rq", "--rq-prefix", "acme"]

    def scraped(address: str) -> Scrape | None:
        try:
            with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
                found = parse(response.read().decode())
        except OSError:
            return None
        return found if len(found.series("qwatch_up")) == 2 else None

    with qwatch_serve(url, options, tmp_path / "serve.log") as address:
        scrape = wait_until(lambda: scraped(address), "qwatch serve's first scrape")
    assert scrape is not None
    queued = {
        (labels["redis"], labels["queue"])
        for labels in map(dict, scrape.series("qwatch_queue_jobs"))
    }
    assert queued == {("main", "plain"), ("acme", "emails")}
