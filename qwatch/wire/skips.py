"""Records left out of a reading: one bad worker or job costs its own row, never the sample.

A record is skipped when a value in it is absurd (a name of a megabyte, a
deadline before 1970) or when turning it into data raises anything at all.
Each skip logs one line and is counted, so every face can say how many rows
it could not show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from qwatch.errors import described
from qwatch.text.formatting import clip

log = logging.getLogger("qwatch.records")
T = TypeVar("T")
Record = tuple[Any, ...]

_SHOWN = 80
"""Characters of a name or an error in a log line: a hostile value is not echoed in full."""


@dataclass(slots=True)
class Skips:
    """How many records one reading left out."""

    count: int = 0
    last: str = ""
    """Why the last record was left out."""

    def skip(self, kind: str, name: object, reason: str) -> None:
        """Leave one record out, saying why in one line."""
        self.count += 1
        self.last = clip(reason, _SHOWN)
        shown = clip(repr(name[: _SHOWN + 1] if isinstance(name, str) else name), _SHOWN)
        log.warning("skipped %s %s: %s", kind, shown, self.last)

    def build_each(self, kind: str, make: Callable[..., T], records: Iterable[Record]) -> list[T]:
        """`make(*record)` for each record, whose first value is its name, leaving out
        those that raise.

        All at once first: a record that raises is rare, and only then are the
        records made one by one, so that only that one is left out.
        """
        listed = list(records)
        try:
            return [make(*record) for record in listed]
        except Exception:  # whatever one record holds, the rest of the reading stands
            made = [self.build(kind, record[0], partial(make, *record)) for record in listed]
            return [value for value in made if value is not None]

    def build(self, kind: str, name: object, make: Callable[[], T]) -> T | None:
        """`make()`, or None, counted and logged, if it raises anything."""
        try:
            return make()
        except Exception as exc:  # whatever one record holds, the rest of the reading stands
            self.skip(kind, name, unexpected(exc))
            return None


def unexpected(exc: Exception) -> str:
    """Why a record was left out when turning it into data raised."""
    return f"unexpected {described(exc)}"
