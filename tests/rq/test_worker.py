"""`qwatch.rq.Worker` as real `rq worker --worker-class qwatch.rq.Worker` processes run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue, Retry
from rq.job import Job

from harness import tasks
from harness.polling import wait_until
from harness.workers import run_burst, start_worker, stop_worker
from qwatch.rq import stream
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.wire import completions

WORKER_CLASS = "qwatch.rq.Worker"


def entries(client: redis.Redis) -> list[dict[str, Any]]:
    """Every entry of the stream, its values by the names of `completions.FIELDS`."""
    found: Any = client.xrange(DEFAULT_KEYS.completions)
    return [
        dict(zip(completions.FIELDS, json.loads(fields[completions.ENTRY_FIELD.encode()])))
        for _id, fields in found
    ]


def test_each_outcome_is_one_entry(client: redis.Redis, url: str, tmp_path: Path) -> None:
    queue = Queue("default", connection=client)
    kept = queue.enqueue(tasks.add, 1, 1, result_ttl=60)
    unkept = queue.enqueue(tasks.add, 2, 2, result_ttl=0)
    failing = queue.enqueue(tasks.divide, 1, 0)
    flaky = queue.enqueue(tasks.fail_once, str(tmp_path / "marker"), retry=Retry(max=3))
    asking = queue.enqueue(tasks.ask_retry, 1)
    run_burst(url, ["default"], worker_class=WORKER_CLASS)
    seen = entries(client)
    assert [(e["job"], e["outcome"], e["exception"]) for e in seen] == [
        (kept.id, "finished", None),
        (unkept.id, "finished", None),
        (failing.id, "failed", "ZeroDivisionError"),
        (flaky.id, "retried", "ConnectionError"),
        (asking.id, "retried", None),
        (flaky.id, "finished", None),
        (asking.id, "failed", None),
    ]
    assert {e["function"] for e in seen} == {
        "harness.tasks.add", "harness.tasks.divide", "harness.tasks.fail_once",
        "harness.tasks.ask_retry",
    }  # fmt: skip
    job = Job.fetch(kept.id, connection=client)
    assert job.enqueued_at and job.started_at and job.ended_at
    assert [seen[0][f"{name}_ms"] for name in ("enqueued", "started", "ended")] == [
        round(moment.timestamp() * 1000)
        for moment in (job.enqueued_at, job.started_at, job.ended_at)
    ]
    worker = seen[0]["worker"]
    counts = client.hmget(
        DEFAULT_KEYS.worker_key(worker), "successful_job_count", "failed_job_count"
    )
    assert sum(int(count or 0) for count in counts) == len(seen), "one entry per counted outcome"


def _outcomes(client: redis.Redis, url: str, tmp_path: Path, worker_class: str | None) -> Any:
    """A job of each kind run by a burst worker of `worker_class` (None: RQ's own): each job's
    status, the registries that hold it, whether a result is kept, and its retries."""
    queue = Queue(f"q-{worker_class or 'rq'}", connection=client)
    jobs = {
        "kept": queue.enqueue(tasks.add, 1, 1, result_ttl=60),
        "unkept": queue.enqueue(tasks.add, 2, 2, result_ttl=0),
        "failing": queue.enqueue(tasks.divide, 1, 0),
        "flaky": queue.enqueue(
            tasks.fail_once, str(tmp_path / f"{queue.name}-marker"), retry=Retry(max=3)
        ),
        "asking": queue.enqueue(tasks.ask_retry, 1),
        "dependent": None,
    }
    jobs["dependent"] = queue.enqueue(tasks.add, 3, 3, depends_on=jobs["kept"])
    run_burst(url, [queue.name], worker_class=worker_class)
    registries = {
        "finished": queue.finished_job_registry,
        "failed": queue.failed_job_registry,
        "started": queue.started_job_registry,
    }
    found = {}
    for kind, job in jobs.items():
        assert job is not None
        fetched = Job.fetch(job.id, connection=client) if Job.exists(job.id, client) else None
        found[kind] = (
            fetched.get_status() if fetched else "gone",
            sorted(name for name, registry in registries.items() if job.id in registry),
            fetched.return_value() is not None if fetched else None,
            fetched.number_of_retries if fetched else None,
        )
    return found, len(queue)


def test_every_job_ends_as_under_a_plain_worker(
    client: redis.Redis, url: str, tmp_path: Path
) -> None:
    """Same outcomes, registries, results and retries as RQ's own worker, on this RQ."""
    plain = _outcomes(client, url, tmp_path, None)
    ours = _outcomes(client, url, tmp_path, WORKER_CLASS)
    assert ours == plain
    assert plain[0]["failing"][:2] == ("failed", ["failed"])
    assert plain[0]["kept"][:3] == ("finished", ["finished"], True)


def test_an_unknown_rq_is_refused_before_any_job() -> None:
    from qwatch.rq.worker import _check_version

    for supported in ("2.12.0", "2.13.1", "3.0.0", "3.4.2"):
        _check_version(supported)
    for other in ("2.11.9", "1.16.2", "4.0.0", "garbage"):
        with pytest.raises(RuntimeError, match=r"runs on RQ 2\.12 to 3\.x"):
            _check_version(other)


def test_the_worker_marks_its_hash(client: redis.Redis, url: str) -> None:
    process: subprocess.Popen[bytes] = start_worker(
        url, ["default"], name="exact", worker_class=WORKER_CLASS
    )
    try:
        wait_until(
            lambda: client.exists(DEFAULT_KEYS.worker_key("exact")), "the worker to register"
        )
        assert (
            client.hget(DEFAULT_KEYS.worker_key("exact"), stream.WORKER_MARK)
            == completions.FORMAT.encode()
        )
    finally:
        stop_worker(process)


def test_the_stream_is_capped(client: redis.Redis, url: str) -> None:
    client.config_set("stream-node-max-entries", 2)  # approximate trimming drops whole nodes
    queue = Queue("default", connection=client)
    jobs = [queue.enqueue(tasks.add, i, 1, result_ttl=0) for i in range(12)]
    run_burst(url, ["default"], worker_class=WORKER_CLASS, env={"QWATCH_STREAM_MAXLEN": "4"})
    info = client.xinfo_stream(DEFAULT_KEYS.completions)
    assert info["entries-added"] == 12
    assert 4 <= info["length"] <= 6
    assert [e["job"] for e in entries(client)] == [job.id for job in jobs][-info["length"] :]


def test_a_bad_setting_stops_the_worker_at_start(url: str) -> None:
    process = start_worker(
        url, ["default"], worker_class=WORKER_CLASS, env={"QWATCH_STREAM_MAXLEN": "lots"}
    )
    assert process.wait(timeout=60) != 0


@pytest.mark.parametrize("setting", ["0", "-5", " 12x"])
def test_settings_are_positive_whole_numbers(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(completions.MAX_AGE_VARIABLE, setting)
    with pytest.raises(ValueError, match=completions.MAX_AGE_VARIABLE):
        completions.trim_setting(completions.MAX_AGE_VARIABLE, 1)
