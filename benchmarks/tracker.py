"""What following completions costs Redis: the background tracker at its interval, per second.

    .venv/bin/python -m benchmarks.tracker --help

A private redis-server with QUEUES queues, WORKERS workers, JOBS queued jobs
and FINISHED finished jobs kept in the registries (so every window is read),
written with RQ's own API. For each interval the tracker runs for SECONDS
and the Redis server's CPU (INFO used_cpu_sys + used_cpu_user) is read
before and after; the idle server's own CPU over as long is subtracted.
Then the same with FEED jobs finishing per second, against the feed alone.
RQ's API is measured in the same run doing the least a poller could:
every finished and failed registry's size (ZCARD, no clean-up) at 1 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from benchmarks.exporter import finish_jobs, redis_cpu
from benchmarks.population import populate, scale_arguments
from harness.redis_server import RedisServer
from qwatch.rq.completions import OVERLAP
from qwatch.rq.keys import DEFAULT_KEYS
from qwatch.rq.tracking import Following
from qwatch.wire.connection import Target, connect

OWN_CPU: list[float] = []
"""This process's CPU seconds per second during each measure: the tracker's, when it runs alone."""


def cpu_per_second(client: redis.Redis, seconds: float, running: Callable[[], object]) -> float:
    """Redis CPU seconds per second while `running` (started, then stopped) runs."""
    stop = running()
    before, start, own = redis_cpu(client), time.monotonic(), time.process_time()
    time.sleep(seconds)
    cpu, elapsed = redis_cpu(client) - before, time.monotonic() - start
    OWN_CPU.append((time.process_time() - own) / elapsed)
    if callable(stop):
        stop()
    return cpu / elapsed


def idle() -> Callable[[], None]:
    return lambda: None


def tracking(url: str, interval: float, polls: list[int]) -> Callable[[], Callable[[], None]]:
    def start() -> Callable[[], None]:
        tracker = Following("bench", connect(Target(url=url)), DEFAULT_KEYS, interval=interval)
        tracker.start()
        tracker.wait_past(0)
        first = tracker.polls

        def stop() -> None:
            polls.append(tracker.polls - first)
            tracker.stop()

        return stop

    return start


def feeding(client: redis.Redis, queues: int, per_second: int) -> Callable[[], Callable[[], None]]:
    """Jobs marked finished through RQ's API, `per_second` of them, in tenths of a second."""

    def start() -> Callable[[], None]:
        stopped = threading.Event()

        def feed() -> None:
            batch = 0
            while not stopped.wait(0.1):
                finish_jobs(client, queues, per_second // 10, tag=f"feed-{id(stopped)}-{batch}")
                batch += 1

        thread = threading.Thread(target=feed, daemon=True)
        thread.start()

        def stop() -> None:
            stopped.set()
            thread.join()

        return stop

    return start


def together(*parts: Callable[[], Callable[[], None]]) -> Callable[[], Callable[[], None]]:
    def start() -> Callable[[], None]:
        stops = [part() for part in parts]

        def stop() -> None:
            for each in stops:
                each()

        return stop

    return start


def rq_registry_sizes(client: redis.Redis, queues: list[str]) -> Callable[[], Callable[[], None]]:
    """Every finished and failed registry's size through RQ's API, once a second."""

    def start() -> Callable[[], None]:
        stopped = threading.Event()

        def poll() -> None:
            while not stopped.is_set():
                for name in queues:
                    FinishedJobRegistry(name, connection=client).get_job_count(cleanup=False)
                    FailedJobRegistry(name, connection=client).get_job_count(cleanup=False)
                stopped.wait(1.0)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()

        def stop() -> None:
            stopped.set()
            thread.join()

        return stop

    return start


def main() -> None:
    parser = scale_arguments(__doc__, runs=1)
    parser.add_argument("--finished", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--feed", type=int, default=100, help="jobs finishing per second")
    parser.add_argument("--intervals", default="0.5,1,2")
    args = parser.parse_args()
    intervals = [float(text) for text in args.intervals.split(",")]
    with RedisServer() as server:
        client = server.client()
        populate(client, args.queues, args.workers, args.jobs)
        finish_jobs(client, args.queues, args.finished, tag="kept")
        time.sleep(OVERLAP + 2)
        names = [queue.name for queue in Queue.all(connection=client)]
        print(
            f"{args.queues} queues, {args.workers} workers, {args.jobs} queued jobs,"
            f" {args.finished} finished jobs kept; {args.seconds:g} s per measure"
        )
        base = cpu_per_second(client, args.seconds, idle())
        print(f"idle redis-server: {base * 1000:.2f} ms CPU per second (subtracted below)")
        print(f"{'':<46}{'redis cpu/s':>12}{'per poll':>10}{'cpu %':>7}{'qwatch cpu/s':>14}")
        rq_cost = cpu_per_second(client, args.seconds, rq_registry_sizes(client, names)) - base
        print(f"{'RQ API: every registry size (ZCARD), 1 s':<46}{rq_cost * 1000:>10.2f}ms")
        for interval in intervals:
            polls: list[int] = []
            cost = cpu_per_second(client, args.seconds, tracking(server.url, interval, polls))
            cost -= base
            per_poll = cost * args.seconds / max(polls[0], 1)
            label = f"qwatch tracker, {interval:g} s, nothing ending"
            print(
                f"{label:<46}{cost * 1000:>10.2f}ms{per_poll * 1000:>8.2f}ms{cost * 100:>6.2f}%"
                f"{OWN_CPU[-1] * 1000:>12.1f}ms  ({cost / rq_cost:.2f}x RQ API's Redis CPU)"
            )
        feed = feeding(client, args.queues, args.feed)
        fed = cpu_per_second(client, args.seconds, feed)
        polls = []
        both = cpu_per_second(
            client, args.seconds, together(feed, tracking(server.url, 1.0, polls))
        )
        cost = both - fed
        label = f"qwatch tracker, 1 s, {args.feed} jobs ending/s"
        print(
            f"{label:<46}{cost * 1000:>10.2f}ms"
            f"{cost * args.seconds / max(polls[0], 1) * 1000:>8.2f}ms{cost * 100:>6.2f}%"
            f"  (the feed itself: {(fed - base) * 1000:.2f} ms/s)"
        )


if __name__ == "__main__":
    main()
