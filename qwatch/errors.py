"""The errors qwatch reports to a person; each face decides how to show them."""

from __future__ import annotations


class QwatchError(Exception):
    """Base of every error qwatch expects and explains in one line."""


class TargetError(QwatchError):
    """The Redis target is malformed: a bad URL, an unreadable password file."""


class RedisUnavailable(QwatchError):
    """Redis could not be reached, refused the credentials, or timed out."""
