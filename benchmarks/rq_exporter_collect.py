"""Time rq-exporter's collection; run by the benchmark with the python of .venv-bench.

Prints one JSON object: seconds per collection, and the Redis server's CPU seconds
(INFO cpu) spent per collection.
"""

from __future__ import annotations

import json
import sys
import time

from redis import Redis
from rq import Queue, Worker
from rq_exporter.collector import RQCollector


def redis_cpu(client: Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def main() -> None:
    url, runs = sys.argv[1], int(sys.argv[2])
    client = Redis.from_url(url)
    collector = RQCollector(client, Worker, Queue)
    list(collector.collect())
    seconds = []
    cpu_before = redis_cpu(client)
    for _ in range(runs):
        start = time.perf_counter()
        families = list(collector.collect())
        seconds.append(time.perf_counter() - start)
    cpu = (redis_cpu(client) - cpu_before) / runs
    series = sum(len(family.samples) for family in families)
    print(json.dumps({"seconds": seconds, "redis_cpu": cpu, "series": series}))


main()
