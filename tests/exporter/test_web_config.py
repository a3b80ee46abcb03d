"""Every web config field is done as the exporter toolkit does it, or refused at start."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
import pytest

from harness.certificates import CertificateAuthority
from qwatch.errors import TargetError
from qwatch.exporter.http.web_config import load_web_config
from tests.exporter.conftest import Exporter, StartExporter
from tests.exporter.test_http_limits import closed_while_trickling

TLS = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    authority = CertificateAuthority(tmp_path_factory.mktemp("certs"))
    authority.issue("server", "IP:127.0.0.1")
    authority.issue("scraper", "DNS:prometheus.example.org", client=True)
    authority.issue("intruder", "DNS:intruder.example.org", client=True)
    stranger = CertificateAuthority(authority.directory, "stranger")
    stranger.issue("imposter", "DNS:prometheus.example.org", client=True)
    return authority


def serve(start_exporter: StartExporter, ca: CertificateAuthority, text: str) -> Exporter:
    config = ca.directory / "web.yml"
    config.write_text(text)
    return start_exporter(web=load_web_config(str(config)))


def client_context(ca: CertificateAuthority, cert: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.cert))
    if cert:
        context.load_cert_chain(
            str(ca.directory / f"{cert}.crt"), str(ca.directory / f"{cert}.key")
        )
    return context


def get(exporter: Exporter, context: ssl.SSLContext) -> tuple[int, dict[str, str]]:
    url = exporter.url.replace("http://", "https://") + "/healthz"
    with urllib.request.urlopen(url, timeout=30, context=context) as response:
        return int(response.status), dict(response.headers)


REFUSED = (ssl.SSLError, urllib.error.URLError, ConnectionError)


def test_client_allowed_sans_refuses_a_certificate_with_another_name(
    start_exporter: StartExporter, ca: CertificateAuthority
) -> None:
    exporter = serve(
        start_exporter,
        ca,
        TLS + "  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus.example.org]\n",
    )
    assert get(exporter, client_context(ca, "scraper"))[0] == 200
    with pytest.raises(REFUSED):
        get(exporter, client_context(ca, "intruder"))
    with pytest.raises(REFUSED):
        get(exporter, client_context(ca))


def test_a_stalled_tls_handshake_is_closed(
    start_exporter: StartExporter, ca: CertificateAuthority
) -> None:
    config = ca.directory / "web.yml"
    config.write_text(TLS)
    exporter = start_exporter(web=load_web_config(str(config)), request_deadline=0.5)
    with socket.create_connection(exporter.address, 30) as stalled:
        stalled.sendall(b"\x16\x03\x01\x02\x00")  # a ClientHello of 512 bytes to come
        assert closed_while_trickling(stalled, b"\x01")
    assert get(exporter, client_context(ca))[0] == 200


def test_min_version_tls13_refuses_tls12(
    start_exporter: StartExporter, ca: CertificateAuthority
) -> None:
    exporter = serve(start_exporter, ca, TLS + "  min_version: TLS13\n")
    assert get(exporter, client_context(ca))[0] == 200
    old = client_context(ca)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(REFUSED):
        get(exporter, old)


def test_max_version_tls12_refuses_tls13_only_clients(
    start_exporter: StartExporter, ca: CertificateAuthority
) -> None:
    exporter = serve(start_exporter, ca, TLS + "  max_version: TLS12\n")
    assert get(exporter, client_context(ca))[0] == 200
    new = client_context(ca)
    new.minimum_version = ssl.TLSVersion.TLSv1_3
    with pytest.raises(REFUSED):
        get(exporter, new)


def test_cipher_suites_limit_tls12_to_the_listed_suites(
    start_exporter: StartExporter, ca: CertificateAuthority
) -> None:
    exporter = serve(
        start_exporter,
        ca,
        TLS + "  max_version: TLS12\n"
        "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"
        "  prefer_server_cipher_suites: true\n",
    )
    listed = client_context(ca)
    listed.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256")
    host, port = exporter.address
    with listed.wrap_socket(
        socket.create_connection((host, port), 30), server_hostname=host
    ) as sock:
        cipher = sock.cipher()
        assert cipher is not None and cipher[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"
    other = client_context(ca)
    other.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    with pytest.raises(REFUSED):
        get(exporter, other)


@pytest.mark.parametrize(
    ("prefer", "chosen"),
    [("true", "ECDHE-ECDSA-AES256-GCM-SHA384"), ("false", "ECDHE-ECDSA-AES128-GCM-SHA256")],
)
def test_prefer_server_cipher_suites_decides_whose_order_wins(
    start_exporter: StartExporter, ca: CertificateAuthority, prefer: str, chosen: str
) -> None:
    exporter = serve(
        start_exporter,
        ca,
        TLS + "  max_version: TLS12\n  cipher_suites:\n"
        "    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
        "    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
        f"  prefer_server_cipher_suites: {prefer}\n",
    )
    client = client_context(ca)
    client.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384")
    with client.wrap_socket(
        socket.create_connection(exporter.address, 30), server_hostname=exporter.address[0]
    ) as sock:
        cipher = sock.cipher()
    assert cipher is not None and cipher[0] == chosen


def test_verify_client_cert_if_given_lets_in_no_certificate_but_not_a_strange_one(
    start_exporter: StartExporter, ca: CertificateAuthority
) -> None:
    exporter = serve(
        start_exporter,
        ca,
        TLS + "  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n",
    )
    assert get(exporter, client_context(ca))[0] == 200
    assert get(exporter, client_context(ca, "scraper"))[0] == 200
    with pytest.raises(REFUSED):
        get(exporter, client_context(ca, "imposter"))


def test_headers_are_added_to_every_answer(
    start_exporter: StartExporter, ca: CertificateAuthority
) -> None:
    exporter = serve(
        start_exporter,
        ca,
        TLS + "http_server_config:\n  http2: false\n  headers:\n"
        "    Strict-Transport-Security: max-age=31536000\n    X-Frame-Options: deny\n",
    )
    _status, headers = get(exporter, client_context(ca))
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert headers["X-Frame-Options"] == "deny"


GOOD_HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TLS + "  curve_preferences: [X25519]\n", "curve_preferences: Python's ssl module"),
        (TLS + "  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca.crt\n",
         "RequireAnyClientCert (an unverified certificate) is not supported"),
        (TLS + "  client_auth_type: RequestClientCert\n", "RequestClientCert"),
        (TLS + "  client_allowed_sans: [a]\n", "client_allowed_sans needs client_ca_file"),
        (TLS + "  min_version: TLS13\n  max_version: TLS12\n", "min_version is above"),
        (TLS + "  min_version: SSL3\n", "min_version 'SSL3' is not one of"),
        (TLS + "  cipher_suites: [TLS_NULL]\n", "unknown cipher suite 'TLS_NULL'"),
        (TLS + "  cert: inline\n", "cert: inline certificates are not supported"),
        (TLS + "  surprise: 1\n", "unknown key 'surprise'"),
        ("http_server_config:\n  http2: true\n", "HTTP/1.1 only"),
        ("http_server_config:\n  headers:\n    Server: x\n", "header 'Server' is not one of"),
        ("http_server_config:\n  rate_limit: 1\n", "unknown key 'rate_limit'"),
        (f"basic_auth_users:\n  bob: '{GOOD_HASH[:-1]}'\n", "not a bcrypt hash"),
        (f"basic_auth_users:\n  bob: '{GOOD_HASH[:4]}99{GOOD_HASH[6:]}'\n", "not a bcrypt hash"),
        (f"basic_auth_users:\n  bob: '{GOOD_HASH[:-1]}*'\n", "not a bcrypt hash"),
        ("basic_auth_users:\n  bob: '$2y$10$'\n", "not a bcrypt hash"),
    ],
)  # fmt: skip
def test_what_qwatch_cannot_do_is_refused_at_start(
    ca: CertificateAuthority, text: str, message: str
) -> None:
    config = ca.directory / "refused.yml"
    config.write_text(text)
    with pytest.raises(TargetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_web_config(str(config))


def test_serve_with_a_malformed_hash_exits_2_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users:\n  bob: '{GOOD_HASH[:-3]}'\n")
    qwatch = str(Path(sys.executable).parent / "qwatch")
    result = subprocess.run(
        [qwatch, "serve", "--web-config", str(config)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "is not a bcrypt hash" in result.stderr and result.stderr.count("\n") == 1
