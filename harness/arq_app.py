"""Real arq on a private Redis, for the tests and the demo: its job functions and a producer.

A worker (`arq harness.arq_app.WorkerSettings`, started by
`harness.arq_workers`) reads the Redis URL, its queue and its health-check
interval from environment variables; a test enqueues with `enqueue`, naming
the function, through arq's own pool. Imported only where arq is installed
(`.venv-arq`).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from arq import Retry, create_pool, func
from arq.connections import RedisSettings
from arq.constants import default_queue_name
from arq.jobs import Job

from harness.arq_workers import EXACT, HEALTH_INTERVAL, QUEUE, REDIS
from qwatch.arq.exact import Exact


class UpstreamTimeout(Exception):
    """What a failing crawl raises: an exception worth reading in the inspector."""


async def add(ctx: dict[str, Any], a: int, b: int) -> int:
    return a + b


async def send_email(ctx: dict[str, Any], to: str, subject: str) -> str:
    return f"sent {subject!r} to {to}"


async def sleep(ctx: dict[str, Any], seconds: float) -> None:
    await asyncio.sleep(seconds)


async def fail(ctx: dict[str, Any], message: str) -> None:
    raise ValueError(message)


async def crawl(ctx: dict[str, Any], url: str) -> None:
    raise UpstreamTimeout(f"{url} did not answer in 30 s")


async def retry_once(ctx: dict[str, Any], value: str) -> str:
    """Asks arq to try it again the first time, then returns `value`."""
    if ctx["job_try"] == 1:
        raise Retry(defer=0.05)
    return value


async def forget(ctx: dict[str, Any]) -> str:
    """A function whose result arq does not keep."""
    return "gone"


class WorkerSettings:
    """What `arq harness.arq_app.WorkerSettings` runs."""

    functions = [add, send_email, sleep, fail, crawl, retry_once, func(forget, keep_result=0)]
    redis_settings = RedisSettings.from_dsn(os.environ.get(REDIS, "redis://127.0.0.1:6379/0"))
    queue_name = os.environ.get(QUEUE, default_queue_name)
    health_check_interval = float(os.environ.get(HEALTH_INTERVAL, "1"))
    poll_delay = 0.05
    if os.environ.get(EXACT) == "1":
        _exact = Exact(queue=queue_name)
        on_job_start = _exact.on_job_start
        after_job_end = _exact.after_job_end


def enqueue(
    url: str, function: str, *args: Any, queue: str = default_queue_name, defer: float = 0
) -> str:
    """Enqueue one job as a producer would; its id."""

    async def send() -> Job | None:
        pool = await create_pool(RedisSettings.from_dsn(url))
        try:
            return await pool.enqueue_job(
                function, *args, _queue_name=queue, _defer_by=defer or None
            )
        finally:
            await pool.aclose()

    job = asyncio.run(send())
    if job is None:
        raise RuntimeError(f"arq refused to enqueue {function}")
    job_id: str = job.job_id
    return job_id
