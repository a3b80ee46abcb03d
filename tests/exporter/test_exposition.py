"""qwatch's fast text format is prometheus_client's, byte for byte."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from qwatch.completions import Completion
from qwatch.exporter import metrics
from qwatch.exporter.exposition import TextFormat, families
from qwatch.exporter.metrics import Reading
from qwatch.exporter.totals import DEFAULT_BUCKETS, JobTotals
from qwatch.snapshot import QueueStats, RedisInfo, Snapshot, WorkerStats

ODD = 'odd "queue"\\with\nnewline é'


def reading() -> Reading:
    queue = QueueStats(ODD, 3, 1, 2, 4, 0, 1, 0, 0, 12.5, 2, "job-1")
    plain = QueueStats("plain", 0, 0, 0, 0, 0, 0, 0, 0, None, 0, None)
    worker = WorkerStats(
        "w", "host", 1, "busy", (ODD,), "job-2", "f()", 1.5, 0.0, 2.0, False, 3, 1, 10.25
    )
    snapshot = Snapshot(
        100.0, (queue, plain), (worker,), (), (), False, RedisInfo("7.0", 1 << 40, 0)
    )
    totals = JobTotals(DEFAULT_BUCKETS, 50)
    done = Completion("j", ODD, "finished", "app.send", None, 1.0, 2.0, 2.004)
    failed = Completion("k", ODD, "failed", None, "requests.Timeout", 1.0, 2.0, 9000.0)
    totals.add(snapshot, [done, failed])
    return metrics.merge(
        [
            metrics.health("r", 0.0123, up=True),
            metrics.from_snapshot("r", snapshot),
            metrics.from_totals("r", totals),
            metrics.build_info(),
        ]
    )


class Fixed:
    def __init__(self, items: list[Metric]) -> None:
        self.items = items

    def collect(self) -> list[Metric]:
        return self.items


def test_text_format_matches_the_library() -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed(list(families(reading()))))
    expected = generate_latest(registry)
    text_format = TextFormat()
    assert text_format.render(reading()) == expected
    assert text_format.render(reading()) == expected  # again, from remembered lines
    assert b'queue="odd \\"queue\\"\\\\with\\nnewline \xc3\xa9"' in expected
    assert b'qwatch_job_duration_seconds_bucket{le="+Inf",' in expected
