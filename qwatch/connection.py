"""Where qwatch connects, and the one place Redis errors become qwatch errors.

The URL comes from `--url`, else `QWATCH_REDIS_URL`, else `REDIS_URL`, else
the local default. The password may instead sit in a file, so that it never
shows in `ps` or a shell history. A target is always shown without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis

from qwatch.errors import RedisUnavailable, TargetError

DEFAULT_URL = "redis://localhost:6379/0"
SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True, slots=True)
class Target:
    """A Redis to read: its URL, an optional password, and a printable name."""

    url: str
    password: str | None = None
    timeout: float = 5.0

    @property
    def display(self) -> str:
        """The target as a person reads it: scheme, host, port, db, never a password."""
        return display_url(self.url)


def resolve_url(url: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The URL from the flag, else the environment, else the default."""
    return url or environ.get("QWATCH_REDIS_URL") or environ.get("REDIS_URL") or DEFAULT_URL


def read_password_file(path: str) -> str:
    """The first line of a password file, without its newline."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"cannot read password file {path}: {exc}") from exc
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise TargetError(f"password file {path} is empty")
    return lines[0]


def display_url(url: str) -> str:
    """`url` with any password removed, for logs, labels and error messages."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<malformed redis url>"
    if parts.scheme == "unix":
        db = _unix_db(parts.query)
        return f"unix://{parts.path}" + (f"?db={db}" if db != "0" else "")
    user = f"{unquote(parts.username)}@" if parts.username else ""
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    db = parts.path.lstrip("/") or "0"
    return f"{parts.scheme}://{user}{host}:{port or 6379}/{db}"


def _unix_db(query: str) -> str:
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "db" and value:
            return value
    return "0"


def validate_url(url: str) -> None:
    """Reject a URL qwatch cannot use, with a message that says why."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise TargetError(f"malformed Redis URL {display_url(url)}: {exc}") from exc
    if parts.scheme not in SCHEMES:
        raise TargetError(
            f"unsupported Redis URL scheme {parts.scheme!r} in {display_url(url)}:"
            " use redis://, rediss:// or unix://"
        )
    if parts.scheme == "unix" and not parts.path:
        raise TargetError("a unix:// URL needs a socket path, e.g. unix:///run/redis.sock")
    db = parts.path.lstrip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        raise TargetError(f"database {db!r} in {display_url(url)} is not a number")


def connect(target: Target) -> redis.Redis:
    """A client for `target`; it connects lazily, on the first command."""
    validate_url(target.url)
    options: dict[str, object] = {
        "protocol": 2,
        "socket_timeout": target.timeout,
        "socket_connect_timeout": target.timeout,
    }
    if target.password is not None:
        options["password"] = target.password
    try:
        return redis.Redis.from_url(target.url, **options)
    except ValueError as exc:
        raise TargetError(f"malformed Redis URL {target.display}: {exc}") from exc


@contextmanager
def translated_errors(target: Target) -> Iterator[None]:
    """Turn redis-py's errors into one-line `RedisUnavailable` naming the target."""
    try:
        yield
    except redis.AuthenticationError as exc:
        raise RedisUnavailable(f"{target.display}: authentication failed ({exc})") from exc
    except redis.TimeoutError as exc:
        raise RedisUnavailable(f"{target.display}: timed out ({exc})") from exc
    except redis.ConnectionError as exc:
        raise RedisUnavailable(f"{target.display}: cannot connect ({_first_line(exc)})") from exc
    except redis.ResponseError as exc:
        raise RedisUnavailable(f"{target.display}: Redis refused ({exc})") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
