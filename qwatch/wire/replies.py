"""Raw Redis replies turned into plain values, tolerating whatever Redis holds.

A reply may be an error (WRONGTYPE on a key of the wrong type, NOPERM under a
strict ACL), None for a missing key, or bytes that are not UTF-8. Each helper
gives a usable value or None, never an exception. Numbers are also checked for
range where a range is known: a count of 1.7e308 is no count a worker kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import hiredis
import redis

from qwatch.limits import NAME_LIMIT

MAX_COUNT = 2**53
"""Larger is no count of jobs: floats stop being exact there, and a sum of a few overflows."""
MAX_SECONDS = 100 * 365.25 * 86400
"""A century: longer is no duration or ttl anyone set."""
MAX_PID = 2**31 - 1


def as_int(reply: Any, default: int = 0) -> int:
    """An integer reply or a numeric string; `default` for anything else."""
    if isinstance(reply, int):
        return reply
    value = as_float(reply)
    return int(value) if value is not None else default


def as_float(reply: Any) -> float | None:
    """A finite number from a numeric string or integer reply; None for anything else."""
    if isinstance(reply, (bytes, int, float)):
        try:
            value = float(reply)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None


def as_count(reply: Any) -> int | None:
    """A count from 0 to `MAX_COUNT`; None for anything else."""
    value = as_float(reply) if not isinstance(reply, int) else reply
    return int(value) if value is not None and 0 <= value <= MAX_COUNT else None


def as_counter(reply: Any) -> int | None:
    """A counter written at its first increase, such as a worker's jobs: 0 while missing."""
    return 0 if reply is None else as_count(reply)


def as_seconds(reply: Any) -> float | None:
    """A duration from 0 to `MAX_SECONDS`; None for anything else."""
    value = as_float(reply)
    return value if value is not None and 0 <= value <= MAX_SECONDS else None


def as_pid(reply: Any) -> int | None:
    """A process id; None for anything else."""
    value = as_count(reply)
    return value if value is not None and 0 < value <= MAX_PID else None


def as_text(reply: Any) -> str | None:
    """A bulk string as text (undecodable bytes shown as U+FFFD); None for anything else."""
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace") or None
    return None


def as_strict_text(reply: Any) -> str | None:
    """A bulk string that is valid UTF-8, else None: for names used to build keys."""
    if isinstance(reply, bytes):
        try:
            return reply.decode("utf-8") or None
        except UnicodeDecodeError:
            return None
    return None


def as_name(reply: Any) -> str | None:
    """Strict text of at most `NAME_LIMIT` characters: a name that may build a key."""
    text = (
        as_strict_text(reply) if isinstance(reply, bytes) and len(reply) <= 4 * NAME_LIMIT else None
    )
    return text if text is not None and len(text) <= NAME_LIMIT else None


def is_denied(reply: Any) -> bool:
    """Whether a reply is NOPERM: the ACL forbids that key or command."""
    return isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOPERM")


def as_list(reply: Any) -> list[Any]:
    """A multi-bulk reply; an empty list for an error or a missing key."""
    return reply if isinstance(reply, list) else []


def as_pairs(reply: Any) -> list[tuple[Any, Any]]:
    """A flat `member, score, member, score…` reply as pairs."""
    flat = as_list(reply)
    return list(zip(flat[::2], flat[1::2]))


def parse_info(reply: Any) -> dict[str, str]:
    """INFO's `field:value` lines as a dict; empty where INFO was refused."""
    text = as_text(reply) or ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            fields[name] = value
    return fields


def any_denied(replies: Sequence[Any]) -> bool:
    """Whether any reply is NOPERM; errors are rare, so first a scan at C speed for any error."""
    return hiredis.ReplyError in set(map(type, replies)) and any(map(is_denied, replies))


def check_allowed(*replies: Any) -> None:
    """Fail on a NOPERM reply: an ACL that hides RQ's keys must not look like an idle system."""
    if any_denied(replies):
        denied = next(filter(is_denied, replies))
        raise redis.exceptions.NoPermissionError(str(denied))
