"""Odd data in Redis gives placeholders or is skipped; the reader never raises."""

from __future__ import annotations

import json
import zlib

import redis
from rq import Queue

from harness import tasks
from qwatch.rq.jobs import read_failed, read_job
from qwatch.rq.reader import read_snapshot


def test_odd_queues_are_skipped_or_shown_empty(client: redis.Redis) -> None:
    Queue("good", connection=client).enqueue(tasks.add, 1, 1)
    client.sadd(
        "rq:queues", b"rq:queue:\xff\xfe", b"not-a-queue-key", b"rq:queue:", b"rq:queue:wrongtype"
    )
    client.hset("rq:queue:wrongtype", "field", "value")
    client.set("rq:failed:wrongtype", "a string, not a sorted set")
    client.zadd("rq:wip:wrongtype", {"no-such-job:exec": 1})
    snapshot = read_snapshot(client)
    assert [queue.name for queue in snapshot.queues] == ["good", "wrongtype"]
    odd = snapshot.queues[1]
    assert (odd.queued, odd.failed, odd.oldest_queued_age_seconds) == (0, 0, None)
    (abandoned,) = snapshot.abandoned_jobs
    assert (abandoned.id, abandoned.worker) == ("no-such-job", None)
    json.dumps(snapshot.to_dict(), allow_nan=False)


def test_a_deleted_head_job_leaves_the_age_unknown(client: redis.Redis) -> None:
    job = Queue("q", connection=client).enqueue(tasks.add, 1, 1)
    client.delete(job.key)
    (queue,) = read_snapshot(client).queues
    assert (queue.queued, queue.oldest_queued_age_seconds) == (1, None)
    client.hset(job.key, "enqueued_at", "last tuesday")
    assert read_snapshot(client).queues[0].oldest_queued_age_seconds is None


def test_garbage_worker_fields_give_placeholders(client: redis.Redis) -> None:
    client.sadd("rq:workers", "rq:worker:odd", "rq:worker:gone", "rq:worker:str")
    client.hset(
        "rq:worker:odd",
        mapping={
            "pid": "not a pid",
            "state": b"\xff\xfe",
            "last_heartbeat": "yesterday",
            "birth": "",
            "queues": ",,a,",
            "total_working_time": "NaN",
            "successful_job_count": "many",
            "current_job": "missing-job",
        },
    )
    client.set("rq:worker:str", "not a hash")
    snapshot = read_snapshot(client)
    (worker,) = snapshot.workers
    assert worker.pid is None and worker.heartbeat_age_seconds is None and worker.birth is None
    assert worker.state == "\ufffd\ufffd"
    assert worker.queues == ("a",)
    assert (worker.working_seconds, worker.successful_jobs) == (None, None)
    assert worker.current_job == "missing-job" and worker.current_job_description is None
    assert snapshot.expired_workers == ("gone", "str")
    json.dumps(snapshot.to_dict(), allow_nan=False)


def test_garbage_jobs_read_as_placeholders(client: redis.Redis) -> None:
    client.hset(
        "rq:job:junk",
        mapping={
            "data": b"\x00not zlib",
            "created_at": "soon",
            "exc_info": zlib.compress(b"Traceback...\nValueError: bad"),
            "status": "failed",
        },
    )
    client.xadd("rq:results:junk", {"type": "2", "exc_string": "!!not base64!!"})
    client.zadd("rq:failed:q", {"junk": 9e12, "vanished": 9e12})
    client.sadd("rq:queues", "rq:queue:q")
    job = read_job(client, "junk")
    assert job is not None
    assert job.function.startswith("<undecodable job data")
    assert job.created_at is None
    assert job.traceback == "<unreadable traceback in the results stream>"
    rows = read_failed(client)
    assert {row.id for row in rows} == {"junk", "vanished"}
    assert {row.function for row in rows} == {
        "<no function recorded>",
        "<undecodable job data: not zlib-compressed>",
    }
    client.set("rq:job:stringjob", "not a hash")
    assert read_job(client, "stringjob") is None
