"""arq's queues on Redis: qwatch against the overview arq's own API gives, in one run.

    .venv-arq/bin/python -m benchmarks.arq [--queues 10] [--jobs 10000] [--results 2000]
                                           [--runs 7] [--other-keys 0]

arq has no monitor of its own: its users build a status page from the API of
ArqRedis (arq 0.28's `arq/connections.py` and `arq/jobs.py`). It runs in
.venv-arq, where arq and the redis-py 5 it pins are installed.

Starts a private redis-server and fills it with arq's own `enqueue_job`, over
`--queues` queues:

- `--results` jobs run by a real arq Worker in burst mode, one a queue, a
  quarter of them raising: the results arq keeps (`arq:result:<id>`, an hour),
  finished and failed, written by arq itself;
- RUNNING jobs a queue taken by a real Worker that keeps running them (they
  sleep an hour): their `arq:in-progress:<id>` keys, and that worker's health
  check (`<queue>:health-check`). At its `max_jobs` a worker polls nothing, and
  it writes its health check once an hour, so it sends Redis nothing while
  readings are timed;
- `--jobs` jobs waiting, a tenth deferred an hour (`_defer_by`).

`--other-keys` adds keys of another application beside arq's.

Then it times, in alternating pairs on the same data:

- qwatch's reading, `Watch(client, "arq").read()`, in the steady state: per
  queue its due and deferred counts, its first 500 due jobs with their
  scores, which of them have an in-progress key, the first waiting job, and
  its health check with its time to live, in three round trips (Redis' INFO
  is a fourth). Its finished and failed counts are those of the results read
  at its discovery (a SCAN for health checks, one for results, each new
  result read once), which runs once a minute: its first reading, and the
  discovery alone, are timed apart.
- the overview arq's API gives with the same figures: for each queue
  `queued_jobs(queue_name=...)` (a ZRANGE of the whole queue, then a GET of
  each job, unpickled into a JobDef), `Job(id).status()` of each due one (a
  MULTI of two EXISTS and a ZSCORE: queued or in progress), and its health
  check (a GET, as `arq --check` reads it); then `all_job_results()`: a KEYS
  of `arq:result:*`, then a GET of each result, unpickled, counted per queue
  and outcome. KEYS walks the whole keyspace, every application's keys, and
  Redis serves no other client until it returns. The queues are gathered, as
  arq gathers the jobs of `queued_jobs` and the results of
  `all_job_results` (one after the other took as long).

and, in pairs too, `qwatch failed --system arq` (`Watch(client,
"arq").failed` on a new watch, which discovers and reads every result)
against `all_job_results()` kept to the failures, newest first.

Redis time, Redis CPU and the longest command are measured as
`benchmarks.dramatiq` measures them. Round trips are counted by wrapping the
clients' writes and reads, redis-py's asyncio connections too: arq's gathered
calls wait on many connections at once, and each wait is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import redis
from arq import func
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import health_check_key_suffix
from arq.jobs import Job, JobStatus
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.asyncio.connection import AbstractConnection

from benchmarks.dramatiq import Run, longest, measure, served_alone
from harness.arq_app import add, crawl, fail, send_email, sleep
from harness.polling import wait_until
from harness.redis_server import RedisServer
from qwatch.arq.layout import HEALTH_CHECK_INTERVAL, IN_PROGRESS_PREFIX, ArqLayout
from qwatch.arq.reader import discover_arq_queues
from qwatch.arq.results import ArqResults
from qwatch.model import Snapshot
from qwatch.watch import DISCOVER_SECONDS, Watch
from qwatch.wire.connection import Target, connect

LAYOUT = ArqLayout()
HOLD = 3600.0
"""Seconds a running job sleeps: past the end of the benchmark."""
FUNCTIONS = [add, send_email, fail, crawl, func(sleep, timeout=HOLD)]
ARGUMENTS: dict[str, Callable[[int], tuple[Any, ...]]] = {
    "add": lambda n: (n, 1),
    "send_email": lambda n: (f"customer-{n}@example.com", f"order {n}"),
    "fail": lambda n: (f"the card for order {n} was declined",),
    "crawl": lambda n: (f"https://shop.example/{n}",),
    "sleep": lambda n: (HOLD,),
}
"""Each function's arguments for the n-th job."""
ENDED = ("fail", "send_email", "add", "send_email")
"""The functions of the jobs run to a result, in turn: a quarter of them raise."""
WAITING = ("send_email", "add", "crawl")
RUNNING = 5
"""Jobs each queue's running worker holds: its `max_jobs`."""
DEFER_EVERY = 10
DEFER_SECONDS = 3600
FAILED_LIMIT = 20
"""`qwatch failed`'s default `--limit`."""
CHUNK = 1000
ALONE_RUNS = 3
"""Readings of each side logged command by command for the longest: arq's take seconds."""


@dataclass(frozen=True, order=True)
class Row:
    """One queue as a status page shows it."""

    name: str
    queued: int
    started: int
    scheduled: int
    finished: int
    failed: int
    head: str | None
    """The function next in line."""
    health: bool
    """Whether a worker's health check is there."""


@dataclass(frozen=True)
class Population:
    """What was written, to check both sides against."""

    waiting: int
    deferred: int
    running: int
    finished: int
    failed: int


class AsyncRoundTrips:
    """`benchmarks.celery.RoundTrips` for redis-py's asyncio connections, which arq's pool
    uses: a write after a read on a connection is one wait for Redis, however many
    connections wait at once."""

    def __init__(self) -> None:
        self.count = 0
        self._sent: set[int] = set()

    @contextmanager
    def counting(self) -> Iterator[None]:
        send: Any = AbstractConnection.send_packed_command
        read: Any = AbstractConnection.read_response

        async def packed_send(conn: Any, *args: Any, **kwargs: Any) -> None:
            if id(conn) not in self._sent:
                self.count += 1
                self._sent.add(id(conn))
            await send(conn, *args, **kwargs)

        async def read_reply(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self._sent.discard(id(conn))
            return await read(conn, *args, **kwargs)

        AbstractConnection.send_packed_command = packed_send  # type: ignore[method-assign,assignment]
        AbstractConnection.read_response = read_reply  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
            AbstractConnection.read_response = read  # type: ignore[method-assign]


async def overview(pool: ArqRedis, names: Sequence[str]) -> list[Row]:
    """The status page arq's API gives: every queue's jobs, each due one's status and the
    queue's health check, then every result kept, counted per queue and outcome."""
    views = await asyncio.gather(*(_queue_view(pool, name) for name in names))
    ended = Counter((result.queue_name, bool(result.success)) for result in await _results(pool))
    rows = []
    for name, (queued, started, scheduled, head, health) in zip(names, views):
        finished, failed = ended[(name, True)], ended[(name, False)]
        rows.append(Row(name, queued, started, scheduled, finished, failed, head, health))
    return rows


async def _queue_view(pool: ArqRedis, name: str) -> tuple[int, int, int, str | None, bool]:
    now = timestamp_ms()
    jobs = await pool.queued_jobs(queue_name=name)
    due = [job for job in jobs if job.score <= now]
    statuses = await asyncio.gather(*(Job(job.job_id, pool, name).status() for job in due))
    waiting = [job for job, status in zip(due, statuses) if status == JobStatus.queued]
    health = await pool.get(name + health_check_key_suffix)
    head = str(waiting[0].function) if waiting else None
    running = sum(status == JobStatus.in_progress for status in statuses)
    return len(waiting), running, len(jobs) - len(due), head, health is not None


async def _results(pool: ArqRedis) -> list[Any]:
    results: list[Any] = await pool.all_job_results()
    return results


async def failures(pool: ArqRedis, limit: int = FAILED_LIMIT) -> list[str]:
    """`qwatch failed` with arq's API: every result, the failures newest first; their ids."""
    failed = [result for result in await _results(pool) if not result.success]
    failed.sort(key=lambda result: result.finish_time, reverse=True)
    return [str(result.job_id) for result in failed[:limit]]


async def run_to_results(url: str, names: Sequence[str], count: int) -> tuple[int, int]:
    """`count` jobs over the queues, each queue's run by a real burst Worker: (finished,
    failed), as the workers counted them."""
    calls = [
        (ENDED[n // len(names) % len(ENDED)], names[n % len(names)], None) for n in range(count)
    ]
    await _enqueued(url, calls)
    pool = await create_pool(RedisSettings.from_dsn(url))
    finished = failed = 0
    try:
        for name in names:
            # many jobs at once, polled often: a burst takes seconds rather than minutes
            worker = Worker(
                FUNCTIONS, queue_name=name, redis_pool=pool, burst=True, handle_signals=False,
                max_jobs=100, poll_delay=0.01,
            )  # fmt: skip
            await worker.async_run()
            finished += worker.jobs_complete
            failed += worker.jobs_failed
    finally:
        await pool.aclose()
    return finished, failed


def enqueue_waiting(url: str, names: Sequence[str], count: int) -> tuple[int, int]:
    """`count` jobs over the queues, a tenth deferred: (due, deferred)."""
    calls = [
        (WAITING[n % len(WAITING)], names[n % len(names)],
         DEFER_SECONDS if n // len(names) % DEFER_EVERY == DEFER_EVERY - 1 else None)
        for n in range(count)
    ]  # fmt: skip
    asyncio.run(_enqueued(url, calls))
    deferred = sum(defer is not None for _f, _q, defer in calls)
    return count - deferred, deferred


async def _enqueued(url: str, calls: Sequence[tuple[str, str, float | None]]) -> list[str]:
    """Each (function, queue, seconds deferred) through arq's `enqueue_job`; the job ids."""
    pool = await create_pool(RedisSettings.from_dsn(url))
    ids: list[str] = []
    try:
        for start in range(0, len(calls), CHUNK):
            chunk = enumerate(calls[start : start + CHUNK], start)
            jobs = await asyncio.gather(
                *(
                    pool.enqueue_job(function, *ARGUMENTS[function](n), _queue_name=q, _defer_by=d)
                    for n, (function, q, d) in chunk
                )
            )
            ids += [str(job.job_id) for job in jobs]
    finally:
        await pool.aclose()
    return ids


@contextmanager
def running(url: str, names: Sequence[str]) -> Iterator[None]:
    """A real arq Worker on each queue, in a thread of its own, holding RUNNING jobs until
    the benchmark ends: enqueued before any other waits, so that it takes them and nothing
    else, then sends Redis nothing (it is at its `max_jobs`, and writes its health check
    once an hour)."""
    ids = asyncio.run(_enqueued(url, [("sleep", name, None) for name in names] * RUNNING))
    stop = threading.Event()
    thread = threading.Thread(target=asyncio.run, args=(_work(url, names, stop),))
    thread.start()
    try:
        client = connect(Target(url=url))
        checks = [name + health_check_key_suffix for name in names]
        ongoing = f"j_ongoing={RUNNING}".encode()
        wait_until(
            lambda: (
                client.exists(*(IN_PROGRESS_PREFIX + i for i in ids)) == len(ids)
                and all(ongoing in (check or b"") for check in client.mget(checks))
            ),
            "the workers to run their jobs and write their health checks",
        )
        yield
    finally:
        stop.set()
        thread.join()


async def _work(url: str, names: Sequence[str], stop: threading.Event) -> None:
    """The workers, until `stop`; closed as arq closes them (their jobs cancelled)."""
    workers = [
        Worker(
            FUNCTIONS,
            queue_name=name,
            redis_settings=RedisSettings.from_dsn(url),
            handle_signals=False,
            max_jobs=RUNNING,
            health_check_interval=HEALTH_CHECK_INTERVAL,
        )
        for name in names
    ]
    runs = [asyncio.ensure_future(worker.async_run()) for worker in workers]
    await asyncio.to_thread(stop.wait)
    await asyncio.gather(*(worker.close() for worker in workers))
    await asyncio.gather(*runs, return_exceptions=True)


def rows_of(snapshot: Snapshot) -> list[Row]:
    """qwatch's reading as the overview's rows."""
    checked = {queue for worker in snapshot.workers for queue in worker.queues}
    rows = []
    for queue in snapshot.queues:
        counts = [queue.started, queue.scheduled, queue.finished, queue.failed]
        started, scheduled, finished, failed = (count or 0 for count in counts)
        head, health = queue.head_job, queue.name in checked
        rows.append(
            Row(queue.name, queue.queued, started, scheduled, finished, failed, head, health)
        )
    return sorted(rows)


def check(snapshot: Snapshot, arq: list[Row], population: Population) -> None:
    """Both sides show the same rows, and they hold what was written."""
    assert rows_of(snapshot) == sorted(arq), (rows_of(snapshot), sorted(arq), snapshot.notes)
    assert snapshot.records_skipped == 0, snapshot.notes
    assert sum(row.queued for row in arq) == population.waiting
    assert sum(row.scheduled for row in arq) == population.deferred
    assert sum(row.started for row in arq) == population.running
    assert sum(row.finished for row in arq) == population.finished
    assert sum(row.failed for row in arq) == population.failed
    assert all(row.health for row in arq)


def main() -> None:
    args = arguments().parse_args()
    logging.getLogger("arq").setLevel(logging.CRITICAL)  # a quarter of the jobs fail on purpose
    names = [f"arq:queue:{i:03d}" for i in range(args.queues)]
    with RedisServer("--slowlog-max-len", "1000000") as server:
        monitor = server.client()
        started = time.perf_counter()
        finished, failed = asyncio.run(run_to_results(server.url, names, args.results))
        with running(server.url, names):
            due, deferred = enqueue_waiting(server.url, names, args.jobs)
            for start in range(0, args.other_keys, CHUNK):
                keys = range(start, min(start + CHUNK, args.other_keys))
                monitor.mset({f"cache:{n}": n for n in keys})
            population = Population(due, deferred, RUNNING * len(names), finished, failed)
            print(
                f"populated {args.queues} queues with arq's enqueue_job in"
                f" {time.perf_counter() - started:.1f} s: {due:,} jobs due, {deferred:,}"
                f" deferred, {population.running} running ({RUNNING} a queue, held by real"
                f" workers), {finished:,} finished and {failed:,} failed results (real burst"
                f" workers), a health check a queue, {args.other_keys:,} other keys;"
                f" redis-server {monitor.info()['redis_version']}, {monitor.dbsize():,} keys"
            )
            runs, block = compare(server.url, monitor, names, population, args.runs)
    print(f"median of {args.runs}; each table's first two rows in alternating pairs")
    report(
        [
            ("qwatch, steady state", "qwatch"),
            ("arq's API overview", "arq"),
            ("qwatch, first reading (discovery included)", "first"),
            ("qwatch, discovery alone, first (every result read)", "discovery"),
            ("qwatch, discovery alone, a minute on (nothing new)", "again"),
        ],
        runs,
        block,
    )
    report(
        [
            ("qwatch failed (a new watch: discovery, every result read)", "failed"),
            ("arq all_job_results, failures newest first", "results"),
        ],
        runs,
        block,
    )
    print("vs: a reading's median over the table's first row's (above 1: qwatch is faster)")
    walks = [run.stats["keys"]["usec"] for run in runs["arq"]]
    print(
        f"arq's all_job_results: one KEYS arq:result:* a call, {statistics.median(walks):,.0f} us"
        f" with {args.other_keys:,} other keys, walking every key: Redis serves no other"
        " client meanwhile"
    )
    print(
        "qwatch's steady state: three round trips and Redis' INFO, its finished and failed"
        " counted from the results its discovery read (every"
        f" {DISCOVER_SECONDS:.0f} s, each new result once); arq's overview: every job and every"
        " result, at every view"
    )


def compare(
    url: str, monitor: redis.Redis, names: Sequence[str], population: Population, runs: int
) -> tuple[dict[str, list[Run]], dict[str, float]]:
    """Both comparisons in alternating pairs, then qwatch's first reading and discovery apart;
    and each reading's longest command, in microseconds (`served_alone`)."""
    client = connect(Target(url=url))
    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(create_pool(RedisSettings.from_dsn(url)))

    def arq_overview() -> list[Row]:
        return loop.run_until_complete(overview(pool, names))

    def arq_failures(limit: int = FAILED_LIMIT) -> list[str]:
        return loop.run_until_complete(failures(pool, limit))

    watch, warmed = Watch(client, "arq"), time.monotonic()
    check(watch.read(), arq_overview(), population)
    everyone = Watch(client, "arq").failed(population.failed)
    assert {row.id for row in everyone} == set(arq_failures(population.failed))
    warm = ArqResults()
    warm.refresh(client, LAYOUT)

    def reads() -> dict[str, Callable[[], object]]:
        """Every reading timed, by name; qwatch's steady one on the watch of the moment."""
        return {
            "qwatch": watch.read,
            "arq": arq_overview,
            "failed": lambda: Watch(client, "arq").failed(FAILED_LIMIT),
            "results": arq_failures,
            "first": lambda: Watch(client, "arq").read(),
            "discovery": lambda: discovered(client, ArqResults()),
            "again": lambda: discovered(client, warm),
        }

    idle = statistics.median(measured(monitor, lambda: None).cpu for _ in range(runs))
    measuring: dict[str, list[Run]] = {name: [] for name in reads()}
    paired = ["qwatch", "arq", "failed", "results"]
    for i in range(runs):
        if time.monotonic() - warmed > DISCOVER_SECONDS - 10:
            watch, warmed = Watch(client, "arq"), time.monotonic()
            watch.read()  # its discovery, untimed: the steady state is timed
        now = reads()
        for name in paired if i % 2 == 0 else reversed(paired):
            measuring[name].append(measured(monitor, now[name], idle))
    now = reads()
    for name in ("first", "discovery", "again"):
        measuring[name] = [measured(monitor, now[name], idle) for _ in range(runs)]
    block = {name: longest(served_alone(monitor, read, ALONE_RUNS)) for name, read in now.items()}
    loop.run_until_complete(pool.aclose())
    loop.close()
    return measuring, block


def discovered(client: redis.Redis, results: ArqResults) -> None:
    """qwatch's discovery: the queues, then the results not read before."""
    discover_arq_queues(client, LAYOUT)
    results.refresh(client, LAYOUT)


def measured(monitor: redis.Redis, read: Callable[[], object], idle: float = 0.0) -> Run:
    """`benchmarks.dramatiq.measure`, its round trips counting asyncio connections' too."""
    trips = AsyncRoundTrips()

    def counted() -> None:
        with trips.counting():
            read()

    run = measure(monitor, counted, idle)
    return replace(run, round_trips=run.round_trips + trips.count)


def report(
    rows: Sequence[tuple[str, str]], measured: dict[str, list[Run]], block: dict[str, float]
) -> None:
    """One table of medians, each reading's time over the first row's; rows are (label, name)
    of `measured` and `block`, the longest command of each."""
    base = statistics.median(run.seconds for run in measured[rows[0][1]])
    print(
        "| reading | median | min | Redis, its commands | Redis CPU | longest command"
        " | round trips | commands | vs |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, name in rows:
        runs = measured[name]
        median = statistics.median(run.seconds for run in runs)
        redis_ms = statistics.median(run.redis for run in runs) * 1000
        cpu_ms = statistics.median(run.cpu for run in runs) * 1000
        trips = statistics.median(run.round_trips for run in runs)
        sent = statistics.median(run.sent for run in runs)
        fastest = min(run.seconds for run in runs)
        print(
            f"| {label} | {median * 1000:.2f} ms | {fastest * 1000:.2f} ms | {redis_ms:.2f} ms"
            f" | {cpu_ms:.2f} ms | {block[name]:,.0f} us | {trips:,.0f} | {sent:,.0f}"
            f" | {median / base:.2f}x |"
        )


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queues", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs waiting, a tenth deferred")
    parser.add_argument("--results", type=int, default=2_000, help="jobs run to a result")
    parser.add_argument("--runs", type=int, default=7, help="pairs of readings")
    parser.add_argument(
        "--other-keys", type=int, default=0, help="keys of another application beside arq's"
    )
    return parser


if __name__ == "__main__":
    main()
