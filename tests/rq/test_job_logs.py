"""A job's own log lines: kept by real `qwatch.rq.Worker` processes, read back bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from rq import Queue, Retry
from rq.job import Job

from harness import tasks
from harness.polling import wait_until
from harness.redis_server import RedisServer
from harness.workers import run_burst, start_worker, stop_worker
from qwatch import job_states
from qwatch.limits import LOG_BYTES, LOG_LINE_LIMIT, LOG_LINES
from qwatch.model import JobDetail
from qwatch.rq.jobs import read_job
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.rq.logs import CAPTURE_OUTPUT_VARIABLE
from tests.properties.test_read_only import RoundTrips
from tests.rq.test_worker import entries

WORKER_CLASS = "qwatch.rq.Worker"


def lines_of(client: redis.Redis, job_id: str) -> tuple[str, ...] | None:
    job = read_job(client, job_id)
    assert job is not None
    return job.logs


def messages(lines: tuple[str, ...] | None) -> list[str]:
    """Each line without its time and level: `harness.tasks: 0 step` as `0 step`."""
    return [line.partition("harness.tasks: ")[2] or line for line in lines or ()]


def test_each_job_keeps_its_lines_with_the_ttl_of_its_hash(client: redis.Redis, url: str) -> None:
    queue = Queue("default", connection=client)
    kept = queue.enqueue(tasks.log_lines, 3, "sent", result_ttl=600)
    failing = queue.enqueue(tasks.log_then_fail, "mailbox full", failure_ttl=900)
    forgotten = queue.enqueue(tasks.log_lines, 2, "gone", result_ttl=0)
    forever = queue.enqueue(tasks.log_lines, 1, "kept", result_ttl=-1)
    run_burst(url, ["default"], worker_class=WORKER_CLASS)
    assert messages(lines_of(client, kept.id)) == ["0 sent", "1 sent", "2 sent"]
    assert messages(lines_of(client, failing.id)) == ["giving up on mailbox full"]
    for job, ttl in ((kept, 600), (failing, 900), (forever, -1)):
        logs_ttl, job_ttl = client.ttl(DEFAULT_KEYS.logs_key(job.id)), client.ttl(job.key)
        assert ttl - 5 <= logs_ttl <= ttl and abs(logs_ttl - job_ttl) <= 2, (job, logs_ttl)
    assert not client.exists(DEFAULT_KEYS.logs_key(forgotten.id)), "deleted with its job"
    (line,) = lines_of(client, failing.id) or ()
    assert line.endswith(" WARNING harness.tasks: giving up on mailbox full")


def test_a_retried_job_shows_its_last_runs_lines(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(
        tasks.log_then_fail, "upstream down", retry=Retry(max=1)
    )
    run_burst(url, ["default"], worker_class=WORKER_CLASS)
    assert Job.fetch(job.id, connection=client).get_status() == job_states.FAILED
    assert messages(lines_of(client, job.id)) == ["giving up on upstream down"]


def test_the_lines_cost_no_round_trip_more(
    client: redis.Redis, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = Queue("default", connection=client).enqueue(tasks.log_lines, 2, "read")
    run_burst(url, ["default"], worker_class=WORKER_CLASS)
    round_trips = RoundTrips(monkeypatch)
    detail = read_job(client, job.id)
    assert detail is not None and messages(detail.logs) == ["0 read", "1 read"]
    assert round_trips.count == 1, "read with the job's hash and results"


def test_printed_output_is_kept_only_when_asked(client: redis.Redis, url: str) -> None:
    queue = Queue("default", connection=client)
    unasked = queue.enqueue(tasks.log_lines, 1, "quiet")
    run_burst(url, ["default"], worker_class=WORKER_CLASS)
    asked = queue.enqueue(tasks.log_lines, 1, "loud")
    run_burst(url, ["default"], worker_class=WORKER_CLASS, env={CAPTURE_OUTPUT_VARIABLE: "1"})
    assert messages(lines_of(client, unasked.id)) == ["0 quiet"]
    assert messages(lines_of(client, asked.id)) == ["0 loud", "printed by loud"]


def test_the_worker_keeps_the_last_lines_within_the_bounds(client: redis.Redis, url: str) -> None:
    queue = Queue("default", connection=client)
    many = queue.enqueue(tasks.log_lines, 500, "step")
    long = queue.enqueue(tasks.log_lines, 100, "x" * 3000)
    run_burst(url, ["default"], worker_class=WORKER_CLASS)
    shown = messages(lines_of(client, many.id))
    assert shown == ["… 301 earlier lines not kept", *(f"{n} step" for n in range(301, 500))]
    kept = client.get(DEFAULT_KEYS.logs_key(many.id))
    assert isinstance(kept, bytes) and len(kept.split(b"\n")) == LOG_LINES, "the worker's bound"
    stored = client.get(DEFAULT_KEYS.logs_key(long.id))
    assert isinstance(stored, bytes)
    assert len(stored) <= LOG_BYTES
    note, *cut = stored.decode().split("\n")
    assert note.startswith("… ") and note.endswith(" earlier lines not kept")
    assert "harness.tasks: 99 xxx" in cut[-1], "the last lines are kept"
    assert all(len(line) == LOG_LINE_LIMIT + len(" … [cut]") for line in cut)
    assert all(line.endswith("x … [cut]") for line in cut)


def test_a_bad_capture_setting_stops_the_worker_at_start(url: str) -> None:
    process = start_worker(
        url, ["default"], worker_class=WORKER_CLASS, env={CAPTURE_OUTPUT_VARIABLE: "yes"}
    )
    assert process.wait(timeout=60) != 0


def test_a_redis_that_refuses_the_write_changes_no_outcome_and_stops_no_worker(
    client: redis.Redis, redis_server: RedisServer, tmp_path: Path
) -> None:
    """The worker's user may do all RQ does but SETEX, the one command the lines are stored
    with. A horse that ended badly after a retry was queued would have RQ fail the job."""
    client.acl_setuser(
        "worker", reset=True, enabled=True, passwords=["+worker-pw"], keys=["*"],
        channels=["*"], commands=["+@all", "-setex"],
    )  # fmt: skip
    queue = Queue("default", connection=client)
    ids = [queue.enqueue(tasks.log_lines, n, "refused").id for n in range(1, 4)]
    ids.append(queue.enqueue(tasks.log_then_fail, "refused too").id)
    marker = str(tmp_path / "marker")
    ids.append(queue.enqueue(tasks.fail_once, marker, retry=Retry(max=1)).id)
    worker = start_worker(
        f"redis://worker:worker-pw@127.0.0.1:{redis_server.port}/0",
        ["default"],
        worker_class=WORKER_CLASS,
    )
    try:

        def jobs() -> list[JobDetail | None]:
            return [read_job(client, i) for i in ids]

        ended = (job_states.FINISHED, job_states.FAILED)
        wait_until(lambda: all(job and job.status in ended for job in jobs()), "every outcome")
        assert [(job.status, job.result, job.retries_left, job.logs) for job in jobs() if job] == [
            (job_states.FINISHED, "1", None, None),
            (job_states.FINISHED, "2", None, None),
            (job_states.FINISHED, "3", None, None),
            (job_states.FAILED, None, None, None),
            (job_states.FINISHED, "'ok'", 0, None),
        ]
        outcomes = [entry["outcome"] for entry in entries(client) if entry["job"] == ids[-1]]
        assert outcomes == ["retried", job_states.FINISHED], "one retry, as RQ alone makes"
        assert worker.poll() is None, "the worker runs on"
        after = queue.enqueue(tasks.add, 1, 1)
        wait_until(lambda: (job := read_job(client, after.id)) and job.result, "one job more")
    finally:
        stop_worker(worker)


def test_the_reader_trusts_no_writer(client: redis.Redis) -> None:
    """Whatever the key holds, at most the last `LOG_BYTES` are read, in `LOG_LINES` lines
    of `LOG_LINE_LIMIT` characters."""
    job = Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    key = DEFAULT_KEYS.logs_key(job.id)
    client.set(key, "y" * 5_000_000)
    assert lines_of(client, job.id) == (f"… {5_000_000 - LOG_BYTES} earlier bytes not read",), (
        "the only line is cut at its start: no part of a line is shown"
    )
    client.set(key, "\n".join(f"line {n}" for n in range(1000)) + "\n" + "z" * 5000)
    shown = lines_of(client, job.id) or ()
    assert shown[0] == "… 802 earlier lines not kept" and len(shown) == LOG_LINES
    assert shown[-2] == "line 999" and shown[-1] == "z" * LOG_LINE_LIMIT + " … [cut]"
    client.set(key, "")
    assert lines_of(client, job.id) == ()
    client.delete(key)
    client.hset(key, "not", "a string")
    assert lines_of(client, job.id) is None


def test_no_logs_are_kept_by_rqs_own_worker(client: redis.Redis, url: str) -> None:
    job = Queue("default", connection=client).enqueue(tasks.log_lines, 2, "plain")
    run_burst(url, ["default"])
    detail = read_job(client, job.id)
    assert detail is not None and detail.status == job_states.FINISHED and detail.logs is None
