"""Random and malformed RQ state, written into the real Redis, read through every read path.

For each state: the snapshot and its JSON, the failed list, every job it
names, a search, the completion tracker, one `/metrics` reading through the exporter's
collector and one `qwatch top` poll (each after a first reading of the empty
Redis, as a running exporter or `top` meets data that appears), the rows
built from the poll, the reports
and the inspector, all rendered. Nothing may escape, no record may need the
safety net of an unexpected exception (that would hide a bug behind a
skipped row), every field stays bounded, every path keeps to its round
trips, Redis runs a bounded number of commands, the decoder keeps to its
steps, `qwatch_up` stays 1, and the canary file that the pickles' payloads
would create never appears.

`make test` runs 2,000 states; `HYPOTHESIS_PROFILE=large make test` runs 20,000.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
import redis
from hypothesis import given, settings
from rich.console import Console, RenderableType

from harness.redis_server import RedisServer
from qwatch.cli.report import search_report
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.exporter.exposition import TextFormat
from qwatch.exporter.metrics import UP
from qwatch.limits import NAME_LIMIT, SEARCH_BATCH
from qwatch.model import RQ, SearchRequest
from qwatch.pickle import decode
from qwatch.rq.completions import CompletionTracker
from qwatch.rq.jobs import read_failed, read_job
from qwatch.rq.reader import read_snapshot
from qwatch.tui import rows
from qwatch.tui.feed import Feed
from qwatch.tui.inspector import Inspector
from qwatch.watch import Watch
from qwatch.wire import batch
from qwatch.wire.connection import Target, connect
from tests.properties.hostile_rq import CANARY, State, rq_states

T = TypeVar("T")
SEARCH = SearchRequest("e", budget=2 * SEARCH_BATCH)
"""A search that matches much of what a state holds, within two batches: the queues' names,
their lengths, then two round trips a batch."""

FIELD_LIMIT = 21_000
"""Characters of any one field a read path returns: the longest is a traceback cut to 20,000."""
RENDERED_PER_RECORD = 200_000
"""Characters of rendered reports per record in the state (a long cell folds into many lines)."""
COMMANDS_PER_RECORD = 150
TRACKER_POLL = 7
"""The completion tracker's most round trips in one poll, a ttl discovery included."""
ROUND_TRIPS = {
    "snapshot": 3,
    "failed": 3,
    "job": 2,
    "tracker": 2 * TRACKER_POLL,
    "scrape": 3 + 2 + 2,
    "top poll": 3 + 2 + 3 + 2,
    "search": 2 + 2 * 2,
}
"""The most round trips each read path may take, whatever the state."""


class Reads:
    """The read paths over one Redis, counting round trips and collecting log lines."""

    def __init__(self, server: RedisServer, limits: dict[str, int]) -> None:
        self.limits = limits
        self.target = Target(url=server.url, timeout=30.0)
        self.client = connect(self.target)
        self.round_trips = 0
        self.lines: list[str] = []

    def counted(self, path: str, read: Callable[[], T]) -> T:
        before = self.round_trips
        result = read()
        taken = self.round_trips - before
        assert taken <= self.limits[path], f"{path} took {taken} round trips"
        return result


class Lines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def counting_reads(server: RedisServer, limits: dict[str, int]) -> Iterator[Reads]:
    """A client to `server` whose round trips are counted against `limits`, with the warnings
    qwatch logs meanwhile; the canary removed first."""
    if server.process is None:
        server.start()
    found = Reads(server, limits)
    send = batch._send

    def counting(conn: Any, commands: Any) -> Any:
        found.round_trips += 1
        return send(conn, commands)

    handler = Lines(found.lines)
    logging.getLogger("qwatch").addHandler(handler)
    patch = pytest.MonkeyPatch()
    patch.setattr(batch, "_send", counting)
    CANARY.unlink(missing_ok=True)
    try:
        yield found
    finally:
        patch.undo()
        logging.getLogger("qwatch").removeHandler(handler)
        found.client.close()


@pytest.fixture(scope="module")
def reads(redis_server: RedisServer) -> Iterator[Reads]:
    with counting_reads(redis_server, ROUND_TRIPS) as found:
        yield found


def rendered(*renderables: RenderableType) -> int:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    for renderable in renderables:
        console.print(renderable)
    return len(console.file.getvalue())  # type: ignore[attr-defined]


def strings(value: Any) -> Iterator[str]:
    """Every string in a nest of dicts, lists, tuples and dataclasses."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield from strings(dataclasses.asdict(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def scraped_up(client: redis.Redis, watch: Watch) -> None:
    """One /metrics reading through `watch`, written out: Redis counted up, nothing raised."""
    source = RedisSource("fuzz", client, watch=watch)
    try:
        reading = QwatchCollector([source], timeout=30).read()
    finally:
        source.close()
    assert [value for series, found in reading if series == UP for _, value in found] == [1.0]
    TextFormat().render(reading)


def shown_safely(reads: Reads, outputs: list[Any], *renderables: RenderableType) -> None:
    """Every report rendered, no record needed the safety net, every field bounded, and the
    canary a pickle would create is not there."""
    rendered(*renderables)
    assert not [line for line in reads.lines if "unexpected" in line]
    assert max((len(text) for text in strings(outputs)), default=0) <= FIELD_LIMIT
    assert not CANARY.exists()


class Running:
    """An exporter's source and a `top` feed that read the empty Redis before the state came:
    long-running readers, whose stream cursors are set. Their completion trackers run in
    threads of their own, not started here: the `tracker` path reads as they do."""

    def __init__(self, reads: Reads) -> None:
        self.source = RedisSource("fuzz", connect(reads.target))
        self.collector = QwatchCollector([self.source], timeout=30)
        self.feed = Feed(reads.target, reads.client)
        self.collector.read()
        self.feed.poll(True)


def read_everything(reads: Reads, state: State, running: Running) -> tuple[list[Any], int]:
    """Every read path once; what they returned, and how many characters the reports took."""
    client = reads.client
    snapshot = reads.counted("snapshot", lambda: read_snapshot(client))
    json.dumps(snapshot.to_dict(), allow_nan=False)
    failed = reads.counted("failed", lambda: read_failed(client, limit=20))
    shown: list[RenderableType] = []
    jobs = []
    for job_id in state.job_ids[:4]:
        name = job_id.decode("utf-8", "replace")[:NAME_LIMIT]  # what a person types
        job = reads.counted("job", lambda name=name: read_job(client, name))  # type: ignore[misc]
        if job is not None:
            jobs.append(job)
            shown.append(Inspector(job, read_only=False)._fields())

    def track() -> list[Any]:
        tracker = CompletionTracker()
        tracker.poll(client, snapshot.taken_at - 10)
        return list(tracker.poll(client, snapshot.taken_at))

    completions = reads.counted("tracker", track)
    try:
        reading = reads.counted("scrape", running.collector.read)
    finally:
        running.source.close()
    assert [value for series, found in reading if series == UP for _, value in found] == [1.0]
    exposition = TextFormat().render(reading).decode()

    update = reads.counted("top poll", lambda: running.feed.poll(True))
    cells = [
        build(update)
        for build in (rows.queue_rows, rows.worker_rows, rows.host_rows, rows.failed_rows)
    ] + [rows.function_rows(update)]
    table_text = [str(cell) for found in cells for row in found.values() for cell in row]
    searched = reads.counted("search", lambda: Watch(client, RQ).searched(SEARCH))
    shown.append(search_report(searched))
    outputs = [snapshot, failed, jobs, completions, update, table_text, searched.hits]
    return outputs, rendered(*shown) + len(exposition)


@pytest.mark.timeout(settings().max_examples)  # a second a state: generous on a busy machine
@given(state=rq_states())
def test_no_state_in_redis_breaks_a_read_path(reads: Reads, state: State) -> None:
    reads.client.flushdb()
    running = Running(reads)
    state.write(reads.client)
    reads.client.config_resetstat()
    reads.lines.clear()

    outputs, characters = read_everything(reads, state, running)

    records = 1 + len(state.commands)
    stats = reads.client.info("commandstats")
    commands = sum(
        found["calls"] for name, found in stats.items() if name != "cmdstat_config|resetstat"
    )
    assert commands <= COMMANDS_PER_RECORD * records
    assert not [line for line in reads.lines if "unexpected" in line]
    longest = max((len(text) for text in strings(outputs)), default=0)
    assert longest <= FIELD_LIMIT
    assert characters <= RENDERED_PER_RECORD * records
    assert decode.work_done().most_steps <= decode.MAX_STEPS
    assert not CANARY.exists()
