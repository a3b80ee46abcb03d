"""Escape sequences stored in Redis never reach the terminal through the one-shot commands."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis
from rq import Queue

from harness import tasks
from harness.workers import run_burst
from qwatch.text.printable import printable, printable_lines

RETITLE = "\x1b]2;pwned\x07"
CLEAR = "\x1b[2J"
HIDE = "\x1b[8m"
HOSTILE = [RETITLE.encode(), CLEAR.encode(), HIDE.encode(), b"\x07", b"\xe2\x80\xae", b"\xc2\x9b"]
"""The sequences as bytes, and a right-to-left override and a C1 CSI in UTF-8."""


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain name", "plain name"),
        (f"host{RETITLE}", "host\\x1b]2;pwned\\x07"),
        (f"{CLEAR}{HIDE}x", "\\x1b[2J\\x1b[8mx"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("c1\x9b31m", "c1\\x9b31m"),
        ("two\nlines\tand\ra\x00b\x7f", "two\\nlines\\tand\\ra\\x00b\\x7f"),
        ("line\u2028separator", "line\\u2028separator"),
    ],
)
def test_controls_are_written_as_their_escapes(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_a_traceback_keeps_its_lines() -> None:
    traceback = f"Traceback:\r\n  File 'x'\n\tat{CLEAR}\nValueError: {HIDE}hidden"
    assert printable_lines(traceback) == (
        "Traceback:\n  File 'x'\n\tat\\x1b[2J\nValueError: \\x1b[8mhidden"
    )


def plant_hostile_state(client: redis.Redis, url: str) -> str:
    """A worker whose hostname retitles the terminal, and a real failed job whose message
    clears the screen and hides text."""
    job = Queue("default", connection=client).enqueue(tasks.fail, f"boom {CLEAR}{HIDE}secret")
    run_burst(url, ["default"])
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    client.sadd("rq:workers", "rq:worker:evil")
    client.hset(
        "rq:worker:evil",
        mapping={
            "hostname": f"host{RETITLE}",
            "state": f"idle{CLEAR}",
            "queues": "default",
            "pid": 1,
            "birth": now,
            "last_heartbeat": now,
        },
    )
    client.expire("rq:worker:evil", 600)
    return job.id


def run_cli(*argv: str, colour: bool) -> bytes:
    """The installed console script's stdout as bytes, piped, or as if to a colour terminal."""
    qwatch = Path(sys.executable).parent / "qwatch"
    env = {key: value for key, value in os.environ.items() if key not in {"NO_COLOR", "TERM"}}
    env.update({"FORCE_COLOR": "1", "TERM": "xterm-256color"} if colour else {"TERM": "dumb"})
    result = subprocess.run([str(qwatch), *argv], capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("colour", [False, True], ids=["piped", "terminal"])
def test_no_command_sends_an_escape_sequence_from_redis(
    client: redis.Redis, url: str, colour: bool
) -> None:
    job_id = plant_hostile_state(client, url)
    outputs = {
        "snapshot": run_cli("snapshot", "--url", url, colour=colour),
        "failed": run_cli("failed", "--url", url, colour=colour),
        "job": run_cli("job", job_id, "--url", url, colour=colour),
    }
    for command, output in outputs.items():
        for sequence in HOSTILE:
            assert sequence not in output, (command, sequence)
        if not colour:
            assert b"\x1b" not in output, command
    assert b"host\\x1b]2;pwned\\x07" in outputs["snapshot"]
    assert b"boom \\x1b[2J\\x1b[8msecret" in outputs["failed"]
    assert b"boom \\x1b[2J\\x1b[8msecret" in outputs["job"]
    assert outputs["job"].count(b"\n  File ") >= 1
