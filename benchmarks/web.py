"""The web dashboard's overview against rq-dashboard's own endpoints, on the same Redis.

    make bench   (or: .venv/bin/python -m benchmarks.web --help)

qwatch: `qwatch serve`'s `/`, the whole overview page (every queue with
every state's count, workers grouped by host, the newest failures), as a
browser fetches it: from the last reading while it is younger than the
refresh, and with a reading of its own when it is older. rq-dashboard 0.9:
the two JSON requests its page makes every refresh (queues and workers),
without the page that renders them. The pairs alternate, in one run.

Then twenty browsers refresh the overview at once, over and over, while a
Prometheus scrapes `/metrics` every second: their latencies, and how many
pages each reading served.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks.exporter import BENCH_PYTHON
from benchmarks.population import populate, scale_arguments
from benchmarks.top import dashboard_polls
from harness.polling import wait_until
from harness.qwatch_serve import qwatch_serve
from harness.redis_server import RedisServer

REFRESH = 2.0
"""The pages' refresh for this run: a page past it reads again."""


def fetch(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        response.read()
    return time.perf_counter() - started


def overview_times(base: str, runs: int) -> tuple[list[float], list[float]]:
    """Pages served from the last reading, and pages that waited for a new one."""
    cached, fresh = [], []
    for _ in range(runs):
        time.sleep(REFRESH)  # the last reading is now too old: this page reads again
        fresh.append(fetch(base + "/"))
        cached += [fetch(base + "/") for _ in range(3)]
    return cached, fresh


def crowd(base: str, browsers: int, seconds: float) -> tuple[list[float], list[float]]:
    """`browsers` threads fetching the overview back to back, and a scraper every second."""
    pages: list[float] = []
    scrapes: list[float] = []
    stop = time.monotonic() + seconds

    def browse() -> None:
        while time.monotonic() < stop:
            pages.append(fetch(base + "/"))

    def scrape() -> None:
        while time.monotonic() < stop:
            scrapes.append(fetch(base + "/metrics"))
            time.sleep(max(0.0, 1.0 - scrapes[-1]))

    threads = [threading.Thread(target=browse) for _ in range(browsers)]
    threads.append(threading.Thread(target=scrape))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return pages, scrapes


def ms(values: list[float], share: float = 0.5) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000:.1f} ms"


def main() -> None:
    parser = scale_arguments(__doc__, runs=5)
    parser.add_argument("--browsers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with RedisServer() as server, tempfile.TemporaryDirectory() as scratch:
        populate(server.client(), args.queues, args.workers, args.jobs)
        print(f"{args.queues} queues, {args.workers} workers, {args.jobs} queued jobs")
        log = Path(scratch) / "serve.log"
        with qwatch_serve(server.url, ["--web-refresh", str(REFRESH)], log) as address:
            base = f"http://{address}"
            wait_until(lambda: _answers(base), "qwatch serve to answer", timeout=120)
            size = len(urllib.request.urlopen(base + "/", timeout=120).read())
            cached, fresh = overview_times(base, args.runs)
            print(f"qwatch overview, from the last reading   {ms(cached)}  ({size / 1e6:.2f} MB)")
            print(f"qwatch overview, with a new reading      {ms(fresh)}")
            if BENCH_PYTHON.exists():
                polls = dashboard_polls(server.url, args.runs)
                best = statistics.median(polls)
                print(
                    f"rq-dashboard 0.9 queues.json + workers.json  {ms(polls)}"
                    f"  ({best / statistics.median(cached):.1f}x the cached page,"
                    f" {best / statistics.median(fresh):.1f}x the fresh one)"
                )
            else:
                print("rq-dashboard: skipped, run `make bench` to install it in .venv-bench")
            pages, scrapes = crowd(base, args.browsers, args.seconds)
            print(
                f"{args.browsers} browsers for {args.seconds:g}s: {len(pages)} pages,"
                f" p50 {ms(pages)}, p95 {ms(pages, 0.95)};"
                f" {len(scrapes)} scrapes meanwhile, p50 {ms(scrapes)}, max {ms(scrapes, 1.0)}"
            )


def _answers(base: str) -> bool:
    try:
        fetch(base + "/healthz")
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
