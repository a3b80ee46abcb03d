"""Jobs finished and failed per function over the last minutes, with run-time percentiles.

Fed by the completions a face takes at each poll (`Watch.take`), so a job
counts once, when qwatch sees it end. The window is bounded in time and in
size: a flood keeps the newest `MAX_KEPT` completions.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from qwatch import job_states
from qwatch.model import Completion

WINDOW_SECONDS = 300.0
MAX_KEPT = 50_000
UNKNOWN = "<unknown>"


@dataclass(frozen=True, slots=True)
class FunctionRecent:
    """One function's completions in the window: counts and run times (None with no run time)."""

    function: str
    finished: int
    failed: int
    p50_seconds: float | None
    p95_seconds: float | None
    max_seconds: float | None


@dataclass(frozen=True, slots=True)
class _Ended:
    at: float
    function: str
    outcome: str
    run_seconds: float | None


class RecentCompletions:
    """Kept by a face between polls; `update` folds in a poll's completions."""

    def __init__(self, window: float = WINDOW_SECONDS, limit: int = MAX_KEPT) -> None:
        self.window = window
        self._kept: deque[_Ended] = deque(maxlen=limit)

    def update(self, completions: Iterable[Completion], now: float) -> dict[str, FunctionRecent]:
        """The window ending at `now`, per function."""
        for completion in sorted(completions, key=lambda c: c.ended_at):
            self._kept.append(
                _Ended(
                    completion.ended_at,
                    completion.function or UNKNOWN,
                    completion.outcome,
                    completion.run_seconds,
                )
            )
        cutoff = now - self.window
        while self._kept and self._kept[0].at < cutoff:
            self._kept.popleft()
        return _summarize(ended for ended in self._kept if ended.at >= cutoff)


def _summarize(ended: Iterable[_Ended]) -> dict[str, FunctionRecent]:
    counts: dict[str, list[int]] = {}
    runs: dict[str, list[float]] = {}
    for item in ended:
        tally = counts.setdefault(item.function, [0, 0])
        tally[0 if item.outcome == job_states.FINISHED else 1] += 1
        if item.run_seconds is not None:
            runs.setdefault(item.function, []).append(item.run_seconds)
    summary = {}
    for function, (finished, failed) in counts.items():
        times = sorted(runs.get(function, ()))
        summary[function] = FunctionRecent(
            function,
            finished,
            failed,
            percentile(times, 0.50),
            percentile(times, 0.95),
            times[-1] if times else None,
        )
    return summary


def percentile(ordered: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of sorted values: a run time that really happened."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
