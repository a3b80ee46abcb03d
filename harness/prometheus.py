"""A private `prometheus` server scraping given targets every second."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.redis_server import free_port

STARTUP_DEADLINE = 60.0


class PrometheusServer:
    """Prometheus from Debian's package, with its own storage and port."""

    def __init__(self, targets: Sequence[str], rule_files: Sequence[Path] = ()) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed: run `make test`, which installs it")
        self.binary = binary
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="qwatch-prometheus-"))
        rules = "".join(f"  - {path}\n" for path in rule_files)
        (self.directory / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            + (f"rule_files:\n{rules}" if rules else "")
            + "scrape_configs:\n  - job_name: qwatch\n    static_configs:\n"
            + f"      - targets: [{', '.join(repr(t) for t in targets)}]\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start Prometheus and wait until it is ready."""
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "prometheus.log").open("wb"),
        )
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "prometheus.log").read_text()[-2000:]
                self.stop()
                raise RuntimeError(f"prometheus did not start: {log}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """One call of the HTTP API; its `data`."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=30) as response:
            answer = json.loads(response.read())
        if answer.get("status") != "success":
            raise RuntimeError(f"prometheus said {answer}")
        return answer["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The instant vector of `expression` now."""
        result: list[dict[str, Any]] = self.api("query", query=expression)["result"]
        return result

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
