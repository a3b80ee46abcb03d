"""One refresh of `qwatch top` against one poll of rq-dashboard, on the same Redis.

    make bench   (or: .venv/bin/python -m benchmarks.top --help)

qwatch: the read in the reader thread (snapshot, the completions stream,
newest failed jobs, then the rows of the screen in view, built and measured;
finished and failed jobs are followed meanwhile by the tracker's own thread,
every second, as in `qwatch top`), and the UI
thread's part (the tables take the rows, the screen repaints), for the
queues and workers screens in turn, headless. rq-dashboard: the two JSON
requests its page makes every refresh (queues and workers).

Then, on a second Redis with `--busy-queues` queues and `--busy-workers`
workers, qwatch top polls without pause while `down` is pressed at random
moments: how long each key takes to move the cursor, and how many presses
landed while a poll was running.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import subprocess
import time
import urllib.request

from benchmarks.exporter import BENCH_PYTHON
from benchmarks.population import populate, scale_arguments
from harness.polling import wait_until
from harness.redis_server import RedisServer, free_port
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed, Update
from qwatch.wire.connection import Target, connect

Timings = tuple[list[float], list[float], list[float], list[float]]


async def qwatch_refreshes(url: str, runs: int) -> Timings:
    """Seconds of each read (reader thread), then of the UI thread's part: CPU, and wall;
    and the CPU of drawing the last hour's line under the status line, once more.

    The UI part is the tables taking the rows and the screen repainting (the
    hour's line among them). Its CPU time is what the UI thread spends; the
    wall time adds whatever else the machine runs meanwhile.
    """
    target = Target(url=url, timeout=30)
    feed = Feed(target, connect(target))
    app = QwatchApp(feed, interval=3600)
    reads, cpu, wall, line = [], [], [], []
    async with app.run_test(size=(200, 60)) as pilot:
        for view in ("1", "2") * (runs + 1):
            await pilot.press(view)
            await pilot.pause()
            start = time.perf_counter()
            message = app.prepared(feed.poll(with_functions=False))
            read, read_cpu = time.perf_counter(), time.thread_time()
            app.on_polled(message)
            await pilot.pause()
            reads.append(read - start)
            cpu.append(time.thread_time() - read_cpu)
            wall.append(time.perf_counter() - read)
            drawn = time.thread_time()
            app._render_throughput()
            line.append(time.thread_time() - drawn)
    return reads[2:], cpu[2:], wall[2:], line[2:]  # the first of each screen adds every row


class TimedFeed(Feed):
    """A feed that remembers when each of its polls ran."""

    def __init__(self, target: Target) -> None:
        super().__init__(target, connect(target))
        self.polls: list[tuple[float, float]] = []

    def poll(self, with_functions: bool) -> Update:
        start = time.perf_counter()
        try:
            return super().poll(with_functions)
        finally:
            self.polls.append((start, time.perf_counter()))


async def key_latencies(url: str, presses: int) -> tuple[list[float], int, float]:
    """Seconds from each `down` to the cursor's move, presses during a poll, a refresh's read."""
    feed = TimedFeed(Target(url=url, timeout=60))
    app = QwatchApp(feed, interval=0.01)
    latencies, starts = [], []
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("2")
        workers = app.tables["workers-table"]
        while len(feed.polls) < 2 or not workers.row_count:
            await pilot.pause(0.1)
        for _ in range(presses):
            await asyncio.sleep(random.uniform(0.05, 0.4))
            row = workers.cursor_row
            start = time.perf_counter()
            app.simulate_key("down" if row == 0 else "up")
            while workers.cursor_row == row:
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - start)
            starts.append(start)
    during = sum(any(begin <= start <= end for begin, end in feed.polls) for start in starts)
    reads = [end - begin for begin, end in feed.polls[1:]]
    return latencies, during, statistics.median(reads)


def dashboard_polls(url: str, runs: int) -> list[float]:
    port = free_port()
    command = [
        str(BENCH_PYTHON.parent / "rq-dashboard"),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "-u",
        url,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/0/data"

    def poll() -> float:
        start = time.perf_counter()
        for path in ("queues.json", "workers.json"):
            with urllib.request.urlopen(f"{base}/{path}", timeout=120) as response:
                response.read()
        return time.perf_counter() - start

    def answers() -> bool:
        try:
            poll()
            return True
        except OSError:
            return False

    try:
        wait_until(answers, "rq-dashboard to answer", timeout=120)
        return [poll() for _ in range(runs)]
    finally:
        process.terminate()
        process.wait(timeout=30)


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f}ms"


def max_ms(values: list[float]) -> str:
    return f"{max(values) * 1000:.1f}ms"


def main() -> None:
    parser = scale_arguments(__doc__, runs=5)
    parser.add_argument("--busy-queues", type=int, default=10_000)
    parser.add_argument("--busy-workers", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    with RedisServer() as server:
        populate(server.client(), args.queues, args.workers, args.jobs)
        print(f"{args.queues} queues, {args.workers} workers, {args.jobs} queued jobs")
        reads, cpu, wall, line = asyncio.run(qwatch_refreshes(server.url, args.runs))
        totals = [read + render for read, render in zip(reads, wall)]
        print(f"qwatch top refresh   {median_ms(totals)}")
        print(f"  read, in the reader thread      {median_ms(reads)}")
        print(f"  UI thread, CPU                  {median_ms(cpu)}  (max {max_ms(cpu)})")
        print(f"  UI thread, wall                 {median_ms(wall)}  (max {max_ms(wall)})")
        share = statistics.median(line) / statistics.median(cpu)
        print(f"  of which the last hour's line   {median_ms(line)}  ({share:.1%} of its CPU)")
        if BENCH_PYTHON.exists():
            polls = dashboard_polls(server.url, args.runs)
            ratio = statistics.median(polls) / statistics.median(totals)
            print(f"rq-dashboard poll    {median_ms(polls)}  ({ratio:.1f}x qwatch top's refresh)")
        else:
            print("rq-dashboard: skipped, run `make bench` to install it in .venv-bench")
    with RedisServer() as server:
        populate(server.client(), args.busy_queues, args.busy_workers, args.jobs)
        latencies, during, read = asyncio.run(key_latencies(server.url, args.presses))
        print(
            f"{args.busy_queues} queues, {args.busy_workers} workers: a key answers in"
            f" {median_ms(latencies).strip()} (max {max_ms(latencies)}) while polling without"
            f" pause ({during} of {len(latencies)} presses during a read of"
            f" {median_ms([read]).strip()})"
        )


if __name__ == "__main__":
    main()
