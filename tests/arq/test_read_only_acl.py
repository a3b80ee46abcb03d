"""Watching arq under the read-only user of docs/security.md: every command sent, as Redis's
MONITOR saw it, is a read or connection upkeep; none is refused."""

from __future__ import annotations

import redis

from harness.arq_app import enqueue
from harness.polling import wait_until
from harness.redis_server import RedisServer
from qwatch.model import ARQ, PageRequest
from qwatch.watch import ARQ_STATES, Watch
from qwatch.wire.connection import connect
from tests.arq.conftest import StartWorker
from tests.celery.test_read_only_acl import monitored
from tests.properties.test_read_only import CONNECTION_COMMANDS, READ_COMMANDS, acl_user

ARQ_READS = {
    "scan",
    "zcount",
    "zrangebyscore",
    "pttl",
    "strlen",
    "zscore",
    "xinfo|stream",
    "xrange",
}


def test_the_documented_arq_user_watches_arq_and_only_reads(
    client: redis.Redis, redis_server: RedisServer, url: str, start_worker: StartWorker
) -> None:
    broken = enqueue(url, "fail", "customer 4711")
    enqueue(url, "sleep", 30)
    enqueue(url, "add", 1, 2, defer=3600)
    start_worker(exact=True)
    wait_until(lambda: Watch(client, ARQ).failed(5), "the failure")
    target = acl_user(client, redis_server, "qwatch-arq")
    client.acl_log_reset()
    admin = redis_server.client()
    with monitored(admin) as monitor:
        watched = connect(target)
        watch = Watch(watched, ARQ)
        watch.follow("acl", interval=3600)
        snapshot = watch.read()
        watch.take(snapshot)
        failed = watch.failed(5)
        job = watch.job(broken)
        pages = [watch.arq_page(PageRequest("arq:queue", state)) for state in ARQ_STATES]
        ours = {entry["addr"] for entry in client.client_list() if entry["user"] == "qwatch-arq"}
        watched.close()
    admin.close()
    assert [q.name for q in snapshot.queues] == ["arq:queue"]
    assert [row.id for row in failed] == [broken] and job is not None
    assert [page.total for page in pages] == [0, 1, 1, 0, 1]
    sent = {name for address in ours for name in monitor.commands.get(address, [])}
    assert {"scan", "zcount", "get"} <= sent
    assert sent - (READ_COMMANDS | ARQ_READS | CONNECTION_COMMANDS) == set()
    assert client.acl_log() == []
