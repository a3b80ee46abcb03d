"""Time Flower's broker queue lengths; run by `benchmarks.celery` with the python of .venv-bench.

Reads the Redis URL and the runs from argv and the queue names (a JSON list) from
stdin. Each run is what Flower's `/api/queues/length` does per request: a new
`Broker` (a new connection: `queues()` closes its client) and one `queues(names)`.
Prints one JSON object: seconds and round trips per run, Redis CPU seconds per run
(INFO cpu), and the messages counted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import redis
from flower.utils.broker import Broker
from redis.asyncio.connection import AbstractConnection

ROUND_TRIPS = 0


def count_sends() -> None:
    """Count every write that awaits replies: one per command or pipeline, the handshake too."""
    send = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, *args: object, **kwargs: object) -> None:
        global ROUND_TRIPS
        ROUND_TRIPS += 1
        await send(self, *args, **kwargs)  # type: ignore[arg-type]

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def lengths(url: str, names: list[str]) -> list[dict[str, object]]:
    broker = Broker(url, http_api=None, broker_options={}, broker_use_ssl=None)
    queues: list[dict[str, object]] = await broker.queues(names)
    return queues


async def measure(url: str, names: list[str], runs: int) -> dict[str, object]:
    await lengths(url, names)
    cpu_client = redis.Redis.from_url(url)
    before_cpu, before_trips = redis_cpu(cpu_client), ROUND_TRIPS
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        queues = await lengths(url, names)
        seconds.append(time.perf_counter() - start)
    return {
        "seconds": seconds,
        "round_trips": (ROUND_TRIPS - before_trips) / runs,
        "redis_cpu": (redis_cpu(cpu_client) - before_cpu) / runs,
        "messages": sum(int(str(queue["messages"])) for queue in queues),
    }


def main() -> None:
    url, runs = sys.argv[1], int(sys.argv[2])
    names = json.load(sys.stdin)
    count_sends()
    print(json.dumps(asyncio.run(measure(url, names, runs))))


main()
