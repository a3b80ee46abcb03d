"""Watching Dramatiq under the read-only user of docs/security.md: every command sent, as Redis's
MONITOR saw it, is a read or connection upkeep; none is refused."""

from __future__ import annotations

import redis
from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import send
from harness.polling import wait_until
from harness.redis_server import RedisServer
from qwatch.model import DRAMATIQ, PageRequest, SearchRequest
from qwatch.watch import Watch
from qwatch.wire.connection import connect
from tests.celery.test_read_only_acl import monitored
from tests.dramatiq.conftest import StartWorker
from tests.properties.test_read_only import CONNECTION_COMMANDS, READ_COMMANDS, acl_user

DRAMATIQ_READS = {"scan", "hlen", "lrange", "scard", "hstrlen", "lpos", "zscore"}


def test_the_documented_dramatiq_user_watches_dramatiq_and_only_reads(
    client: redis.Redis, redis_server: RedisServer, broker: RedisBroker, start_worker: StartWorker
) -> None:
    died = send(broker, "harness.fail", "customer 4711")
    send(broker, "harness.sleep", 30)
    send(broker, "harness.add", 1, 2, queue="parked")
    start_worker("default")
    wait_until(lambda: Watch(client, DRAMATIQ).failed(5), "the dead letter")
    target = acl_user(client, redis_server, "qwatch-dramatiq")
    client.acl_log_reset()
    admin = redis_server.client()
    with monitored(admin) as monitor:
        watched = connect(target)
        watch = Watch(watched, DRAMATIQ)
        snapshot = watch.read()
        failed = watch.failed(5)
        job = watch.job(died.message_id)
        pages = [watch.dramatiq_page(PageRequest("default", s)) for s in ("queued", "started")]
        found = watch.searched(SearchRequest("4711"))
        ours = {
            entry["addr"] for entry in client.client_list() if entry["user"] == "qwatch-dramatiq"
        }
        watched.close()
    admin.close()
    assert {q.name for q in snapshot.queues} == {"default", "parked"}
    assert [row.id for row in failed] == [died.message_id] and job is not None
    assert pages[1].total == 1 and [hit.id for hit in found.hits] == [died.message_id]
    sent = {name for address in ours for name in monitor.commands.get(address, [])}
    assert {"scan", "llen", "hget"} <= sent
    assert sent - (READ_COMMANDS | DRAMATIQ_READS | CONNECTION_COMMANDS) == set()
    assert client.acl_log() == []
