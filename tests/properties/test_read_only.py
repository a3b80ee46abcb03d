"""The collector only reads: constant round trips, read commands, and a read-only ACL user."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
import rq
from redis.connection import Connection
from rq import Queue, Worker
from rq.job import Job

from harness import tasks
from harness.redis_server import RedisServer
from harness.workers import run_burst
from qwatch.errors import QwatchError
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.exporter.exposition import TextFormat
from qwatch.rq.jobs import read_failed, read_job
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.rq.reader import read_snapshot
from qwatch.tui.app import QwatchApp
from qwatch.tui.dialogs import Confirm
from qwatch.tui.feed import Feed
from qwatch.watch import CLEARABLE, Watch
from qwatch.wire import batch
from qwatch.wire.connection import Target, connect
from tests.tui.conftest import SIZE, table, until

READ_COMMANDS = {
    "smembers", "info", "exists", "llen", "lindex", "zcount", "zcard", "zrangebyscore",
    "hmget", "hget", "pttl", "hgetall", "xrevrange", "zrevrange", "zrange", "srandmember",
    "get", "strlen", "getrange",
}  # fmt: skip
CONNECTION_COMMANDS = {"client|setinfo", "hello", "auth", "ping", "select"}


def populate(client: redis.Redis, queues: int, workers: int) -> None:
    """Queues with jobs and registered workers, written with RQ's own API."""
    for i in range(queues):
        queue = Queue(f"q{i}", connection=client)
        queue.enqueue(tasks.add, i, 1)
    for i in range(workers):
        worker = Worker([f"q{i % queues}"], connection=client, name=f"w{i}")
        worker.register_birth()
        worker.set_state("idle")


class RoundTrips:
    """Counts every wait for Redis' replies: a qwatch batch sent, or any plain redis-py reply."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        send = batch._send
        read_response = Connection.read_response

        def counting_batch(conn: Connection, commands: Any) -> Any:
            self.count += 1
            return send(conn, commands)

        def counting_reply(conn: Connection, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return read_response(conn, *args, **kwargs)

        monkeypatch.setattr(batch, "_send", counting_batch)
        monkeypatch.setattr(Connection, "read_response", counting_reply)


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    yield RoundTrips(monkeypatch)


def trips_for_snapshot(client: redis.Redis, round_trips: RoundTrips) -> int:
    read_snapshot(client)  # connects, so the handshake is not counted below
    before = round_trips.count
    snapshot = read_snapshot(client)
    assert snapshot.queues and snapshot.workers
    return round_trips.count - before


def test_round_trips_do_not_grow_with_queues_and_workers(
    client: redis.Redis, round_trips: RoundTrips
) -> None:
    populate(client, queues=3, workers=3)
    small = trips_for_snapshot(client, round_trips)
    client.flushall()
    populate(client, queues=300, workers=300)
    large = trips_for_snapshot(client, round_trips)
    assert small == large <= 4
    assert len(read_snapshot(client).queues) == 300


@pytest.mark.skipif(not hasattr(rq, "RateLimit"), reason="RQ 3.0's rate limits and cron")
def test_rate_limits_and_cron_schedulers_cost_no_round_trip_more(
    client: redis.Redis, round_trips: RoundTrips
) -> None:
    from rq.cron import CronScheduler

    def deploy(keys: int) -> int:
        client.flushall()
        populate(client, queues=keys, workers=keys)
        for n in range(keys):
            limit = rq.RateLimit(f"key-{n}", 1)
            for job in range(3):
                rq.Queue(f"limited-{n}", connection=client).enqueue(
                    tasks.add, job, n, rate_limit=limit
                )
            scheduler = CronScheduler(connection=client, name=f"cron-{n}")
            scheduler.register(tasks.add, f"limited-{n}", args=(1, 2), interval=60)
            scheduler.register_birth()
        return trips_for_snapshot(client, round_trips)

    assert deploy(2) == deploy(60) <= 4
    snapshot = read_snapshot(client)
    assert len(snapshot.rate_limits) == len(snapshot.cron_schedulers) == 60
    assert sum(queue.rate_limited or 0 for queue in snapshot.queues) == 120


def command_calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def test_every_command_is_a_read(client: redis.Redis) -> None:
    populate(client, queues=2, workers=2)
    failing = Queue("q0", connection=client).enqueue(tasks.divide, 1, 0)
    before = command_calls(client)
    read_snapshot(client)
    read_failed(client, limit=5)
    read_job(client, failing.id)
    after = command_calls(client)
    used = {name for name, calls in after.items() if calls > before.get(name, 0)}
    used.discard("info")  # the two command_calls() above are INFO too
    assert used <= READ_COMMANDS | CONNECTION_COMMANDS
    assert {"llen", "zcount", "hmget", "hgetall", "xrevrange"} <= used


@pytest.mark.parametrize("commands", [["+@read", "+info"], ["+@read"]], ids=["with-info", "bare"])
def test_works_under_a_read_only_acl_user(
    client: redis.Redis, redis_server: RedisServer, commands: list[str]
) -> None:
    populate(client, queues=2, workers=2)
    failing = Queue("q0", connection=client).enqueue(tasks.divide, 1, 0)
    client.acl_setuser(
        "watcher",
        reset=True,
        enabled=True,
        passwords=["+watch-pw"],
        keys=["rq:*"],
        commands=commands,
    )
    url = f"redis://watcher@127.0.0.1:{redis_server.port}/0"
    watcher = connect(Target(url=url, password="watch-pw"))
    with pytest.raises(redis.exceptions.NoPermissionError):
        watcher.set("rq:anything", "x")
    now = read_snapshot(client).taken_at
    seen = read_snapshot(watcher, now=now)
    truth = read_snapshot(client, now=now)
    assert (seen.queues, seen.workers) == (truth.queues, truth.workers)
    assert [queue.queued for queue in seen.queues] == [2, 1]
    assert (seen.redis.version is not None) == ("+info" in commands)
    job = read_job(watcher, failing.id)
    assert job is not None and job.function == "harness.tasks.divide"


SECURITY = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def documented_acl_lines() -> dict[str, list[str]]:
    """The `ACL SETUSER` lines of docs/security.md by user name, as a person would paste them."""
    lines = [line for line in SECURITY.read_text().splitlines() if line.startswith("ACL SETUSER ")]
    return {line.split()[2]: shlex.split(line) for line in lines}


def acl_user(client: redis.Redis, redis_server: RedisServer, name: str) -> Target:
    """Runs the documented line for `name` with a password; the target that logs in as it."""
    command = [word.replace(">PASSWORD", ">pw-" + name) for word in documented_acl_lines()[name]]
    client.execute_command(*command)
    return Target(url=f"redis://{name}:pw-{name}@127.0.0.1:{redis_server.port}/0")


def one_of_each(client: redis.Redis, url: str) -> Job:
    """A failed job, a queued one and a finished one on queue q0; returns the failed one."""
    failed = Queue("q0", connection=client).enqueue(tasks.divide, 1, 0)
    Queue("q0", connection=client).enqueue(tasks.add, 1, 1)
    run_burst(url, ["q0"])
    Queue("q0", connection=client).enqueue(tasks.add, 2, 2)
    return failed


def every_action(job_id: str) -> list[Callable[[Watch], str]]:
    return [
        partial(Watch.requeue_failed, job_id=job_id),
        partial(Watch.delete_failed, job_id=job_id),
        partial(Watch.requeue_all_failed, queue="q0"),
        partial(Watch.empty_queue, queue="q0"),
        *(partial(Watch.empty_registry, queue="q0", state=s) for s in CLEARABLE),
    ]


def test_the_documented_has_every_acl_line() -> None:
    assert set(documented_acl_lines()) == {
        "qwatch",
        "qwatch-celery",
        "qwatch-dramatiq",
        "qwatch-arq",
        "qwatch-admin",
    }


def test_the_documented_read_only_user_reads_everything_and_changes_nothing(
    client: redis.Redis, redis_server: RedisServer, url: str
) -> None:
    failed = one_of_each(client, url)
    for state in ("deferred", "scheduled", "canceled"):  # so that each action has work
        client.zadd(DEFAULT_KEYS.registry_key(state, "q0"), {f"{state}-job": 1})
    target = acl_user(client, redis_server, "qwatch")
    feed = Feed(target, connect(target))
    update = feed.poll(with_functions=True)
    assert [queue.queued for queue in update.snapshot.queues] == [1]
    assert [job.id for job in update.failed] == [failed.id]
    assert update.snapshot.redis.version is not None
    detail = feed.job(failed.id)
    assert detail is not None and "ZeroDivisionError" in (detail.traceback or "")
    collector = QwatchCollector([RedisSource("acl", connect(target))], timeout=5)
    scrape = TextFormat().render(collector.read()).decode()
    assert 'qwatch_up{redis="acl"} 1.0' in scrape
    assert 'qwatch_queue_jobs{queue="q0",redis="acl",state="failed",system="rq"} 1.0' in scrape
    before = (
        client.dump(DEFAULT_KEYS.queue_key("q0")),
        client.zrange(DEFAULT_KEYS.registry_key("failed", "q0"), 0, -1),
    )
    for action in every_action(failed.id):
        with pytest.raises(QwatchError, match="permission denied") as refused:
            feed.act(action)
        assert "no permissions to run" in str(refused.value)
    after = (
        client.dump(DEFAULT_KEYS.queue_key("q0")),
        client.zrange(DEFAULT_KEYS.registry_key("failed", "q0"), 0, -1),
    )
    assert before == after


def test_the_documented_admin_user_may_run_every_action(
    client: redis.Redis, redis_server: RedisServer, url: str
) -> None:
    queue = Queue("q0", connection=client)
    first, second, _third = (queue.enqueue(tasks.divide, i, 0) for i in range(3))
    queue.enqueue(tasks.add, 1, 1)
    run_burst(url, ["q0"])
    target = acl_user(client, redis_server, "qwatch-admin")
    feed = Feed(target, connect(target))
    done = [
        feed.act(partial(Watch.requeue_failed, job_id=first.id)),
        feed.act(partial(Watch.delete_failed, job_id=second.id)),
        feed.act(partial(Watch.requeue_all_failed, queue="q0")),
        feed.act(partial(Watch.empty_queue, queue="q0")),
        *(feed.act(partial(Watch.empty_registry, queue="q0", state=state)) for state in CLEARABLE),
    ]
    assert done[:4] == [
        f"requeued job {first.id} on q0",
        f"deleted job {second.id}",
        "requeued 1 failed jobs on q0",
        "deleted 2 queued jobs from q0",
    ]
    assert client.keys("rq:job:*") == [] and client.llen(DEFAULT_KEYS.queue_key("q0")) == 0


async def test_top_under_the_read_only_user_refuses_an_action_on_its_status_line(
    client: redis.Redis, redis_server: RedisServer, url: str
) -> None:
    failed = one_of_each(client, url)
    target = acl_user(client, redis_server, "qwatch")
    app = QwatchApp(Feed(target, connect(target)), interval=0.2, read_only=False)
    notes: list[str] = []
    app.notify = lambda message, **_kw: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 1, "the failed job")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: any("permission denied" in n for n in notes), "the refusal")
        assert app.is_running
    assert Job.fetch(failed.id, connection=client).get_status() == "failed"
