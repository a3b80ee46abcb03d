"""Exact mode for RQ: job outcomes read from the stream that `qwatch.rq.Worker` appends to.

Each entry is one outcome (finished, failed for good, or retried), written
in the transaction in which RQ records it, so every job is there whatever
its `result_ttl`, 0 included. The entry format and the reading cursor are
every system's (`qwatch.wire.completions`); what is RQ's is which queues the
stream counts.

**Which queues.** A queue is counted from the stream when every worker
that listened to it at this poll or the previous one is a
`qwatch.rq.Worker` (it says so in its hash, field `WORKER_MARK`); other
queues stay with the registries, so a fleet that mixes worker classes is
counted right. The marks are read only while the stream exists, and once
per worker (by name and birth): a poll reads only those of new workers.
"""

from __future__ import annotations

import redis

from qwatch.model import ABSENT, RQ, Snapshot, StreamPosition, StreamReading
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys
from qwatch.wire.batch import Command
from qwatch.wire.completions import FORMAT, Marks, StreamCursor
from qwatch.wire.replies import as_strict_text

WORKER_MARK = "qwatch_stream"
"""The field a `qwatch.rq.Worker` adds to its RQ hash; its value is `completions.FORMAT`."""

WorkerKey = tuple[str, float | None]
"""A worker by name and birth: a restarted worker of the same name is asked again."""


class CompletionStream:
    """Reads RQ's completions stream from where its last poll stopped; not thread-safe."""

    def __init__(self, resume: StreamPosition | None = None, keys: RQKeys = DEFAULT_KEYS) -> None:
        """`resume`: where a previous reader stopped; without it, the first poll starts at
        the stream's end."""
        self.keys = keys
        self._cursor = StreamCursor(keys.completions, RQ, resume)
        self._marks: Marks[WorkerKey] = Marks()

    @property
    def position(self) -> StreamPosition | None:
        """Where the last poll stopped; None before the first."""
        return self._cursor.position

    def poll(self, client: redis.Redis, snapshot: Snapshot) -> StreamReading:
        """New entries since the last poll, in one round trip when the stream was already
        there; a poll that fails moves the cursor nowhere."""
        listeners = {(w.name, w.birth): w.queues for w in snapshot.workers}
        unknown = self._marks.unknown(list(listeners))
        asks: list[Command] = [
            ("HGET", self.keys.worker_key(name), WORKER_MARK) for name, _birth in unknown
        ]
        queues = {queue.name for queue in snapshot.queues}
        polled = self._cursor.poll(client, queues, asks)
        if not polled.present:
            self._marks.forget()
            return ABSENT
        marked = [as_strict_text(answer) == FORMAT for answer in polled.answers]
        return polled.reading(self._marks.exact(queues, listeners, unknown, marked))
