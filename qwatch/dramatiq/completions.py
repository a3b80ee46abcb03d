"""Exact mode for Dramatiq: outcomes read from the stream `qwatch.dramatiq.Middleware` writes.

The entry format and the reading cursor are every system's
(`qwatch.wire.completions`); what is Dramatiq's is which queues the stream
counts, and which queues there are: Dramatiq's keys of a queue that empties
fast exist only for moments, so a discovery may never see it, and the queues
the stream names are queues too (at most `STREAM_QUEUES_LIMIT` of them).
A queue is counted exactly once the stream has named it, and while every
live broker that held its messages (its acks sets, found at discovery) at
this poll and the previous one has its id in the middleware's hash of
marks: a queue that only plain workers take is never claimed exact because
no plain worker happened to hold its messages at a discovery. The marks of brokers not
seen before are read with the poll's page, in one HMGET, so a poll stays one
round trip. Without the middleware nothing finished is seen at all: Redis
keeps no trace of an acked message.
"""

from __future__ import annotations

import redis

from qwatch.dramatiq.broker import DEAD
from qwatch.dramatiq.layout import DramatiqLayout
from qwatch.model import ABSENT, DRAMATIQ, Snapshot, StreamPosition, StreamReading
from qwatch.wire.batch import Command
from qwatch.wire.completions import FORMAT, Marks, NamingStream
from qwatch.wire.replies import as_list, as_strict_text


class DramatiqStream(NamingStream):
    """Reads Dramatiq's completions stream from where its last poll stopped; not thread-safe."""

    def __init__(self, layout: DramatiqLayout, resume: StreamPosition | None = None) -> None:
        super().__init__(layout.completions_key, DRAMATIQ, resume)
        self.layout = layout
        self._marks: Marks[str] = Marks()

    def poll(self, client: redis.Redis, snapshot: Snapshot) -> StreamReading:
        """New entries since the last poll, of the Dramatiq queues in `snapshot`."""
        listeners = {w.name: w.queues for w in snapshot.workers if w.state != DEAD}
        unknown = self._marks.unknown(list(listeners))
        asks: list[Command] = [("HMGET", self.layout.marks_key, *unknown)] if unknown else []
        queues = {queue.name for queue in snapshot.queues}
        polled = self._poll(client, queues, asks)
        if not polled.present:
            self._marks.forget()
            return ABSENT
        answers = as_list(polled.answers[0]) if unknown else []
        marked = [as_strict_text(answer) == FORMAT for answer in answers]
        marked += [False] * (len(unknown) - len(marked))
        exact = self._marks.exact(queues | self.queues, listeners, unknown, marked)
        return polled.reading(exact & self.named)
