"""A private `redis-server` on a free loopback port, started and stopped on demand.

Tests, the demo and the benchmarks never touch a Redis they did not start.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from harness.certificates import Pair

STARTUP_DEADLINE = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RedisTLS:
    """What a TLS-only server needs, and the client certificate the harness itself uses."""

    ca: Path
    server: Pair
    client: Pair
    require_client_cert: bool = False

    def server_args(self, port: int) -> list[str]:
        return [
            "--port", "0", "--tls-port", str(port),
            "--tls-cert-file", str(self.server.cert), "--tls-key-file", str(self.server.key),
            "--tls-ca-cert-file", str(self.ca),
            "--tls-auth-clients", "yes" if self.require_client_cert else "no",
        ]  # fmt: skip

    def client_options(self) -> dict[str, object]:
        return {
            "ssl": True,
            "ssl_ca_certs": str(self.ca),
            "ssl_certfile": str(self.client.cert),
            "ssl_keyfile": str(self.client.key),
        }


class RedisServer:
    """One `redis-server` process that keeps its port across restarts."""

    def __init__(
        self, *extra_args: str, port: int | None = None, tls: RedisTLS | None = None
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make test`, which installs it")
        self.binary = binary
        self.port = port or free_port()
        self.extra_args = extra_args
        self.tls = tls
        self.directory = Path(tempfile.mkdtemp(prefix="qwatch-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL, database 0."""
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def client(self, **options: object) -> redis.Redis:
        """A new client of this server."""
        if self.tls:
            options = {**self.tls.client_options(), **options}
        return redis.Redis(host="127.0.0.1", port=self.port, protocol=2, **options)  # type: ignore[arg-type]

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        listen = self.tls.server_args(self.port) if self.tls else ["--port", str(self.port)]
        command = [
            self.binary,
            *listen,
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
            *self.extra_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + STARTUP_DEADLINE
        probe = self.client(socket_connect_timeout=0.5, socket_timeout=0.5)
        while True:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"redis-server exited: {self._log_tail()}")
            try:
                probe.ping()
                break
            except (redis.AuthenticationError, redis.ResponseError):
                break  # it answers, and wants a password
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not answer: {self._log_tail()}") from None
                time.sleep(0.02)
        probe.close()

    def stop(self) -> None:
        """Stop the server at once, as a crash or an operator would."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def _log_tail(self) -> str:
        log = self.directory / "redis.log"
        return log.read_text()[-500:] if log.exists() else "no log"

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
