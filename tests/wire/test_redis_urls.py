"""Redis URLs: a password never shows in an error, whatever it holds; odd parameters are refused."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from rq import Queue

from harness import tasks
from harness.redis_server import RedisServer
from qwatch.cli import main
from tests.cli.test_cli import run_cli

PASSWORDS = ["pa/ss-w0rd", "pa?ss-w0rd", "pa#ss-w0rd", "p/a?s#s@w0rd", "pa:ss/w0rd"]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize(
    "command", [["snapshot"], ["failed"], ["job", "x"], ["serve", "--listen", "127.0.0.1:0"]]
)
def test_an_unencoded_password_is_never_printed(
    redis_server: RedisServer,
    password: str,
    command: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    for url in (
        f"redis://:{password}@127.0.0.1:{redis_server.port}/0",
        f"redis://app:{password}@127.0.0.1:{redis_server.port}/0",
        f"rediss://:{password}@127.0.0.1:{redis_server.port}",
        f"redis://:{password}@127.0.0.1:{redis_server.port}/0?protocol=3",
    ):
        assert main([*command, "--url", url, "--timeout", "2"]) == 2
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and "Traceback" not in err
        pieces = password.replace("/", " ").replace("?", " ").replace("#", " ").split()
        for fragment in {password, *pieces}:
            if len(fragment) > 3:
                assert fragment not in out + err


def test_an_encoded_password_works(client: redis.Redis, redis_server: RedisServer) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    password = "p/a?s#s@w0rd"
    client.acl_setuser(
        "app", reset=True, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"]
    )
    url = f"redis://app:{quote(password, safe='')}@127.0.0.1:{redis_server.port}/0"
    result = run_cli("snapshot", "--url", url)
    assert result.returncode == 0 and "default" in result.stdout


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("protocol=3", "qwatch speaks RESP2 only"),
        ("surprise=1", "unknown parameter 'surprise' in the Redis URL redis://127.0.0.1:"),
        ("retry_on_timeout=yes", "unknown parameter 'retry_on_timeout'"),
        ("db=x", "database 'x'"),
        ("ssl_ca_certs=/tmp/ca.crt", "ssl_ca_certs needs a rediss:// URL"),
    ],
)
def test_odd_url_parameters_are_one_line_errors(
    redis_server: RedisServer, query: str, message: str
) -> None:
    result = run_cli("snapshot", "--url", f"redis://:pw@127.0.0.1:{redis_server.port}/0?{query}")
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_known_url_parameters_are_used(client: redis.Redis, redis_server: RedisServer) -> None:
    Queue("in-db-3", connection=redis_server.client(db=3)).enqueue(tasks.add, 1, 1)
    url = f"redis://127.0.0.1:{redis_server.port}/0?db=3&protocol=2&client_name=qwatch-test"
    result = run_cli("snapshot", "--url", url)
    assert result.returncode == 0 and "in-db-3" in result.stdout


def test_a_unix_socket_url_reads_that_redis(tmp_path: Path) -> None:
    socket_path = tmp_path / "redis.sock"
    with RedisServer("--unixsocket", str(socket_path), "--unixsocketperm", "700") as server:
        Queue("over-the-socket", connection=server.client(db=2)).enqueue(tasks.add, 1, 1)
        result = run_cli("snapshot", "--url", f"unix://{socket_path}?db=2")
        failed = run_cli("failed", "--url", f"unix://{socket_path}?db=2")
    assert result.returncode == 0, result.stderr
    assert "over-the-socket" in result.stdout
    assert failed.returncode == 0, failed.stderr
