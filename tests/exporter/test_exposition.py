"""qwatch's fast text format is prometheus_client's, byte for byte."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from qwatch.completions import Completion
from qwatch.exporter import metrics
from qwatch.exporter.exposition import text_format
from qwatch.snapshot import QueueStats, RedisInfo, Snapshot, WorkerStats

ODD = 'odd "queue"\\with\nnewline é'


def families() -> list[Metric]:
    queue = QueueStats(ODD, 3, 1, 2, 4, 0, 1, 0, 0, 12.5, 2, "job-1")
    worker = WorkerStats(
        "w", "host", 1, "busy", (ODD,), "job-2", "f()", 1.5, 0.0, 2.0, False, 3, 1, 10.25
    )
    snapshot = Snapshot(100.0, (queue,), (worker,), (), (), False, RedisInfo("7.0", 1 << 40, 0))
    totals = metrics.JobTotals(metrics.DEFAULT_BUCKETS, 50)
    done = Completion("j", ODD, "finished", "app.send", None, 1.0, 2.0, 2.004)
    failed = Completion("k", ODD, "failed", None, "requests.Timeout", 1.0, 2.0, 9000.0)
    totals.add(snapshot, [done, failed])
    return [
        *metrics.health_families("r", 0.0123, up=True),
        *metrics.snapshot_families("r", snapshot),
        *metrics.totals_families("r", totals),
        metrics.build_info(),
    ]


class Fixed:
    def __init__(self, items: list[Metric]) -> None:
        self.items = items

    def collect(self) -> list[Metric]:
        return self.items


def test_text_format_matches_the_library() -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed(families()))  # type: ignore[arg-type]
    expected = generate_latest(registry)
    assert text_format(families()) == expected
    assert b'queue="odd \\"queue\\"\\\\with\\nnewline \xc3\xa9"' in expected
