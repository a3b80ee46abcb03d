"""`qwatch serve --state-file`: each Redis's stream position and the totals counted up to it.

A restarted exporter reads the completions stream on from where the last
one stopped, so the jobs that ended while no exporter ran are counted too,
and its job counters go on from the values they had instead of from 0.

**Why the totals as well as the cursor.** Prometheus takes a counter that
went down for a restart and adds its new value. A counter that restarts at
0 and then counts a backlog larger than its last value goes *up*, and
Prometheus counts only the difference: two failures before a restart and
three while qwatch was down read as one. Counters that go on from their
saved values never go down, so every job counts once whatever the backlog.

**When it is written.** At each reading of a Redis, before any scrape is
answered from it, with the totals and the position of that same reading
(taken together under the totals' lock): what Prometheus was served is
never more than what the file holds, and the file's totals are exactly the
stream's entries up to its position (plus what the registries counted).
The file is written to a temporary file in the same directory, flushed to
disk and renamed over the old one, so it is the old one or the new one,
never a mix; it is not written when nothing changed. A write that fails is
logged once, until one works again, and the scrape answers all the same.
The dashboard's history is kept beside it, in a file of its own written every few
minutes (`qwatch.exporter.history_file`).

**What is kept**, per `redis` label: the positions in RQ's, Dramatiq's and arq's streams,
the finished, failed and retried counters and the labels each queue has seen, the run
and wait time histograms (started again if `--buckets` changed), and the
stream's lost and skipped entries; the workers' own totals (RQ's jobs and
working time, the untracked jobs, Celery's tasks processed) and each worker's
counters as last read, so that a worker running on both sides of a restart
reports what it did meanwhile. The records skipped start at 0. Entries of
names no longer served are kept as they are.

**Formats.** Format 2 keys every queue by its system and name (`["rq",
"default", ...]`), so an RQ and a Celery queue of the same name stay apart.
A format 1 file, written before qwatch watched Celery, holds RQ's queues
only: it is read as such. Format 3 adds the workers' totals and counters;
a format 2 file has none (they start at 0). Format 4 adds the position in
Dramatiq's stream; a format 3 file has none (Dramatiq's stream is read from
its end). Older formats are written back as format 4 at the next save.

**A file that is not one qwatch wrote** stops the start with one line (exit
status 2) rather than being overwritten: a mistyped path must not destroy
what it names, and counting on from nothing would drop the backlog without
a word. A missing or empty file is a first start.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from qwatch.errors import StateFileError, first_line
from qwatch.exporter.atomic import write_atomically
from qwatch.exporter.totals import Histogram, JobTotals, QueueKey
from qwatch.job_states import OUTCOMES
from qwatch.model import RQ, StreamPosition, WorkerCounters, WorkerTotals

FORMAT = 5
OLD_FORMATS = frozenset({1, 2, 3, 4})
"""Formats still read: 1's rows lack the leading system, which is RQ's; 1 and 2 have no
workers' figures, 1 to 3 no position in Dramatiq's stream, 1 to 4 none in arq's."""
MAX_BYTES = 64 * 2**20
"""The largest file read or written: some 800,000 counter series (a scrape of 400,000 is
already large), and few enough that reading a hostile file cannot exhaust memory."""
MAX_COUNT = 2**63 - 1

log = logging.getLogger("qwatch.exporter")

T = TypeVar("T")
Rows = tuple[tuple[T, int], ...]
HistogramRows = tuple[tuple[QueueKey, tuple[int, ...], float], ...]
LabelRows = tuple[tuple[QueueKey, tuple[str, ...]], ...]
WorkerRows = tuple[tuple[str, WorkerCounters], ...]
OLD_FIELDS = frozenset({
    "stream", "finished", "failed", "retried", "buckets", "run_time", "wait_time",
    "functions", "exceptions", "stream_lost", "stream_skipped",
})  # fmt: skip
WORKER_FIELDS = {
    "worker_jobs": [], "untracked": [], "working_seconds": 0, "rq_workers": [],
    "celery_processed": 0, "celery_workers": [],
}  # fmt: skip
"""Format 3's fields beyond the older formats', and their values in an older file."""
DRAMATIQ_FIELDS = {"dramatiq_stream": None}
"""Format 4's field beyond format 3's, and its value in an older file."""
ARQ_FIELDS = {"arq_stream": None}
"""Format 5's field beyond format 4's, and its value in an older file."""
FIELDS_OF = {
    1: OLD_FIELDS,
    2: OLD_FIELDS,
    3: OLD_FIELDS | set(WORKER_FIELDS),
    4: OLD_FIELDS | set(WORKER_FIELDS) | set(DRAMATIQ_FIELDS),
    5: OLD_FIELDS | set(WORKER_FIELDS) | set(DRAMATIQ_FIELDS) | set(ARQ_FIELDS),
}


class _NotOurs(Exception):
    """A value that qwatch would not have written; says where."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One Redis's stream position and the totals counted up to it, as plain data."""

    position: StreamPosition | None
    dramatiq_position: StreamPosition | None
    arq_position: StreamPosition | None
    finished: Rows[tuple[str, str, str]]
    failed: Rows[tuple[str, str, str, str]]
    retried: Rows[tuple[str, str, str, str]]
    buckets: tuple[float, ...]
    run_time: HistogramRows
    wait_time: HistogramRows
    functions: LabelRows
    exceptions: LabelRows
    stream_lost: int
    stream_skipped: int
    worker_jobs: Rows[str]
    untracked: Rows[str]
    working_seconds: float
    rq_workers: WorkerRows
    celery_processed: int
    celery_workers: Rows[str]

    @classmethod
    def taken(
        cls,
        totals: JobTotals,
        positions: tuple[StreamPosition | None, StreamPosition | None, StreamPosition | None],
        workers: WorkerTotals,
    ) -> Checkpoint:
        """A copy of what the file keeps of `totals`, of the positions in RQ's, Dramatiq's and
        arq's streams and of RQ's workers' counters; in the turn that keeps the tracker from
        changing them."""
        return cls(
            position=positions[0],
            dramatiq_position=positions[1],
            arq_position=positions[2],
            finished=tuple(totals.finished.items()),
            failed=tuple(totals.failed.items()),
            retried=tuple(totals.retried.items()),
            buckets=totals.buckets,
            run_time=_histograms(totals.run_time),
            wait_time=_histograms(totals.wait_time),
            functions=_labels(totals.functions.seen),
            exceptions=_labels(totals.exceptions.seen),
            stream_lost=totals.stream_lost,
            stream_skipped=totals.stream_skipped,
            worker_jobs=workers.reported,
            untracked=workers.untracked,
            working_seconds=workers.working_seconds,
            rq_workers=workers.counters,
            celery_processed=totals.celery_processed,
            celery_workers=tuple(
                (name, count) for name, (count, _seen) in totals.processed.items()
            ),
        )

    @property
    def workers(self) -> WorkerTotals:
        """RQ's workers' totals and counters as saved, for the following to go on from."""
        return WorkerTotals(self.worker_jobs, self.untracked, self.working_seconds, self.rq_workers)

    def restore(self, totals: JobTotals, now: float) -> None:
        """Set fresh totals to the saved ones; histograms only if the buckets are the same."""
        totals.finished.update(dict(self.finished))
        totals.failed.update(dict(self.failed))
        totals.retried.update(dict(self.retried))
        if self.buckets == totals.buckets:
            for kept, rows in (
                (totals.run_time, self.run_time),
                (totals.wait_time, self.wait_time),
            ):
                for queue, counts, total in rows:
                    if totals.histogram_queues is None or queue[1] in totals.histogram_queues:
                        kept[queue] = Histogram(totals.buckets, list(counts), total)
        for labels, seen in (
            (totals.functions, self.functions),
            (totals.exceptions, self.exceptions),
        ):
            for queue, values in seen:
                labels.seen[queue] = set(values)
        totals.stream_lost = self.stream_lost
        totals.stream_skipped = self.stream_skipped
        totals.celery_processed = self.celery_processed
        totals.processed = {name: (count, now) for name, count in self.celery_workers}
        totals.follow_workers(self.workers)

    def to_json(self) -> dict[str, Any]:
        return {
            "stream": _position_json(self.position),
            "dramatiq_stream": _position_json(self.dramatiq_position),
            "arq_stream": _position_json(self.arq_position),
            "finished": [[*labels, count] for labels, count in self.finished],
            "failed": [[*labels, count] for labels, count in self.failed],
            "retried": [[*labels, count] for labels, count in self.retried],
            "buckets": list(self.buckets),
            "run_time": [[*queue, list(counts), total] for queue, counts, total in self.run_time],
            "wait_time": [[*queue, list(counts), total] for queue, counts, total in self.wait_time],
            "functions": [[*queue, list(values)] for queue, values in self.functions],
            "exceptions": [[*queue, list(values)] for queue, values in self.exceptions],
            "stream_lost": self.stream_lost,
            "stream_skipped": self.stream_skipped,
            "worker_jobs": [list(row) for row in self.worker_jobs],
            "untracked": [list(row) for row in self.untracked],
            "working_seconds": self.working_seconds,
            "rq_workers": [[name, *counts] for name, counts in self.rq_workers],
            "celery_processed": self.celery_processed,
            "celery_workers": [list(row) for row in self.celery_workers],
        }

    @classmethod
    def parse(cls, value: Any, version: int = FORMAT) -> Checkpoint:
        """A checkpoint from its JSON; `_NotOurs` for anything `to_json` would not give."""
        fields = _object(value, "an entry")
        if set(fields) != FIELDS_OF[version]:
            raise _NotOurs("an entry with other fields")
        if version == 1:
            fields = _as_rq(fields)
        fields = {**WORKER_FIELDS, **DRAMATIQ_FIELDS, **ARQ_FIELDS, **fields}
        buckets = tuple(_each(fields["buckets"], "buckets", _bound))
        if list(buckets) != sorted(set(buckets)):
            raise _NotOurs("buckets out of order")
        return cls(
            position=_position(fields["stream"]),
            dramatiq_position=_position(fields["dramatiq_stream"]),
            arq_position=_position(fields["arq_stream"]),
            finished=_counts(fields["finished"], "finished", _triple),
            failed=_counts(fields["failed"], "failed", _quadruple),
            retried=_counts(fields["retried"], "retried", _quadruple),
            buckets=buckets,
            run_time=_histogram_rows(fields["run_time"], "run_time", len(buckets) + 1),
            wait_time=_histogram_rows(fields["wait_time"], "wait_time", len(buckets) + 1),
            functions=_label_rows(fields["functions"], "functions"),
            exceptions=_label_rows(fields["exceptions"], "exceptions"),
            stream_lost=_count(fields["stream_lost"], "stream_lost"),
            stream_skipped=_count(fields["stream_skipped"], "stream_skipped"),
            worker_jobs=_counts(fields["worker_jobs"], "worker_jobs", _outcome),
            untracked=_counts(fields["untracked"], "untracked", _outcome),
            working_seconds=_seconds(fields["working_seconds"], "working_seconds"),
            rq_workers=_worker_rows(fields["rq_workers"]),
            celery_processed=_count(fields["celery_processed"], "celery_processed"),
            celery_workers=_counts(fields["celery_workers"], "celery_workers", _name),
        )


class StateFile:
    """The file, read once at start and written after each reading of any Redis."""

    def __init__(self, path: Path, entries: dict[str, Any], version: int = FORMAT) -> None:
        self.path = path
        self._checkpoints = {
            name: Checkpoint.parse(entry, version) for name, entry in entries.items()
        }
        """Each name's checkpoint as last read or written: one that is equal is not written."""
        self._written = {name: _dumps(kept.to_json()) for name, kept in self._checkpoints.items()}
        """Each name's entry as the next write puts it, in this format."""
        self._lock = threading.Lock()
        self.failing = False

    @classmethod
    def open(cls, path: str) -> StateFile:
        """The file at `path`, checked whole; a missing or empty one holds nothing yet."""
        where = Path(path)
        directory = where.parent
        if not directory.is_dir() or not _can_write_in(directory):
            raise StateFileError(f"--state-file {path}: cannot write in {directory}")
        try:
            with where.open("rb") as file:
                data = file.read(MAX_BYTES + 1)
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            raise StateFileError(f"cannot read state file {path}: {exc.strerror or exc}") from exc
        if len(data) > MAX_BYTES:
            raise StateFileError(f"state file {path} is over {MAX_BYTES >> 20} MiB: not qwatch's")
        try:
            version, entries = _entries(data) if data.strip() else (FORMAT, {})
            return cls(where, entries, version)
        except _NotOurs as exc:
            raise StateFileError(
                f"state file {path} was not written by qwatch ({exc}): move it away or fix the path"
            ) from None

    def checkpoint(self, name: str) -> Checkpoint | None:
        """What was saved for the Redis labelled `name`, if anything."""
        return self._checkpoints.get(name)

    def save(self, name: str, checkpoint: Checkpoint) -> None:
        """Write the file with `name`'s new checkpoint; a failure is logged, never raised."""
        with self._lock:
            if self._checkpoints.get(name) == checkpoint:
                return
            try:
                written = {**self._written, name: _dumps(checkpoint.to_json())}
                self._replace(written)
            except (OSError, ValueError) as exc:  # ValueError: a total not a number, or too many
                if not self.failing:
                    log.warning("state file %s: cannot write: %s", self.path, first_line(exc))
                    self.failing = True
                return
            self._written = written
            self._checkpoints[name] = checkpoint
            if self.failing:
                log.warning("state file %s: written again", self.path)
                self.failing = False

    def _replace(self, entries: dict[str, bytes]) -> None:
        """The whole file, written aside, flushed to disk, then renamed over the old one."""
        body = b",".join(_dumps(name) + b":" + entry for name, entry in sorted(entries.items()))
        data = b'{"format":%d,"redis":{%s}}\n' % (FORMAT, body)
        if len(data) > MAX_BYTES:
            raise ValueError(f"over {MAX_BYTES >> 20} MiB, more than a start would read")
        write_atomically(self.path, [data])


def _can_write_in(directory: Path) -> bool:
    """Whether a file can be made there, tried for real: permission bits do not say it
    for root, nor for a read-only or special file system such as /proc."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".qwatch-probe.", dir=directory)
    except OSError:
        return False
    os.close(handle)
    os.unlink(probe)
    return True


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _entries(data: bytes) -> tuple[int, dict[str, Any]]:
    """The file's format and its entry per name."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise _NotOurs("not JSON") from None
    fields = _object(document, "the file")
    if set(fields) != {"format", "redis"} or type(fields["format"]) is not int:
        raise _NotOurs("no format")
    version = fields["format"]
    if version != FORMAT and version not in OLD_FORMATS:
        raise _NotOurs(f"format {version}, which this qwatch does not read")
    return version, _object(fields["redis"], "redis")


def _as_rq(fields: dict[str, Any]) -> dict[str, Any]:
    """An older format's entry with "rq" before each row's queue: its queues were all RQ's."""
    keyed = ("finished", "failed", "retried", "run_time", "wait_time", "functions", "exceptions")
    return {
        name: [[RQ, *row] if isinstance(row, list) else row for row in value]
        if name in keyed and isinstance(value, list)
        else value
        for name, value in fields.items()
    }


def _histograms(by_queue: dict[QueueKey, Histogram]) -> HistogramRows:
    return tuple((queue, tuple(h.counts), h.total) for queue, h in by_queue.items() if h.counts)


def _labels(seen: dict[QueueKey, set[str]]) -> LabelRows:
    return tuple((queue, tuple(sorted(values))) for queue, values in seen.items())


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _NotOurs(f"{what} is no object")
    return value


def _each(value: Any, what: str, item: Callable[[Any, str], T]) -> list[T]:
    return [item(element, what) for element in _list(value, what)]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _NotOurs(f"{what}: a name that is not text")
    return value


def _count(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise _NotOurs(f"{what}: not a count")
    return value


def _seconds(value: Any, what: str) -> float:
    if type(value) not in (int, float) or not (math.isfinite(value) and value >= 0):
        raise _NotOurs(f"{what}: not seconds")
    return float(value)


def _bound(value: Any, what: str) -> float:
    if _seconds(value, what) <= 0:
        raise _NotOurs(f"{what}: not a bucket bound")
    return float(value)


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _NotOurs(f"{what} is no list")
    return value


def _row(value: Any, what: str, size: int) -> list[Any]:
    row = _list(value, what)
    if len(row) != size:
        raise _NotOurs(f"{what}: a row of the wrong shape")
    return row


def _position_json(position: StreamPosition | None) -> list[int] | None:
    return None if position is None else [*position.last_id, position.number]


def _position(value: Any) -> StreamPosition | None:
    if value is None:
        return None
    ms, seq, number = (_count(part, "stream") for part in _row(value, "stream", 3))
    return StreamPosition((ms, seq), number)


def _triple(labels: list[Any], what: str) -> tuple[str, str, str]:
    system, queue, function = (_text(name, what) for name in _row(labels, what, 3))
    return system, queue, function


def _quadruple(labels: list[Any], what: str) -> tuple[str, str, str, str]:
    system, queue, function, exception = (_text(name, what) for name in _row(labels, what, 4))
    return system, queue, function, exception


def _outcome(labels: list[Any], what: str) -> str:
    (outcome,) = _row(labels, what, 1)
    if outcome not in OUTCOMES:
        raise _NotOurs(f"{what}: no outcome")
    return str(outcome)


def _name(labels: list[Any], what: str) -> str:
    (name,) = _row(labels, what, 1)
    return _text(name, what)


def _worker_rows(value: Any) -> WorkerRows:
    """RQ's workers' counters: a name, finished, failed, working seconds; each name once."""
    rows = []
    for name, finished, failed, working in _each(
        value, "rq_workers", lambda item, w: _row(item, w, 4)
    ):
        counts = (_count(finished, "rq_workers"), _count(failed, "rq_workers"))
        rows.append((_text(name, "rq_workers"), (*counts, _seconds(working, "rq_workers"))))
    if len(dict(rows)) != len(rows):
        raise _NotOurs("rq_workers: the same worker twice")
    return tuple(rows)


def _queue(system: Any, queue: Any, what: str) -> QueueKey:
    return _text(system, what), _text(queue, what)


def _counts(value: Any, what: str, labels: Callable[[list[Any], str], T]) -> Rows[T]:
    """Rows of label values and a count; each set of labels once."""
    rows = []
    for row in _each(value, what, _list):
        if not row:
            raise _NotOurs(f"{what}: an empty row")
        rows.append((labels(row[:-1], what), _count(row[-1], what)))
    if len({names for names, _number in rows}) != len(rows):
        raise _NotOurs(f"{what}: the same labels twice")
    return tuple(rows)


def _histogram_rows(value: Any, what: str, size: int) -> HistogramRows:
    rows = []
    for system, queue, counts, total in _each(value, what, lambda item, w: _row(item, w, 4)):
        observed = tuple(_each(counts, what, _count))
        if len(observed) != size:
            raise _NotOurs(f"{what}: a histogram not of the buckets")
        rows.append((_queue(system, queue, what), observed, _seconds(total, what)))
    return tuple(rows)


def _label_rows(value: Any, what: str) -> LabelRows:
    rows = []
    for system, queue, values in _each(value, what, lambda item, w: _row(item, w, 3)):
        rows.append((_queue(system, queue, what), tuple(_each(values, what, _text))))
    return tuple(rows)
