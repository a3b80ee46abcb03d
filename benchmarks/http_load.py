"""`/metrics` under many concurrent scrapers, and while a client holds connections half-open.

    .venv/bin/python -m benchmarks.http_load [--scrapers 50] [--seconds 30] [--slow 300]

For each exporter (qwatch serve, then rq-exporter if `make bench` installed it):
SCRAPERS threads scrape /metrics back to back for SECONDS, each on a new
connection, while SLOW other connections send half a request and never finish
it. Printed: scrapes, errors, latency percentiles, and for qwatch how many
Redis readings served those scrapes (scrapes arriving together share one).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import redis

from benchmarks.exporter import BENCH_PYTHON, exporter, qwatch_command
from benchmarks.population import populate, scale_arguments
from harness.redis_server import RedisServer, free_port


@dataclass
class Load:
    """What the scrapers saw."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float | None, error: str | None = None) -> None:
        with self.lock:
            if error is None and seconds is not None:
                self.latencies.append(seconds)
            else:
                self.errors[error or "?"] = self.errors.get(error or "?", 0) + 1


def scraper(url: str, until: float, load: Load) -> None:
    while time.monotonic() < until:
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                body = response.read()
            if b"# TYPE " not in body:
                raise ValueError("not the text format")
            load.record(time.perf_counter() - start)
        except Exception as exc:  # every failure is a figure here
            load.record(None, type(exc).__name__)


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[None]:
    """COUNT connections that send half a request, and a byte every second."""
    with ExitStack() as stack:
        socks = []
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            socks.append(sock)
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(1.0):
                for sock in socks:
                    with contextlib.suppress(OSError):  # the server closed it, as it should
                        sock.sendall(b"X")

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def readings_counter(client: redis.Redis) -> int:
    """SMEMBERS calls: the reader sends a fixed number per reading."""
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_smembers", {}).get("calls", 0))


def hammer(url: str, port: int, args: argparse.Namespace) -> Load:
    load = Load()
    started = time.monotonic()
    with slow_clients(port, args.slow):
        print(f"  {args.slow} half-open connections made in {time.monotonic() - started:.1f} s")
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=scraper, args=(url, until, load)) for _ in range(args.scrapers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return load


def report(name: str, load: Load, seconds: float) -> None:
    latencies = sorted(load.latencies)
    count = len(latencies)
    if not latencies:
        print(f"{name}: no scrape answered; errors {load.errors}")
        return
    cuts = statistics.quantiles(latencies, n=100) if count > 1 else [latencies[0]] * 99
    print(
        f"{name}: {count} scrapes ({count / seconds:.1f}/s), errors {sum(load.errors.values())}"
        f" {load.errors or ''}, latency p50 {cuts[49] * 1000:.1f} ms, p90 {cuts[89] * 1000:.1f} ms,"
        f" p99 {cuts[98] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = scale_arguments(__doc__, runs=1)
    parser.set_defaults(queues=100, workers=100, jobs=10_000)
    parser.add_argument("--scrapers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--slow", type=int, default=300, help="half-open connections held")
    args = parser.parse_args()
    with RedisServer() as server:
        client = server.client()
        populate(client, args.queues, args.workers, args.jobs)
        print(
            f"{args.queues} queues, {args.workers} workers, {args.jobs} queued jobs;"
            f" {args.scrapers} scrapers for {args.seconds:g} s, {args.slow} half-open connections"
        )
        port = free_port()
        with exporter(qwatch_command(server.url, port), port) as running:
            url = running.url
            before = readings_counter(client)
            urllib.request.urlopen(url, timeout=60).read()
            per_reading = readings_counter(client) - before
            before = readings_counter(client)
            load = hammer(url, port, args)
            readings = (readings_counter(client) - before) / max(per_reading, 1)
        report("qwatch serve", load, args.seconds)
        print(
            f"  {readings:.0f} Redis readings served {len(load.latencies)} scrapes"
            f" ({len(load.latencies) / max(readings, 1):.1f} scrapes per reading)"
        )
        if not BENCH_PYTHON.exists():
            print(
                "rq-exporter is not installed: run `make bench`, which installs it in .venv-bench"
            )
            return
        port = free_port()
        rq_exporter = [
            str(BENCH_PYTHON), "-m", "rq_exporter", "--redis-url", server.url,
            "--host", "127.0.0.1", "-p", str(port), "--log-level", "ERROR",
        ]  # fmt: skip
        with exporter(rq_exporter, port) as running:
            url = running.url
            theirs = hammer(url, port, args)
        report("rq-exporter 3.1.0", theirs, args.seconds)
        if theirs.latencies:
            print(
                f"qwatch answered {len(load.latencies) / len(theirs.latencies):.1f}x as many"
                f" scrapes, with a median {median_ms(theirs) / median_ms(load):.1f}x shorter"
            )


def median_ms(load: Load) -> float:
    return statistics.median(load.latencies) * 1000


if __name__ == "__main__":
    main()
