"""`make demo` really runs a workload, shows it, and leaves nothing running."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(command)
    return found


def test_demo_shows_a_live_workload_and_cleans_up() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--view", "snapshot", "--duration", "6"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"demo Redis at (redis://127\.0\.0\.1:(\d+)/0)", result.stdout)
    assert match, result.stdout[:500]
    url, port = match.group(1), int(match.group(2))
    for queue in ("emails", "crawl", "video"):
        assert queue in result.stdout
    assert "busy" in result.stdout or "idle" in result.stdout
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the demo's redis-server still runs"
    assert processes_mentioning(url) == []
