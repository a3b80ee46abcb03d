"""What `qwatch serve --state-file` costs: the write after each reading, the backlog at restart.

    .venv/bin/python -m benchmarks.state [--queues N] [--runs N]

First, per size of fleet (QUEUES queues, each with 5 functions finished and 2
exceptions failed, and both histograms), the time to take a checkpoint under
the totals' lock, to write the file when something changed (serialised,
flushed to disk, renamed), and to find that nothing changed; then the file's
size and the time to read it at start. Second, against a private
redis-server, a reader resumed from a saved position with 100,000 entries
after it (the most one poll reads): the time to read them, and to count them
into the totals.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.population import scale_arguments
from benchmarks.stream import append_entries
from harness.redis_server import RedisServer
from qwatch.exporter.state import Checkpoint, StateFile
from qwatch.exporter.totals import DEFAULT_BUCKETS, DEFAULT_LABEL_LIMIT, JobTotals
from qwatch.model import NO_WORKER_TOTALS, RQ, Completion, StreamPosition
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.rq.reader import read_snapshot
from qwatch.rq.stream import CompletionStream
from qwatch.wire import completions
from qwatch.wire.connection import Target, connect

BACKLOG = completions.BATCH * completions.MAX_BATCHES


def fleet_totals(queues: int) -> JobTotals:
    totals = JobTotals(DEFAULT_BUCKETS, DEFAULT_LABEL_LIMIT)
    ended = []
    for queue in range(queues):
        name = f"queue-{queue:05d}"
        for function in range(5):
            ended.append(
                Completion(
                    "j", name, "finished", f"app.tasks.f{function}", None, 1, 2, 2.5, system=RQ
                )
            )
        for exception in range(2):
            ended.append(
                Completion("j", name, "failed", "app.tasks.f0", f"E{exception}", 1, 2, 3, system=RQ)
            )
    totals.add_completions(ended)
    return totals


def milliseconds(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def writes(queues: int, runs: int) -> None:
    totals = fleet_totals(queues)
    path = Path(tempfile.mkdtemp(prefix="qwatch-state-")) / "state.json"
    state = StateFile.open(str(path))
    taken, written, unchanged = [], [], []
    for run in range(runs):
        totals.stream_lost = run  # a change: the file is written
        start = time.perf_counter()
        checkpoint = Checkpoint.taken(
            totals, (StreamPosition((run, 0), run), None, None), NO_WORKER_TOTALS
        )
        took = time.perf_counter()
        state.save("main", checkpoint)
        wrote = time.perf_counter()
        state.save(
            "main",
            Checkpoint.taken(totals, (StreamPosition((run, 0), run), None, None), NO_WORKER_TOTALS),
        )
        taken.append(took - start)
        written.append(wrote - took)
        unchanged.append(time.perf_counter() - wrote)
    start = time.perf_counter()
    StateFile.open(str(path))
    opened = time.perf_counter() - start
    series = len(totals.finished) + len(totals.failed)
    print(
        f"{queues:,} queues, {series:,} counter series, {path.stat().st_size / 1e6:.2f} MB:"
        f" checkpoint {milliseconds(taken)}, write {milliseconds(written)},"
        f" unchanged {milliseconds(unchanged)}, read at start {opened * 1000:.0f} ms"
    )


def backlog(queues: int, runs: int) -> None:
    with RedisServer() as server:
        client = connect(Target(url=server.url, timeout=60))
        client.sadd(
            DEFAULT_KEYS.queues, *(DEFAULT_KEYS.queue_key(f"queue-{q:04d}") for q in range(queues))
        )
        append_entries(client, queues, 1)
        snapshot = read_snapshot(client)
        saved = CompletionStream()
        saved.poll(client, snapshot)
        append_entries(client, queues, BACKLOG)
        read, counted = [], []
        for _run in range(runs):
            reader = CompletionStream(resume=saved.position)
            start = time.perf_counter()
            reading = reader.poll(client, snapshot)
            polled = time.perf_counter()
            JobTotals(DEFAULT_BUCKETS, DEFAULT_LABEL_LIMIT).add(snapshot, reading.counted([]))
            assert len(reading.completions) == BACKLOG
            read.append(polled - start)
            counted.append(time.perf_counter() - polled)
        print(
            f"a backlog of {BACKLOG:,} entries over {queues:,} queues:"
            f" read {milliseconds(read)}, counted {milliseconds(counted)}"
        )


def main() -> None:
    args = scale_arguments(__doc__, runs=7).parse_args()
    print(f"median of {args.runs} runs")
    for queues in (args.queues, args.queues * 10):
        writes(queues, args.runs)
    backlog(min(args.queues, 1000), max(1, args.runs // 2))


if __name__ == "__main__":
    main()
