"""Where qwatch connects: a target read from flags and the environment, and its client.

The URL comes from `--url`, else `QWATCH_REDIS_URL`, else `REDIS_URL`, else
the local default. The password may instead sit in a file, so that it never
shows in `ps` or a shell history. A target is always shown without it, and
no error quotes the URL itself: a password with an unencoded `/`, `?` or `#`
would otherwise end up in the text of a host, a port or a path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

from qwatch.errors import TargetError

DEFAULT_URL = "redis://localhost:6379/0"
SCHEMES = ("redis", "rediss", "unix")
_HOST = re.compile(r"[A-Za-z0-9_.:%-]{1,253}")
"""A host name, an IPv4 or an IPv6 address (brackets removed)."""
URL_PARAMETERS = (
    "db", "username", "password", "client_name", "protocol",
    "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname",
)  # fmt: skip
"""Query parameters qwatch understands, with redis-py's names; any other is refused."""
CERT_REQS = ("none", "optional", "required")


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """`--tls-ca`, `--tls-cert`, `--tls-key`: they win over the URL's `ssl_*` parameters."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """A Redis to read: its URL (or Sentinel master), an optional password, a timeout."""

    url: str
    password: str | None = None
    timeout: float = 5.0
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None
    tls: TLSFiles = field(default_factory=TLSFiles)

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
    scheme, _sep, rest = url.partition("://")
    if _misplaced_at(rest):
        rest = rest.rsplit("@", 1)[1]  # shown without its user: the URL is refused anyway
        url = f"{scheme}://{rest}"
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
    db = parse_qs(parts.query).get("db", [parts.path.lstrip("/") or "0"])[-1]
    return f"{parts.scheme}://{user}{host}:{port or 6379}/{db}"


def _misplaced_at(rest: str) -> bool:
    """Whether an `@` comes after the end of the host part: a password not encoded."""
    ends = [rest.find(mark) for mark in "/?#" if mark in rest]
    return "@" in rest and bool(ends) and rest.rfind("@") > min(ends)


def validate_url(url: str) -> None:
    """Reject a URL qwatch cannot use, with a message that says why (and no password)."""
    if "://" not in url:
        raise TargetError(
            "the Redis URL needs a scheme: redis://HOST:PORT/DB, rediss://... or unix:///PATH"
        )
    if _misplaced_at(url.partition("://")[2]):
        raise TargetError(
            "the Redis URL has an '@' after a '/', '?' or '#': write those characters in a"
            " password as %2F, %3F and %23 (or use --password-file), and an '@' in a"
            " parameter as %40"
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ or characters no host name holds
        raise TargetError(
            "malformed Redis URL: its host is not a name or an address"
            " (an IPv6 address goes in brackets: redis://[::1]:6379/0)"
        ) from None
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise TargetError("malformed Redis URL: the port must be a number below 65536") from None
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
    url_options(url)


def url_options(url: str) -> dict[str, object]:
    """The URL's query parameters as redis-py options, each checked; unknown ones refused."""
    parts = urlsplit(url)
    shown = display_url(url)
    params = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(params) - set(URL_PARAMETERS))
    if unknown:
        raise TargetError(
            f"unknown parameter {unknown[0]!r} in the Redis URL {shown}:"
            f" qwatch understands {', '.join(URL_PARAMETERS)}"
        )
    if params.pop("protocol", "2") != "2":
        raise TargetError(f"qwatch speaks RESP2 only: remove protocol= from the Redis URL {shown}")
    options: dict[str, object] = dict(params)
    if "db" in params:
        if not params["db"].isdigit():
            raise TargetError(f"database {params['db']!r} in {shown} is not a number")
        options["db"] = int(params["db"])
    ssl_params = [name for name in params if name.startswith("ssl_")]
    if ssl_params and parts.scheme != "rediss":
        raise TargetError(f"{ssl_params[0]} needs a rediss:// URL, not {shown}")
    if params.get("ssl_cert_reqs", "required") not in CERT_REQS:
        raise TargetError(f"ssl_cert_reqs must be one of {', '.join(CERT_REQS)}")
    if "ssl_check_hostname" in params:
        options["ssl_check_hostname"] = params["ssl_check_hostname"].lower() in ("true", "1", "yes")
    return options


def tls_options(target: Target, url_given: dict[str, object]) -> dict[str, object]:
    """redis-py's ssl options: a certificate is verified, hostname included, unless told not to."""
    if urlsplit(target.url).scheme != "rediss":
        if target.tls != TLSFiles():
            raise TargetError("--tls-ca, --tls-cert and --tls-key need a rediss:// URL")
        return {}
    options = {name: value for name, value in url_given.items() if name.startswith("ssl_")}
    for name, path in (
        ("ssl_ca_certs", target.tls.ca),
        ("ssl_certfile", target.tls.cert),
        ("ssl_keyfile", target.tls.key),
    ):
        if path:
            options[name] = path
    for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        if name in options:
            _check_readable(name, str(options[name]))
    if "ssl_keyfile" in options and "ssl_certfile" not in options:
        raise TargetError("a TLS key (--tls-key, ssl_keyfile) needs its certificate (--tls-cert)")
    options.setdefault("ssl_cert_reqs", "required")
    options.setdefault("ssl_check_hostname", options["ssl_cert_reqs"] == "required")
    return options


def _check_readable(name: str, path: str) -> None:
    option = {"ssl_ca_certs": "--tls-ca", "ssl_certfile": "--tls-cert"}.get(name, "--tls-key")
    try:
        Path(path).open("rb").close()
    except OSError as exc:
        raise TargetError(f"cannot read {option} {path}: {exc.strerror or exc}") from None


def connect(target: Target) -> redis.Redis:
    """A client for `target`; it connects lazily, on the first command."""
    if target.sentinels:
        return _sentinel_client(target)
    validate_url(target.url)
    given = url_options(target.url)
    options: dict[str, object] = {
        **{name: value for name, value in given.items() if not name.startswith("ssl_")},
        **tls_options(target, given),
        "protocol": 2,
        "socket_timeout": target.timeout,
        "socket_connect_timeout": target.timeout,
    }
    if target.password is not None:
        options["password"] = target.password
    parts = urlsplit(target.url)
    path = "" if "db" in given and parts.scheme != "unix" else parts.path
    try:
        # Not urlunsplit: with no host it writes `unix:/path`, which redis-py refuses.
        return redis.Redis.from_url(f"{parts.scheme}://{parts.netloc}{path}", **options)
    except ValueError:
        raise TargetError(f"malformed Redis URL {target.display}") from None


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
