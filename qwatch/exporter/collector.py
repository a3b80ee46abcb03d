"""The Prometheus collector: reads every Redis at scrape time, within a deadline.

Each Redis has one reading thread, so collections of one Redis never overlap
and a scrape that arrives while one runs shares its result. A scrape waits at
most `timeout` seconds in all; a Redis that has not answered by then is
reported as `qwatch_up 0` with none of its other series, and its reading
goes on in the background for the next scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from prometheus_client.core import Metric

from qwatch.completions import CompletionTracker
from qwatch.connection import redis_reason
from qwatch.exporter import metrics
from qwatch.exporter.exposition import families
from qwatch.exporter.metrics import Reading
from qwatch.exporter.totals import DEFAULT_BUCKETS, DEFAULT_LABEL_LIMIT, JobTotals
from qwatch.reader import read_snapshot
from qwatch.stream import CompletionStream

log = logging.getLogger("qwatch.exporter")


class RedisSource:
    """One Redis the exporter reads: its client, its completion tracker, its totals."""

    def __init__(
        self,
        name: str,
        client: redis.Redis,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        label_limit: int = DEFAULT_LABEL_LIMIT,
        ttls: Sequence[float] = (),
    ) -> None:
        self.name = name
        self.client = client
        self.tracker = CompletionTracker(ttls)
        self.stream = CompletionStream()
        self.totals = JobTotals(buckets, label_limit)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"qwatch-{name}")
        self._lock = threading.Lock()
        self._reading: Future[Reading] | None = None
        self.up = True

    def start_reading(self) -> Future[Reading]:
        """The reading in progress, or a new one."""
        with self._lock:
            if self._reading is None or self._reading.done():
                self._reading = self._thread.submit(self._read)
            return self._reading

    def _read(self) -> Reading:
        """Runs in this source's thread only, so the tracker and totals need no lock."""
        snapshot = read_snapshot(self.client)
        streamed = self.stream.poll(self.client, snapshot)
        completions = streamed.counted(self.tracker.poll(self.client, snapshot))
        self.totals.add(snapshot, completions, self.tracker.skipped)
        self.totals.add_stream(streamed)
        return (
            metrics.from_snapshot(self.name, snapshot)
            + metrics.from_totals(self.name, self.totals)
            + metrics.from_stream(self.name, snapshot, self.totals, streamed.exact_queues)
        )

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
        self.client.close()


class QwatchCollector:
    """A prometheus_client collector over one or more Redis instances."""

    def __init__(self, sources: Sequence[RedisSource], timeout: float) -> None:
        self.sources = sources
        self.timeout = timeout

    def describe(self) -> list[Metric]:
        """Declared families, so registering the collector reads no Redis."""
        return list(families([(series, []) for series in metrics.ALL]))

    def collect(self) -> Iterator[Metric]:
        """The families prometheus_client asks for: OpenMetrics is written from these."""
        return families(self.read())

    def read(self) -> Reading:
        """Every Redis read at once, within the timeout; one entry per series."""
        started = time.monotonic()
        deadline = started + self.timeout
        pending = [(source, source.start_reading()) for source in self.sources]
        readings = []
        for source, future in pending:
            got = self._wait(source, future, deadline)
            elapsed = time.monotonic() - started
            readings += [metrics.health(source.name, elapsed, got is not None), got or []]
        return metrics.merge([*readings, metrics.build_info()])

    def _wait(
        self, source: RedisSource, reading: Future[Reading], deadline: float
    ) -> Reading | None:
        try:
            result = reading.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            self._report(source, f"no answer within {self.timeout:g}s")
            return None
        except Exception as exc:  # whatever went wrong, /metrics must still answer
            self._report(source, redis_reason(exc))
            return None
        if not source.up:
            log.warning("redis %s: reachable again", source.name)
            source.up = True
        return result

    @staticmethod
    def _report(source: RedisSource, reason: str) -> None:
        if source.up:
            log.warning("redis %s: down: %s", source.name, reason)
            source.up = False
