"""The errors qwatch reports to a person; each face decides how to show them."""

from __future__ import annotations

from qwatch.limits import FIRST_LINE_LIMIT


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
