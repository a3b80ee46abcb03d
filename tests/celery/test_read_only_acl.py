"""Watching RQ and Celery under the read-only user of docs/security.md: every command sent,
as Redis's MONITOR saw it, is a read, a PSUBSCRIBE or connection upkeep; none is refused."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
from celery import Celery
from redis.client import PubSub

from harness.polling import wait_until
from harness.redis_server import RedisServer
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.watch import Watch
from qwatch.wire.connection import Target, connect
from tests.celery.conftest import StartWorker
from tests.celery.side_by_side import (
    QUEUE,
    both_workers,
    did_one_of_each,
    scrape_until,
    send_jobs,
    subscribed,
)
from tests.properties.test_read_only import CONNECTION_COMMANDS, READ_COMMANDS, documented_acl_lines

USER = "qwatch-celery"
CELERY_READS = {"scan", "hlen", "zrange", "lrange", "hmget", "xinfo|stream"}
CONTAINERS = {"client", "xinfo"}
"""Commands whose subcommand is what is run: `CLIENT SETINFO`, `XINFO STREAM`."""
END = "qwatch-proof-end"


class Monitor:
    """Every command Redis ran, by client address, as MONITOR shows them; it stops on
    seeing `ECHO END`, which `stop` sends."""

    def __init__(self, admin: redis.Redis) -> None:
        self.admin = admin
        self.commands: dict[str, list[str]] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.admin.monitor() as monitor:
            for seen in monitor.listen():
                words = seen["command"].split()
                if words[:2] == ["ECHO", END]:
                    return
                name = words[0].lower()
                if name in CONTAINERS and len(words) > 1:
                    name += "|" + words[1].lower()
                address = f"{seen['client_address']}:{seen['client_port']}"
                self.commands.setdefault(address, []).append(name)

    def start(self) -> None:
        self._thread.start()
        wait_until(lambda: "O" in flags(self.admin), "MONITOR to start")

    def stop(self) -> None:
        self.admin.echo(END)
        self._thread.join(30)
        assert not self._thread.is_alive(), "MONITOR did not see its end"


def flags(admin: redis.Redis) -> str:
    return "".join(client["flags"] for client in admin.client_list())


@contextmanager
def monitored(admin: redis.Redis) -> Iterator[Monitor]:
    monitor = Monitor(admin)
    monitor.start()
    try:
        yield monitor
    finally:
        monitor.stop()


def documented_user(client: redis.Redis, redis_server: RedisServer) -> Target:
    """Runs the Celery line of docs/security.md with a password; the target that logs in as it."""
    command = [word.replace(">PASSWORD", ">pw-celery") for word in documented_acl_lines()[USER]]
    client.execute_command(*command)
    return Target(url=f"redis://{USER}:pw-celery@127.0.0.1:{redis_server.port}/0", timeout=5)


def test_the_documented_celery_user_watches_both_systems_and_only_reads(
    client: redis.Redis,
    redis_server: RedisServer,
    url: str,
    app: Celery,
    start_worker: StartWorker,
) -> None:
    target = documented_user(client, redis_server)
    client.acl_log_reset()
    admin = redis_server.client()
    with both_workers(client, url, start_worker), monitored(admin) as monitor:
        bindings = (f"_kombu.binding.{QUEUE}", "_kombu.binding.celery.pidbox")
        wait_until(lambda: client.exists(*bindings) == 2, "the worker's bindings")
        watched = connect(target)
        watch = Watch(watched)  # finds the Celery queue as a deployment would: by its binding
        source = RedisSource("acl", watched, track_interval=0.1, watch=watch)
        collector = QwatchCollector([source], timeout=10)
        try:
            subscribed(watch)
            source.start()
            send_jobs(client, app)

            got = scrape_until(
                collector, did_one_of_each, "each system's finished and failed job, as the user"
            )
            ours = {entry["addr"] for entry in client.client_list() if entry["user"] == USER}
        finally:
            source.close()
    admin.close()
    assert got.value("qwatch_up", redis="acl") == 1
    assert got.matching("qwatch_celery_queue_reserved", queue=QUEUE)
    assert len(ours) >= 2, "a reading connection and the listener's"
    sent = {name for address in ours for name in monitor.commands.get(address, [])}
    assert {"psubscribe", "scan", "llen", "smembers"} <= sent
    allowed = READ_COMMANDS | CELERY_READS | CONNECTION_COMMANDS | {"psubscribe"}
    assert sent - allowed == set()
    assert not [name for name in sent if "write" in redis_flags(client, name)]
    assert client.acl_log() == []


def redis_flags(client: redis.Redis, name: str) -> set[str]:
    """Redis's own flags for a command (`write`, `readonly`, ...), a subcommand's own."""
    command, _, _sub = name.partition("|")
    info = client.execute_command("COMMAND", "INFO", command)[command]
    if name == command:
        return set(info["flags"])
    (sub,) = [sub for sub in info["subcommands"] if sub[0].decode() == name]
    return {flag.decode() for flag in sub[2]}


def answer(pubsub: PubSub, method: str, channel: str) -> object:
    """Redis's answer to a (P)SUBSCRIBE, where a refusal comes."""
    getattr(pubsub, method)(channel)
    return pubsub.get_message(timeout=5)


@pytest.mark.parametrize(
    "attempt",
    [
        lambda r: r.lpush(QUEUE, "forged"),
        lambda r: r.hset("unacked", "tag", "forged"),
        lambda r: r.publish("/0.celeryev/worker.heartbeat", "{}"),
        lambda r: r.set("celery-task-meta-x", "forged"),
        lambda r: answer(r.pubsub(), "psubscribe", "*"),
        lambda r: answer(r.pubsub(), "psubscribe", "/1.celeryev/*"),
        lambda r: answer(r.pubsub(), "subscribe", "/0.celeryev/worker.heartbeat"),
    ],
    ids=["lpush", "hset", "publish", "set", "psubscribe-all", "psubscribe-db1", "subscribe"],
)
def test_the_documented_celery_user_may_not_write_publish_or_listen_wider(
    client: redis.Redis, redis_server: RedisServer, attempt: Callable[[redis.Redis], object]
) -> None:
    watcher = connect(documented_user(client, redis_server))
    with pytest.raises(redis.exceptions.NoPermissionError):
        attempt(watcher)
