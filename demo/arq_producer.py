"""The demo's arq producer: `python -m demo.arq_producer URL REPORTS_QUEUE`, in `.venv-arq`.

About one job a second through arq's own pool, until it is stopped: emails
on arq's default queue (some retried once, some deferred a minute), crawls
that fail with a real traceback, slow renders on the reports queue, and
reports that fail there.
"""

from __future__ import annotations

import asyncio
import random
import sys

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

ROUND_SECONDS = 1.0
FIRST_ROLLS = (0.0, 0.4, 0.5, 0.6, 0.75, 0.9)
"""One job of each kind first, so that both queues and a failure show at once."""
CUSTOMERS = ("customer-4711@example.com", "ops@shop.example", "billing@crm.example")


async def produce(url: str, reports: str) -> None:
    pool = await create_pool(RedisSettings.from_dsn(url))
    try:
        for roll in FIRST_ROLLS:
            await _enqueue_one(pool, reports, roll)
        while True:
            await asyncio.sleep(ROUND_SECONDS)
            await _enqueue_one(pool, reports, random.random())
    finally:
        await pool.aclose()


async def _enqueue_one(pool: ArqRedis, reports: str, roll: float) -> None:
    customer = random.choice(CUSTOMERS)
    if roll < 0.4:
        await pool.enqueue_job("send_email", customer, "receipt")
    elif roll < 0.5:
        await pool.enqueue_job("retry_once", f"invoice for {customer}")
    elif roll < 0.6:
        await pool.enqueue_job("send_email", customer, "reminder", _defer_by=60)
    elif roll < 0.75:
        await pool.enqueue_job("crawl", f"https://{customer.split('@')[1]}/feed")
    elif roll < 0.9:
        await pool.enqueue_job("sleep", round(random.uniform(0.5, 4.0), 1), _queue_name=reports)
    else:
        await pool.enqueue_job("fail", f"no data for {customer}'s report", _queue_name=reports)


if __name__ == "__main__":
    asyncio.run(produce(sys.argv[1], sys.argv[2]))
