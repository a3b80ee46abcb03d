"""`tls_server_config` of a web config: the exporter's TLS, every field or a refusal.

Each field of the exporter-toolkit format is either done here as the toolkit
does it, or refused at start with the reason: a setting silently ignored
would leave a server less protected than its owner believes.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwatch.errors import TargetError, first_line


class WebConfigError(TargetError):
    """The web config file is unreadable or says something qwatch cannot do."""


VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
UNVERIFIED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
"""Go accepts any client certificate under these, unverified; OpenSSL through Python's
ssl verifies every certificate it accepts, so qwatch refuses them rather than be stricter
or looser than the file says."""

CIPHER_SUITES = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
}
"""Go's names of TLS 1.2 suites and OpenSSL's. As in Go, the list does not apply to
TLS 1.3, whose suites are always the three below."""
TLS13_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")

REFUSED = {
    "curve_preferences": "Python's ssl module cannot set a list of curves; remove it",
    "cert": "inline certificates are not supported: use cert_file",
    "key": "inline keys are not supported: use key_file",
}
FIELDS = {
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
}


@dataclass(frozen=True)
class ServerTLS:
    """The TLS context, and the client certificate names allowed in (none: any verified)."""

    context: ssl.SSLContext
    allowed_sans: frozenset[str] = frozenset()

    def wrap(self, sock: socket.socket) -> ssl.SSLSocket:
        """The TLS socket, before its handshake: so that it can be shut while it waits."""
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)

    def handshake(self, wrapped: ssl.SSLSocket) -> None:
        """The handshake, then the SAN check; raises `ssl.SSLError` on refusal."""
        wrapped.do_handshake()
        if self.allowed_sans and not self.allowed_sans & _sans(wrapped.getpeercert()):
            raise ssl.SSLError("client certificate has none of client_allowed_sans")


def tls_from_section(section: Any, base: Path) -> ServerTLS:
    """A `ServerTLS` from `tls_server_config`; paths are relative to the config file."""
    if not isinstance(section, dict):
        raise WebConfigError("tls_server_config must be a mapping")
    for key in section:
        if key in REFUSED:
            raise WebConfigError(f"tls_server_config: {key}: {REFUSED[key]}")
        if key not in FIELDS:
            raise WebConfigError(f"tls_server_config: unknown key {key!r}")
    if not section.get("cert_file") or not section.get("key_file"):
        raise WebConfigError("tls_server_config needs cert_file and key_file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(base / section["cert_file"], base / section["key_file"])
        if section.get("client_ca_file"):
            context.load_verify_locations(base / section["client_ca_file"])
    except (OSError, ssl.SSLError) as exc:
        raise WebConfigError(f"tls_server_config: {first_line(exc)}") from exc
    context.verify_mode = _client_auth(section)
    _set_versions(context, section)
    _set_ciphers(context, section)
    return ServerTLS(context, _allowed_sans(section, context.verify_mode))


def _client_auth(section: dict[str, Any]) -> ssl.VerifyMode:
    auth_type = section.get("client_auth_type") or (
        "RequireAndVerifyClientCert" if section.get("client_ca_file") else "NoClientCert"
    )
    if auth_type in UNVERIFIED_CLIENT_AUTH:
        raise WebConfigError(
            f"client_auth_type {auth_type} (an unverified certificate) is not supported:"
            " use RequireAndVerifyClientCert or VerifyClientCertIfGiven with client_ca_file"
        )
    if auth_type not in CLIENT_AUTH:
        raise WebConfigError(f"tls_server_config: unknown client_auth_type {auth_type!r}")
    if CLIENT_AUTH[auth_type] != ssl.CERT_NONE and not section.get("client_ca_file"):
        raise WebConfigError(f"client_auth_type {auth_type} needs client_ca_file")
    return CLIENT_AUTH[auth_type]


def _set_versions(context: ssl.SSLContext, section: dict[str, Any]) -> None:
    low, high = (
        _version(section, "min_version", "TLS12"),
        _version(section, "max_version", "TLS13"),
    )
    if low > high:
        raise WebConfigError("tls_server_config: min_version is above max_version")
    context.minimum_version, context.maximum_version = low, high


def _version(section: dict[str, Any], key: str, default: str) -> ssl.TLSVersion:
    name = section.get(key) or default
    if name not in VERSIONS:
        raise WebConfigError(
            f"tls_server_config: {key} {name!r} is not one of {', '.join(VERSIONS)}"
        )
    return VERSIONS[name]


def _set_ciphers(context: ssl.SSLContext, section: dict[str, Any]) -> None:
    if section.get("prefer_server_cipher_suites", True):
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    names = section.get("cipher_suites") or []
    if not isinstance(names, list):
        raise WebConfigError("tls_server_config: cipher_suites must be a list")
    unknown = [name for name in names if name not in CIPHER_SUITES and name not in TLS13_SUITES]
    if unknown:
        raise WebConfigError(f"tls_server_config: unknown cipher suite {unknown[0]!r}")
    chosen = [CIPHER_SUITES[name] for name in names if name in CIPHER_SUITES]
    if chosen:
        try:
            context.set_ciphers(":".join(chosen))
        except ssl.SSLError as exc:
            raise WebConfigError(f"tls_server_config: cipher_suites: {first_line(exc)}") from exc


def _allowed_sans(section: dict[str, Any], verify_mode: ssl.VerifyMode) -> frozenset[str]:
    names = section.get("client_allowed_sans") or []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise WebConfigError("tls_server_config: client_allowed_sans must be a list of names")
    if names and verify_mode == ssl.CERT_NONE:
        raise WebConfigError(
            "client_allowed_sans needs client_ca_file and a verified client_auth_type"
        )
    return frozenset(_normal(name) for name in names)


def _sans(certificate: dict[str, Any] | None) -> frozenset[str]:
    """DNS names, IP addresses, e-mail addresses and URIs of a verified peer certificate."""
    if not certificate:
        return frozenset()
    return frozenset(_normal(str(value)) for _kind, value in certificate.get("subjectAltName", ()))


def _normal(name: str) -> str:
    """IP addresses in one spelling (Python writes IPv6 SANs in full, upper case)."""
    try:
        return str(ipaddress.ip_address(name.strip()))
    except ValueError:
        return name.strip()
