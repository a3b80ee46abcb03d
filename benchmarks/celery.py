"""Celery's queues on Redis: qwatch against Flower and kombu's `_size`, in one run.

    python -m benchmarks.celery       (--queues, --per-step, --reserved, --runs)

Starts a private redis-server and fills it with Celery's own producer: QUEUES
queues with PER_STEP messages in every priority list of each (kombu's steps
0, 3, 6, 9), and RESERVED messages held in `unacked`/`unacked_index` as kombu's
`QoS.append` writes them for a worker's prefetched tasks, a tenth delivered
longer ago than the visibility timeout (overdue). A quarter of all messages
carry an ETA an hour ahead: the reserved ones among them are ETA-held.

Then it times, on the same data:

- qwatch's reading (`read_celery_queues`): the first one, on a new client,
  and the steady state, where the `unacked` values already seen are not read
  again. It reads each priority list's length, the reserved, ETA-held and
  overdue messages per queue, the oldest delivery and the next tasks' names.
- Flower 2.2's broker queue lengths (`flower.utils.broker.Broker(...).queues`),
  what its `/api/queues/length` does per request: a new connection, one
  pipeline of LLENs. Lengths only. Run in .venv-bench.
- kombu's `Channel._size`, one queue after the other: how celery-exporter
  (danihodovic/celery-exporter) reads queue lengths. celery-exporter is not
  installable from PyPI: the `celery-exporter` package there is an unrelated
  Rust project, so its loop is timed here with kombu itself. Lengths only.

Queue discovery (qwatch's one SCAN, every 60 s) is timed apart. Redis CPU
and the bytes Redis sent are read from `INFO` before and after each tool's
runs. Round trips are counted by wrapping the clients' writes and reads:
each wait for Redis' replies is one, whatever the machine's load. Flower's
include its new connection's handshake (its pipelined CLIENT SETINFO), as
every request of Flower's makes one; qwatch's and kombu's clients are
connected already.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import redis
from celery import Celery
from redis.connection import AbstractConnection

from harness.redis_server import RedisServer
from qwatch.celery.broker import discover_queues, read_celery_queues
from qwatch.celery.layout import DEFAULT_PRIORITY_STEPS, CeleryLayout
from qwatch.wire import batch
from qwatch.wire.connection import Target, connect

ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
LAYOUT = CeleryLayout()
TASKS = ("shop.send_receipt", "shop.resize_image", "shop.sync_inventory", "mail.digest")
ETA_EVERY = 4
OVERDUE_EVERY = 10
T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    """One tool's runs: seconds each, Redis CPU seconds and round trips per run."""

    seconds: list[float]
    redis_cpu: float
    round_trips: float
    sent: float
    """Bytes Redis sent per run."""
    reads: str


class RoundTrips:
    """Counts waits for Redis' replies: a qwatch batch, or a redis-py write after a read
    (a command, a pipeline, or a handshake's pipelined commands)."""

    def __init__(self) -> None:
        self.count = 0
        self._in_batch = False
        self._sent: set[int] = set()

    @contextmanager
    def counting(self) -> Iterator[None]:
        send = batch._send
        send_packed: Any = AbstractConnection.send_packed_command
        read: Any = AbstractConnection.read_response

        def batch_send(conn: Any, commands: Any) -> Any:
            self.count += 1
            self._in_batch = True
            try:
                return send(conn, commands)
            finally:
                self._in_batch = False

        def packed_send(conn: Any, *args: Any, **kwargs: Any) -> None:
            if not self._in_batch and id(conn) not in self._sent:
                self.count += 1
                self._sent.add(id(conn))
            send_packed(conn, *args, **kwargs)

        def read_reply(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self._sent.discard(id(conn))
            return read(conn, *args, **kwargs)

        batch._send = batch_send
        AbstractConnection.send_packed_command = packed_send  # type: ignore[method-assign,assignment]
        AbstractConnection.read_response = read_reply  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            batch._send = send
            AbstractConnection.send_packed_command = send_packed  # type: ignore[method-assign]
            AbstractConnection.read_response = read  # type: ignore[method-assign]


def redis_usage(client: redis.Redis) -> tuple[float, int]:
    """Redis' CPU seconds so far, and the bytes it has sent to its clients."""
    cpu, stats = client.info("cpu"), client.info("stats")
    return (
        float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
        int(stats["total_net_output_bytes"]),
    )


def measure(
    client: redis.Redis,
    read: Callable[[T], object],
    runs: int,
    reads: str,
    setup: Callable[[], T] = lambda: None,  # type: ignore[assignment,return-value]
) -> Result:
    """Time `runs` calls of `read` on what `setup` makes, untimed and uncounted, after one
    call to warm up."""
    read(setup())
    trips = RoundTrips()
    before_cpu, before_sent = redis_usage(client)
    seconds = []
    for _ in range(runs):
        prepared = setup()
        with trips.counting():
            start = time.perf_counter()
            read(prepared)
            seconds.append(time.perf_counter() - start)
    cpu, sent = redis_usage(client)
    return Result(
        seconds,
        (cpu - before_cpu) / runs,
        trips.count / runs,
        (sent - before_sent) / runs,
        reads,
    )


def populate(
    client: redis.Redis, app: Celery, names: list[str], per_step: int, reserved: int
) -> None:
    """Reserved messages first, moved to `unacked` as a worker's QoS does; then the waiting."""
    publish(app, ((names[n % len(names)], 0, n) for n in range(reserved)))
    reserve(client, names)
    publish(
        app,
        (
            (name, step, n)
            for name in names
            for step in DEFAULT_PRIORITY_STEPS
            for n in range(per_step)
        ),
    )


def publish(app: Celery, messages: Iterator[tuple[str, int, int]]) -> None:
    """Each message through `send_task`, in kombu's publish batches (pipelines of LPUSHes)."""
    with app.producer_or_acquire() as producer, producer.batch():
        for queue, priority, n in messages:
            app.send_task(
                TASKS[n % len(TASKS)],
                args=(n,),
                kwargs={"order": f"order-{n}"},
                queue=queue,
                priority=priority,
                countdown=3600 if n % ETA_EVERY == 1 else None,
                producer=producer,
            )


def reserve(client: redis.Redis, names: list[str]) -> None:
    """Move every queued message to `unacked`, as `QoS.append` writes them: `[message,
    exchange, routing key]` under its delivery tag, indexed by delivery time."""
    now = time.time()
    n = 0
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            for raw in client.lrange(name, 0, -1):
                message = json.loads(raw)
                properties = message["properties"]
                info = properties["delivery_info"]
                tag = properties["delivery_tag"]
                delivered = (
                    now - LAYOUT.visibility_timeout - 60 if n % OVERDUE_EVERY == 0 else now - n % 60
                )
                pipe.hset(
                    LAYOUT.unacked_key,
                    tag,
                    json.dumps([message, info["exchange"], info["routing_key"]]),
                )
                pipe.zadd(LAYOUT.unacked_index_key, {tag: delivered})
                n += 1
            pipe.delete(name)
        pipe.execute()


def flower(url: str, names: list[str], runs: int) -> tuple[Result, int] | None:
    """Flower's runs, and the messages it counted."""
    if not BENCH_PYTHON.exists():
        print("Flower: skipped, run scripts/bench-venv.sh to install it in .venv-bench")
        return None
    script = ROOT / "benchmarks" / "flower_queues.py"
    output = subprocess.run(
        [str(BENCH_PYTHON), str(script), url, str(runs)],
        input=json.dumps(names),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(output)
    reads = "lengths (a new connection each request)"
    measured = Result(
        result["seconds"], result["redis_cpu"], result["round_trips"], result["sent"], reads
    )
    return measured, int(result["messages"])


def main() -> None:
    args = arguments().parse_args()
    names = [f"celery-{i:04d}" for i in range(args.queues)]
    queued = args.queues * len(DEFAULT_PRIORITY_STEPS) * args.per_step

    with RedisServer() as server:
        client = server.client()
        app = Celery("bench", broker=server.url, set_as_current=False)
        started = time.perf_counter()
        populate(client, app, names, args.per_step, args.reserved)
        print(
            f"populated {args.queues} queues, {queued} queued and {args.reserved} reserved"
            f" messages with Celery's producer in {time.perf_counter() - started:.1f}s;"
            f" redis-server {client.info()['redis_version']}"
        )
        qwatch_client = connect(Target(url=server.url))
        check(qwatch_client, names, queued, args.reserved)
        results = qwatch_results(client, server.url, names, args.runs)
        found = flower(server.url, names, args.runs)
        if found:
            results["Flower 2.2 Broker.queues()"], counted = found
            assert counted == queued, f"Flower counted {counted} messages, not {queued}"
        results["kombu Channel._size, per queue"] = kombu_size(
            client, app, names, queued, args.runs
        )
        discovery = measure(client, lambda _: discover_queues(qwatch_client, LAYOUT), args.runs, "")
        app.close()
    report(results)
    print(
        "queue discovery (qwatch's SCAN, every 60 s):"
        f" {statistics.median(discovery.seconds) * 1000:.1f} ms,"
        f" {discovery.round_trips:.0f} round trips"
    )


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--per-step", type=int, default=5, help="messages in each priority list")
    parser.add_argument("--reserved", type=int, default=2000, help="messages in unacked")
    parser.add_argument(
        "--runs", type=int, default=10, help="runs of each tool (qwatch's steady state: 3x)"
    )
    return parser


def check(client: redis.Redis, names: list[str], queued: int, reserved: int) -> None:
    """qwatch finds what was written: every queue, message, reserved, ETA-held and overdue one."""
    assert list(discover_queues(client, LAYOUT)) == sorted(names)
    reading = read_celery_queues(client, LAYOUT, names)
    assert reading.reserved == reserved and not reading.records_skipped, reading.notes
    assert sum(queue.queued for queue in reading.queues) == queued
    stats = [queue.celery for queue in reading.queues if queue.celery]
    assert sum(queue.reserved or 0 for queue in stats) == reserved
    assert sum(queue.overdue or 0 for queue in stats) == len(range(0, reserved, OVERDUE_EVERY))
    held = sum(queue.scheduled or 0 for queue in reading.queues)
    assert held == len(range(1, reserved, ETA_EVERY)), held


def qwatch_results(client: redis.Redis, url: str, names: list[str], runs: int) -> dict[str, Result]:
    steady = connect(Target(url=url))
    reads = "lengths per priority, reserved, ETA-held, overdue, head tasks"
    return {
        "qwatch, first reading": measure(
            client,
            lambda fresh: read_celery_queues(fresh, LAYOUT, names),
            runs,
            reads,
            setup=lambda: connected(url),
        ),
        "qwatch, steady state": measure(
            client, lambda _: read_celery_queues(steady, LAYOUT, names), runs * 3, reads
        ),
    }


def connected(url: str) -> redis.Redis:
    """A new client, its connection made: a first reading without the handshake."""
    fresh = connect(Target(url=url))
    fresh.ping()
    return fresh


def kombu_size(
    client: redis.Redis, app: Celery, names: list[str], queued: int, runs: int
) -> Result:
    """kombu's own queue size, one queue after the other, on one channel kept open."""
    with app.connection_for_read() as conn:
        channel = conn.default_channel

        def sizes(_: object) -> int:
            return sum(channel._size(name) for name in names)

        assert sizes(None) == queued
        return measure(client, sizes, runs, "lengths (one pipeline per queue)")


def report(results: dict[str, Result]) -> None:
    """Each tool's median, its Redis CPU and round trips, and how many times qwatch's
    first and steady readings it takes; then what each one reads."""
    first = statistics.median(results["qwatch, first reading"].seconds)
    steady = statistics.median(results["qwatch, steady state"].seconds)
    print(
        f"{'tool':<32}{'median':>10}{'min':>10}{'redis cpu':>11}{'round trips':>13}{'sent':>10}"
        f"{'vs first':>10}{'vs steady':>11}"
    )
    for name, result in results.items():
        median = statistics.median(result.seconds)
        print(
            f"{name:<32}{median * 1000:>8.1f}ms{min(result.seconds) * 1000:>8.1f}ms"
            f"{result.redis_cpu * 1000:>9.1f}ms{result.round_trips:>13.0f}"
            f"{result.sent / 1e6:>8.2f}MB"
            f"{median / first:>9.2f}x{median / steady:>10.2f}x"
        )
    print("vs: the tool's median over qwatch's (above 1: qwatch is faster); what each reads:")
    for name, result in results.items():
        print(f"  {name}: {result.reads}")


if __name__ == "__main__":
    main()
