"""A pickle that would create a file if unpickled goes through every reading path of qwatch."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest
import redis
from rq import Queue

from harness import tasks
from qwatch.cli import main
from qwatch.rq.jobs import read_failed, read_job
from qwatch.rq.reader import read_snapshot


class CreatesFile:
    """Unpickling this opens `path` for writing, which creates it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def plant_evil_job(client: redis.Redis, evil: bytes) -> str:
    """A real job, then its call, result and meta replaced by the evil pickle."""
    job = Queue("default", connection=client).enqueue(tasks.add, 1, 2)
    client.hset(
        job.key,
        mapping={
            "data": zlib.compress(evil),
            "meta": evil,
            "status": "failed",
            "exc_info": zlib.compress(evil),
        },
    )
    client.zadd("rq:failed:default", {job.id: 9e12})
    client.xadd(
        f"rq:results:{job.id}",
        {
            "type": 2,
            "return_value": base64.b64encode(evil),
            "exc_string": base64.b64encode(zlib.compress(b"X: y")),
        },
    )
    client.xadd(f"rq:results:{job.id}", {"type": 1, "return_value": base64.b64encode(evil)})
    client.sadd("rq:workers", "rq:worker:w")
    client.hset(
        "rq:worker:w", mapping={"current_job": job.id, "state": "busy", "queues": "default"}
    )
    return job.id


def test_no_path_unpickles(
    client: redis.Redis, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    evil = pickle.dumps(("harness.tasks.add", None, (CreatesFile(marker),), {}), protocol=5)
    job_id = plant_evil_job(client, evil)

    read_snapshot(client)
    rows = read_failed(client)
    detail = read_job(client, job_id)
    for argv in (["job", job_id], ["failed"], ["snapshot"], ["snapshot", "--json"]):
        assert main([*argv, "--url", url]) == 0
    output = capsys.readouterr().out

    assert not marker.exists()
    assert detail is not None
    assert detail.arguments == f"<io.open({str(marker)!r}, 'w')>"
    assert detail.result is not None and "<io.open(" in detail.result
    assert rows[0].function == "harness.tasks.add"
    assert "<io.open(" in output
    json.loads(output.splitlines()[-1])

    pickle.loads(evil)  # the pickle really is harmful: unpickling it creates the file
    assert marker.exists()
