"""Time Flower's broker queue lengths; run by `benchmarks.celery` with the python of .venv-bench.

Reads the Redis URL and the runs from argv and the queue names (a JSON list) from
stdin. Each run is what Flower's `/api/queues/length` does per request: a new
`Broker` (a new connection: `queues()` closes its client) and one `queues(names)`.
Prints one JSON object: seconds and round trips per run, Redis CPU seconds and bytes
sent per run (INFO), and the messages counted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import redis
from flower.utils.broker import Broker
from redis.asyncio.connection import AbstractConnection

ROUND_TRIPS = 0


def count_round_trips() -> None:
    """Count every write after a read (or a connection's first): one per wait for replies.

    The connection's handshake counts too: its two CLIENT SETINFO are sent
    together, then read, as one round trip.
    """
    send, read = AbstractConnection.send_packed_command, AbstractConnection.read_response

    async def counting_send(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
        global ROUND_TRIPS
        if not getattr(self, "_bench_sent", False):
            ROUND_TRIPS += 1
            self._bench_sent = True  # type: ignore[attr-defined]
        await send(self, *args, **kwargs)

    async def counting_read(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        self._bench_sent = False  # type: ignore[attr-defined]
        return await read(self, *args, **kwargs)

    AbstractConnection.send_packed_command = counting_send  # type: ignore[method-assign]
    AbstractConnection.read_response = counting_read  # type: ignore[method-assign]


def redis_usage(client: redis.Redis) -> tuple[float, int]:
    """Redis' CPU seconds so far, and the bytes it has sent to its clients."""
    cpu, stats = client.info("cpu"), client.info("stats")
    return (
        float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
        int(stats["total_net_output_bytes"]),
    )


async def lengths(url: str, names: list[str]) -> list[dict[str, object]]:
    broker = Broker(url, http_api=None, broker_options={}, broker_use_ssl=None)
    queues: list[dict[str, object]] = await broker.queues(names)
    return queues


async def measure(url: str, names: list[str], runs: int) -> dict[str, object]:
    await lengths(url, names)
    cpu_client = redis.Redis.from_url(url)
    (before_cpu, before_sent), before_trips = redis_usage(cpu_client), ROUND_TRIPS
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        queues = await lengths(url, names)
        seconds.append(time.perf_counter() - start)
    cpu, sent = redis_usage(cpu_client)
    return {
        "seconds": seconds,
        "round_trips": (ROUND_TRIPS - before_trips) / runs,
        "redis_cpu": (cpu - before_cpu) / runs,
        "sent": (sent - before_sent) / runs,
        "messages": sum(int(str(queue["messages"])) for queue in queues),
    }


def main() -> None:
    url, runs = sys.argv[1], int(sys.argv[2])
    names = json.load(sys.stdin)
    count_round_trips()
    print(json.dumps(asyncio.run(measure(url, names, runs))))


main()
