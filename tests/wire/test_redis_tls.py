"""TLS to Redis: a TLS-only redis-server, certificates made by the test, every way to ask."""

from __future__ import annotations

import argparse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue

from harness import tasks
from harness.certificates import CertificateAuthority
from harness.polling import wait_until
from harness.redis_server import RedisServer, RedisTLS, free_port
from qwatch.cli.commands import build_parser, main
from tests.cli.test_cli import run_cli
from tests.exporter.conftest import parse


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    authority = CertificateAuthority(tmp_path_factory.mktemp("redis-tls"))
    CertificateAuthority(authority.directory, "stranger").issue("imposter", client=True)
    return authority


def files(ca: CertificateAuthority, name: str) -> tuple[Path, Path]:
    return ca.directory / f"{name}.crt", ca.directory / f"{name}.key"


@pytest.fixture(scope="module", params=[True, False], ids=["client-cert", "ca-only"])
def tls_redis(ca: CertificateAuthority, request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A redis-server that speaks TLS only, requiring a client certificate or not."""
    server_pair = ca.issue("redis", "DNS:localhost")  # not 127.0.0.1: to see names checked
    client_pair = ca.issue("qwatch", client=True)
    tls = RedisTLS(ca.cert, server_pair, client_pair, require_client_cert=request.param)
    with RedisServer(tls=tls) as server:
        Queue("secure", connection=server.client()).enqueue(tasks.add, 1, 1)
        yield server


def options(ca: CertificateAuthority, server: RedisServer) -> list[str]:
    cert, key = files(ca, "qwatch")
    extra = (
        ["--tls-cert", str(cert), "--tls-key", str(key)]
        if server.tls and server.tls.require_client_cert
        else []
    )
    return ["--tls-ca", str(ca.cert), *extra]


def test_cli_options(
    ca: CertificateAuthority, tls_redis: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["snapshot"], ["snapshot", "--json"], ["failed"]):
        assert main([*command, "--url", tls_redis.url, *options(ca, tls_redis)]) == 0
        assert "secure" in capsys.readouterr().out or command == ["failed"]


def test_url_parameters(ca: CertificateAuthority, tls_redis: RedisServer) -> None:
    cert, key = files(ca, "qwatch")
    query = f"ssl_ca_certs={ca.cert}&ssl_cert_reqs=required"
    if tls_redis.tls and tls_redis.tls.require_client_cert:
        query += f"&ssl_certfile={cert}&ssl_keyfile={key}"
    result = run_cli("snapshot", "--url", f"{tls_redis.url}?{query}")
    assert result.returncode == 0, result.stderr
    assert "secure" in result.stdout


def test_a_wrong_ca_is_one_line_and_status_2(
    ca: CertificateAuthority, tls_redis: RedisServer
) -> None:
    cert, key = files(ca, "qwatch")
    stranger = ca.directory / "stranger.crt"
    result = run_cli(
        "snapshot", "--url", tls_redis.url, "--tls-ca", str(stranger),
        "--tls-cert", str(cert), "--tls-key", str(key),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "TLS handshake failed" in result.stderr and "CERTIFICATE_VERIFY_FAILED" in result.stderr


def test_a_client_certificate_is_required_when_redis_asks(
    ca: CertificateAuthority, tls_redis: RedisServer
) -> None:
    result = run_cli("snapshot", "--url", tls_redis.url, "--tls-ca", str(ca.cert))
    if tls_redis.tls and tls_redis.tls.require_client_cert:
        assert result.returncode == 2 and result.stderr.count("\n") == 1
        imposter, key = files(ca, "imposter")
        signed_by_another = run_cli(
            "snapshot", "--url", tls_redis.url, "--tls-ca", str(ca.cert),
            "--tls-cert", str(imposter), "--tls-key", str(key),
        )  # fmt: skip
        assert signed_by_another.returncode == 2
        assert signed_by_another.stderr.count("\n") == 1
    else:
        assert result.returncode == 0


def test_the_host_name_is_checked(
    ca: CertificateAuthority, tls_redis: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    by_address = f"rediss://127.0.0.1:{tls_redis.port}/0"  # not a name in the certificate
    assert main(["snapshot", "--url", by_address, *options(ca, tls_redis)]) == 2
    err = capsys.readouterr().err
    assert "TLS handshake failed" in err and "mismatch" in err and err.count("\n") == 1
    unchecked = f"{by_address}?ssl_check_hostname=false"
    assert main(["snapshot", "--url", unchecked, *options(ca, tls_redis)]) == 0
    assert "secure" in capsys.readouterr().out


def test_verification_may_be_turned_off(
    tls_redis: RedisServer, ca: CertificateAuthority, capsys: pytest.CaptureFixture[str]
) -> None:
    cert, key = files(ca, "qwatch")
    url = f"{tls_redis.url}?ssl_cert_reqs=none&ssl_certfile={cert}&ssl_keyfile={key}"
    assert main(["snapshot", "--url", url]) == 0  # no CA given: nothing checked, as asked
    assert "secure" in capsys.readouterr().out


def test_serve_reads_over_tls(ca: CertificateAuthority, tls_redis: RedisServer) -> None:
    import subprocess
    import sys

    port = free_port()
    qwatch = str(Path(sys.executable).parent / "qwatch")
    serve = subprocess.Popen(
        [qwatch, "serve", "--url", tls_redis.url, *options(ca, tls_redis),
         "--listen", f"127.0.0.1:{port}", "--name", "tls"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def scraped() -> str | None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/metrics", timeout=5
                ) as answer:
                    return str(answer.read().decode())
            except OSError:
                return None

        scrape = parse(wait_until(scraped, "qwatch serve to answer") or "")
    finally:
        serve.terminate()
        serve.communicate(timeout=30)
    assert scrape.value("qwatch_up", redis="tls") == 1
    assert scrape.value("qwatch_queue_jobs", redis="tls", queue="secure", state="queued") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "redis://127.0.0.1:1/0", "--tls-ca", "/etc/hostname"], "need a rediss:// URL"),
        (["--url", "rediss://127.0.0.1:1/0", "--tls-ca", "/nonexistent/ca.crt"],
         "cannot read --tls-ca /nonexistent/ca.crt"),
        (["--url", "rediss://127.0.0.1:1/0?ssl_cert_reqs=maybe"], "ssl_cert_reqs must be one of"),
        (["--url", "rediss://127.0.0.1:1/0", "--tls-key", "/etc/hostname"],
         "needs its certificate"),
    ],
)  # fmt: skip
def test_tls_mistakes_are_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("snapshot", "top", "serve"):
        assert main([command, *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_sentinel_with_tls_options_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["serve", "--sentinel", "127.0.0.1:1", "--sentinel-master", "m", "--tls-ca", "ca.crt"]
    assert main(argv) == 2
    assert "not with --sentinel" in capsys.readouterr().err


def test_every_command_has_the_tls_options() -> None:
    parser = build_parser()
    for command in ("snapshot", "failed", "job", "top", "serve"):
        text = _help(parser, command)
        assert {"--tls-ca", "--tls-cert", "--tls-key"} <= set(text.split())


def _help(parser: argparse.ArgumentParser, command: str) -> str:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return str(subparsers.choices[command].format_help())
