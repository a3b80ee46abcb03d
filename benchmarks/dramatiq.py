"""Dramatiq's queues on Redis: qwatch against dramatiq_dashboard's overview, in one run.

    .venv/bin/python -m benchmarks.dramatiq [--queues 100] [--messages 100000] [--runs 15]
                                            [--other-keys 0]

Starts a private redis-server and fills it with Dramatiq's own RedisBroker:
`--messages` messages over `--queues` queues, a tenth delayed an hour (what
`send_with_options(delay=...)` does: `broker.enqueue(message, delay=...)`).
Five more brokers act as workers, each on a fifth of the queues: from each
queue it fetches FETCHED messages and nacks half of them (Dramatiq's own
`fetch` and `nack`, so the dead letters are where Dramatiq puts them), and
holds the other half in its acks set; one of them is then made silent past the
heartbeat timeout (its heartbeat rewritten five minutes old). With the
producer, six brokers heartbeat.
`--other-keys` adds keys of another application beside Dramatiq's.

Then it times, in alternating pairs on the same data:

- qwatch's reading, `Watch(client, "dramatiq").read()`, in the steady state:
  its first reading, which discovers the queues and acks sets by SCAN (again
  every 60 s), is done before and timed apart, with the discovery alone. It
  reads each queue's four lengths and first message (the oldest wait, the
  actor next in line), the heartbeats of the last hour, every acks set's
  size, and Redis' INFO.
- dramatiq_dashboard 0.4.0's overview page (`DashboardApp.dashboard` in
  `dramatiq_dashboard/application.py`): the `queues` and `workers` properties
  of `RedisInterface` (`dramatiq_dashboard/interface.py`), which run the
  `get_queues_stats` and `get_workers` commands of its Lua script
  (`dramatiq_dashboard/redis/dispatch.lua`) with EVALSHA on the broker's
  client. Those two branches are reproduced below as two scripts, command for
  command: three HLENs per queue its own process declared (it does not
  discover queues), then a ZSCAN of the heartbeats and, for every broker
  there, dead or alive, a KEYS of its acks sets and a SCARD of each. KEYS walks
  the whole keyspace, every application's keys, and a script runs alone:
  Redis serves no other client until it returns. dramatiq_dashboard is not
  installed; its rows are built as its properties build them; neither side
  renders a page.

Redis time is INFO commandstats' usec after a CONFIG RESETSTAT, of the commands
each side sends (a script's commands run inside its time). Redis CPU is the
redis-server process' (INFO cpu), which also counts reading the commands and
writing the replies, less what a reading of nothing costs it. The longest
command, which Redis serves alone, comes from a SLOWLOG that logs every
command, in a pass of its own. Round trips are counted by wrapping the clients' writes and reads
(`benchmarks.celery.RoundTrips`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from redis.commands.core import Script

from benchmarks.celery import RoundTrips
from harness.dramatiq_app import make_broker, send
from harness.redis_server import RedisServer
from qwatch.dramatiq.broker import discover
from qwatch.dramatiq.layout import HEARTBEAT_TIMEOUT, DramatiqLayout
from qwatch.model import Snapshot
from qwatch.watch import DISCOVER_SECONDS, Watch
from qwatch.wire.connection import Target, connect

LAYOUT = DramatiqLayout()
ACTORS = ("shop.send_receipt", "shop.resize_image", "shop.sync_inventory", "mail.digest")
DELAY_EVERY = 10
DELAY_MS = 3_600_000
WORKERS = 5
FETCHED = 20
"""Messages each worker broker fetches from each of its queues; it nacks half."""
CHUNK = 1_000
SCRIPTS = ("eval", "evalsha")
NESTED = b"?:0"
"""The client address the SLOWLOG gives a command a script ran."""

QUEUES_STATS = """
local stats = {}
for i = 1, #ARGV do
    local queue = KEYS[1] .. ":" .. ARGV[i]
    table.insert(stats, {ARGV[i], redis.call("hlen", queue .. ".msgs") or 0,
        redis.call("hlen", queue .. ".DQ.msgs") or 0, redis.call("hlen", queue .. ".XQ.msgs") or 0})
end
return stats
"""
"""dispatch.lua's `get_queues_stats`, its arguments the queue names."""
WORKERS_STATS = """
local heartbeats, cursor, workers = KEYS[1] .. ":__heartbeats__", "0", {}
repeat
    local results = redis.call("zscan", heartbeats, cursor)
    cursor = results[1]
    local ids = results[2]
    for i = 1, #ids, 2 do
        local total = 0
        for _, key in ipairs(redis.call("keys", KEYS[1] .. ":__acks__." .. ids[i] .. ".*")) do
            total = total + redis.call("scard", key)
        end
        table.insert(workers, {ids[i], ids[i + 1], total})
    end
until cursor == "0"
return workers
"""
"""dispatch.lua's `get_workers`."""


@dataclass(frozen=True)
class Run:
    """One reading: its seconds, the Redis seconds of the commands it sent, the commands it
    sent and those its scripts ran, its round trips, and the commandstats behind them."""

    seconds: float
    redis: float
    cpu: float
    """The redis-server process' CPU seconds meanwhile: the commands, and reading them and
    writing their replies."""
    sent: int
    inside: int
    round_trips: int
    stats: dict[str, dict[str, float]]


@dataclass(frozen=True)
class Population:
    """What was written, to check both sides against."""

    sent: int
    """Messages sent without a delay."""
    fetched: int
    delayed: int
    dead: int
    brokers: int


class Dashboard:
    """dramatiq_dashboard's overview: `RedisInterface.queues` and `.workers`."""

    def __init__(self, broker: RedisBroker, names: Sequence[str]) -> None:
        self.namespace = broker.namespace
        self.names = list(names)
        """The queues its process declared: `broker.queues`."""
        self.queues_stats = broker.client.register_script(QUEUES_STATS)
        self.workers_stats = broker.client.register_script(WORKERS_STATS)

    def overview(self) -> tuple[list[tuple[str, int, int, int]], list[tuple[str, datetime, int]]]:
        queues = [
            (name.decode(), jobs, delayed, dead)
            for name, jobs, delayed, dead in self.queues_stats(
                keys=[self.namespace], args=self.names
            )
        ]
        workers = [
            (name.decode(), datetime.fromtimestamp(int(millis) / 1000, timezone.utc), held)
            for name, millis, held in self.workers_stats(keys=[self.namespace])
        ]
        return sorted(queues), sorted(workers)

    def scripts(self) -> list[tuple[str, Script]]:
        """Its scripts by dispatch.lua's name for them."""
        return [("get_queues_stats", self.queues_stats), ("get_workers", self.workers_stats)]


def populate(url: str, names: list[str], messages: int, other_keys: int) -> Population:
    """The messages through Dramatiq's broker, then the workers' fetches and nacks."""
    producer = make_broker(url)
    delayed = 0
    for n in range(messages):
        delay = DELAY_MS if n // len(names) % DELAY_EVERY == DELAY_EVERY - 1 else None
        delayed += delay is not None
        send(producer, ACTORS[n % len(ACTORS)], n, f"order-{n}", queue=names[n % len(names)],
             delay_ms=delay)  # fmt: skip
    fetched = dead = 0
    workers = [make_broker(url) for _ in range(WORKERS)]
    for i, name in enumerate(names):
        worker = workers[i % WORKERS]
        held = worker.do_fetch(name, FETCHED)
        fetched += len(held)
        for data in held[: len(held) // 2]:
            worker.do_nack(name, Message.decode(data).options["redis_message_id"])
            dead += 1
    client = producer.client
    silent = int((time.time() - HEARTBEAT_TIMEOUT * 5) * 1000)
    client.zadd(LAYOUT.heartbeats_key, {workers[-1].broker_id: silent})
    for start in range(0, other_keys, CHUNK):
        client.mset({f"cache:{n}": n for n in range(start, min(start + CHUNK, other_keys))})
    return Population(messages - delayed, fetched, delayed, dead, WORKERS + 1)


def check(snapshot: Snapshot, dashboard: Dashboard, population: Population) -> None:
    """Both sides find what was written: every queue, message, delayed one, dead letter and
    broker (the dashboard's jobs count the queued and the fetched ones)."""
    queues, workers = dashboard.overview()
    assert len(snapshot.queues) == len(queues) == len(dashboard.names), snapshot.notes
    assert snapshot.records_skipped == 0, snapshot.notes
    held = population.sent - population.dead
    in_flight = population.fetched - population.dead
    assert sum(queue.queued for queue in snapshot.queues) == population.sent - population.fetched
    assert sum(queue.started or 0 for queue in snapshot.queues) == in_flight
    assert sum(jobs for _, jobs, _, _ in queues) == held
    assert sum(queue.scheduled or 0 for queue in snapshot.queues) == population.delayed
    assert sum(delayed for _, _, delayed, _ in queues) == population.delayed
    assert sum(queue.failed or 0 for queue in snapshot.queues) == population.dead
    assert sum(dead for _, _, _, dead in queues) == population.dead
    assert len(snapshot.workers) == len(workers) == population.brokers
    assert sum(fetched for _, _, fetched in workers) == in_flight


def redis_cpu(monitor: redis.Redis) -> float:
    """The redis-server process' CPU seconds so far."""
    info = monitor.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def measure(monitor: redis.Redis, read: Callable[[], object], idle: float = 0.0) -> Run:
    """One reading, on statistics reset just before it; a reading that sends scripts sends
    nothing else, so every other command counted ran inside them. `idle`: the process CPU
    a reading of nothing costs, measured the same way (the measuring commands' own)."""
    trips = RoundTrips()
    before = redis_cpu(monitor)
    monitor.config_resetstat()
    with trips.counting():
        start = time.perf_counter()
        read()
        elapsed = time.perf_counter() - start
    after = monitor.info("commandstats", "cpu")
    cpu = float(after["used_cpu_sys"]) + float(after["used_cpu_user"]) - before - idle
    stats = {
        name.removeprefix("cmdstat_"): values
        for name, values in after.items()
        if name.startswith("cmdstat_") and name != "cmdstat_config|resetstat"
    }
    scripts = {name: values for name, values in stats.items() if name in SCRIPTS}
    sent = scripts or stats
    calls = int(sum(values["calls"] for values in stats.values()))
    sent_calls = int(sum(values["calls"] for values in sent.values()))
    usec = sum(values["usec"] for values in sent.values())
    return Run(elapsed, usec / 1e6, cpu, sent_calls, calls - sent_calls, trips.count, stats)


def served_alone(
    monitor: redis.Redis, read: Callable[[], object], runs: int
) -> list[list[tuple[bytes, int]]]:
    """Each command `runs` readings sent, with its microseconds, from a SLOWLOG that logs
    every command: Redis serves each one alone."""
    monitor.config_set("slowlog-log-slower-than", 0)
    readings = []
    for _ in range(runs):
        monitor.slowlog_reset()
        read()
        readings.append(
            [
                (entry["command"], entry["duration"])
                for entry in monitor.slowlog_get(-1)
                if entry["client_address"] != NESTED and not entry["command"].startswith(b"SLOWLOG")
            ]
        )
    monitor.config_set("slowlog-log-slower-than", 10_000)
    return readings


def longest(readings: list[list[tuple[bytes, int]]], prefix: bytes = b"") -> float:
    """The median over readings of the longest command starting with `prefix`."""
    return float(
        statistics.median(
            max(usec for command, usec in commands if command.startswith(prefix))
            for commands in readings
        )
    )


def main() -> None:
    args = arguments().parse_args()
    names = [f"queue-{i:03d}" for i in range(args.queues)]
    with RedisServer("--slowlog-max-len", "1000000") as server:
        monitor = server.client()
        started = time.perf_counter()
        population = populate(server.url, names, args.messages, args.other_keys)
        print(
            f"populated {args.queues} queues, {args.messages:,} messages"
            f" ({population.delayed:,} delayed, {population.fetched:,} fetched by {WORKERS}"
            f" worker brokers, {population.dead:,} of them dead letters),"
            f" {population.brokers} brokers in the heartbeats, {args.other_keys:,} other keys,"
            f" with Dramatiq's RedisBroker in {time.perf_counter() - started:.1f} s;"
            f" redis-server {monitor.info()['redis_version']}, {monitor.dbsize():,} keys"
        )
        client = connect(Target(url=server.url))
        dashboard = Dashboard(make_broker(server.url), names)
        watch, warmed = Watch(client, "dramatiq"), time.monotonic()
        check(watch.read(), dashboard, population)

        idle = statistics.median(measure(monitor, lambda: None).cpu for _ in range(args.runs))
        pairs: dict[str, list[Run]] = {"qwatch": [], "dashboard": []}
        for i in range(args.runs):
            if time.monotonic() - warmed > DISCOVER_SECONDS - 10:
                watch, warmed = Watch(client, "dramatiq"), time.monotonic()
                watch.read()  # its discovery, untimed: the steady state is timed
            sides: list[tuple[str, Callable[[], object]]] = [
                ("qwatch", watch.read),
                ("dashboard", dashboard.overview),
            ]
            for name, read in sides if i % 2 == 0 else reversed(sides):
                pairs[name].append(measure(monitor, read, idle))
        first = [measure(monitor, Watch(client, "dramatiq").read, idle) for _ in range(args.runs)]
        found = [measure(monitor, lambda: discover(client, LAYOUT), idle) for _ in range(args.runs)]
        alone = {
            "qwatch": served_alone(monitor, watch.read, args.runs),
            "dashboard": served_alone(monitor, dashboard.overview, args.runs),
            "discovery": served_alone(monitor, lambda: discover(client, LAYOUT), args.runs),
        }
    report(pairs, first, found, alone, args.runs)
    scripts = ", ".join(
        f"{name} {longest(alone['dashboard'], f'EVALSHA {script.sha}'.encode()):,.0f} us"
        for name, script in dashboard.scripts()
    )
    keys = _per_call(pairs["dashboard"], "keys")
    if keys:
        calls, usec = keys
        print(
            f"dramatiq_dashboard: {calls:.0f} KEYS a reading, one per broker in the heartbeats,"
            f" {usec:,.0f} us each, inside its scripts ({scripts}): Redis serves no other"
            " client while a script runs"
        )
    print(f"Redis CPU: the redis-server process', less {idle * 1e6:.0f} us (a reading of nothing)")


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15, help="pairs of readings")
    parser.add_argument(
        "--other-keys", type=int, default=0, help="keys of another application beside Dramatiq's"
    )
    return parser


def report(
    pairs: dict[str, list[Run]],
    first: list[Run],
    discovery: list[Run],
    alone: dict[str, list[list[tuple[bytes, int]]]],
    runs: int,
) -> None:
    """Medians of each reading, and how many times qwatch's steady state each one takes."""
    rows = [
        ("qwatch, steady state", pairs["qwatch"], longest(alone["qwatch"])),
        ("dramatiq_dashboard 0.4.0 overview", pairs["dashboard"], longest(alone["dashboard"])),
        ("qwatch, first reading (discovery included)", first, None),
        ("qwatch, discovery alone (SCAN)", discovery, longest(alone["discovery"])),
    ]
    base = statistics.median(run.seconds for run in pairs["qwatch"])
    print(f"median of {runs}, steady state and dashboard in alternating pairs")
    print(
        "| reading | median | min | Redis, its commands | Redis CPU | longest command"
        " | round trips | commands sent (run inside scripts) | vs qwatch |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, measured, block in rows:
        median = statistics.median(run.seconds for run in measured)
        redis_ms = statistics.median(run.redis for run in measured) * 1000
        cpu_ms = statistics.median(run.cpu for run in measured) * 1000
        trips = statistics.median(run.round_trips for run in measured)
        sent = statistics.median(run.sent for run in measured)
        inside = statistics.median(run.inside for run in measured)
        nested = f" ({inside:,.0f})" if inside else ""
        fastest = min(run.seconds for run in measured)
        print(
            f"| {name} | {median * 1000:.2f} ms | {fastest * 1000:.2f} ms | {redis_ms:.2f} ms"
            f" | {cpu_ms:.2f} ms | {_micros(block)} | {trips:.0f} | {sent:,.0f}{nested}"
            f" | {median / base:.2f}x |"
        )
    print("vs qwatch: a reading's median over qwatch's steady state (above 1: qwatch is faster)")


def _micros(block: float | None) -> str:
    return "" if block is None else f"{block:,.0f} us"


def _per_call(runs: list[Run], command: str) -> tuple[float, float] | None:
    """A command's calls per reading and its microseconds per call, over `runs`."""
    calls = sum(run.stats.get(command, {}).get("calls", 0) for run in runs)
    usec = sum(run.stats.get(command, {}).get("usec", 0) for run in runs)
    return (calls / len(runs), usec / calls) if calls else None


if __name__ == "__main__":
    main()
