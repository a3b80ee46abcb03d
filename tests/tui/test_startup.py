"""`qwatch top` that cannot read Redis at start says so in one line and exits 2, like snapshot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import redis

from harness.redis_server import RedisServer, free_port


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    qwatch = Path(sys.executable).parent / "qwatch"
    return subprocess.run([str(qwatch), *argv], capture_output=True, text=True, timeout=60)


def test_an_unreachable_redis_at_start_is_the_same_error_as_snapshot() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    top = run_cli("top", "--url", url, "--timeout", "2")
    snapshot = run_cli("snapshot", "--url", url, "--timeout", "2")
    assert top.returncode == snapshot.returncode == 2
    assert top.stderr == snapshot.stderr
    assert top.stderr.count("\n") == 1 and "cannot connect" in top.stderr
    assert top.stdout == ""


def test_a_wrong_password_at_start_is_the_same_error_as_snapshot(
    client: redis.Redis, redis_server: RedisServer
) -> None:
    client.acl_setuser(
        "app", reset=True, enabled=True, passwords=["+right-pw"], keys=["*"], commands=["+@all"]
    )
    url = f"redis://app:wrong-pw@127.0.0.1:{redis_server.port}/0"
    top = run_cli("top", "--url", url)
    snapshot = run_cli("snapshot", "--url", url)
    assert top.returncode == snapshot.returncode == 2
    assert top.stderr == snapshot.stderr
    assert "authentication failed" in top.stderr and "wrong-pw" not in top.stderr
