"""A job's own log lines: caught in the work horse by `qwatch.rq.Worker`, read for `qwatch job`.

The worker stores one string per job at `rq:job:<id>:qwatch-logs`: the kept lines joined
by newlines, the first one a note when lines were dropped. The reader trusts none of it:
it reads the last `LOG_BYTES` at most (GETRANGE), and cuts lines again.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

import redis

from qwatch.limits import LOG_BYTES, LOG_LINE_LIMIT, LOG_LINES
from qwatch.rq.keys import RQKeys
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_int

CAPTURE_OUTPUT_VARIABLE = "QWATCH_CAPTURE_OUTPUT"
"""`1` in a worker's environment: what its jobs print to stdout and stderr is kept too."""
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CUT = " … [cut]"


def capture_output_setting() -> bool:
    """Whether to keep what jobs print; a value other than 0 or 1 stops the worker at start."""
    text = os.environ.get(CAPTURE_OUTPUT_VARIABLE, "0").strip()
    if text not in ("0", "1"):
        raise ValueError(f"{CAPTURE_OUTPUT_VARIABLE} must be 0 or 1, not {text!r}")
    return text == "1"


def _cut(line: str) -> str:
    return line if len(line) <= LOG_LINE_LIMIT else line[:LOG_LINE_LIMIT] + _CUT


def _dropped(count: int, what: str) -> str:
    return f"… {count} earlier {what} not kept"


class Capture(logging.Handler):
    """The last `LOG_LINES` lines of a job, each cut at `LOG_LINE_LIMIT`: memory stays
    bounded however much the job logs. RQ's own records (loggers `rq.*`) are the worker's,
    in its log already, and left out."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=LOG_LINES)
        self.dropped = 0
        self._guard = threading.Lock()  # the job's threads print and log at once
        formatter = logging.Formatter(_FORMAT, "%Y-%m-%d %H:%M:%S")
        formatter.converter = time.gmtime
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "rq" or record.name.startswith("rq."):
            return
        try:
            text = self.format(record)
        except Exception:  # a bad format string in the job's call: its line, not a crash
            text = f"{record.levelname} {record.name}: <a record that could not be formatted>"
        self.add(text)

    def add(self, text: str) -> None:
        """Each line of `text`, cut, the oldest dropped past `LOG_LINES`."""
        with self._guard:
            for line in text.splitlines() or [""]:
                if len(self.lines) == self.lines.maxlen:
                    self.dropped += 1
                self.lines.append(_cut(line))

    def text(self) -> str:
        """What is stored: the newest lines within `LOG_LINES` and `LOG_BYTES`, the first
        one a note of those dropped, if any were."""
        kept: list[str] = []
        room = len(self.lines) - (1 if self.dropped else 0)  # the note is one of the lines
        size = 100  # the note's room
        for line in reversed(self.lines):
            size += len(line.encode()) + 1
            if len(kept) == room or size > LOG_BYTES:
                break
            kept.append(line)
        dropped = self.dropped + len(self.lines) - len(kept)
        note = [_dropped(dropped, "lines")] if dropped else []
        return "\n".join(note + kept[::-1])


class _Tee:
    """A stream that writes on to the real one and keeps each whole line it saw."""

    def __init__(self, stream: TextIO, capture: Capture) -> None:
        self._stream = stream
        self._capture = capture
        self._partial = ""

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        try:
            *lines, rest = (self._partial + text).split("\n")
            for line in lines:
                self._capture.add(line)
            self._partial = rest[: LOG_LINE_LIMIT + 1]  # cut as it grows: bounded
        except Exception:  # what is kept never costs the job its output
            self._partial = ""
        return written

    def close_line(self) -> None:
        """Keep what was printed without a newline at the end."""
        if self._partial:
            self._capture.add(self._partial)
            self._partial = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def captured(output: bool) -> Iterator[Capture]:
    """Every log record that reaches the root logger while in the block, and with `output`
    what is printed to stdout and stderr; all removed at the end, whatever happened."""
    capture = Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    streams = sys.stdout, sys.stderr
    tees = (_Tee(sys.stdout, capture), _Tee(sys.stderr, capture)) if output else ()
    if tees:
        sys.stdout, sys.stderr = (cast(TextIO, tee) for tee in tees)
    try:
        yield capture
    finally:
        if tees:
            sys.stdout, sys.stderr = streams
            for tee in tees:
                tee.close_line()
        root.removeHandler(capture)


def store(client: redis.Redis, key: str, text: str, ttl: int) -> None:
    """The one write: with RQ's TTL, kept as the job is for ever (-1), or gone with it (0)."""
    if ttl > 0:
        client.setex(key, ttl, text)
    elif ttl < 0:
        client.set(key, text)
    else:
        client.delete(key)


def read_commands(job_id: str, keys: RQKeys) -> list[Command]:
    """Whether the job's logs are kept, their size and their last `LOG_BYTES`, in that order."""
    key = keys.logs_key(job_id)
    return [("EXISTS", key), ("STRLEN", key), ("GETRANGE", key, -LOG_BYTES, -1)]


def parsed(exists: Any, size: Any, tail: Any) -> tuple[str, ...] | None:
    """The lines of `read_commands`' replies, at most `LOG_LINES` of `LOG_LINE_LIMIT`
    characters with the notes of what was not read; None when no logs are kept."""
    if as_int(exists, default=0) != 1 or not isinstance(tail, bytes):
        return None
    text = tail.decode("utf-8", "replace")
    lines = text.split("\n") if text else []
    unread = max(0, as_int(size, default=0) - len(tail))
    notes = []
    if unread:
        lines = lines[1:]  # the first is a part of a line
        notes.append(f"… {unread} earlier bytes not read")
    if len(lines) > LOG_LINES:  # the note is one of the lines, as the worker writes it
        notes.append(_dropped(len(lines) - LOG_LINES + 1, "lines"))
        lines = lines[1 - LOG_LINES :]
    return tuple(notes + [_cut(line) for line in lines])
