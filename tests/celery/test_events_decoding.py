"""Decoding what Celery publishes, and the model it feeds, without Redis: every input hostile."""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.celery_app import UpstreamTimeout
from qwatch.celery.published import MAX_BATCH, Undecodable, decode_events, decode_result
from qwatch.celery.state import RESULT_GRACE, CeleryState
from qwatch.limits import EVENT_BYTES
from tests.celery.messages import envelope, heartbeat, task_event

TRACEBACK = (
    'Traceback (most recent call last):\n  File "x.py", line 1, in crawl\n'
    "harness.celery_app.UpstreamTimeout: http://x did not answer in 30 s\n"
)


def test_an_event_and_a_batch_of_task_events_decode() -> None:
    events, unusable = decode_events(envelope(heartbeat("celery@a")))
    assert [event["type"] for event in events] == ["worker-heartbeat"] and unusable == 0
    batch = [
        task_event("task-received", "t1"),
        "garbage",
        {"type": 3},
        task_event("task-started", "t1"),
    ]
    events, unusable = decode_events(envelope(batch, "task.multi"))
    assert [event["type"] for event in events] == ["task-received", "task-started"]
    assert unusable == 2


def raw_envelope(**fields: Any) -> bytes:
    message = json.loads(envelope(heartbeat("celery@a")))
    message.update(fields)
    return json.dumps(message).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        b"\xff\xfe",
        b"[1, 2]",
        b"[" * 100_000,
        raw_envelope(body="not base64!"),
        raw_envelope(body=base64.b64encode(b"{not json").decode()),
        raw_envelope(body=17),
        raw_envelope(**{"content-type": "application/x-python-serialize"}),
        raw_envelope(headers={"compression": "application/x-gzip"}),
        envelope([heartbeat("celery@a")] * (MAX_BATCH + 1), "task.multi"),
        b" " * (EVENT_BYTES + 1),
    ],
    ids=[
        "garbage", "not-utf8", "not-an-object", "nested-bomb", "not-base64", "body-not-json",
        "body-not-text", "pickle", "compressed", "huge-batch", "huge",
    ],
)  # fmt: skip
def test_garbage_is_undecodable_never_a_crash(data: bytes) -> None:
    with pytest.raises(Undecodable):
        decode_events(data)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_undecodable(data: bytes) -> None:
    with contextlib.suppress(Undecodable):
        decode_events(data)
    with contextlib.suppress(Undecodable):
        decode_result(data, "id")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
KINDS = st.sampled_from(
    ["worker-online", "worker-heartbeat", "worker-offline", "task-sent", "task-received",
     "task-started", "task-succeeded", "task-failed", "task-retried", "task-revoked", "x"]
)  # fmt: skip
FIELDS = st.sampled_from(
    ["uuid", "name", "args", "kwargs", "retries", "timestamp", "freq", "pid", "active",
     "processed", "loadavg", "exception", "traceback", "queue", "requeue"]
)  # fmt: skip


@settings(max_examples=300)
@given(st.lists(st.tuples(KINDS, st.dictionaries(FIELDS, JSON, max_size=6)), max_size=8))
def test_events_of_any_shape_never_break_the_model(
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    state = CeleryState()
    for kind, fields in events:
        state.apply_event({**fields, "type": kind, "hostname": "celery@a"}, 100.0)
    state.settle_results(200.0)
    state.worker_stats(101.0)
    state.expire_workers(101.0)
    assert all(completion.outcome in ("finished", "failed") for completion in state.take_ended())


RESULT_FIELDS = st.sampled_from(
    ["status", "task_id", "traceback", "date_done", "name", "queue", "worker", "args",
     "kwargs", "retries"]
)  # fmt: skip
STORED_EXCEPTION = st.dictionaries(st.sampled_from(["exc_type", "exc_message"]), JSON)


@settings(max_examples=300)
@given(
    st.sampled_from(["SUCCESS", "FAILURE", "REVOKED"]),
    st.dictionaries(RESULT_FIELDS, JSON, max_size=6),
    JSON | STORED_EXCEPTION,
)
def test_results_of_any_shape_never_break_the_model(
    status: str, fields: dict[str, Any], result: Any
) -> None:
    data = json.dumps({"status": status, "result": result, **fields}).encode()
    try:
        stored = decode_result(data, "from-the-channel")
    except Undecodable:
        return
    state = CeleryState()
    state.apply_result(stored, 100.0)
    state.settle_results(100.0 + RESULT_GRACE)
    ended = state.take_ended()
    assert [completion.id for completion in ended] == (
        [stored.task_id] if stored.status in ("SUCCESS", "FAILURE") else []
    )
    assert len(state.failures) == (stored.status == "FAILURE")


def test_a_json_failure_gives_the_exception_and_traceback() -> None:
    meta = {
        "status": "FAILURE",
        "result": {"exc_type": "UpstreamTimeout", "exc_message": ["http://x"], "exc_module": "h"},
        "traceback": TRACEBACK,
        "children": [],
        "date_done": "2026-01-02T03:04:05.500000+00:00",
        "task_id": "t1",
        "name": "harness.crawl",
        "queue": "crawl",
    }
    result = decode_result(json.dumps(meta).encode(), "ignored")
    assert (result.task_id, result.status, result.exception) == ("t1", "FAILURE", "UpstreamTimeout")
    assert result.message == "http://x" and result.traceback == TRACEBACK
    assert result.date_done == 1767323045.5
    assert (result.name, result.queue) == ("harness.crawl", "crawl")


class CreatesFile:
    """Unpickling this would create a file: the listener must never do it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def test_a_pickled_result_is_read_without_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    meta = {
        "status": "FAILURE",
        "result": UpstreamTimeout("http://x did not answer"),
        "traceback": TRACEBACK,
        "task_id": "t2",
        "evil": CreatesFile(marker),
    }
    result = decode_result(pickle.dumps(meta, protocol=4), "t2")
    assert (result.status, result.exception) == ("FAILURE", "UpstreamTimeout")
    assert result.message == "http://x did not answer"
    assert not marker.exists()


def test_a_worker_lives_by_celerys_rule_on_the_local_clock() -> None:
    state = CeleryState()
    event = heartbeat("celery@a")
    event["timestamp"] = 1.0  # a sender clock far off: the receive time decides
    state.apply_event(event, 100.0)
    assert [worker.heartbeat_overdue for worker in state.worker_stats(102.9)] == [False]
    assert [worker.heartbeat_overdue for worker in state.worker_stats(103.1)] == [True]
    state.expire_workers(103.99)
    assert list(state.workers) == ["celery@a"]
    state.expire_workers(104.0)  # last heartbeat + freq * 2
    assert not state.workers and list(state.expired) == ["celery@a"]


def test_a_result_counts_after_the_grace_unless_task_events_count_it() -> None:
    state = CeleryState()
    alone = decode_result(b'{"status": "SUCCESS", "result": 3, "task_id": "alone"}', "alone")
    state.apply_result(alone, 100.0)
    state.settle_results(100.0 + RESULT_GRACE / 2)
    assert state.take_ended() == []
    state.settle_results(100.0 + RESULT_GRACE)
    assert [completion.id for completion in state.take_ended()] == ["alone"]

    both = decode_result(b'{"status": "SUCCESS", "result": 3, "task_id": "both"}', "both")
    state.apply_result(both, 200.0)  # the worker stores the result before task-succeeded
    state.apply_event(task_event("task-received", "both", name="harness.add"), 200.1)
    state.apply_event(task_event("task-succeeded", "both"), 200.2)
    state.apply_result(both, 200.3)
    state.settle_results(300.0)
    ended = state.take_ended()
    assert [(completion.id, completion.function) for completion in ended] == [
        ("both", "harness.add")
    ]


def test_a_busy_worker_shows_its_longest_running_task_until_each_ends() -> None:
    state = CeleryState()
    state.apply_event({**heartbeat("celery@a"), "active": 2}, 100.0)  # it counts both
    for task_id, args, at in (("old", "(30,)", 100.5), ("new", "()", 101.0)):
        received = task_event("task-received", task_id, "celery@a", name="harness.sleep", args=args)
        state.apply_event({**received, "kwargs": "{}"}, at)
        started = task_event("task-started", task_id, "celery@a")
        state.apply_event({**started, "timestamp": 1.0}, at)  # the receive time decides
    [worker] = state.worker_stats(103.0)
    assert (worker.state, worker.current_job, worker.current_job_seconds) == ("busy", "old", 2.5)
    assert worker.current_job_description == "harness.sleep (30,)"
    state.apply_event(task_event("task-succeeded", "old", "celery@a"), 103.0)
    [worker] = state.worker_stats(103.0)
    assert (worker.current_job, worker.current_job_description) == ("new", "harness.sleep")
    state.apply_event(task_event("task-retried", "new", "celery@a"), 103.5)
    [worker] = state.worker_stats(103.5)
    # idle before the next heartbeat says so
    assert (worker.state, worker.current_job, worker.current_job_seconds) == ("idle", None, None)


def test_a_worker_gone_offline_or_expired_runs_nothing() -> None:
    state = CeleryState()
    for name in ("celery@gone", "celery@dead"):
        state.apply_event(heartbeat(name), 100.0)
        state.apply_event(task_event("task-started", f"{name}-task", name), 100.0)
    state.apply_event(heartbeat("celery@gone", kind="worker-offline"), 101.0)
    state.expire_workers(104.0)
    assert not state.running
    state.apply_event(heartbeat("celery@dead"), 105.0)  # back under the same name
    [worker] = state.worker_stats(105.0)
    assert (worker.state, worker.current_job) == ("idle", None)
