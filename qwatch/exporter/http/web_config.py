"""`--web-config FILE`: TLS and basic auth in the Prometheus exporter-toolkit format.

    tls_server_config:
      cert_file: server.crt          # paths are relative to this file
      key_file: server.key
      client_ca_file: clients.crt    # optional: then clients must present a certificate
      client_auth_type: RequireAndVerifyClientCert
      client_allowed_sans: [prometheus.example.org]
      min_version: TLS13
    http_server_config:
      headers:
        Strict-Transport-Security: max-age=31536000
    basic_auth_users:
      prometheus: $2y$10$...         # bcrypt, e.g. from `htpasswd -nBC 10 ""`

The same file works for node_exporter and every exporter built on the toolkit.
Every field is either done as the toolkit does it or refused at start with the
reason (`tls_server.py` for the TLS ones).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from qwatch.errors import first_line
from qwatch.exporter.http.tls_server import ServerTLS, WebConfigError, tls_from_section

BCRYPT_HASH = re.compile(rb"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
HEADERS = (
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
)
"""The response headers the toolkit lets a web config set."""

_UNKNOWN_USER_HASH = bcrypt.hashpw(b"no such user", bcrypt.gensalt(10))
"""Checked for unknown users too, so the time taken does not tell which names exist."""


@dataclass
class BasicAuth:
    """Users and bcrypt hashes; a verified password is remembered by its SHA-256 only."""

    users: dict[str, bytes]
    _verified: set[bytes] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allows(self, header: str | None) -> bool:
        """Whether an `Authorization` header names a user with the right password."""
        credentials = _basic_credentials(header)
        if credentials is None:
            return False
        user, password = credentials
        stored = self.users.get(user)
        key = hashlib.sha256(user.encode() + b"\0" + password).digest()
        with self._lock:
            if stored is not None and any(
                hmac.compare_digest(key, seen) for seen in self._verified
            ):
                return True
        try:
            ok = bcrypt.checkpw(password, stored or _UNKNOWN_USER_HASH) and stored is not None
        except ValueError:  # hashes are checked at start; this is one more guard
            return False
        if ok:
            with self._lock:
                self._verified.add(key)
        return ok


@dataclass(frozen=True)
class WebConfig:
    """What the server needs: TLS, basic auth, either or neither, and extra headers."""

    tls: ServerTLS | None = None
    auth: BasicAuth | None = None
    headers: dict[str, str] = field(default_factory=dict)


def load_web_config(path: str) -> WebConfig:
    """Read and check a web config file; every problem is one `WebConfigError` line."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise WebConfigError(f"cannot read web config {path}: {first_line(exc)}") from exc
    if not isinstance(raw, dict):
        raise WebConfigError(f"web config {path} is not a mapping")
    unknown = set(raw) - {"tls_server_config", "basic_auth_users", "http_server_config"}
    if unknown:
        raise WebConfigError(f"web config {path}: unknown keys {', '.join(sorted(unknown))}")
    tls = raw.get("tls_server_config")
    users = raw.get("basic_auth_users")
    return WebConfig(
        tls=tls_from_section(tls, file.parent) if tls else None,
        auth=_basic_auth(users) if users else None,
        headers=_headers(raw.get("http_server_config") or {}),
    )


def _headers(section: Any) -> dict[str, str]:
    """`http_server_config`: response headers; HTTP/2 is refused, qwatch speaks HTTP/1.1."""
    if not isinstance(section, dict):
        raise WebConfigError("http_server_config must be a mapping")
    for key in section:
        if key not in ("http2", "headers"):
            raise WebConfigError(f"http_server_config: unknown key {key!r}")
    if section.get("http2"):
        raise WebConfigError("http_server_config: qwatch serves HTTP/1.1 only: set http2: false")
    headers = section.get("headers") or {}
    if not isinstance(headers, dict):
        raise WebConfigError("http_server_config: headers must map names to values")
    for name, value in headers.items():
        if name not in HEADERS:
            raise WebConfigError(
                f"http_server_config: header {name!r} is not one of {', '.join(HEADERS)}"
            )
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise WebConfigError(f"http_server_config: header {name} must be one line of text")
    return {str(name): str(value) for name, value in headers.items()}


def _basic_auth(section: Any) -> BasicAuth:
    if not isinstance(section, dict):
        raise WebConfigError("basic_auth_users must map user names to bcrypt hashes")
    users = {}
    for user, hashed in section.items():
        encoded = str(hashed).encode()
        if not BCRYPT_HASH.fullmatch(encoded):
            raise WebConfigError(
                f"basic_auth_users: the password of {user!r} is not a bcrypt hash"
                " ($2y$, a cost, $, then 53 characters)"
            )
        users[str(user)] = encoded
    return BasicAuth(users)


def _basic_credentials(header: str | None) -> tuple[str, bytes] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    return user.decode("utf-8", "replace"), password
