"""`--web-config FILE`: TLS and basic auth in the Prometheus exporter-toolkit format.

    tls_server_config:
      cert_file: server.crt          # paths are relative to this file
      key_file: server.key
      client_ca_file: clients.crt    # optional: then clients must present a certificate
      client_auth_type: RequireAndVerifyClientCert
    basic_auth_users:
      prometheus: $2y$10$...         # bcrypt, e.g. from `htpasswd -nBC 10 ""`

The same file works for node_exporter and every exporter built on the toolkit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from qwatch.errors import TargetError, first_line

CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}

_UNKNOWN_USER_HASH = bcrypt.hashpw(b"no such user", bcrypt.gensalt(10))
"""Checked for unknown users too, so the time taken does not tell which names exist."""


class WebConfigError(TargetError):
    """The web config file is unreadable or says something qwatch cannot do."""


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
        ok = bcrypt.checkpw(password, stored or _UNKNOWN_USER_HASH) and stored is not None
        if ok:
            with self._lock:
                self._verified.add(key)
        return ok


@dataclass(frozen=True)
class WebConfig:
    """What the server needs: a TLS context, basic auth, either or neither."""

    tls: ssl.SSLContext | None = None
    auth: BasicAuth | None = None


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
    tls = (
        _tls_context(raw.get("tls_server_config"), file.parent)
        if raw.get("tls_server_config")
        else None
    )
    auth = _basic_auth(raw.get("basic_auth_users")) if raw.get("basic_auth_users") else None
    return WebConfig(tls=tls, auth=auth)


def _tls_context(section: Any, base: Path) -> ssl.SSLContext:
    if not isinstance(section, dict) or not section.get("cert_file") or not section.get("key_file"):
        raise WebConfigError("tls_server_config needs cert_file and key_file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(base / section["cert_file"], base / section["key_file"])
        if section.get("client_ca_file"):
            context.load_verify_locations(base / section["client_ca_file"])
    except (OSError, ssl.SSLError) as exc:
        raise WebConfigError(f"tls_server_config: {first_line(exc)}") from exc
    auth_type = section.get("client_auth_type") or (
        "RequireAndVerifyClientCert" if section.get("client_ca_file") else "NoClientCert"
    )
    if auth_type not in CLIENT_AUTH:
        raise WebConfigError(f"tls_server_config: unknown client_auth_type {auth_type!r}")
    if CLIENT_AUTH[auth_type] != ssl.CERT_NONE and not section.get("client_ca_file"):
        raise WebConfigError(f"client_auth_type {auth_type} needs client_ca_file")
    context.verify_mode = CLIENT_AUTH[auth_type]
    return context


def _basic_auth(section: Any) -> BasicAuth:
    if not isinstance(section, dict):
        raise WebConfigError("basic_auth_users must map user names to bcrypt hashes")
    users = {}
    for user, hashed in section.items():
        encoded = str(hashed).encode()
        if not encoded.startswith((b"$2a$", b"$2b$", b"$2y$")):
            raise WebConfigError(f"basic_auth_users: the password of {user!r} is not a bcrypt hash")
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
