"""Exact mode for arq: outcomes read from the stream `qwatch.arq.exact`'s hooks write.

The entry format and the reading cursor are every system's
(`qwatch.wire.completions`); what is arq's is which queues the stream counts.
arq gives its workers no names, so qwatch cannot tell a worker with the
hooks from one without: a queue is counted exactly once the stream has
named it, and the docs ask every worker of a queue to run the hooks. A
queue the stream names is a queue to read too, though no health check named
it (at most `STREAM_QUEUES_LIMIT` of them).
"""

from __future__ import annotations

import redis

from qwatch.arq.layout import COMPLETIONS
from qwatch.model import ABSENT, ARQ, Snapshot, StreamPosition, StreamReading
from qwatch.wire.completions import NamingStream


class ArqStream(NamingStream):
    """Reads arq's completions stream from where its last poll stopped; not thread-safe."""

    def __init__(self, resume: StreamPosition | None = None) -> None:
        super().__init__(COMPLETIONS, ARQ, resume)

    def poll(self, client: redis.Redis, snapshot: Snapshot) -> StreamReading:
        """New entries since the last poll, of the arq queues in `snapshot` or named before."""
        found = {queue.name for queue in snapshot.queues}
        polled = self._poll(client, found, [])
        if not polled.present:
            return ABSENT
        return polled.reading(frozenset(self.named & (found | self.queues)))
