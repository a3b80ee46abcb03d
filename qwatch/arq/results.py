"""The outcomes arq keeps, counted per queue: found at discovery's pace, each read once.

arq keeps a job's outcome as `arq:result:<id>` for `keep_result` seconds
(an hour by default), in no index, so one bounded SCAN (`wire.scan`) finds
them when queues are discovered, never per sample. A result read once is
remembered, not read again, and forgotten once Redis has let it expire; at
most `READ_LIMIT` new ones are read a discovery, two round trips a thousand,
and at most `KEPT_LIMIT` are remembered. The counts and the newest-first
order are made once a discovery, not at every reading.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import redis

from qwatch.arq.layout import RESULT_PREFIX, ArqLayout
from qwatch.arq.records import result_record
from qwatch.model import ARQ, FailedJob
from qwatch.text.formatting import byte_size, plural
from qwatch.wire import batch
from qwatch.wire.replies import as_int, as_name
from qwatch.wire.scan import glob_escaped, scanned

READ_LIMIT = 10_000
"""New results read at most by one discovery."""
KEPT_LIMIT = 100_000
"""Results remembered at most (about 20 MB)."""
RESULT_BYTES = 256 << 10
"""Largest result read; a larger one is counted as unread."""
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class KeptResult:
    """What the failed list and the counts need of one result."""

    id: str
    queue: str | None
    function: str
    success: bool | None
    exception: str | None
    finished_at: float | None


class ArqResults:
    """The results found so far; `refresh` at each discovery."""

    def __init__(self) -> None:
        self._kept: dict[str, KeptResult] = {}
        self._newest: list[KeptResult] = []
        """The results read, newest first: sorted once a discovery, not at every reading."""
        self.counts: dict[str, tuple[int, int]] = {}
        """(finished, failed) per queue, among the results read."""
        self.unread = 0
        """Results kept in Redis at the last discovery that were not read, so not counted."""

    def refresh(self, client: redis.Redis, layout: ArqLayout) -> None:
        ids = [
            name[len(RESULT_PREFIX) :]
            for key in scanned(client, glob_escaped(RESULT_PREFIX) + "*")
            if (name := as_name(key)) and name.startswith(RESULT_PREFIX)
        ]
        present = set(ids)
        self._kept = {i: kept for i, kept in self._kept.items() if i in present}
        room = min(READ_LIMIT, KEPT_LIMIT - len(self._kept))
        new = [i for i in ids if i not in self._kept][: max(0, room)]
        for start in range(0, len(new), _BATCH):
            self._read(client, layout, new[start : start + _BATCH])
        self._newest = sorted(
            self._kept.values(), key=lambda kept: kept.finished_at or 0.0, reverse=True
        )
        outcomes = Counter((kept.queue, kept.success) for kept in self._newest)
        queues = {queue for queue, _s in outcomes if queue is not None}
        self.counts = {q: (outcomes[(q, True)], outcomes[(q, False)]) for q in queues}
        self.unread = len(present) - len(self._kept)

    def _read(self, client: redis.Redis, layout: ArqLayout, ids: Sequence[str]) -> None:
        sizes = batch.run(client, [("STRLEN", layout.result_key(i)) for i in ids])
        small = [i for i, size in zip(ids, sizes) if 0 < as_int(size) <= RESULT_BYTES]
        for job_id, data in zip(
            small, batch.run(client, [("GET", layout.result_key(i)) for i in small])
        ):
            if isinstance(data, bytes):
                record = result_record(data)
                self._kept[job_id] = KeptResult(
                    job_id, record.queue, record.function, record.success, record.exception,
                    record.finished_at,
                )  # fmt: skip

    def unread_note(self) -> str | None:
        """What the counts leave out, said rather than shown as fewer jobs ended."""
        if not self.unread:
            return None
        return (
            f"arq: {plural(self.unread, 'result')} kept not read (over {READ_LIMIT:,} new a"
            f" discovery, {KEPT_LIMIT:,} in all, or over {byte_size(RESULT_BYTES)} each):"
            " finished and failed count the others"
        )

    def ended(self, queue: str, success: bool) -> list[KeptResult]:
        """The queue's results read with this outcome, newest first."""
        return [k for k in self._newest if k.queue == queue and k.success is success]

    def failed(self, queues: Sequence[str] | None, limit: int) -> list[FailedJob]:
        """The newest `limit` failures read, of `queues` only if given."""
        rows = (
            kept
            for kept in self._newest
            if kept.success is False and (queues is None or kept.queue in queues)
        )
        return [_failed_row(kept) for kept in islice(rows, limit)]


def _failed_row(kept: KeptResult) -> FailedJob:
    queue = kept.queue or "-"
    return FailedJob(
        kept.id, queue, kept.function, kept.exception, None, kept.finished_at, system=ARQ
    )
