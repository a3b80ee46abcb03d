"""Exact mode: job outcomes read from the stream that `qwatch.rq.Worker` appends to.

Each entry is one outcome (finished, failed for good, or retried), written
in the transaction in which RQ records it, so every job is there whatever
its `result_ttl`, 0 included. This module owns the entry format, both
ways: `entry` for the worker, `CompletionStream` for the readers.

**Format.** An entry has one field, `v1`, holding a JSON array of `FIELDS`
(times as whole milliseconds since the epoch, null when unknown). One field
rather than nine: Redis writes and qwatch parses 4 reply elements per entry
instead of 20, which measured three to four times less Redis time per
XRANGE and three times less reading, for 8% more memory.

**Cursor.** The reader remembers the id of the last entry it read and reads
on from there with XRANGE, at most `BATCH` entries per round trip and
`MAX_BATCHES` round trips per poll; a flood is read over several polls.
At its first poll the reader starts at the stream's end: a counter starts
at 0 when qwatch starts, and counting the history too would count again
jobs the previous process had already counted (Prometheus adds a reset
counter's new value to the old one). Given the position a previous
process stopped at (`resume`, kept by `qwatch serve --state-file` together
with the totals it had counted up to there), it reads on from there
instead. A stream that appears later, or is recreated (its last id below
the cursor), is read from its start: all of it was written since the last
poll. A poll that fails midway leaves the cursor where it was.

**Lost entries.** Workers trim the stream to its newest entries. The
reader counts, on Redis 7, how many entries were added after the cursor
and trimmed before it read them: XINFO STREAM gives `entries-added` (the
number of entries ever added), the length, and the first and last
entries, so the first entry is the `added - length + 1`-th ever added and
the last the `added`-th. The reader keeps the number of the entry at its
cursor; whenever it reads one of those two entries, the gap between the
numbers is what it lost. It never counts an entry twice, and the losses
are exact whenever it reaches the end of the stream (normally every poll).

**Which queues.** A queue is counted from the stream when every worker
that listened to it at this poll or the previous one is a
`qwatch.rq.Worker` (it says so in its hash, field `WORKER_MARK`); other
queues stay with the registries, so a fleet that mixes worker classes is
counted right. The marks are read only while the stream exists, and once
per worker (by name and birth): a poll reads only those of new workers.

Entries are hostile data like any other: a malformed entry, or one naming
a queue not in `rq:queues`, is skipped and counted; names are bounded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from qwatch import job_states
from qwatch.limits import EXCEPTION_NAME_LIMIT
from qwatch.model import (
    RQ,
    Completion,
    Snapshot,
    StreamId,
    StreamPosition,
    StreamReading,
    WorkerStats,
)
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_int, as_list, as_pairs, as_strict_text

RETRIED = "retried"
"""The outcome of a failure RQ will try again; finished and failed are `qwatch.job_states`."""
OUTCOMES = (job_states.FINISHED, job_states.FAILED, RETRIED)
ENTRY_FIELD = "v1"
FIELDS = (
    "job", "queue", "function", "outcome", "exception",
    "enqueued_ms", "started_ms", "ended_ms", "worker",
)  # fmt: skip
"""What the JSON array of an entry holds, in order."""
WORKER_MARK = "qwatch_stream"
"""The field a `qwatch.rq.Worker` adds to its RQ hash; its value is `FORMAT`."""
FORMAT = "1"
MAX_ENTRY_BYTES = 8_192
"""Room for every name at its longest; a longer entry is skipped unparsed."""
BATCH = 5_000
MAX_BATCHES = 20


def entry(
    job: str,
    queue: str,
    outcome: str,
    *,
    function: str | None,
    exception: str | None,
    enqueued_at: float | None,
    started_at: float | None,
    ended_at: float | None,
    worker: str,
) -> dict[str, str]:
    """One stream entry; times in seconds since the epoch, written as whole milliseconds."""
    times = [_millis(moment) for moment in (enqueued_at, started_at, ended_at)]
    names = [_bounded(name) for name in (function, exception, worker)]
    values = [job, queue, names[0], outcome, names[1], *times, names[2]]
    return {ENTRY_FIELD: json.dumps(values, ensure_ascii=False, separators=(",", ":"))}


def _millis(moment: float | None) -> int | None:
    return None if moment is None or not math.isfinite(moment) else round(moment * 1000)


def _bounded(name: str | None) -> str | None:
    return None if name is None else name[:EXCEPTION_NAME_LIMIT]


ABSENT = StreamReading(False, (), (), frozenset(), 0, 0)


class CompletionStream:
    """Reads the completions stream from where its last poll stopped; not thread-safe."""

    def __init__(self, resume: StreamPosition | None = None, keys: RQKeys = DEFAULT_KEYS) -> None:
        """`resume`: where a previous reader stopped; without it, the first poll starts at
        the stream's end."""
        self.keys = keys
        self._cursor: StreamId | None = None if resume is None else resume.last_id
        self._number = 0 if resume is None else resume.number
        """How many entries had ever been added up to the cursor's."""
        self._present = False
        self._listeners: dict[str, tuple[str, ...]] = {}
        self._marked: set[str] = set()
        self._marks: dict[tuple[str, float | None], bool] = {}
        """Whether each worker, by name and birth, is a `qwatch.rq.Worker`: read once."""

    @property
    def position(self) -> StreamPosition | None:
        """Where the last poll stopped; None before the first."""
        return None if self._cursor is None else StreamPosition(self._cursor, self._number)

    def poll(self, client: redis.Redis, snapshot: Snapshot) -> StreamReading:
        """New entries since the last poll, in one round trip when the stream was already there.

        A poll that fails (Redis gone between two pages) moves the cursor
        nowhere: the next one reads the same entries again.
        """
        cursor, number, present = self._cursor, self._number, self._present
        try:
            return self._poll(client, snapshot)
        except BaseException:
            self._cursor, self._number, self._present = cursor, number, present
            raise

    def _poll(self, client: redis.Redis, snapshot: Snapshot) -> StreamReading:
        was_present = self._present
        unknown = [w for w in snapshot.workers if (w.name, w.birth) not in self._marks]
        first: list[Command] = [("XINFO", "STREAM", self.keys.completions)]
        ahead = self._commands(unknown) if was_present else []
        info, *replies = batch.run(client, first + ahead)
        stream = _StreamInfo.parse(info)
        self._present = stream is not None
        if stream is None:
            self._cursor, self._number = (0, 0), 0
            self._listeners, self._marked, self._marks = {}, set(), {}
            return ABSENT
        if self._cursor is None:
            self._cursor, self._number = stream.last_id, stream.added
        elif stream.last_id < self._cursor:
            self._cursor, self._number = (0, 0), 0
            replies = []
        if not replies:
            replies = batch.run(client, self._commands(unknown))
        exact = self._exact_queues(snapshot, unknown, replies[1:])
        found: list[Completion] = []
        lost = skipped = 0
        page, queues = replies[0], {queue.name for queue in snapshot.queues}
        for round_number in range(MAX_BATCHES):
            if round_number:
                (page,) = batch.run(client, [self._page()])
            entries = as_list(page)
            for item in entries:
                parsed = _parse_item(item)
                if parsed is None:
                    skipped += 1
                    continue
                stream_id, completion = parsed
                lost += self._advance(stream_id, stream)
                if completion is None or completion.queue not in queues:
                    skipped += 1
                elif completion.queue in exact:
                    found.append(completion)
            if len(entries) < BATCH:
                break
        return StreamReading(
            present=True,
            completions=tuple(c for c in found if c.outcome != RETRIED),
            retried=tuple(c for c in found if c.outcome == RETRIED),
            exact_queues=exact,
            lost=lost,
            skipped=skipped,
        )

    def _commands(self, unknown: Sequence[WorkerStats]) -> list[Command]:
        """The next page, and the marks of workers not seen before."""
        marks = [("HGET", self.keys.worker_key(worker.name), WORKER_MARK) for worker in unknown]
        return [self._page(), *marks]

    def _page(self) -> Command:
        ms, seq = self._cursor or (0, 0)
        return ("XRANGE", self.keys.completions, f"({ms}-{seq}", "+", "COUNT", BATCH)

    def _advance(self, stream_id: StreamId, stream: _StreamInfo) -> int:
        """Move the cursor to an entry just read; the entries skipped over, when that is known."""
        if self._cursor is not None and stream_id <= self._cursor:
            return 0
        self._cursor = stream_id
        known = stream.numbers.get(stream_id)
        expected = self._number + 1
        self._number = known if known is not None else expected
        return max(0, known - expected) if known is not None else 0

    def _exact_queues(
        self, snapshot: Snapshot, unknown: Sequence[WorkerStats], marks: list[Any]
    ) -> frozenset[str]:
        """Queues whose listeners, now and at the last poll, all write the stream."""
        for worker, mark in zip(unknown, marks):
            self._marks[(worker.name, worker.birth)] = as_strict_text(mark) == FORMAT
        current = {(worker.name, worker.birth) for worker in snapshot.workers}
        self._marks = {key: is_marked for key, is_marked in self._marks.items() if key in current}
        marked = {name for (name, _birth), is_marked in self._marks.items() if is_marked}
        listeners = {worker.name: worker.queues for worker in snapshot.workers}
        unmarked = _queues_of_unmarked(listeners, marked)
        unmarked |= _queues_of_unmarked(self._listeners, self._marked)
        self._listeners, self._marked = listeners, marked
        return frozenset(queue.name for queue in snapshot.queues) - unmarked


def _queues_of_unmarked(listeners: dict[str, tuple[str, ...]], marked: set[str]) -> set[str]:
    return {queue for name, queues in listeners.items() if name not in marked for queue in queues}


@dataclass(frozen=True, slots=True)
class _StreamInfo:
    """What XINFO STREAM says: the last id, and the numbers of the first and last entries."""

    last_id: StreamId
    added: int
    numbers: dict[StreamId, int]

    @classmethod
    def parse(cls, reply: Any) -> _StreamInfo | None:
        """None for a missing key, another type, or a refused command."""
        fields = {as_strict_text(name): value for name, value in as_pairs(reply)}
        last_id = _stream_id(fields.get("last-generated-id"))
        if last_id is None:
            return None
        added = fields.get("entries-added")
        if not isinstance(added, int):
            return cls(last_id, 0, {})
        length = as_int(fields.get("length"))
        numbers = {}
        for name, number in (("first-entry", added - length + 1), ("last-entry", added)):
            found = _stream_id(_first(fields.get(name)))
            if found is not None:
                numbers[found] = number
        return cls(last_id, added, numbers)


def _first(reply: Any) -> Any:
    items = as_list(reply)
    return items[0] if items else None


def _stream_id(reply: Any) -> StreamId | None:
    if not isinstance(reply, bytes) or len(reply) > 41:
        return None
    ms, sep, seq = reply.partition(b"-")
    if not (sep and ms.isdigit() and seq.isdigit()):
        return None
    return int(ms), int(seq)


_ENTRY_FIELD = ENTRY_FIELD.encode()


def _parse_item(item: Any) -> tuple[StreamId, Completion | None] | None:
    """An XRANGE item as its id and completion; None for the completion of a malformed entry."""
    parts = as_list(item)
    stream_id = _stream_id(parts[0]) if len(parts) == 2 else None
    if stream_id is None:
        return None
    fields = as_list(parts[1])
    value = fields[1] if len(fields) == 2 and fields[0] == _ENTRY_FIELD else None
    if not isinstance(value, bytes) or len(value) > MAX_ENTRY_BYTES:
        return stream_id, None
    try:
        values = json.loads(value)
    except (ValueError, RecursionError):
        return stream_id, None
    if not isinstance(values, list) or len(values) != len(FIELDS):
        return stream_id, None
    return stream_id, _completion(values, stream_id)


def _completion(values: list[Any], stream_id: StreamId) -> Completion | None:
    job, queue, function, outcome, exception, enqueued, started, ended, _worker = values
    job_id, queue_name = _name(job), _name(queue)
    if job_id is None or queue_name is None or outcome not in OUTCOMES:
        return None
    ended_at = _seconds(ended)
    return Completion(
        id=job_id,
        queue=queue_name,
        outcome=outcome,
        function=_name(function),
        exception=_name(exception) if outcome != job_states.FINISHED else None,
        enqueued_at=_seconds(enqueued),
        started_at=_seconds(started),
        ended_at=ended_at if ended_at is not None else stream_id[0] / 1000,
        system=RQ,
    )


def _seconds(millis: Any) -> float | None:
    """Whole milliseconds since the epoch, from 1970 to 5138, as seconds."""
    if type(millis) is not int or not 0 <= millis < 10**14:
        return None
    return millis / 1000


def _name(value: Any) -> str | None:
    """A printable name of at most `EXCEPTION_NAME_LIMIT` characters, else None."""
    if not isinstance(value, str) or not value or len(value) > EXCEPTION_NAME_LIMIT:
        return None
    return value if value.isprintable() else None
