"""The exporter's readings with CPython's default collector pace and with qwatch's.

    .venv/bin/python -m benchmarks.collection [--queues N --workers N --runs N]

One `RedisSource` reads a Redis of QUEUES queues and WORKERS workers (100,000
queued jobs, 50,000 finished kept) RUNS times back to back, its tracker not
polling, first at Python's default thresholds and then after `collect_seldom`,
as `qwatch serve` and `qwatch top` run: the median time of a reading, and the
full collections and their time over the readings.
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

from benchmarks.exporter import finish_jobs
from benchmarks.population import populate, scale_arguments
from harness.redis_server import RedisServer
from qwatch.cli.collection import collect_seldom
from qwatch.exporter.collector import RedisSource


class FullWalks:
    """Full collections and the seconds they took, while installed."""

    def __init__(self) -> None:
        self.count, self.seconds, self._started = 0, 0.0, 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._started


def readings(source: RedisSource, runs: int) -> tuple[float, FullWalks]:
    """Median seconds of a reading over `runs`, and the full collections meanwhile."""
    walks = FullWalks()
    gc.callbacks.append(walks)
    try:
        took = []
        for _ in range(runs):
            start = time.perf_counter()
            source.start_reading().result()
            took.append(time.perf_counter() - start)
    finally:
        gc.callbacks.remove(walks)
    return statistics.median(took), walks


def main() -> None:
    args = scale_arguments(__doc__, runs=10).parse_args()
    default = gc.get_threshold()
    with RedisServer() as server:
        client = server.client()
        populate(client, args.queues, args.workers, args.jobs)
        finish_jobs(client, args.queues, 50_000, tag="kept")
        source = RedisSource("main", server.client())
        try:
            for _ in range(3):
                source.start_reading().result()
            print(f"{args.queues:,} queues, {args.workers:,} workers, {args.runs} readings each")
            print(f"{'collector pace':<16}{'reading':>10}{'full walks':>12}{'their time':>12}")
            for name in ("Python's", "qwatch's"):
                gc.set_threshold(*default)
                if name == "qwatch's":
                    collect_seldom()
                median, walks = readings(source, args.runs)
                print(
                    f"{name:<16}{median * 1000:>8.1f}ms{walks.count:>12}"
                    f"{walks.seconds * 1000:>10.0f}ms"
                )
        finally:
            gc.set_threshold(*default)
            source.close()


if __name__ == "__main__":
    main()
