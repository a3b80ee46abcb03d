"""A history on disk: every queue's and worker's rings and the moments, across a restart.

`qwatch serve --state-file` keeps each Redis's history in a file of this
format (`qwatch.exporter.history_file` says where and when). It is binary and
compact, written and read with the standard library's `struct` and `array`
alone, never pickle: qwatch unpickles nothing. Little-endian throughout:

    file     MAGIC, VERSION u32, entries u32, then each entry:
    entry    its Redis's name (text), its length u64, then its history:
    history  coarsening u32; the totals' rings; queues u32, each its row key (text)
             and its rings; workers the same; the backlog u32, each a key and i64
             (a queue's queued plus started at the last sample); the last sample's
             time f64 (NaN for none); the moments
    rings    the hour's, then the day's: step f64, size u32, open u8, the open slot
             i64, the samples in it u32, their sums f64 a measure, then the size x
             measures values, float32 (`array.tobytes`)
    moments  answering u8; the live workers (known u8, then u32 and each key); the
             queues watched (u32, each a key, queued i64, growing u32, backing up u8,
             usual failures f64); the moments kept (u32, each at f64, kind, system,
             name and text)
    text     its length u32, then UTF-8; None is the length 0xFFFFFFFF

Reading trusts nothing: a file cut short, corrupt, of another version or
hostile is `Unreadable` before any history is returned. Every length is
checked against the bytes left before anything is made of it, an entry
against `ENTRY_BYTES` and the file's size, and every ring's step and size
against its tier: what a file costs in memory is bounded by the points it
holds and by `ROWS_MOST`. This module reads and sets the rings', the
recorder's and the moments' own fields, and is the only one outside them
that does: a field added there is added here (a test round-trips each).
"""

from __future__ import annotations

import io
import math
import struct
import sys
from array import array
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from qwatch.history.moments import KINDS, MOMENTS_KEPT, Moment, Moments, _QueueWatch
from qwatch.history.recorder import (
    DAY,
    HISTORY_BYTES,
    QUEUE_MEASURES,
    TIERS,
    TOTAL,
    TOTAL_MEASURES,
    WORKER_MEASURES,
    History,
)
from qwatch.history.rings import Ring

MAGIC = b"qwatch-H"
VERSION = 2
ENTRY_BYTES = HISTORY_BYTES + (16 << 20)
"""The most one Redis's history takes on disk: its points, within `HISTORY_BYTES`, and
room for `ROWS_MOST` queues' and workers' names. A larger one is neither written nor read."""
ENTRIES_MOST = 1024
"""Redis one file holds at most: one `qwatch serve` reads a few."""
ROWS_MOST = 50_000
"""Queues and workers together one saved history holds at most (2.5 times 10,000 and
10,000): each costs a kilobyte or more in memory however few its points, so a file of the
tiniest rings costs some 70 MiB and a second to read at worst, not a gigabyte."""
TEXT_BYTES = 16 << 10
"""The longest text kept: a moment names three workers of `NAME_LIMIT` characters at most."""
COARSEST = 1 << 12
"""The coarsest history read: 4,096 times `TIERS`' steps, far past any fleet's."""

_U8, _U32, _U64, _I64, _F64 = (struct.Struct(f"<{code}") for code in "BIQqd")
_RING = struct.Struct("<dIBqI")
_WATCH = struct.Struct("<qIBd")
_NONE = 0xFFFFFFFF
_LITTLE = sys.byteorder == "little"


class Unreadable(Exception):
    """A file qwatch would not have written, or one cut short; says what is wrong."""


def write(histories: Mapping[str, History]) -> Iterator[bytes]:
    """The file, a piece at a time: each history is copied under its lock, then let go,
    so a sample waits for a copy in memory, never for the disk. `ValueError` if one is
    larger than a start would read."""
    if len(histories) > ENTRIES_MOST:
        raise ValueError(f"{len(histories):,} Redis, more than a start would read")
    yield MAGIC + _U32.pack(VERSION) + _U32.pack(len(histories))
    for name, history in histories.items():
        with history.lock:
            pieces = _history(history)
        size = sum(len(piece) for piece in pieces)
        if size > ENTRY_BYTES:
            raise ValueError(f"{name}: {size >> 20} MiB, more than a start would read")
        yield _text(name) + _U64.pack(size)
        yield from pieces


def read(
    file: BinaryIO, names: Collection[str], now: float, budget: int = HISTORY_BYTES
) -> dict[str, History]:
    """The histories `file` holds of `names`, as they stand at `now`, each within `budget`
    (coarsened if it was finer); the entries of other names are skipped unread."""
    size = file.seek(0, io.SEEK_END)
    file.seek(0)
    if _exactly(file, len(MAGIC), size) != MAGIC:
        raise Unreadable("not a qwatch history")
    version, entries = struct.unpack("<II", _exactly(file, 8, size))
    if version != VERSION:
        raise Unreadable(f"version {version}, which this qwatch does not read")
    if entries > ENTRIES_MOST:
        raise Unreadable(f"{entries:,} entries")
    histories: dict[str, History] = {}
    seen = set()
    for _entry in range(entries):
        (length,) = _U32.unpack(_exactly(file, 4, size))
        name = _decode(_exactly(file, _text_length(length), size))
        (length,) = _U64.unpack(_exactly(file, 8, size))
        if name in seen or length > ENTRY_BYTES:
            raise Unreadable(f"{name[:80]!r}: twice, or of {length:,} bytes")
        seen.add(name)
        if name in names:
            histories[name] = _parsed(_exactly(file, length, size), now, budget)
        elif length > size - file.tell():
            raise Unreadable("cut short")
        else:
            file.seek(length, io.SEEK_CUR)
    if file.tell() != size:
        raise Unreadable("bytes after the last entry")
    return histories


def _history(history: History) -> list[bytes]:
    held = len(history._queues) + len(history._workers)
    if held > ROWS_MOST:
        raise ValueError(f"{held:,} queues and workers, more than a start would read")
    pieces = [_U32.pack(history.coarsening)]
    _rings(pieces, history._totals[TOTAL])
    for rows in (history._queues, history._workers):
        pieces.append(_U32.pack(len(rows)))
        for key, rings in rows.items():
            pieces.append(_text(key))
            _rings(pieces, rings)
    pieces.append(_U32.pack(len(history._backlog)))
    pieces.extend(_text(key) + _I64.pack(held) for key, held in history._backlog.items())
    sampled_at = history._sampled_at
    pieces.append(_F64.pack(math.nan if sampled_at is None else sampled_at))
    _moments(pieces, history.moments)
    return pieces


def _rings(pieces: list[bytes], rings: Mapping[str, Ring]) -> None:
    for tier in TIERS:
        ring = rings[tier]
        slot = ring.slot
        head = _RING.pack(ring.step, ring.size, slot is not None, slot or 0, ring._count)
        pieces.append(head + struct.pack(f"<{ring.width}d", *ring._sums))
        pieces.append(_floats(ring.values))


def _moments(pieces: list[bytes], moments: Moments) -> None:
    pieces.append(_U8.pack(moments._answering))
    workers = moments._workers
    pieces.append(_U8.pack(workers is not None))
    if workers is not None:
        pieces.append(_U32.pack(len(workers)))
        pieces.extend(_text(key) for key in workers)
    pieces.append(_U32.pack(len(moments._queues)))
    for key, seen in moments._queues.items():
        watch = _WATCH.pack(seen.queued, seen.growing, seen.backing_up, seen.usual_failures)
        pieces.append(_text(key) + watch)
    pieces.append(_U32.pack(len(moments.kept)))
    for moment in moments.kept:
        pieces.append(
            _F64.pack(moment.at) + _text(moment.kind) + _text(moment.system)
            + _text(moment.name) + _text(moment.text)
        )  # fmt: skip


def _text(value: str | None) -> bytes:
    if value is None:
        return _U32.pack(_NONE)
    data = value.encode()
    if len(data) > TEXT_BYTES:
        raise ValueError(f"a text of {len(data):,} bytes")
    return _U32.pack(len(data)) + data


def _floats(values: array[float]) -> bytes:
    if _LITTLE:
        return values.tobytes()
    swapped = array("f", values)
    swapped.byteswap()
    return swapped.tobytes()


class _Bytes:
    """One entry's bytes, read from the front; reading past their end is `Unreadable`."""

    __slots__ = ("at", "view")

    def __init__(self, data: bytes) -> None:
        self.view = memoryview(data)
        self.at = 0

    def take(self, size: int) -> memoryview:
        end = self.at + size
        if end > len(self.view):
            raise Unreadable("cut short")
        piece = self.view[self.at : end]
        self.at = end
        return piece

    def unpack(self, form: struct.Struct) -> tuple[Any, ...]:
        return form.unpack(self.take(form.size))

    def number(self, form: struct.Struct) -> int:
        (value,) = self.unpack(form)
        return int(value)

    def flag(self) -> bool:
        value = self.number(_U8)
        if value > 1:
            raise Unreadable(f"a flag of {value}")
        return bool(value)

    def text(self) -> str:
        text = self.optional_text()
        if text is None:
            raise Unreadable("no text where one is due")
        return text

    def optional_text(self) -> str | None:
        length = self.number(_U32)
        return None if length == _NONE else _decode(self.take(_text_length(length)))

    def count(self, most: int) -> int:
        value = self.number(_U32)
        if value > most:
            raise Unreadable(f"{value:,} rows")
        return value


def _exactly(file: BinaryIO, length: int, size: int) -> bytes:
    """The next `length` bytes of a file of `size`: never more than it holds is allocated."""
    if length > size - file.tell():
        raise Unreadable("cut short")
    data = file.read(length)
    if len(data) != length:
        raise Unreadable("cut short while read")
    return data


def _text_length(length: int) -> int:
    if length > TEXT_BYTES:
        raise Unreadable(f"a text of {length:,} bytes")
    return length


def _decode(data: bytes | memoryview) -> str:
    try:
        return bytes(data).decode()
    except UnicodeDecodeError:
        raise Unreadable("a text not UTF-8") from None


def _parsed(data: bytes, now: float, budget: int) -> History:
    """One entry's history; then coarsened as `budget` needs, and its rows not seen for a
    day forgotten, as the recorder does at each sample."""
    got = _Bytes(data)
    history = History(budget)
    coarsening = got.number(_U32)
    if not 1 <= coarsening <= COARSEST or coarsening & (coarsening - 1):
        raise Unreadable(f"a coarsening of {coarsening:,}")
    history.coarsening = coarsening
    history._totals = {TOTAL: _rings_of(got, TOTAL_MEASURES, coarsening, now)}
    history._queues = _rows(got, QUEUE_MEASURES, coarsening, now, ROWS_MOST)
    room = ROWS_MOST - len(history._queues)
    history._workers = _rows(got, WORKER_MEASURES, coarsening, now, room)
    backlog = {}
    for _row in range(got.count(ROWS_MOST)):
        key, held = got.text(), got.number(_I64)
        if held < 0:
            raise Unreadable(f"a backlog of {held:,}")
        backlog[key] = held
    history._backlog = backlog
    (sampled_at,) = got.unpack(_F64)
    if not math.isnan(sampled_at) and not (math.isfinite(sampled_at) and sampled_at <= now):
        raise Unreadable(f"a last sample at {sampled_at!r}")
    history._sampled_at = None if math.isnan(sampled_at) else sampled_at
    _restore_moments(got, history.moments, now)
    if got.at != len(got.view):
        raise Unreadable(f"{len(got.view) - got.at:,} bytes after a history")
    history._make_room((), ())
    history._forget_before(now - TIERS[DAY][0])
    return history


def _rows(
    got: _Bytes, measures: Sequence[str], coarsening: int, now: float, most: int
) -> dict[str, dict[str, Ring]]:
    count = got.count(most)
    rows = {}
    for _row in range(count):
        key = got.text()
        rows[key] = _rings_of(got, measures, coarsening, now)
    if len(rows) != count:
        raise Unreadable("a queue or worker twice")
    return rows


def _rings_of(got: _Bytes, measures: Sequence[str], coarsening: int, now: float) -> dict[str, Ring]:
    return {tier: _ring(got, len(measures), tier, coarsening, now) for tier in TIERS}


def _ring(got: _Bytes, width: int, tier: str, coarsening: int, now: float) -> Ring:
    """A ring as saved, if it is one of `tier`'s at `coarsening` and holds no infinity; its
    open slot, if any, not after `now` (else every sample would be dropped until then)."""
    span, finest = TIERS[tier]
    step, size, is_open, slot, count = got.unpack(_RING)
    if step != finest * coarsening or size != max(1, int(span // step)):
        raise Unreadable(f"a ring of {step!r} s and {size:,} slots, not the {tier}'s")
    if is_open > 1 or not (is_open or slot == count == 0):
        raise Unreadable("a ring's open slot garbled")
    if is_open and not 0 <= slot * step <= now:
        raise Unreadable(f"a slot at {slot * step:.0f}, after now or before 1970")
    sums = list(struct.unpack(f"<{width}d", got.take(8 * width)))
    values = array("f")
    values.frombytes(got.take(4 * size * width))
    if not _LITTLE:
        values.byteswap()
    if any(math.isinf(total) for total in sums) or math.inf in values or -math.inf in values:
        raise Unreadable("an infinite value")
    ring = Ring(width, step, size)
    ring.values = values
    ring.slot = slot if is_open else None
    ring._sums, ring._count = sums, count
    return ring


def _restore_moments(got: _Bytes, moments: Moments, now: float) -> None:
    moments._answering = got.flag()
    if got.flag():
        moments._workers = {got.text() for _key in range(got.count(ROWS_MOST))}
    for _queue in range(got.count(ROWS_MOST)):
        key = got.text()
        queued, growing, backing_up, usual = got.unpack(_WATCH)
        if queued < 0 or backing_up > 1 or not 0 <= usual < math.inf:
            raise Unreadable(f"a queue watched garbled: {key[:80]!r}")
        moments._queues[key] = _QueueWatch(queued, growing, bool(backing_up), usual)
    for _moment in range(got.count(MOMENTS_KEPT)):
        (at,), kind = got.unpack(_F64), got.text()
        system, name, text = got.optional_text(), got.optional_text(), got.text()
        if not 0 <= at <= now or kind not in KINDS:
            raise Unreadable(f"a moment garbled: {kind[:80]!r} at {at!r}")
        moments.kept.append(Moment(at, kind, system, name, text))
