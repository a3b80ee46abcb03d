"""Exact mode's costs: one poll of the stream against one poll of the registries, same jobs.

    .venv/bin/python -m benchmarks.stream [--queues N] [--workers N] [--runs N]

Starts a private redis-server with QUEUES queues and WORKERS workers (marked
as `qwatch.rq.Worker`s), then, for N jobs ended since the last poll, times
qwatch's reading of them both ways: the registry tracker (jobs written to
the finished registries through RQ's own API) and the stream reader
(the entries a `qwatch.rq.Worker` writes for the same jobs). Redis time is
the sum of INFO commandstats' `usec`, so it is the commands' own cost.
Also prints the stream's bytes per entry and what one outcome costs Redis
on the worker's side (XADD and XTRIM).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable

import redis

from benchmarks.exporter import finish_jobs
from benchmarks.population import populate, scale_arguments
from harness.redis_server import RedisServer
from qwatch.model import Snapshot
from qwatch.rq import stream
from qwatch.rq.completions import CompletionTracker
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.rq.reader import read_snapshot
from qwatch.wire import completions
from qwatch.wire.connection import Target, connect


def redis_usec(client: redis.Redis, only: str | None = None) -> int:
    stats = client.info("commandstats")
    return sum(
        int(value["usec"])
        for name, value in stats.items()
        if name != "cmdstat_info" and (only is None or name == f"cmdstat_{only}")
    )


def append_entries(client: redis.Redis, queues: int, count: int) -> None:
    """What `qwatch.rq.Worker`s write for `count` jobs: one XADD and one XTRIM each."""
    now = time.time()
    with client.pipeline(transaction=False) as pipe:
        for n in range(count):
            fields = completions.entry(
                str(uuid.uuid4()), f"queue-{n % queues:04d}", "finished",
                function="benchmarks.tasks.send_email", exception=None,
                enqueued_at=now - 2, started_at=now - 1, ended_at=now, worker=uuid.uuid4().hex,
            )  # fmt: skip
            pipe.xadd(DEFAULT_KEYS.completions, fields, maxlen=10_000_000, approximate=True)  # type: ignore[arg-type]
            pipe.xtrim(
                DEFAULT_KEYS.completions, minid=f"{int(now - 10_800) * 1000}-0", approximate=True
            )
        pipe.execute()


def timed(client: redis.Redis, poll: Callable[[], int]) -> tuple[float, float, int]:
    before = redis_usec(client)
    start = time.perf_counter()
    found = poll()
    seconds = time.perf_counter() - start
    return seconds, (redis_usec(client) - before) / 1e6, found


def main() -> None:
    parser = scale_arguments(__doc__, runs=5)
    args = parser.parse_args()
    print(f"{args.queues} queues, {args.workers} workers; median of {args.runs} polls")
    print(f"{'ended':>8}{'registries':>14}{'redis':>10}{'stream':>12}{'redis':>10}{'faster':>9}")
    with RedisServer() as server:
        client = server.client()
        populate(client, args.queues, args.workers, args.queues)
        for i in range(args.workers):
            client.hset(
                DEFAULT_KEYS.worker_key(f"worker-{i:04d}"), stream.WORKER_MARK, completions.FORMAT
            )
        append_entries(client, args.queues, 1)
        reader = connect(Target(url=server.url))
        tracker, reader_stream = CompletionTracker(), stream.CompletionStream()
        snapshot: Snapshot = read_snapshot(reader)
        tracker.poll(reader)
        reader_stream.poll(reader, snapshot)
        for ended in (0, 100, 1_000, 10_000):
            registries, by_stream = [], []
            for run in range(args.runs):
                finish_jobs(client, args.queues, ended, tag=f"{ended}-{run}")
                append_entries(client, args.queues, ended)
                snapshot = read_snapshot(reader)
                registries.append(timed(client, lambda: len(tracker.poll(reader))))
                by_stream.append(
                    timed(client, lambda s=snapshot: len(reader_stream.poll(reader, s).completions))  # type: ignore[misc]
                )
                assert registries[-1][2] == by_stream[-1][2] == ended
            row = [statistics.median(values) * 1000 for values in (
                [r[0] for r in registries], [r[1] for r in registries],
                [s[0] for s in by_stream], [s[1] for s in by_stream],
            )]  # fmt: skip
            print(
                f"{ended:>8,}{row[0]:>12.1f}ms{row[1]:>8.2f}ms{row[2]:>10.1f}ms{row[3]:>8.2f}ms"
                f"{row[0] / row[2]:>8.1f}x"
            )
        entries = client.xlen(DEFAULT_KEYS.completions)
        used = client.memory_usage(DEFAULT_KEYS.completions, samples=0) or 0
        calls = client.info("commandstats")
        writes = sum(calls[f"cmdstat_{name}"]["usec"] for name in ("xadd", "xtrim"))
        print(f"stream: {entries:,} entries, {used / entries:.0f} bytes each")
        per_outcome = writes / calls["cmdstat_xadd"]["calls"]
        print(f"a worker's XADD and XTRIM per outcome: {per_outcome:.1f} µs of Redis")


if __name__ == "__main__":
    main()
