"""`qwatch serve` as users run it: its own process, its options on the command line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from harness.redis_server import free_port
from harness.workers import ROOT


@contextmanager
def qwatch_serve(url: str, options: Sequence[str], log: Path) -> Iterator[str]:
    """Run `qwatch serve --url URL OPTIONS` on a free port; yield its `host:port`.

    Its stderr goes to `log`, read when a test fails; SIGTERM stops it, as a service
    manager would.
    """
    address = f"127.0.0.1:{free_port()}"
    command = [
        str(Path(sys.executable).parent / "qwatch"),
        "serve",
        "--url",
        url,
        "--listen",
        address,
        *options,
    ]
    with log.open("wb") as errors:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, cwd=ROOT)
    try:
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)
