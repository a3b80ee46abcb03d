"""`qwatch serve --state-file PATH` keeps the history too: every Redis's, in `PATH.history`.

**Its own file.** The state file is written at every reading and holds
counters; the history is up to tens of MB of points (`qwatch.history.saved`
is its format). So it lives beside the state file (`history_path`, the one
rule for its name) and is written every `WRITE_EVERY` seconds by a thread of
its own, never in a scrape's path, and once more when serve stops cleanly.
Each write is aside, flushed to disk and renamed over the old file, as the
state file's: a crash leaves the last one whole, and loses the points since.
A write that fails is logged once, until one works again; serve goes on.

**Read once, at start, trusting nothing.** A file cut short, corrupt, of
another version or hostile is one line in the log, and the history starts
empty (the next write replaces it): unlike the counters, nothing is lost
that a restart without it would not lose. A missing or empty file is a first
start. A Redis no longer served (`--name`) is left out of the next write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from qwatch.errors import first_line
from qwatch.exporter.atomic import write_atomically
from qwatch.history import saved
from qwatch.history.recorder import History

WRITE_EVERY = 300.0
"""Seconds between two writes while serve runs: what a crash may lose of the history."""
SUFFIX = ".history"

log = logging.getLogger("qwatch.exporter")


def history_path(state_file: str) -> Path:
    """Where the history of `--state-file state_file` is kept: the same path, `.history` added."""
    return Path(state_file + SUFFIX)


class HistoryFile:
    """Every Redis's history, read at start and written back while serve runs and as it stops."""

    def __init__(self, path: Path, histories: dict[str, History]) -> None:
        self.path = path
        self.histories = histories
        """One history per Redis name served, saved or new: the sources record into these."""
        self.failing = False

    @classmethod
    def open(cls, state_file: str, names: Collection[str]) -> HistoryFile:
        """The histories saved beside `state_file` of the Redis `names`; an empty one for each
        the file does not hold, or for all when it cannot be read."""
        path = history_path(state_file)
        found = _read(path, names)
        return cls(path, {name: found[name] if name in found else History() for name in names})

    def write(self) -> None:
        """The file, with every history as it stands; a failure is logged, never raised."""
        try:
            write_atomically(self.path, saved.write(self.histories))
        except (OSError, ValueError) as exc:  # ValueError: larger than a start would read
            if not self.failing:
                log.warning("history file %s: cannot write: %s", self.path, first_line(exc))
                self.failing = True
            return
        if self.failing:
            log.warning("history file %s: written again", self.path)
            self.failing = False

    @contextmanager
    def kept(self, every: float = WRITE_EVERY) -> Iterator[None]:
        """Written every `every` seconds while the block runs, by one thread, and once more when
        it has stopped and the block ends: after serve's sources are closed, with their last
        samples."""
        stop = threading.Event()

        def keep() -> None:
            while not stop.wait(every):
                self.write()

        writer = threading.Thread(target=keep, name="qwatch-history-file", daemon=True)
        writer.start()
        try:
            yield
        finally:
            stop.set()
            writer.join()
            self.write()


def _read(path: Path, names: Collection[str]) -> dict[str, History]:
    try:
        with path.open("rb") as file:
            return saved.read(file, names, time.time()) if path.stat().st_size else {}
    except FileNotFoundError:
        return {}
    except (OSError, saved.Unreadable) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line(exc)
        log.warning("history file %s: not read (%s): the history starts empty", path, reason)
        return {}
