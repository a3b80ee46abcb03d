"""Single values in Redis that once stopped a face: each now costs a placeholder in one row.

Every test writes the value into the real Redis, then reads it through the
faces a person uses: `qwatch snapshot` (tables and JSON), `failed`, `job`,
one `/metrics` scrape and `qwatch top`.
"""

from __future__ import annotations

import json
import logging
import pickle
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rq import Queue

from harness import tasks
from harness.redis_server import RedisServer
from qwatch.cli import main
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.exporter.metrics import RECORDS_SKIPPED, UP, WORKER_JOBS, Reading, Series
from qwatch.rq import reader
from qwatch.rq.jobs import read_failed, read_job
from qwatch.rq.reader import JOBS_DENIED, read_snapshot
from qwatch.tui.feed import Feed
from qwatch.wire.connection import Target, connect
from tests.exporter import conftest as exporter_fixtures
from tests.exporter.conftest import StartExporter
from tests.tui.conftest import SIZE, make_app, table, until

start_exporter = exporter_fixtures.start_exporter
RQ_TIME = "%Y-%m-%dT%H:%M:%S.000000Z"


def rq_time(seconds: float) -> str:
    return time.strftime(RQ_TIME, time.gmtime(seconds))


def register_worker(client: redis.Redis, name: str, **fields: str) -> None:
    client.sadd("rq:workers", f"rq:worker:{name}")
    now = rq_time(time.time())
    mapping: dict[bytes | bytearray | memoryview[int] | str | int | float, Any] = {
        "state": "idle",
        "queues": "q",
        "birth": now,
        "last_heartbeat": now,
    }
    mapping.update(fields)
    client.hset(f"rq:worker:{name}", mapping=mapping)
    client.expire(f"rq:worker:{name}", 420)


def values(reading: Reading, series: Series) -> list[float]:
    return [float(value) for found, rows in reading if found == series for _labels, value in rows]  # type: ignore[arg-type]


def test_huge_worker_counts_are_unknown_and_never_stop_a_scrape(
    client: redis.Redis, start_exporter: StartExporter, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    exporter = start_exporter()
    exporter.scrape()
    register_worker(client, "sane", successful_job_count="4")
    for name in ("huge-1", "huge-2"):
        register_worker(client, name, successful_job_count="1.7e308", failed_job_count="-3")
    scrape = exporter.scrape()
    assert scrape.value("qwatch_up", redis="main") == 1
    assert scrape.value("qwatch_workers", redis="main", state="idle") == 3
    workers = {worker.name: worker for worker in read_snapshot(client).workers}
    assert (workers["huge-1"].successful_jobs, workers["huge-1"].failed_jobs) == (None, None)
    assert workers["sane"].successful_jobs == 4

    assert main(["snapshot", "--json", "--url", url]) == 0
    shown = {w["name"]: w for w in json.loads(capsys.readouterr().out)["workers"]}
    assert shown["huge-2"]["successful_jobs"] is None and shown["sane"]["successful_jobs"] == 4

    client.delete("rq:worker:huge-1", "rq:worker:huge-2")
    client.srem("rq:workers", "rq:worker:huge-1", "rq:worker:huge-2")
    for _ in range(2):
        assert exporter.scrape().value("qwatch_up", redis="main") == 1


@pytest.fixture
def list_as_head_job(client: redis.Redis) -> str:
    """A queue whose head job id names a list, held by a busy worker too."""
    job = Queue("q", connection=client).enqueue(tasks.add, 1, 1)
    client.delete(job.key)
    client.rpush(job.key, "not", "a", "hash")
    register_worker(client, "busy", state="busy", current_job=job.id)
    return job.id


def test_a_head_job_of_another_type_leaves_a_gap_in_snapshot_and_scrape(
    client: redis.Redis,
    url: str,
    list_as_head_job: str,
    start_exporter: StartExporter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["snapshot", "--url", url]) == 0
    out = capsys.readouterr().out
    assert "Queues" in out and "busy" in out
    assert main(["snapshot", "--json", "--url", url]) == 0
    (queue,) = json.loads(capsys.readouterr().out)["queues"]
    assert (queue["queued"], queue["oldest_queued_age_seconds"]) == (1, None)
    scrape = start_exporter().scrape()
    assert scrape.value("qwatch_up", redis="main") == 1
    assert scrape.value("qwatch_queue_jobs", redis="main", queue="q", state="queued") == 1
    assert main(["job", list_as_head_job, "--url", url]) == 1
    assert f"no job {list_as_head_job}" in capsys.readouterr().err


async def test_a_head_job_of_another_type_leaves_top_running(
    client: redis.Redis, url: str, list_as_head_job: str
) -> None:
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: table(app, "#queues").row_count == 1, "the queue")
        await pilot.press("2")
        await until(pilot, lambda: table(app, "#workers-table").row_count == 1, "the worker")
        assert "[live]" in str(app.query_one("#status").render())


JOBLESS_KEYS = [
    f"{prefix}*"
    for prefix in (
        "rq:queue",
        "rq:worker",
        "rq:wip:",
        "rq:finished:",
        "rq:failed:",
        "rq:deferred:",
        "rq:scheduled:",
        "rq:canceled:",
        "rq:ready:",
        "rq:scheduler-lock:",
        "rq:rl",
        "rq:cron_scheduler",
        "rq:suspended",
    )
]


@pytest.fixture
def jobless_url(client: redis.Redis, redis_server: RedisServer) -> Iterator[str]:
    """A user that may read queues, registries and workers but no job hash or result."""
    client.acl_setuser(
        "jobless",
        reset=True,
        enabled=True,
        passwords=["+jobless-pw"],
        keys=JOBLESS_KEYS,
        commands=["+@read", "+info"],
    )
    yield f"redis://jobless:jobless-pw@127.0.0.1:{redis_server.port}/0"
    client.acl_deluser("jobless")


def test_job_hashes_denied_by_an_acl_give_a_note_not_a_traceback(
    client: redis.Redis,
    jobless_url: str,
    start_exporter: StartExporter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The counts are what a person needs and the ACL allows them: the snapshot shows them,
    with ages and current jobs unknown and a note saying why. `qwatch job` is nothing but
    a job hash, so there the refusal is the answer, in one line."""
    job = Queue("q", connection=client).enqueue(tasks.add, 1, 1)
    failed = Queue("q", connection=client).enqueue(tasks.divide, 1, 0)
    client.zadd("rq:failed:q", {failed.id: time.time() + 3600})
    register_worker(client, "busy", state="busy", current_job=job.id)

    assert main(["snapshot", "--url", jobless_url]) == 0
    out = capsys.readouterr().out
    assert "note: job hashes are not readable under this ACL (NOPERM)" in " ".join(out.split())
    assert main(["snapshot", "--json", "--url", jobless_url]) == 0
    snapshot = json.loads(capsys.readouterr().out)
    assert snapshot["notes"] == [JOBS_DENIED]
    (queue,) = snapshot["queues"]
    assert (queue["queued"], queue["failed"], queue["oldest_queued_age_seconds"]) == (2, 1, None)

    assert main(["job", job.id, "--url", jobless_url]) == 2
    error = capsys.readouterr().err
    assert "NOPERM" in error and len(error.strip().splitlines()) == 1
    assert main(["failed", "--url", jobless_url]) == 0
    assert failed.id in capsys.readouterr().out
    scrape = start_exporter(url=jobless_url).scrape()
    assert scrape.value("qwatch_up", redis="main") == 1


def huge_int_job(client: redis.Redis) -> str:
    """A failed job whose one argument is an int of 5,000 digits."""
    data = pickle.dumps(("harness.tasks.add", None, (10**4999,), {}), protocol=4)
    now = time.time()
    client.hset(
        "rq:job:huge-int",
        mapping={
            "data": zlib.compress(data),
            "status": "failed",
            "origin": "q",
            "ended_at": rq_time(now),
        },
    )
    client.zadd("rq:failed:q", {"huge-int": now + 3600})
    client.sadd("rq:queues", "rq:queue:q")
    return "huge-int"


async def test_a_huge_int_in_a_job_leaves_every_face_running(
    client: redis.Redis, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = huge_int_job(client)
    assert main(["failed", "--url", url]) == 0
    assert job_id in capsys.readouterr().out
    assert main(["job", job_id, "--url", url]) in (0, 2)
    assert len(capsys.readouterr().err.splitlines()) <= 1
    Feed(Target(url=url), connect(Target(url=url))).poll(with_functions=True)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: table(app, "#queues").row_count == 1, "the queue")
        await pilot.press("3")
        assert "[live]" in str(app.query_one("#status").render())


def test_a_huge_int_in_a_job_is_shown_bounded(client: redis.Redis) -> None:
    job_id = huge_int_job(client)
    (row,) = read_failed(client)
    assert row.function == "harness.tasks.add"
    job = read_job(client, job_id)
    assert job is not None and job.function == "harness.tasks.add"
    assert len(job.arguments) < 2_100


def fail_for(name: str) -> Any:
    real = reader._worker_stats

    def worker_stats(worker: str, *args: Any) -> Any:
        if worker == name:
            raise RuntimeError("a bug met one worker")
        return real(worker, *args)

    return worker_stats


def test_one_record_that_raises_is_skipped_counted_and_logged(
    client: redis.Redis,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_worker(client, "good")
    register_worker(client, "bad")
    monkeypatch.setattr(reader, "_worker_stats", fail_for("bad"))
    with caplog.at_level(logging.WARNING, "qwatch.records"):
        snapshot = read_snapshot(client)
    assert [worker.name for worker in snapshot.workers] == ["good"]
    assert snapshot.records_skipped == 1
    (line,) = caplog.messages
    assert line == "skipped worker 'bad': unexpected RuntimeError: a bug met one worker"

    source = RedisSource("main", redis_server.client())
    collector = QwatchCollector([source], timeout=30)
    try:
        for scrapes in (1, 2):
            reading = collector.read()
            assert values(reading, UP) == [1.0]
            assert values(reading, RECORDS_SKIPPED) == [float(scrapes)]
            assert values(reading, WORKER_JOBS) == [0.0, 0.0]
    finally:
        source.close()


async def test_top_survives_any_exception_in_a_poll_and_says_so(
    client: redis.Redis, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Queue("q", connection=client).enqueue(tasks.add, 1, 1)
    real = Feed.poll
    calls = 0

    def poll(self: Feed, with_functions: bool) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("one bad record")
        return real(self, with_functions)

    monkeypatch.setattr(Feed, "poll", poll)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one("#status")
        await until(pilot, lambda: "read failed: KeyError" in str(status.render()), "the error")
        await until(pilot, lambda: table(app, "#queues").row_count == 1, "the next poll")
        assert "[live]" in str(status.render())
