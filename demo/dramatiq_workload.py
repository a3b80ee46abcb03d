"""The demo's Dramatiq side: the team's newer service, on Dramatiq, on the same Redis.

Two real Dramatiq workers, one process of two threads each. The one on
`webhooks` runs qwatch's middleware, so qwatch counts every message it
finishes, retries or dead-letters there, with run times: that queue is
counted exactly. The one on `exports` runs plain Dramatiq, so that queue is
`unseen`: its backlog, the worker's fetched messages and its dead letters
show, what finished does not. A trickle of messages keeps both busy at a few
percent of a core: webhook deliveries, deliveries whose endpoint times out
(retried once, then dead letters with their traceback), long exports,
exports that fail at once, and delayed messages the workers hold until
their eta.
"""

from __future__ import annotations

import random
import subprocess
import threading

from dramatiq.brokers.redis import RedisBroker

from harness.dramatiq_app import make_broker, send, start_dramatiq_worker

DRAMATIQ_WORKERS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("webhooks",), True),
    (("exports",), False),
)
"""Each worker's queues, and whether it runs `qwatch.dramatiq.Middleware` (exact mode)."""
THREADS = 2

ROUND_SECONDS = 1.0
BURST_EVERY = 40
BURST_MESSAGES = 16
"""Every 40 s a partner's batch of deliveries backs `webhooks` up for a few seconds."""
FIRST_ROLLS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.95)
"""One message of each kind first: both queues, both workers and a dead letter show at once."""
PARTNERS = ("shop.example", "billing.example", "crm.example", "slow-hooks.example")


def start_dramatiq_workers(url: str) -> list[subprocess.Popen[bytes]]:
    """Start the demo's Dramatiq workers on the Redis at `url`.

    Each imports `demo.dramatiq_worker`, the harness's actors with the demo's
    queues declared, since a worker consumes only queues declared on its broker.
    """
    return [
        start_dramatiq_worker(
            url, queues, threads=THREADS, exact=exact, module="demo.dramatiq_worker"
        )
        for queues, exact in DRAMATIQ_WORKERS
    ]


def produce_dramatiq(url: str, stop: threading.Event, started: threading.Event) -> None:
    """Send Dramatiq messages until `stop` is set, about one a second and a burst now and then.

    `started` is set once the first messages are sent: Dramatiq's heartbeats
    set is then in Redis, so a qwatch opened after it watches Dramatiq at once.
    """
    broker = make_broker(url)
    try:
        for roll in FIRST_ROLLS:
            _send_one(broker, roll)
        started.set()
        round_number = 0
        while not stop.wait(ROUND_SECONDS):
            round_number += 1
            if round_number % BURST_EVERY == 0:
                for _ in range(BURST_MESSAGES):
                    _send_one(broker, 0.0)
            _send_one(broker, random.random())
    finally:
        broker.close()


def _send_one(broker: RedisBroker, roll: float) -> None:
    if roll < 0.35:
        send(broker, "harness.sleep", round(random.uniform(0.1, 0.8), 1), queue="webhooks")
    elif roll < 0.45:
        send(broker, "harness.add", random.randint(1, 99), 1, queue="webhooks")
    elif roll < 0.53:
        hook = f"https://{random.choice(PARTNERS)}/hooks/{random.randint(1, 999)}"
        send(broker, "harness.crawl", hook, queue="webhooks")
    elif roll < 0.63:
        send(
            broker,
            "harness.sleep",
            0.2,
            queue="webhooks",
            delay_ms=random.randint(10, 90) * 1000,
        )
    elif roll < 0.73:
        send(broker, "harness.sleep", round(random.uniform(3.0, 10.0), 1), queue="exports")
    elif roll < 0.81:
        report = random.randint(1, 9999)
        send(broker, "harness.fail", f"export {report}: no such report template", queue="exports")
    elif roll < 0.91:
        send(
            broker,
            "harness.sleep",
            round(random.uniform(1.0, 3.0), 1),
            queue="exports",
            delay_ms=random.randint(10, 90) * 1000,
        )
    else:
        send(broker, "harness.sleep", round(random.uniform(0.5, 2.0), 1), queue="exports")
