"""The completions stream's reader: a cursor, losses, floods, odd entries, per-queue modes."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
import redis
from rq import Worker

from qwatch.model import ABSENT, StreamPosition, StreamReading
from qwatch.rq import Worker as ExactWorker
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.rq.reader import read_snapshot
from qwatch.rq.stream import CompletionStream
from qwatch.wire import batch, completions
from tests.properties.test_read_only import RoundTrips

_jobs = itertools.count()


def register_queues(client: redis.Redis, *names: str) -> None:
    client.sadd(DEFAULT_KEYS.queues, *(DEFAULT_KEYS.queue_key(name) for name in names))


def add(client: redis.Redis, count: int = 1, queue: str = "default", **fields: str) -> list[str]:
    """Append `count` entries as a worker would; their job ids."""
    jobs = []
    for _ in range(count):
        job = f"job-{next(_jobs)}"
        values = completions.entry(
            job,
            queue,
            fields.get("outcome", "finished"),
            function=fields.get("function", "app.tasks.send"),
            exception=fields.get("exception"),
            enqueued_at=1.0,
            started_at=2.0,
            ended_at=2.5,
            worker="w",
        )
        client.xadd(DEFAULT_KEYS.completions, values)  # type: ignore[arg-type]
        jobs.append(job)
    return jobs


def poll(reader: CompletionStream, client: redis.Redis) -> StreamReading:
    return reader.poll(client, read_snapshot(client))


def ids(reading: StreamReading) -> list[str]:
    return [completion.id for completion in reading.completions]


def test_starts_at_the_end_then_reads_each_entry_once(client: redis.Redis) -> None:
    register_queues(client, "default")
    add(client, 3)
    reader = CompletionStream()
    first = poll(reader, client)
    assert first.present and first.completions == () and first.exact_queues == {"default"}
    new = add(client, 2, function="app.tasks.report")
    assert ids(poll(reader, client)) == new
    assert poll(reader, client).completions == ()
    assert poll(CompletionStream(), client).completions == (), "a new reader starts at the end"


def test_times_and_outcomes_as_written(client: redis.Redis) -> None:
    register_queues(client, "default")
    reader = CompletionStream()
    poll(reader, client)
    add(client, outcome="failed", exception="ZeroDivisionError")
    add(client, outcome="retried", exception="ConnectionError")
    reading = poll(reader, client)
    (failed,) = reading.completions
    (retried,) = reading.retried
    assert (failed.outcome, failed.exception, failed.function) == (
        "failed", "ZeroDivisionError", "app.tasks.send",
    )  # fmt: skip
    assert (failed.run_seconds, failed.wait_seconds) == (0.5, 1.0)
    assert (retried.outcome, retried.exception) == ("retried", "ConnectionError")


def test_a_stream_that_appears_later_is_read_from_its_start(client: redis.Redis) -> None:
    register_queues(client, "default")
    reader = CompletionStream()
    assert poll(reader, client) == ABSENT
    written = add(client, 4)
    assert ids(poll(reader, client)) == written


def test_trimmed_past_the_cursor_counts_what_is_left_and_what_was_lost(
    client: redis.Redis,
) -> None:
    register_queues(client, "default")
    add(client, 5)
    reader = CompletionStream()
    poll(reader, client)
    written = add(client, 50)
    client.xtrim(DEFAULT_KEYS.completions, maxlen=10, approximate=False)
    reading = poll(reader, client)
    assert ids(reading) == written[-10:]
    assert reading.lost == 40
    more = add(client, 3)
    after = poll(reader, client)
    assert (ids(after), after.lost) == (more, 0)


def test_losses_of_a_stream_read_from_its_start(client: redis.Redis) -> None:
    register_queues(client, "default")
    reader = CompletionStream()
    poll(reader, client)
    written = add(client, 30)
    client.xtrim(DEFAULT_KEYS.completions, maxlen=12, approximate=False)
    reading = poll(reader, client)
    assert (ids(reading), reading.lost) == (written[-12:], 18)


def test_a_flood_is_read_over_several_polls_without_loss(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(completions, "BATCH", 7)
    monkeypatch.setattr(completions, "MAX_BATCHES", 3)
    register_queues(client, "default")
    reader = CompletionStream()
    poll(reader, client)
    written = add(client, 50)
    read: list[str] = []
    for _ in range(3):
        reading = poll(reader, client)
        assert reading.lost == 0 and len(reading.completions) <= 21
        read += ids(reading)
    assert read == written


def test_a_poll_that_fails_between_pages_loses_nothing(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis going away after the first page: the next poll reads that page again."""
    monkeypatch.setattr(completions, "BATCH", 7)
    register_queues(client, "default")
    add(client)
    reader = CompletionStream()
    poll(reader, client)
    written = add(client, 20)
    snapshot = read_snapshot(client)
    real_run = batch.run
    calls = []

    def fails_at_the_second_page(*args: Any) -> list[Any]:
        calls.append(args)
        if len(calls) == 2:
            raise redis.ConnectionError("Redis went away")
        return real_run(*args)

    monkeypatch.setattr(batch, "run", fails_at_the_second_page)
    with pytest.raises(redis.ConnectionError):
        reader.poll(client, snapshot)
    monkeypatch.setattr(batch, "run", real_run)
    assert ids(poll(reader, client)) == written


def test_resumes_where_a_previous_reader_stopped(client: redis.Redis) -> None:
    register_queues(client, "default")
    add(client, 3)
    before = CompletionStream()
    assert before.position is None
    poll(before, client)
    read = add(client, 2)
    assert ids(poll(before, client)) == read
    position = before.position
    assert position is not None and position.number == 5
    unread = add(client, 4)
    again = CompletionStream(resume=position)
    assert ids(poll(again, client)) == unread
    assert poll(again, client).completions == ()


def test_resumed_past_what_was_trimmed_counts_the_loss(client: redis.Redis) -> None:
    register_queues(client, "default")
    reader = CompletionStream()
    poll(reader, client)
    add(client, 5)
    poll(reader, client)
    written = add(client, 50)
    client.xtrim(DEFAULT_KEYS.completions, maxlen=10, approximate=False)
    assert reader.position is not None
    reading = poll(CompletionStream(resume=reader.position), client)
    assert (ids(reading), reading.lost) == (written[-10:], 40)


def test_resumed_on_a_stream_recreated_since_reads_it_from_its_start(
    client: redis.Redis,
) -> None:
    register_queues(client, "default")
    resume = StreamPosition((2**40, 0), 1_000)
    written = add(client, 3)
    assert ids(poll(CompletionStream(resume=resume), client)) == written


def test_a_recreated_stream_is_read_from_its_start(client: redis.Redis) -> None:
    register_queues(client, "default")
    add(client, 2)
    reader = CompletionStream()
    poll(reader, client)
    client.delete(DEFAULT_KEYS.completions)
    values = completions.entry(
        "again", "default", "finished", function="f", exception=None,
        enqueued_at=None, started_at=None, ended_at=None, worker="w",
    )  # fmt: skip
    client.xadd(DEFAULT_KEYS.completions, values, id="5-0")  # type: ignore[arg-type]
    reading = poll(reader, client)
    assert ids(reading) == ["again"] and reading.completions[0].ended_at == 0.005


def raw(*values: Any) -> dict[str, str]:
    return {completions.ENTRY_FIELD: json.dumps(list(values))}


ODD_ENTRIES: list[dict[Any, Any]] = [
    raw("a", "default", None, "exploded", None, 1, 2, 3, "w"),
    raw(None, "default", None, "finished", None, 1, 2, 3, "w"),
    raw("b", "nowhere", None, "finished", None, 1, 2, 3, "w"),
    raw("c" * 10_000, "default", None, "finished", None, 1, 2, 3, "w"),
    raw(["job"], "default", None, "finished", None, 1, 2, 3, "w"),
    raw("too", "short"),
    {completions.ENTRY_FIELD: "[" * 5_000},
    {completions.ENTRY_FIELD: b"\xff\xfe"},
    {completions.ENTRY_FIELD: '{"job": "x"}'},
    {completions.ENTRY_FIELD: "[" * 100_000},
    {"job": "d", "queue": "default", "outcome": "finished"},
    {
        completions.ENTRY_FIELD: raw("e", "default", None, "finished", None, 1, 2, 3, "w")[
            completions.ENTRY_FIELD
        ],
        "extra": "field",
    },
]


def test_odd_entries_are_skipped_and_counted(client: redis.Redis) -> None:
    register_queues(client, "default")
    reader = CompletionStream()
    poll(reader, client)
    for fields in ODD_ENTRIES:
        client.xadd(DEFAULT_KEYS.completions, fields)
    odd_values = ("d", "default", "f" * 500, "failed", "Bad\nName", True, 9 * 10**40, "x", "w")
    client.xadd(DEFAULT_KEYS.completions, raw(*odd_values))  # type: ignore[arg-type]
    good = add(client)
    reading = poll(reader, client)
    assert reading.skipped == len(ODD_ENTRIES)
    odd, fine = reading.completions
    assert (odd.id, odd.function, odd.exception, odd.started_at) == ("d", None, None, None)
    assert odd.enqueued_at is None and odd.ended_at > 1e9
    assert fine.id == good[0]


def test_a_key_of_another_type_is_no_stream(client: redis.Redis) -> None:
    register_queues(client, "default")
    client.set(DEFAULT_KEYS.completions, "not a stream")
    reader = CompletionStream()
    assert poll(reader, client) == ABSENT
    assert poll(reader, client) == ABSENT


def register_worker(client: redis.Redis, cls: type[Worker], name: str, queue: str) -> None:
    worker = cls([queue], connection=client, name=name)
    worker.register_birth()
    worker.set_state("idle")


def test_queues_with_a_plain_worker_stay_with_the_registries(client: redis.Redis) -> None:
    register_queues(client, "exact", "mixed", "plain")
    register_worker(client, ExactWorker, "e1", "exact")
    register_worker(client, ExactWorker, "e2", "mixed")
    register_worker(client, Worker, "p1", "mixed")
    register_worker(client, Worker, "p2", "plain")
    reader = CompletionStream()
    add(client, queue="exact")
    poll(reader, client)
    written = add(client, queue="exact") + add(client, queue="mixed")
    reading = poll(reader, client)
    assert reading.exact_queues == {"exact"}
    assert ids(reading) == written[:1]


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    return RoundTrips(monkeypatch)


def test_one_round_trip_per_poll_whatever_the_workers(
    client: redis.Redis, round_trips: RoundTrips
) -> None:
    register_queues(client, *(f"q{i}" for i in range(50)))
    for i in range(50):
        register_worker(client, ExactWorker, f"w{i}", f"q{i}")
    add(client, queue="q1")
    reader = CompletionStream()
    snapshot = read_snapshot(client)
    reader.poll(client, snapshot)
    add(client, 20, queue="q2")
    hgets = hget_calls(client)
    before = round_trips.count
    reading = reader.poll(client, snapshot)
    assert round_trips.count - before == 1
    assert hget_calls(client) == hgets, "each worker's mark is read once"
    assert len(reading.completions) == 20 and len(reading.exact_queues) == 50


def hget_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_hget", {}).get("calls", 0))
