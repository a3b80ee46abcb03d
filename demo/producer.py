"""The demo's producer: a steady, realistic mix of jobs, in waves."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import redis
from rq import Queue, Retry

from harness import tasks

DOMAINS = ("example.com", "shop.example", "news.example", "slow.example")


def produce(client: redis.Redis, stop: threading.Event) -> None:
    """Enqueue until `stop` is set; every twentieth round is a burst that backs queues up."""
    queues = {
        name: Queue(name, connection=client)
        for name in ("emails", "default", "crawl", "video", "reports")
    }
    round_number = 0
    while not stop.is_set():
        round_number += 1
        burst = round_number % 20 == 0
        for _ in range(30 if burst else 3):
            _enqueue_one(queues, round_number)
        stop.wait(0.5)


def _enqueue_one(queues: dict[str, Queue], round_number: int) -> None:
    roll = random.random()
    if roll < 0.45:
        user = random.randint(1, 5000)
        queues["emails"].enqueue(
            tasks.send_email, f"user{user}@example.com", subject="Your receipt"
        )
    elif roll < 0.65:
        url = f"https://{random.choice(DOMAINS)}/item/{random.randint(1, 999)}"
        queues["crawl"].enqueue(tasks.crawl, url, depth=random.randint(1, 3), job_timeout=30)
    elif roll < 0.72:
        queues["video"].enqueue(tasks.encode_video, random.randint(1, 10_000), preset="1080p")
    elif roll < 0.80:
        queues["default"].enqueue(tasks.divide, round_number, random.choice((0, 1, 2)))
    elif roll < 0.88:
        queues["default"].enqueue(tasks.flaky, 0.6, retry=Retry(max=3, interval=[1, 2, 5]))
    elif roll < 0.94:
        queues["reports"].enqueue_in(
            timedelta(seconds=random.randint(5, 60)), tasks.add, round_number, 1
        )
    else:
        first = queues["reports"].enqueue(tasks.sleep, 1.0)
        queues["emails"].enqueue(
            tasks.send_email, "ops@example.com", subject="report ready", depends_on=first
        )
