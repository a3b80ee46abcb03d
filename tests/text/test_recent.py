"""Recent completions per function: a bounded window and percentiles of real run times."""

from __future__ import annotations

from qwatch.model import RQ, Completion
from qwatch.text.recent import RecentCompletions, percentile


def ended(function: str, outcome: str, at: float, ran: float) -> Completion:
    return Completion(
        f"{function}-{at}", "q", outcome, function, None, at - ran - 1, at - ran, at, system=RQ
    )


def test_counts_and_run_times_of_the_last_minutes() -> None:
    recent = RecentCompletions(window=300)
    first = [ended("send", "finished", 1000 + i, float(i + 1)) for i in range(20)]
    first.append(ended("send", "failed", 1010, 50.0))
    stats = recent.update(first, now=1020)["send"]
    assert (stats.finished, stats.failed) == (20, 1)
    assert (stats.p50_seconds, stats.p95_seconds, stats.max_seconds) == (11.0, 20.0, 50.0)

    later = recent.update([ended("crawl", "finished", 1400, 2.0)], now=1400)
    assert "send" not in later and later["crawl"].finished == 1


def test_the_window_keeps_at_most_its_limit() -> None:
    recent = RecentCompletions(window=300, limit=10)
    stats = recent.update([ended("f", "finished", 100 + i, 1.0) for i in range(50)], now=150)
    assert stats["f"].finished == 10


def test_percentile_is_a_value_that_happened() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
