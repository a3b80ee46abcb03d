"""What the reader remembers between samples is bounded by what is live, not by history."""

from __future__ import annotations

import redis
from rq import Queue, Worker

from harness import tasks
from harness.workers import mark_busy
from qwatch.rq import reader
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.wire.connection import Target, connect
from qwatch.wire.memory import Remembered
from qwatch.wire.packed import NOW, fill_all, template


def test_workers_and_queues_that_come_and_go_leave_nothing_behind(
    client: redis.Redis, url: str
) -> None:
    watcher = connect(Target(url=url))
    for generation in range(4):
        workers = [
            Worker([f"q{generation}"], connection=client, name=f"gen{generation}-w{n}")
            for n in range(300)
        ]
        for worker in workers:
            worker.register_birth()
        queues = [Queue(f"gen{generation}-q{n}", connection=client) for n in range(50)]
        for queue in queues:
            queue.enqueue(tasks.add, generation, 1)
        snapshot = reader.read_snapshot(watcher)
        assert len(snapshot.workers) == 300 and len(snapshot.queues) == 50
        assert {queue.queued for queue in snapshot.queues} == {1}
        assert len(reader.memory_of(watcher, DEFAULT_KEYS).detailed.packed) == 300
        assert len(reader.memory_of(watcher, DEFAULT_KEYS).detailed_queues.commands) == 50
        assert len(reader.memory_of(watcher, DEFAULT_KEYS).detailed.hashes) == 300
        for worker in workers:
            worker.register_death()
        for queue in queues:
            queue.delete()
    reader.read_snapshot(watcher)
    assert len(reader.memory_of(watcher, DEFAULT_KEYS).detailed.packed) == 0
    assert len(reader.memory_of(watcher, DEFAULT_KEYS).detailed_queues.commands) == 0
    assert len(reader.memory_of(watcher, DEFAULT_KEYS).detailed.hashes) == 0


def test_a_worker_hash_is_parsed_again_when_it_changes(client: redis.Redis, url: str) -> None:
    watcher = connect(Target(url=url))
    worker = Worker(["q"], connection=client, name="w")
    worker.register_birth()
    worker.set_state("idle")
    (before,) = reader.read_snapshot(watcher).workers
    mark_busy(worker, "job-1")
    (after,) = reader.read_snapshot(watcher).workers
    assert (before.state, before.current_job) == ("idle", None)
    assert (after.state, after.current_job) == ("busy", "job-1")


def test_a_template_fills_every_gap() -> None:
    filled = fill_all([template(("ZCOUNT", "k", NOW, "+inf"), ("GET", "é"))], "(1.5")
    assert filled.count == 2
    assert filled.data == b"*4\r\n$6\r\nZCOUNT\r\n$1\r\nk\r\n$4\r\n(1.5\r\n$4\r\n+inf\r\n" + (
        b"*2\r\n$3\r\nGET\r\n$2\r\n\xc3\xa9\r\n"
    )


def test_remembered_values_are_made_once_per_name() -> None:
    made: list[str] = []

    def make(name: str) -> str:
        made.append(name)
        return name.upper()

    remembered = Remembered(make)
    assert remembered.use(["a", "b"]) == ["A", "B"]
    assert remembered.use(["b", "c"]) == ["B", "C"]
    assert made == ["a", "b", "c"] and len(remembered) == 2
