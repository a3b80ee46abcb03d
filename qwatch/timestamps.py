"""RQ's timestamp strings, read fast and without ever raising."""

from __future__ import annotations

from datetime import datetime

_EPOCH = datetime(1970, 1, 1)


def parse_rq_time(value: bytes | str | None) -> float | None:
    """Seconds since the epoch of an RQ timestamp (`2024-05-01T12:00:00.123456Z`, UTC).

    None for a missing, empty or malformed value: a monitor shows a gap
    rather than failing on one odd job.
    """
    if not value:
        return None
    try:
        text = value.decode("ascii") if isinstance(value, bytes) else value
        parsed = datetime.fromisoformat(text.removesuffix("Z"))
    except (UnicodeDecodeError, ValueError):
        return None
    if parsed.tzinfo is not None:
        return parsed.timestamp()
    return (parsed - _EPOCH).total_seconds()
