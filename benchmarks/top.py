"""One refresh of `qwatch top` against one poll of rq-dashboard, on the same Redis.

    make bench   (or: .venv/bin/python -m benchmarks.top --help)

qwatch: the feed's read (snapshot, completions, newest failed jobs) and the
table update of the queues and workers screens, headless. rq-dashboard: the
two JSON requests its page makes every refresh (queues and workers).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
import urllib.request

from benchmarks.exporter import BENCH_PYTHON
from benchmarks.population import populate, scale_arguments
from harness.polling import wait_until
from harness.redis_server import RedisServer, free_port
from qwatch.connection import Target, connect
from qwatch.tui.app import QwatchApp
from qwatch.tui.feed import Feed
from qwatch.tui.messages import Polled


async def qwatch_refreshes(url: str, runs: int) -> tuple[list[float], list[float]]:
    """Seconds of each read, and of each table update that follows it."""
    target = Target(url=url, timeout=30)
    feed = Feed(target, connect(target))
    app = QwatchApp(feed, interval=3600)
    reads, renders = [], []
    async with app.run_test(size=(200, 60)) as pilot:
        for view in ("1", "2") * runs:
            await pilot.press(view)
            start = time.perf_counter()
            update = feed.poll(with_functions=False)
            read = time.perf_counter()
            app.on_polled(Polled(update))
            await pilot.pause()
            reads.append(read - start)
            renders.append(time.perf_counter() - read)
    return reads, renders


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


def main() -> None:
    parser = scale_arguments(__doc__, runs=5)
    args = parser.parse_args()
    with RedisServer() as server:
        populate(server.client(), args.queues, args.workers, args.jobs)
        print(f"{args.queues} queues, {args.workers} workers, {args.jobs} queued jobs")
        reads, renders = asyncio.run(qwatch_refreshes(server.url, args.runs))
        totals = [read + render for read, render in zip(reads, renders)]
        parts = f"read {median_ms(reads)}, tables {median_ms(renders)}"
        print(f"qwatch top refresh   {median_ms(totals)}  ({parts})")
        if BENCH_PYTHON.exists():
            polls = dashboard_polls(server.url, args.runs)
            ratio = statistics.median(polls) / statistics.median(totals)
            print(f"rq-dashboard poll    {median_ms(polls)}  ({ratio:.1f}x qwatch top's refresh)")
        else:
            print("rq-dashboard: skipped, run `make bench` to install it in .venv-bench")


if __name__ == "__main__":
    main()
