"""The ISO 8601 timestamps RQ and Celery write, read fast and without ever raising."""

from __future__ import annotations

from datetime import datetime
from typing import Any

_EPOCH = datetime(1970, 1, 1)
LATEST = 4_102_444_800.0
"""2100-01-01: a later time, like one before 1970, is no moment a queue recorded."""
_LONGEST = 64
"""Characters: RQ writes 27; a longer value is not worth parsing."""


def parse_iso_time(value: Any) -> float | None:
    """Seconds since the epoch of RQ's `2024-05-01T12:00:00.123456Z` (UTC) or Celery's ISO time.

    None for a missing, empty, malformed or absurd value (an error reply, a
    year outside 1970-2099): a monitor shows a gap rather than failing on
    one odd job.
    """
    if not isinstance(value, (bytes, str)) or not value or len(value) > _LONGEST:
        return None
    try:
        text = value.decode("ascii") if isinstance(value, bytes) else value
        parsed = datetime.fromisoformat(text.removesuffix("Z"))
        if parsed.tzinfo is not None:
            seconds = parsed.timestamp()
        else:
            seconds = (parsed - _EPOCH).total_seconds()
    except (UnicodeDecodeError, ValueError, OverflowError, OSError):
        return None
    return seconds if 0 <= seconds < LATEST else None
