"""`qwatch top --prometheus URL`: the lines of the past over a longer window than top keeps,
from the series `qwatch serve` exports and the bundled rules record.

The same measures as top's own history (`qwatch.tui.feed`), per minute:
the whole Redis's jobs out (finished and failed) and failed, and a queue's
queued jobs, jobs out and failed. Each line is asked at most once every
`REFRESH_SECONDS`; while Prometheus does not answer, the reason is kept for
the face to say and the next try waits as long.
"""

from __future__ import annotations

import json
import threading
import time

from qwatch.exporter.metrics import QUEUE_JOBS
from qwatch.job_states import QUEUED
from qwatch.prometheus import ranges
from qwatch.prometheus.ranges import PrometheusError, Window
from qwatch.prometheus.recorded import RECORDED

REFRESH_SECONDS = 30.0
"""How often a line is asked again: Prometheus' points are seconds to minutes apart."""
SPANS = (2 * 3600.0, 30 * 86400.0)
"""The windows one may ask for, from two hours to thirty days."""
Columns = dict[str, list[float]]


class LongerPast:
    """Prometheus at `url`, its series narrowed by `matchers` (`redis="main"`), over `span`."""

    def __init__(self, url: str, span: float, matchers: str = "") -> None:
        self.url = url
        self.span = span
        self.matchers = matchers
        self.problem: str | None = None
        """Why the last query failed, one line; None while Prometheus answers."""
        self._kept: dict[str, tuple[float, Columns]] = {}
        self._lock = threading.Lock()  # the poll thread and the job browser's both ask

    def fleet(self) -> Columns | None:
        """The whole Redis's jobs out and failed per minute; None while Prometheus fails."""
        lines = {"out": self._rate(RECORDED.completed), "failed": self._rate(RECORDED.failed)}
        return self._asked("", lines)

    def queue(self, system: str, name: str) -> Columns | None:
        """A queue's queued jobs, and its jobs out and failed per minute."""
        labels = f"queue={json.dumps(name)},system={json.dumps(system)}"
        queued = f'sum({QUEUE_JOBS.name}{{{self._with(labels)},state="{QUEUED}"}})'
        lines = {
            "queued": queued,
            "out": self._rate(RECORDED.completed, labels),
            "failed": self._rate(RECORDED.failed, labels),
        }
        return self._asked(f"{system}:{name}", lines)

    def _rate(self, series: str, labels: str = "") -> str:
        """Per minute, summed: the recorded rates are per second, one series per queue."""
        return f"sum({series}{{{self._with(labels)}}}) * 60"

    def _with(self, labels: str) -> str:
        return ",".join(part for part in (labels, self.matchers) if part)

    def _asked(self, key: str, queries: dict[str, str]) -> Columns | None:
        """The lines of `queries`, asked again once `REFRESH_SECONDS` have passed."""
        now = time.time()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and now - kept[0] < REFRESH_SECONDS:
                return kept[1] or None
            window = Window(now, self.span)
            try:
                columns = {m: ranges.line(self.url, query, window) for m, query in queries.items()}
                self.problem = None
            except PrometheusError as exc:
                columns, self.problem = {}, str(exc)
            self._kept = {k: v for k, v in self._kept.items() if k in ("", key)}  # one queue
            self._kept[key] = (now, columns)
            return columns or None
