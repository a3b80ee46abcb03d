"""Dramatiq's messages as display data: JSON parsed within bounds, pickles never unpickled.

Dramatiq's default encoder writes a message as JSON: `queue_name`,
`actor_name`, `args`, `kwargs`, `options` (`eta` in milliseconds for a
delayed one; `retries` and the previous failure's `traceback`, which the
Retries middleware adds when it enqueues a message again) and
`message_timestamp`, the millisecond it was first enqueued. Its
`PickleEncoder` writes a pickle instead: qwatch shows that such a message
is there and what it cannot say about it, since unpickling runs code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from qwatch.limits import ARGUMENTS_LIMIT, MESSAGE_BYTES, NAME_LIMIT, TRACEBACK_LIMIT
from qwatch.text.formatting import clip, clip_lines
from qwatch.wire.replies import MAX_COUNT
from qwatch.wire.timestamps import LATEST

PICKLED = b"\x80"
"""How a pickle of protocol 2 or later starts, as Dramatiq's PickleEncoder writes one."""
UNREADABLE_ACTOR = "<unreadable message>"


@dataclass(frozen=True, slots=True)
class DramatiqMessage:
    """One message, each field checked and bounded; `readable` False for a placeholder."""

    id: str | None
    queue: str | None
    actor: str
    arguments: str
    enqueued_at: float | None
    eta: float | None
    retries: int | None
    traceback: str | None
    size: int
    readable: bool = True


def parse_message(raw: Any) -> DramatiqMessage:
    """The message a `.msgs` hash holds, or a placeholder saying why it cannot be read."""
    if not isinstance(raw, bytes):
        return _unreadable("not a string", 0)
    size = len(raw)
    if size > MESSAGE_BYTES:
        return _unreadable(f"a message of {size} bytes, over {MESSAGE_BYTES}", size)
    if raw.startswith(PICKLED):
        return _unreadable("a pickled message (PickleEncoder): never unpickled", size)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return _unreadable("not JSON", size)
    if not isinstance(data, dict):
        return _unreadable("not a Dramatiq message", size)
    found = data.get("options")
    options: dict[str, Any] = found if isinstance(found, dict) else {}
    return DramatiqMessage(
        id=_name(data.get("message_id")),
        queue=_name(data.get("queue_name")),
        actor=_name(data.get("actor_name")) or "<no actor name>",
        arguments=_arguments(data.get("args"), data.get("kwargs")),
        enqueued_at=_millis(data.get("message_timestamp")),
        eta=_millis(options.get("eta")),
        retries=_count(options.get("retries")),
        traceback=_traceback(options.get("traceback")),
        size=size,
    )


def _unreadable(reason: str, size: int) -> DramatiqMessage:
    return DramatiqMessage(
        None, None, UNREADABLE_ACTOR, f"<{reason}>", None, None, None, None, size, False
    )


def _arguments(args: Any, kwargs: Any) -> str:
    """As a call writes them: positional, then `name=value`, cut to `ARGUMENTS_LIMIT`."""
    positional = args if isinstance(args, list) else [] if args is None else [args]
    keywords = kwargs.items() if isinstance(kwargs, dict) else ()
    try:
        parts = [*map(repr, positional), *(f"{key}={value!r}" for key, value in keywords)]
    except RecursionError:
        return "<arguments nested too deep to show>"
    return clip(", ".join(parts), ARGUMENTS_LIMIT)


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= NAME_LIMIT else None


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT
    return value if ok else None


def _millis(value: Any) -> float | None:
    """Milliseconds since the epoch, as Dramatiq writes times, in seconds; None if absurd."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = value / 1000
    return seconds if 0 < seconds < LATEST else None


def _traceback(value: Any) -> str | None:
    return clip_lines(value, TRACEBACK_LIMIT) if isinstance(value, str) and value else None
