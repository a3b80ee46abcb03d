"""Where qwatch connects, and the one place Redis errors become qwatch errors.

The URL comes from `--url`, else `QWATCH_REDIS_URL`, else `REDIS_URL`, else
the local default. The password may instead sit in a file, so that it never
shows in `ps` or a shell history. A target is always shown without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.sentinel import MasterNotFoundError, Sentinel

from qwatch.errors import RedisUnavailable, TargetError, first_line

DEFAULT_URL = "redis://localhost:6379/0"
SCHEMES = ("redis", "rediss", "unix")
_HOST = re.compile(r"[A-Za-z0-9_.:%-]{1,253}")
"""A host name, an IPv4 or an IPv6 address (brackets removed)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A Redis to read: its URL (or Sentinel master), an optional password, a timeout."""

    url: str
    password: str | None = None
    timeout: float = 5.0
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None

    @property
    def display(self) -> str:
        """The target as a person reads it: scheme, host, port, db, never a password."""
        if self.sentinels:
            hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"sentinel://{hosts}/{self.sentinel_master}"
        return display_url(self.url)

    @property
    def name(self) -> str:
        """A short label for metrics: host:port/db, a socket path, or the Sentinel master."""
        if self.sentinels:
            return self.sentinel_master or "sentinel"
        return self.display.split("://", 1)[1].split("@", 1)[-1]


def parse_sentinels(text: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port`, each port given: a bare word is more likely a typo than a host."""
    sentinels = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, _, port = item.rpartition(":")
        host = host.strip("[]")
        if not _HOST.fullmatch(host) or not port.isdigit() or not 0 < int(port) < 65536:
            raise TargetError(
                f"--sentinel wants host:port[,host:port…], e.g. sentinel-1:26379, not {item!r}"
            )
        sentinels.append((host, int(port)))
    if not sentinels:
        raise TargetError("--sentinel needs at least one host:port")
    return tuple(sentinels)


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
        db = parse_qs(parts.query).get("db", ["0"])[0]
        return f"unix://{parts.path}" + (f"?db={db}" if db != "0" else "")
    user = f"{unquote(parts.username)}@" if parts.username else ""
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    db = parts.path.lstrip("/") or "0"
    return f"{parts.scheme}://{user}{host}:{port or 6379}/{db}"


def validate_url(url: str) -> None:
    """Reject a URL qwatch cannot use, with a message that says why (and no password)."""
    if "://" not in url:
        raise TargetError(
            "the Redis URL needs a scheme: redis://HOST:PORT/DB, rediss://... or unix:///PATH"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise TargetError(f"malformed Redis URL: {exc}") from exc
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
    if target.sentinels:
        return _sentinel_client(target)
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


def _sentinel_client(target: Target) -> redis.Redis:
    """The current master that the Sentinels name; redis-py follows failovers."""
    sentinel = Sentinel(
        list(target.sentinels),
        socket_timeout=target.timeout,
        socket_connect_timeout=target.timeout,
    )
    client: redis.Redis = sentinel.master_for(
        target.sentinel_master or "",
        protocol=2,
        password=target.password,
        socket_timeout=target.timeout,
        socket_connect_timeout=target.timeout,
    )
    return client


@contextmanager
def translated_errors(target: Target) -> Iterator[None]:
    """Turn redis-py's errors into one-line `RedisUnavailable` naming the target."""
    try:
        yield
    except redis.AuthenticationError as exc:
        raise RedisUnavailable(f"{target.display}: authentication failed ({exc})") from exc
    except MasterNotFoundError as exc:
        raise RedisUnavailable(
            f"{target.display}: no Sentinel answered for master {target.sentinel_master!r}"
        ) from exc
    except redis.TimeoutError as exc:
        raise RedisUnavailable(f"{target.display}: timed out ({exc})") from exc
    except redis.ConnectionError as exc:
        raise RedisUnavailable(f"{target.display}: cannot connect ({first_line(exc)})") from exc
    except redis.ResponseError as exc:
        raise RedisUnavailable(f"{target.display}: Redis refused ({exc})") from exc
    except redis.RedisError as exc:
        reason = f"{type(exc).__name__}: {first_line(exc)}"
        message = f"{target.display}: no Redis answering there ({reason})"
        raise RedisUnavailable(message) from exc
