"""The errors qwatch reports to a person, and the one translation of redis-py's into them.

Each face decides how to show them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import redis
from redis.sentinel import MasterNotFoundError

from qwatch.limits import EXCEPTION_LIMIT, FIRST_LINE_LIMIT
from qwatch.text.formatting import clip

if TYPE_CHECKING:
    from qwatch.wire.connection import Target


class QwatchError(Exception):
    """Base of every error qwatch expects and explains in one line."""


class TargetError(QwatchError):
    """The Redis target is malformed: a bad URL, an unreadable password file."""


class RedisUnavailable(QwatchError):
    """Redis could not be reached, refused the credentials, or timed out."""


class StateFileError(QwatchError):
    """`serve --state-file` names a file that cannot be read, or that qwatch did not write."""


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line, or its type when it has none."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= FIRST_LINE_LIMIT else line[:FIRST_LINE_LIMIT] + "…"


class UnreadableRecord(QwatchError):
    """A job asked for by name holds values that cannot be turned into data."""


def exception_line(traceback: str | None) -> str | None:
    """The line naming the exception: `ZeroDivisionError: division by zero`.

    It is the first unindented line after the last frame (`  File ...`), so a
    message of many lines or a huge one still yields its first line, cut to
    `EXCEPTION_LIMIT`. Without frames (RQ's own notes, such as an abandoned
    job's), the last non-empty line. RQ and Celery keep Python's tracebacks alike.
    """
    if not traceback:
        return None
    lines = [line for line in traceback.rstrip().splitlines() if line.strip()]
    frames = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    after = lines[frames[-1] + 1 :] if frames else []
    found = next((line for line in after if not line[:1].isspace()), None)
    line = found if found is not None else (lines[-1].strip() if lines else None)
    return clip(line, EXCEPTION_LIMIT) if line else None


def described(exc: BaseException) -> str:
    """`Type: first line`, the one way qwatch names an unexpected exception."""
    return f"{type(exc).__name__}: {first_line(exc)}"


@contextmanager
def translated_errors(target: Target) -> Iterator[None]:
    """Turn redis-py's errors into one-line `RedisUnavailable` naming the target."""
    try:
        yield
    except redis.RedisError as exc:
        raise RedisUnavailable(f"{target.display}: {redis_reason(exc)}") from exc


def redis_reason(exc: BaseException) -> str:
    """What went wrong with Redis, in a few words for an error line or a log."""
    if isinstance(exc, MasterNotFoundError):
        return "no Sentinel knows the master (is its name right, are the Sentinels up?)"
    if isinstance(exc, redis.AuthenticationError):
        return f"authentication failed ({first_line(exc)})"
    if isinstance(exc, redis.TimeoutError):
        return f"timed out ({first_line(exc)})"
    if isinstance(exc, redis.ConnectionError) and "SSL" in first_line(exc):
        hint = "check --tls-ca (ssl_ca_certs) and the certificate's names"
        return f"TLS handshake failed ({first_line(exc)}); {hint}"
    if isinstance(exc, redis.ConnectionError):
        return f"cannot connect ({first_line(exc)})"
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return f"Redis refused: permission denied ({first_line(exc)})"
    if isinstance(exc, redis.ResponseError):
        return f"Redis refused ({first_line(exc)})"
    if isinstance(exc, redis.RedisError):
        return f"no Redis answering there ({described(exc)})"
    return described(exc)
