"""The demo's producer: a steady, realistic mix of jobs, in waves."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import redis
from rq import Queue, Retry

from harness import tasks

DOMAINS = ("example.com", "shop.example", "news.example", "slow.example")


ROUND_SECONDS = 0.5
JOBS_PER_ROUND = 2
BURST_EVERY = 30
BURST_JOBS = 20
FIRST_ROLLS = (0.0, 0.6, 0.66, 0.7, 0.8, 0.9, 0.97)
"""One job of each kind first, so that every queue shows from the start."""
FAILURE_TTL = 3600
"""Failed jobs are kept an hour, so the failed registry stays the size of an hour's failures."""


def produce(client: redis.Redis, stop: threading.Event) -> None:
    """Enqueue until `stop` is set; every thirtieth round is a burst that backs queues up.

    The mix asks about 60% of the four workers' time (the video worker's too),
    so bursts drain within a minute and the backlog stays bounded however
    long the demo runs.
    """
    queues = {
        name: Queue(name, connection=client)
        for name in ("emails", "default", "crawl", "video", "reports")
    }
    for roll in FIRST_ROLLS:
        _enqueue_one(queues, 0, roll)
    round_number = 0
    while not stop.is_set():
        round_number += 1
        burst = round_number % BURST_EVERY == 0
        for _ in range(BURST_JOBS if burst else JOBS_PER_ROUND):
            _enqueue_one(queues, round_number)
        stop.wait(ROUND_SECONDS)


def _enqueue_one(queues: dict[str, Queue], round_number: int, roll: float | None = None) -> None:
    roll = random.random() if roll is None else roll
    if roll < 0.50:
        user = random.randint(1, 5000)
        queues["emails"].enqueue(
            tasks.send_email, f"user{user}@example.com", subject="Your receipt"
        )
    elif roll < 0.65:
        url = f"https://{random.choice(DOMAINS)}/item/{random.randint(1, 999)}"
        queues["crawl"].enqueue(
            tasks.crawl, url, depth=random.randint(1, 3), job_timeout=30, failure_ttl=FAILURE_TTL
        )
    elif roll < 0.68:
        queues["video"].enqueue(tasks.encode_video, random.randint(1, 10_000), preset="1080p")
    elif roll < 0.78:
        queues["default"].enqueue(
            tasks.divide, round_number, random.choice((0, 1, 2)), failure_ttl=FAILURE_TTL
        )
    elif roll < 0.88:
        queues["default"].enqueue(
            tasks.flaky, 0.6, retry=Retry(max=3, interval=[1, 2, 5]), failure_ttl=FAILURE_TTL
        )
    elif roll < 0.95:
        queues["reports"].enqueue_in(
            timedelta(seconds=random.randint(5, 60)), tasks.add, round_number, 1
        )
    else:
        first = queues["reports"].enqueue(tasks.sleep, 1.0)
        queues["emails"].enqueue(
            tasks.send_email, "ops@example.com", subject="report ready", depends_on=first
        )
