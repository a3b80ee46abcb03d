"""Job functions the RQ workers of the tests, the demo and the benchmarks run."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)  # a worker's root logger lets only warnings through


class UpstreamTimeout(Exception):
    """What a crawl raises when the site does not answer."""


def add(a: int, b: int) -> int:
    """A fast job that succeeds."""
    return a + b


def divide(a: int, b: int) -> float:
    """Fails with ZeroDivisionError when `b` is 0, with a real traceback."""
    return a / b


def sleep(seconds: float) -> float:
    """A slow job: the worker stays busy for `seconds`."""
    time.sleep(seconds)
    return seconds


def send_email(to: str, subject: str) -> str:
    """The demo's common fast job."""
    time.sleep(random.uniform(0.01, 0.2))
    return f"sent to {to}"


def crawl(url: str, depth: int = 1) -> int:
    """The demo's slow job that sometimes times out upstream."""
    time.sleep(random.uniform(0.5, 2.0))
    if random.random() < 0.2:
        raise UpstreamTimeout(f"{url} did not answer within 30s")
    return depth * 10


def encode_video(video_id: int, preset: str = "720p") -> str:
    """The demo's longest job."""
    time.sleep(random.uniform(2.0, 6.0))
    return f"video {video_id} at {preset}"


def flaky(chance: float) -> str:
    """Fails with the given chance: retried jobs in the demo."""
    if random.random() < chance:
        raise ConnectionError("flaky upstream")
    return "ok"


def fail(message: str) -> None:
    """Fails with ValueError(message): for long or odd exception messages."""
    raise ValueError(message)


def fail_once(marker: str) -> str:
    """Fails with ConnectionError the first time (creating the file `marker`), then succeeds."""
    path = Path(marker)
    if not path.exists():
        path.touch()
        raise ConnectionError("first try fails")
    return "ok"


def ask_retry(retries: int) -> object:
    """Returns RQ's `Retry`, which asks the worker to run the job again, up to `retries` times."""
    from rq import Retry

    return Retry(max=retries)


def with_progress(steps: int) -> int:
    """Records its progress in the job's `meta`, as progress bars do."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        job.meta["progress"] = {"done": steps, "of": steps}
        job.save_meta()
    return steps


def log_lines(count: int, text: str = "step") -> int:
    """Logs `count` lines, each number and `text`, and prints one: a job's own log."""
    for number in range(count):
        log.info("%d %s", number, text)
    print(f"printed by {text}")
    return count


def log_then_fail(text: str) -> None:
    """Logs a warning holding `text`, then fails with RuntimeError(text)."""
    log.warning("giving up on %s", text)
    raise RuntimeError(text)
