"""What the history costs: its memory and a sample's time, beside the reading it comes from.

    .venv/bin/python -m benchmarks.history [--queues 1000] [--workers 1000] [--samples 40]

Fills a private redis-server with RQ's own API (`benchmarks.population`),
then reads it as `qwatch serve` and `qwatch top` do (`Watch.read`) and feeds
each snapshot to a `History`, as both do at every sample. Prints the memory
the history holds after `--samples` samples (its float32 points, and all it
allocated, by tracemalloc), the steps it keeps at that size, and the median
time of one sample against the median time of the reading itself: the
history's share of a sample. serve records a sample in its reading thread
once the scrape or page that asked for the reading has its answer, so no
answer waits for it; top records in its poll worker, never in its UI thread,
so a refresh's UI time is unchanged by it (`benchmarks.top` measures that
part).

Then the history as `qwatch serve --state-file` keeps it across a restart
(`qwatch.history.saved`): the file's size, the time its copy holds the
history's lock (what a sample may wait for), the time to write it to disk
(flushed and renamed, as `qwatch.exporter.history_file` does), and to read
it back at start.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from benchmarks.population import populate, scale_arguments
from harness.redis_server import RedisServer
from qwatch.exporter.atomic import write_atomically
from qwatch.history import saved
from qwatch.history.recorder import DAY, HOUR, TIERS, History
from qwatch.watch import Watch

JOBS_PER_QUEUE = 10


def main() -> None:
    parser = scale_arguments(__doc__, runs=0)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    server = RedisServer()
    server.start()
    try:
        client = server.client()
        populate(client, args.queues, args.workers, JOBS_PER_QUEUE * args.queues)
        watch = Watch(client, "rq")
        watch.read()  # the discovery and the first reading's caches, as at start-up
        reads, snapshots = [], []
        for n in range(args.samples):
            started = time.perf_counter()
            snapshot = watch.read()
            reads.append(time.perf_counter() - started)
            snapshots.append(replace(snapshot, taken_at=15.0 * n))  # a sample every 15 s
    finally:
        server.stop()
    history, samples = History(), []
    for snapshot in snapshots:
        started = time.perf_counter()
        history.record(snapshot, [])
        samples.append(time.perf_counter() - started)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    measured = History()
    for snapshot in snapshots:
        measured.record(snapshot, [])
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    queues, workers = history.counted()
    steps = {tier: TIERS[tier][1] * history.coarsening for tier in (HOUR, DAY)}
    print(f"{queues:,} queues, {workers:,} workers, {args.samples} samples")
    print(f"  points: {history.nbytes() / 2**20:.1f} MiB (bound {history.budget / 2**20:.0f} MiB)")
    print(f"  all the history holds (tracemalloc): {held / 2**20:.1f} MiB")
    print(f"  steps: {steps[HOUR]:g} s over the hour, {steps[DAY]:g} s over the day")
    read_ms, sample_ms = statistics.median(reads) * 1e3, statistics.median(samples) * 1e3
    print(f"  a reading: {read_ms:.1f} ms; a history sample: {sample_ms:.1f} ms", end="")
    print(f" ({sample_ms / read_ms:.2f}x the reading, in the same thread)")
    saving(history, snapshots[-1].taken_at)


def saving(history: History, now: float) -> None:
    """The history saved and read back as serve does across a restart."""
    started = time.perf_counter()
    pieces = list(saved.write({"main": history}))
    copied = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "qwatch-state.json.history"
        started = time.perf_counter()
        write_atomically(path, pieces)
        written = time.perf_counter() - started
        started = time.perf_counter()
        with path.open("rb") as file:
            again = saved.read(file, ["main"], now)["main"]
        read = time.perf_counter() - started
        size = path.stat().st_size
    assert again.counted() == history.counted()
    print(f"  saved: {size / 2**20:.1f} MiB on disk, copied in {copied * 1e3:.0f} ms", end="")
    print(f" under the history's lock, written in {written * 1e3:.0f} ms", end="")
    print(f", read at start in {read * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
