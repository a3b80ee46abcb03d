"""Browsing a queue's jobs in every state: what RQ holds, a page at a time, at any size."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
import rq.registry
from rq import Queue, Retry
from rq.job import Job
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from harness import tasks
from harness.redis_server import RedisServer
from harness.workers import run_burst
from harness.workload import bulk_jobs, busy_workload
from qwatch.limits import SCAN_WINDOW
from qwatch.model import PageRequest
from qwatch.rq.browse import STATES, read_page
from qwatch.rq.jobs import read_job
from qwatch.tui.feed import Feed
from qwatch.wire import batch
from qwatch.wire.connection import connect
from tests.properties.test_read_only import acl_user, one_of_each

REGISTRIES = {
    "started": StartedJobRegistry,
    "scheduled": ScheduledJobRegistry,
    "deferred": DeferredJobRegistry,
    "finished": FinishedJobRegistry,
    "failed": FailedJobRegistry,
    "canceled": CanceledJobRegistry,
}
if hasattr(rq.registry, "ReadyJobRegistry"):  # RQ 3.0
    REGISTRIES["ready"] = rq.registry.ReadyJobRegistry


def rq_ids(client: redis.Redis, queue: str, state: str) -> list[str]:
    """The ids RQ's own API lists, in the order qwatch promises."""
    if state == "queued":
        return list(Queue(queue, connection=client).job_ids)
    if state not in REGISTRIES:
        return []  # a registry this RQ does not have
    registry = REGISTRIES[state](queue, connection=client)
    desc = state in ("finished", "failed", "canceled")
    return list(registry.get_job_ids(desc=desc, cleanup=False))


@pytest.fixture
def busy(client: redis.Redis, url: str) -> Iterator[subprocess.Popen[bytes]]:
    """The mixed workload run, then a worker busy with a long job on `default`."""
    with busy_workload(client, url, "browse-worker") as process:
        yield process


class CommandCount:
    """Commands Redis executed, from INFO commandstats (the reading INFO itself excluded)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.before = self._calls()

    def _calls(self) -> int:
        stats = self.client.info("commandstats")
        return sum(int(value["calls"]) for value in stats.values())

    def since(self) -> int:
        return self._calls() - self.before - 1


def test_every_state_lists_what_rq_holds(
    client: redis.Redis, busy: subprocess.Popen[bytes]
) -> None:
    for queue in ("default", "parked", "high"):
        for state in STATES:
            page = read_page(client, PageRequest(queue, state, limit=100))
            expected = [job_id.split(":")[0] for job_id in rq_ids(client, queue, state)]
            assert [job.id for job in page.jobs] == expected, (queue, state)
            assert page.total == len(expected) and page.queue_known

    started = read_page(client, PageRequest("default", "started")).jobs
    assert [(job.id, job.worker) for job in started] == [("long-job", "browse-worker")]
    assert started[0].started_at is not None

    finished = read_page(client, PageRequest("default", "finished")).jobs
    assert {job.result for job in finished} >= {"1", "2", "3", "4", "5"}

    failed = read_page(client, PageRequest("default", "failed")).jobs
    assert {job.exception for job in failed} == {"ZeroDivisionError: division by zero"}

    (deferred,) = read_page(client, PageRequest("default", "deferred")).jobs
    blocker = rq_ids(client, "parked", "queued")[0]
    assert deferred.waits_for == (blocker,)

    (scheduled,) = read_page(client, PageRequest("default", "scheduled")).jobs
    assert scheduled.score is not None and scheduled.score > scheduled.created_at + 3000  # type: ignore[operator]

    queued = read_page(client, PageRequest("parked", "queued")).jobs
    assert [job.position for job in queued] == [0, 1]
    assert all(job.enqueued_at is not None for job in queued)


def test_no_such_queue_is_said(client: redis.Redis) -> None:
    page = read_page(client, PageRequest("nowhere", "failed"))
    assert not page.queue_known and page.total == 0 and page.jobs == ()


@pytest.fixture
def ten_thousand(client: redis.Redis) -> list[str]:
    return bulk_jobs(client, "bulk", 10_000)


def test_pages_cost_the_same_commands_at_any_offset(
    client: redis.Redis, ten_thousand: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[int] = []
    real_run = batch.run

    def counted(connection: redis.Redis, commands: list[batch.Command]) -> list[object]:
        trips.append(len(commands))
        return real_run(connection, commands)

    monkeypatch.setattr(batch, "run", counted)
    for offset in (0, 5_000, 9_950):
        count = CommandCount(client)
        page = read_page(client, PageRequest("bulk", "queued", offset=offset, limit=50))
        assert count.since() == 3 + 50  # SISMEMBER, LLEN, LRANGE; one HMGET a job
        assert [job.id for job in page.jobs] == ten_thousand[offset : offset + 50]
        assert page.total == 10_000
        assert page.next_offset == (offset + 50 if offset + 50 < 10_000 else None)

        count = CommandCount(client)
        page = read_page(client, PageRequest("bulk", "finished", offset=offset, limit=50))
        assert count.since() == 3 + 2 * 50  # and the newest entry of each results stream
        newest_first = ten_thousand[::-1]
        assert [job.id for job in page.jobs] == newest_first[offset : offset + 50]
    assert trips == [3, 50, 3, 100] * 3


def test_a_filter_scans_a_bounded_window_and_goes_on_from_there(
    client: redis.Redis, ten_thousand: list[str]
) -> None:
    Queue("bulk", connection=client).enqueue(tasks.divide, 1, 0, job_id="odd-one")
    count = CommandCount(client)
    page = read_page(client, PageRequest("bulk", "queued", function="divide"))
    assert count.since() == 3 + SCAN_WINDOW
    assert page.jobs == () and page.scanned == SCAN_WINDOW
    assert page.next_offset == SCAN_WINDOW and page.total == 10_001

    last = read_page(client, PageRequest("bulk", "queued", offset=9_500, function="divide"))
    assert [job.id for job in last.jobs] == ["odd-one"] and last.next_offset is None

    some = read_page(client, PageRequest("bulk", "queued", text="bulk-0001", limit=5))
    assert [job.id for job in some.jobs] == [f"bulk-0001{i}" for i in range(5)]
    assert some.next_offset == 15


def test_the_inspector_reads_meta_retries_dependencies_and_attempts(
    client: redis.Redis, url: str
) -> None:
    queue = Queue("default", connection=client)
    asked = queue.enqueue(tasks.ask_retry, 2)
    progress = queue.enqueue(tasks.with_progress, 3)
    raised = queue.enqueue(tasks.divide, 1, 0, retry=Retry(max=2, interval=[0, 0]), job_timeout=90)
    waiting = Queue("parked", connection=client).enqueue(tasks.add, 1, 1, depends_on=progress)
    run_burst(url, ["default"])

    detail = read_job(client, asked.id)
    assert detail is not None
    outcomes = [attempt.outcome for attempt in detail.attempts]
    assert outcomes == ["retried", "retried", "max retries exceeded"]
    rq_results = Job.fetch(asked.id, connection=client).results()
    assert [a.execution_id for a in detail.attempts] == [r.execution_id for r in rq_results][::-1]
    assert all(a.worker and a.started_at and a.ended_at for a in detail.attempts)

    detail = read_job(client, progress.id)
    assert detail is not None and detail.meta == "{'progress': {'done': 3, 'of': 3}}"
    assert detail.result == "3" and [a.outcome for a in detail.attempts] == ["successful"]

    detail = read_job(client, raised.id)
    assert detail is not None
    assert (detail.retries_left, detail.retry_intervals, detail.timeout) == (0, (0, 0), 90)
    assert [a.outcome for a in detail.attempts] == ["failed"]
    assert detail.attempts[0].exception == "ZeroDivisionError: division by zero"

    detail = read_job(client, waiting.id)
    assert detail is not None and detail.dependencies == (progress.id,)


def test_a_scheduled_job_is_listed_with_its_time(client: redis.Redis) -> None:
    job = Queue("later", connection=client).enqueue_in(timedelta(minutes=5), tasks.add, 1, 2)
    (listed,) = read_page(client, PageRequest("later", "scheduled")).jobs
    assert listed.id == job.id and listed.function == "harness.tasks.add"
    scheduled_for = ScheduledJobRegistry("later", connection=client).get_scheduled_time(job.id)
    assert listed.score == scheduled_for.timestamp()
    detail = read_job(client, job.id)
    assert detail is not None and detail.scheduled_for == listed.score
    client.zrem("rq:scheduled:later", job.id)
    detail = read_job(client, job.id)
    assert detail is not None and detail.scheduled_for is None, "gone from the registry: unknown"


def test_odd_data_costs_a_placeholder_in_one_row(client: redis.Redis) -> None:
    client.sadd("rq:queues", "rq:queue:odd")
    client.rpush("rq:queue:odd", "wrong-type", b"\xff\xfe", "gone", "bad-data")
    client.set("rq:job:wrong-type", "not a hash")
    client.hset("rq:job:bad-data", mapping={"data": b"\x00garbage", "dependency_ids": "{oops"})
    client.hset("rq:job:bad-data", "enqueued_at", "yesterday")
    client.zadd("rq:failed:odd", {"bad-data": 1e18})
    client.set("rq:results:bad-data", "not a stream")
    queued = read_page(client, PageRequest("odd", "queued"))
    assert [job.id for job in queued.jobs] == ["wrong-type", "gone", "bad-data"]
    assert [job.position for job in queued.jobs] == [0, 2, 3]
    assert not queued.jobs[0].exists and not queued.jobs[1].exists
    odd = queued.jobs[2]
    assert odd.function.startswith("<undecodable job data") and odd.waits_for == ()
    assert odd.enqueued_at is None
    (failed,) = read_page(client, PageRequest("odd", "failed")).jobs
    assert failed.exception is None and failed.worker is None
    detail = read_job(client, "bad-data")
    assert detail is not None and detail.attempts == () and detail.dependencies == ()


def test_the_readme_read_only_user_pages_every_state(
    client: redis.Redis, redis_server: RedisServer, url: str
) -> None:
    failed = one_of_each(client, url)
    target = acl_user(client, redis_server, "qwatch")
    feed = Feed(target, connect(target))
    pages = {state: feed.page(PageRequest("q0", state)) for state in STATES}
    assert [job.id for job in pages["failed"].jobs] == [failed.id]
    assert pages["failed"].jobs[0].exception == "ZeroDivisionError: division by zero"
    assert len(pages["queued"].jobs) == len(pages["finished"].jobs) == 1
    assert pages["finished"].jobs[0].result == "2"
