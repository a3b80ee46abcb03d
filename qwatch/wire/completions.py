"""Exact mode's completions stream, whichever system's workers write it: the entry format
both ways, and a reader's cursor.

Each entry is one outcome (finished, failed for good, or retried) that a
worker-side piece of qwatch appended when the job ended: `qwatch.rq.Worker`
for RQ, `qwatch.dramatiq.Middleware` for Dramatiq, each into a stream of its
own system's keys. The sources read their stream with a `StreamCursor` and
decide, each from its own workers' marks, which queues it counts exactly
(`Marks`).

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

Entries are hostile data like any other: a malformed entry, or one naming
a queue the reading does not know, is skipped and counted; names are bounded.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import redis

from qwatch import job_states
from qwatch.limits import EXCEPTION_NAME_LIMIT, STREAM_QUEUES_LIMIT
from qwatch.model import Completion, StreamId, StreamPosition, StreamReading
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_int, as_list, as_pairs, as_strict_text

RETRIED = "retried"
"""The outcome of a failure that will be tried again; finished and failed are `job_states`."""
OUTCOMES = (job_states.FINISHED, job_states.FAILED, RETRIED)
ENTRY_FIELD = "v1"
FIELDS = (
    "job", "queue", "function", "outcome", "exception",
    "enqueued_ms", "started_ms", "ended_ms", "worker",
)  # fmt: skip
"""What the JSON array of an entry holds, in order."""
FORMAT = "1"
"""What a worker that writes the stream says of itself, where its system lets it say so."""
MAX_ENTRY_BYTES = 8_192
"""Room for every name at its longest; a longer entry is skipped unparsed."""
BATCH = 5_000
MAX_BATCHES = 20
MAXLEN_VARIABLE = "QWATCH_STREAM_MAXLEN"
DEFAULT_MAXLEN = 10_000_000
MAX_AGE_VARIABLE = "QWATCH_STREAM_MAX_AGE"
DEFAULT_MAX_AGE = 3 * 3600
"""The writers trim the stream, approximately (whole blocks), to its newest `MAXLEN`
entries and to those of the last `MAX_AGE` seconds."""


def trim_setting(variable: str, default: int) -> int:
    """A positive whole number from the environment; a bad one stops the writer at start."""
    text = os.environ.get(variable)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) <= 0:
        raise ValueError(f"{variable} must be a positive whole number, not {text!r}")
    return int(text)


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


@dataclass(frozen=True, slots=True)
class Polled:
    """One poll of a stream: the completions of known queues, and the answers to the
    source's own commands, sent with the poll's page."""

    present: bool
    completions: list[Completion]
    answers: list[Any]
    lost: int
    skipped: int

    def reading(self, exact: frozenset[str]) -> StreamReading:
        """What the stream counts for the queues it counts exactly."""
        counted = [c for c in self.completions if c.queue in exact]
        return StreamReading(
            present=self.present,
            completions=tuple(c for c in counted if c.outcome != RETRIED),
            retried=tuple(c for c in counted if c.outcome == RETRIED),
            exact_queues=exact,
            lost=self.lost,
            skipped=self.skipped,
        )


class StreamQueues:
    """The queues a stream named beyond those Redis' keys showed: queues too, since a queue
    that empties fast may never be there when discovery looks (at most
    `STREAM_QUEUES_LIMIT`); and every queue it has named, which alone it counts exactly."""

    def __init__(self) -> None:
        self.extra: set[str] = set()
        self.named: set[str] = set()

    def kept(self, polled: Polled, found: Collection[str]) -> Polled:
        """The poll's completions of queues found or named within the limit; the rest are
        skipped, counted."""
        completions = [c for c in polled.completions if self._known(c.queue, found)]
        self.named.update(c.queue for c in completions)
        skipped = polled.skipped + len(polled.completions) - len(completions)
        return replace(polled, completions=completions, skipped=skipped)

    def _known(self, queue: str, found: Collection[str]) -> bool:
        if queue in found or queue in self.extra:
            return True
        if len(self.extra) >= STREAM_QUEUES_LIMIT:
            return False
        self.extra.add(queue)
        return True


class StreamCursor:
    """Reads one completions stream from where its last poll stopped; not thread-safe."""

    def __init__(self, key: str, system: str, resume: StreamPosition | None = None) -> None:
        """`resume`: where a previous reader stopped; without it, the first poll starts at
        the stream's end."""
        self.key = key
        self.system = system
        self._cursor: StreamId | None = None if resume is None else resume.last_id
        self._number = 0 if resume is None else resume.number
        """How many entries had ever been added up to the cursor's."""
        self._present = False

    @property
    def position(self) -> StreamPosition | None:
        """Where the last poll stopped; None before the first."""
        return None if self._cursor is None else StreamPosition(self._cursor, self._number)

    def poll(
        self, client: redis.Redis, queues: Collection[str] | None, asks: list[Command]
    ) -> Polled:
        """New entries since the last poll, of `queues` (None: of any queue), with the answers
        to `asks`: one round trip when the stream was already there. `asks` go unsent while
        the stream is absent.

        A poll that fails (Redis gone between two pages) moves the cursor
        nowhere: the next one reads the same entries again.
        """
        cursor, number, present = self._cursor, self._number, self._present
        try:
            return self._poll(client, queues, asks)
        except BaseException:
            self._cursor, self._number, self._present = cursor, number, present
            raise

    def _poll(
        self, client: redis.Redis, queues: Collection[str] | None, asks: list[Command]
    ) -> Polled:
        ahead = [self._page(), *asks] if self._present else []
        info, *replies = batch.run(client, [("XINFO", "STREAM", self.key), *ahead])
        stream = _StreamInfo.parse(info)
        self._present = stream is not None
        if stream is None:
            self._cursor, self._number = (0, 0), 0
            return Polled(False, [], [], 0, 0)
        if self._cursor is None:
            self._cursor, self._number = stream.last_id, stream.added
        elif stream.last_id < self._cursor:
            self._cursor, self._number = (0, 0), 0
            replies = []
        if not replies:
            replies = batch.run(client, [self._page(), *asks])
        found: list[Completion] = []
        lost = skipped = 0
        page = replies[0]
        for round_number in range(MAX_BATCHES):
            if round_number:
                (page,) = batch.run(client, [self._page()])
            entries = as_list(page)
            for item in entries:
                parsed = _parse_item(item, self.system)
                if parsed is None:
                    skipped += 1
                    continue
                stream_id, completion = parsed
                lost += self._advance(stream_id, stream)
                if completion is None or (queues is not None and completion.queue not in queues):
                    skipped += 1
                else:
                    found.append(completion)
            if len(entries) < BATCH:
                break
        return Polled(True, found, replies[1:], lost, skipped)

    def _page(self) -> Command:
        ms, seq = self._cursor or (0, 0)
        return ("XRANGE", self.key, f"({ms}-{seq}", "+", "COUNT", BATCH)

    def _advance(self, stream_id: StreamId, stream: _StreamInfo) -> int:
        """Move the cursor to an entry just read; the entries skipped over, when that is known."""
        if self._cursor is not None and stream_id <= self._cursor:
            return 0
        self._cursor = stream_id
        known = stream.numbers.get(stream_id)
        expected = self._number + 1
        self._number = known if known is not None else expected
        return max(0, known - expected) if known is not None else 0


class NamingStream:
    """A source's stream whose entries may name queues its discovery did not find: the cursor,
    and those queues (`StreamQueues`); the source decides which queues it counts exactly."""

    def __init__(self, key: str, system: str, resume: StreamPosition | None) -> None:
        self._cursor = StreamCursor(key, system, resume)
        self._queues = StreamQueues()

    @property
    def position(self) -> StreamPosition | None:
        """Where the last poll stopped; None before the first."""
        return self._cursor.position

    @property
    def queues(self) -> set[str]:
        """The queues the stream named that Redis' keys did not show, when it named them."""
        return self._queues.extra

    @property
    def named(self) -> set[str]:
        """Every queue the stream has named: only these may be counted exactly."""
        return self._queues.named

    def _poll(self, client: redis.Redis, found: Collection[str], asks: list[Command]) -> Polled:
        """The cursor's poll, its completions those of queues found or named (`kept`)."""
        polled = self._cursor.poll(client, None, asks)
        return self._queues.kept(polled, found) if polled.present else polled


K = TypeVar("K", bound=Hashable)


class Marks(Generic[K]):
    """Which workers write the stream, asked once each, and so which queues it counts.

    A queue is counted from the stream when every worker that listened to it
    at this poll or the previous one writes it; the others stay with what
    Redis alone shows, so a fleet that mixes workers is counted right.
    """

    def __init__(self) -> None:
        self._known: dict[K, bool] = {}
        self._unmarked: set[str] = set()
        """The queues of the workers that did not write the stream, at the last poll."""

    def unknown(self, workers: Sequence[K]) -> list[K]:
        """The workers not asked about yet, whose marks the next poll should read."""
        return [worker for worker in workers if worker not in self._known]

    def exact(
        self,
        queues: Collection[str],
        listeners: Mapping[K, Sequence[str]],
        asked: Sequence[K],
        marked: Sequence[bool],
    ) -> frozenset[str]:
        """The queues whose listeners, now and at the last poll, all write the stream;
        `marked` answers for each of `asked`."""
        self._known.update(zip(asked, marked))
        self._known = {worker: mark for worker, mark in self._known.items() if worker in listeners}
        unmarked = {
            queue
            for worker, listened in listeners.items()
            if not self._known.get(worker, False)
            for queue in listened
        }
        exact = frozenset(queues) - unmarked - self._unmarked
        self._unmarked = unmarked
        return exact

    def forget(self) -> None:
        """Start again: the stream is gone, and with it what the marks meant."""
        self._known, self._unmarked = {}, set()


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


def _parse_item(item: Any, system: str) -> tuple[StreamId, Completion | None] | None:
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
    return stream_id, _completion(values, stream_id, system)


def _completion(values: list[Any], stream_id: StreamId, system: str) -> Completion | None:
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
        system=system,
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
