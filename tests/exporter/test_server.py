"""The exporter's HTTP face: formats, pages, outages, concurrency, TLS and basic auth."""

from __future__ import annotations

import base64
import signal
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import redis
from rq import Queue

from harness import tasks
from harness.certificates import CertificateAuthority
from harness.polling import wait_until
from harness.redis_server import RedisServer, free_port
from harness.workers import run_burst
from qwatch.errors import RedisUnavailable, TargetError, translated_errors
from qwatch.exporter.http.web_config import load_web_config
from qwatch.wire.connection import Target, connect
from tests.exporter.conftest import StartExporter, parse


def test_openmetrics_when_asked(client: redis.Redis, start_exporter: StartExporter) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    exporter = start_exporter()
    status, content_type, body = exporter.get(
        headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    assert body.endswith("\n# EOF\n") and body.count("# EOF") == 1
    assert body.index("qwatch_up{") < body.index("qwatch_queue_jobs{")
    assert 'qwatch_queue_jobs{queue="default",redis="main",state="queued",system="rq"} 1.0' in body
    _status, plain_type, _body = exporter.get()
    assert plain_type.startswith("text/plain")


def test_landing_page_and_health(start_exporter: StartExporter) -> None:
    exporter = start_exporter(name="prod-queues")
    status, content_type, body = exporter.get("/")
    assert status == 200 and content_type.startswith("text/html")
    assert 'href="/metrics"' in body and "prod-queues" in body
    assert exporter.get("/healthz")[::2] == (200, "ok\n")
    with pytest.raises(urllib.error.HTTPError) as missing:
        exporter.get("/nope")
    assert missing.value.code == 404


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis this test may stop, freeze and restart."""
    server = RedisServer()
    server.start()
    yield server
    if server.process is not None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


def test_redis_down_then_back(own_redis: RedisServer, start_exporter: StartExporter) -> None:
    Queue("default", connection=own_redis.client()).enqueue(tasks.add, 1, 1)
    exporter = start_exporter(url=own_redis.url)
    assert (
        exporter.scrape().value("qwatch_queue_jobs", redis="main", queue="default", state="queued")
        == 1
    )
    own_redis.stop()
    down = exporter.scrape()
    assert down.value("qwatch_up", redis="main") == 0
    assert (
        down.series("qwatch_queue_jobs") == {}
        and down.series("qwatch_redis_memory_used_bytes") == {}
    )
    assert down.value("qwatch_build_info", version=__import__("qwatch").__version__) == 1
    own_redis.start()
    Queue("default", connection=own_redis.client()).enqueue(tasks.add, 2, 2)
    back = exporter.scrape()
    assert back.value("qwatch_up", redis="main") == 1
    assert back.value("qwatch_queue_jobs", redis="main", queue="default", state="queued") == 1


def test_a_frozen_redis_answers_up_0_within_the_timeout(
    own_redis: RedisServer, start_exporter: StartExporter
) -> None:
    exporter = start_exporter(url=own_redis.url, timeout=1.0)
    assert exporter.scrape().value("qwatch_up", redis="main") == 1
    assert own_redis.process is not None
    own_redis.process.send_signal(signal.SIGSTOP)
    frozen = exporter.scrape()
    assert frozen.value("qwatch_up", redis="main") == 0
    assert frozen.series("qwatch_queue_jobs") == {}
    own_redis.process.send_signal(signal.SIGCONT)
    wait_until(
        lambda: exporter.scrape().value("qwatch_up", redis="main") == 1, "the exporter to recover"
    )


def test_redis_stopped_during_a_scrape(
    own_redis: RedisServer, start_exporter: StartExporter
) -> None:
    client = own_redis.client()
    for i in range(300):
        Queue(f"q{i}", connection=client).enqueue(tasks.add, i, 1)
    exporter = start_exporter(url=own_redis.url)
    results: list[float] = []
    scraping = threading.Thread(
        target=lambda: results.extend(
            exporter.scrape().value("qwatch_up", redis="main") for _ in range(20)
        )
    )
    scraping.start()
    own_redis.stop()
    own_redis.start()
    scraping.join()
    assert set(results) <= {0.0, 1.0}
    final = exporter.scrape()
    assert final.value("qwatch_up", redis="main") == 1
    assert final.series("qwatch_queue_jobs") == {}  # the restarted Redis kept nothing


def test_concurrent_scrapes_count_each_job_once(
    client: redis.Redis, url: str, start_exporter: StartExporter
) -> None:
    exporter = start_exporter()
    exporter.scrape()
    for i in range(5):
        Queue("default", connection=client).enqueue(tasks.add, i, 1)
    run_burst(url, ["default"])
    scrapes = []
    threads = [threading.Thread(target=lambda: scrapes.append(exporter.scrape())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(scrapes) == 8
    final = exporter.scrape()
    labels = {"redis": "main", "queue": "default", "function": "harness.tasks.add"}
    assert final.value("qwatch_jobs_finished_total", **labels) == 5
    assert all(
        s.series("qwatch_jobs_finished_total") in ({}, final.series("qwatch_jobs_finished_total"))
        for s in scrapes
    )


def fetch(
    url: str, context: ssl.SSLContext | None = None, user: str | None = None, password: str = ""
) -> int:
    headers = {}
    if user is not None:
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        )
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=30, context=context
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_tls_with_client_certificates_and_basic_auth(
    tmp_path: Path, start_exporter: StartExporter
) -> None:
    ca = CertificateAuthority(tmp_path)
    ca.issue("server", "IP:127.0.0.1")
    ca.issue("client", client=True)
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$")
    config = tmp_path / "web.yml"
    config.write_text(
        "tls_server_config:\n"
        "  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    exporter = start_exporter(web=load_web_config(str(config)))
    url = exporter.url.replace("http://", "https://") + "/metrics"
    with_client_cert = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    with_client_cert.load_cert_chain(str(tmp_path / "client.crt"), str(tmp_path / "client.key"))
    assert fetch(url, with_client_cert, "prometheus", "s3cret") == 200
    assert fetch(url, with_client_cert, "prometheus", "wrong") == 401
    assert fetch(url, with_client_cert, "nobody", "s3cret") == 401
    assert fetch(url, with_client_cert) == 401
    without_cert = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        fetch(url, without_cert, "prometheus", "s3cret")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        fetch(exporter.url + "/metrics")  # plain HTTP to a TLS port


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            "tls_server_config",
        ),
        ("basic_auth_users:\n  bob: plaintext\n", "not a bcrypt hash"),
        ("tls_server_config:\n  cert_file: a\n", "needs cert_file and key_file"),
        ("surprise: 1\n", "unknown keys surprise"),
        ("[1, 2", "cannot read web config"),
    ],
)
def test_bad_web_configs_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "web.yml"
    config.write_text(text)
    with pytest.raises(TargetError, match=message):
        load_web_config(str(config))


def test_serve_command_runs_and_stops_on_sigterm(url: str, client: redis.Redis) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    port = free_port()
    qwatch = str(Path(sys.executable).parent / "qwatch")
    process = subprocess.Popen(
        [qwatch, "serve", "--url", url, "--name", "cli", "--listen", f"127.0.0.1:{port}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def answers() -> str | None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/metrics", timeout=5
                ) as response:
                    return str(response.read().decode())
            except OSError:
                return None

        scrape = parse(wait_until(answers, "qwatch serve to answer") or "")
        assert scrape.value("qwatch_queue_jobs", redis="cli", queue="default", state="queued") == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"listening on http://127.0.0.1:{port}/metrics" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--listen", "nonsense"], "argument --listen: not HOST:PORT (e.g. :19726): 'nonsense'"),
        (["--name", "a", "--name", "b"], "2 --name for 1 Redis"),
        (["--sentinel", "h:1"], "--sentinel and --sentinel-master go together"),
        (["--sentinel", "garbage", "--sentinel-master", "m"], "--sentinel wants host:port"),
        (["--sentinel", "h:99999", "--sentinel-master", "m"], "not 'h:99999'"),
        (["--sentinel", "a b:1", "--sentinel-master", "m"], "not 'a b:1'"),
        (["--url", "redis://a:1/0", "--url", "redis://a:1/0"], "two Redis named 'a:1/0'"),
        (["--url", "redis://a/0", "--url", "redis://b/0", "--name", "x", "--name", "x"], "'x'"),
        (["--web-config", "/nonexistent.yml"], "cannot read web config"),
        (["--track-interval", "0"], "argument --track-interval: must be from 0.1 to 60 seconds"),
        (["--track-interval", "soon"], "argument --track-interval: not a number of seconds"),
        (["--track-interval", "nan"], "argument --track-interval: must be from 0.1 to 60"),
        (["--track-interval", "600"], "argument --track-interval: must be from 0.1 to 60"),
    ],
)
def test_serve_rejects_bad_options_in_one_line(argv: list[str], message: str) -> None:
    qwatch = str(Path(sys.executable).parent / "qwatch")
    result = subprocess.run([qwatch, "serve", *argv], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_serve_refuses_a_port_in_use(url: str) -> None:
    port = free_port()
    qwatch = str(Path(sys.executable).parent / "qwatch")
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(
            [qwatch, "serve", "--url", url, "--listen", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_sentinel_finds_the_master(
    client: redis.Redis, redis_server: RedisServer, tmp_path: Path
) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor queues 127.0.0.1 {redis_server.port} 1\n"
    )
    sentinel = subprocess.Popen(["redis-sentinel", str(config)], stdout=subprocess.DEVNULL)
    exporter_port = free_port()
    qwatch = str(Path(sys.executable).parent / "qwatch")
    serve = subprocess.Popen(
        [
            qwatch,
            "serve",
            "--sentinel",
            f"127.0.0.1:{port}",
            "--sentinel-master",
            "queues",
            "--listen",
            f"127.0.0.1:{exporter_port}",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:

        def master_seen() -> float | None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{exporter_port}/metrics", timeout=5
                ) as response:
                    scrape = parse(response.read().decode())
            except OSError:
                return None
            jobs = scrape.matching(
                "qwatch_queue_jobs", redis="queues", queue="default", state="queued"
            )
            return next(iter(jobs.values()), None)

        assert wait_until(master_seen, "the exporter to find the master through Sentinel") == 1
    finally:
        for process in (serve, sentinel):
            process.terminate()
            process.wait(timeout=30)


def test_a_sentinel_that_never_answers_is_logged_in_one_short_line() -> None:
    exporter_port = free_port()
    qwatch = str(Path(sys.executable).parent / "qwatch")
    serve = subprocess.Popen(
        [
            *(qwatch, "serve", "--sentinel", f"127.0.0.1:{free_port()}"),
            *("--sentinel-master", "queues", "--listen", f"127.0.0.1:{exporter_port}"),
            *("--timeout", "2"),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def scraped() -> str | None:
            try:
                url = f"http://127.0.0.1:{exporter_port}/metrics"
                with urllib.request.urlopen(url, timeout=5) as response:
                    return str(response.read().decode())
            except OSError:
                return None

        scrape = parse(wait_until(scraped, "qwatch serve to answer") or "")
        assert scrape.value("qwatch_up", redis="queues") == 0
    finally:
        serve.terminate()
        _out, err = serve.communicate(timeout=30)
    assert "redis queues: down: " in err
    assert all(len(line) < 200 for line in err.splitlines()), err


def test_a_missing_sentinel_master_is_one_line() -> None:
    target = Target(url="", timeout=2, sentinels=(("127.0.0.1", free_port()),), sentinel_master="m")
    with pytest.raises(RedisUnavailable) as raised, translated_errors(target):
        connect(target).ping()
    assert str(raised.value) == (
        f"{target.display}: no Sentinel knows the master (is its name right, are the Sentinels up?)"
    )
