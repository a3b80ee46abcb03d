"""Real Dramatiq on a private Redis, for the tests and the demo: a broker, its actors, workers.

The worker process builds its broker from environment variables (the URL
and the namespace); a test enqueues through a broker of its own with
`send`, naming the actor, so it declares no actor itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from harness.workers import ROOT, stop_worker
from qwatch.dramatiq import Middleware

BROKER = "QWATCH_DRAMATIQ_BROKER"
NAMESPACE = "QWATCH_DRAMATIQ_NAMESPACE"
EXACT = "QWATCH_DRAMATIQ_EXACT"
"""Set to 1 for a worker with qwatch's middleware: exact mode."""
DEFAULT_NAMESPACE = "dramatiq"


class UpstreamTimeout(Exception):
    """What a failing crawl raises: a traceback worth reading in the inspector."""


def make_broker(url: str, namespace: str = DEFAULT_NAMESPACE) -> RedisBroker:
    return RedisBroker(url=url, namespace=namespace)


def send(
    broker: RedisBroker,
    actor: str,
    *args: Any,
    queue: str = "default",
    delay_ms: int | None = None,
    **options: Any,
) -> dramatiq.Message[Any]:
    """Enqueue a message for `actor` as its `send` would, without declaring the actor here."""
    broker.declare_queue(queue)
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=queue, actor_name=actor, args=args, kwargs={}, options=options
    )
    return broker.enqueue(message, delay=delay_ms)


def start_dramatiq_worker(
    url: str,
    queues: Sequence[str] = ("default",),
    *,
    namespace: str = DEFAULT_NAMESPACE,
    threads: int = 2,
    quiet: bool = True,
    exact: bool = False,
    module: str = "harness.dramatiq_app",
) -> subprocess.Popen[bytes]:
    """`dramatiq harness.dramatiq_app` with one process of `threads` threads on `queues`: a
    Dramatiq worker consumes only the queues its actors are declared on, `default` here.
    `exact`: with `qwatch.dramatiq.Middleware`; `module`: another that imports this one and
    declares more queues."""
    command = [
        sys.executable, "-m", "dramatiq", module, "--processes", "1",
        "--threads", str(threads), "--queues", *queues,
    ]  # fmt: skip
    environment = {
        **os.environ, "PYTHONPATH": str(ROOT), BROKER: url, NAMESPACE: namespace,
        EXACT: "1" if exact else "",
    }  # fmt: skip
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        command, env=environment, stdout=output, stderr=output, cwd=ROOT, start_new_session=True
    )


stop_dramatiq_worker = stop_worker
"""SIGKILL the worker and its processes at once, as a crash would."""


def _declare(broker: RedisBroker) -> None:
    """The actors a worker runs; `fail` dead-letters at once, `crawl` after one retry."""

    @dramatiq.actor(broker=broker, actor_name="harness.add")
    def add(a: int, b: int) -> int:
        return a + b

    @dramatiq.actor(broker=broker, actor_name="harness.sleep")
    def sleep(seconds: float) -> None:
        time.sleep(seconds)

    @dramatiq.actor(broker=broker, actor_name="harness.fail", max_retries=0)
    def fail(message: str) -> None:
        raise ValueError(message)

    @dramatiq.actor(
        broker=broker, actor_name="harness.crawl", max_retries=1, min_backoff=10, max_backoff=20
    )
    def crawl(url: str) -> None:
        raise UpstreamTimeout(f"{url} did not answer in 30 s")


if BROKER in os.environ:  # imported by `dramatiq harness.dramatiq_app`: a worker
    _broker = make_broker(os.environ[BROKER], os.environ.get(NAMESPACE, DEFAULT_NAMESPACE))
    if os.environ.get(EXACT) == "1":
        _broker.add_middleware(Middleware())
    dramatiq.set_broker(_broker)
    _declare(_broker)
