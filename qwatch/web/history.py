"""Which charts of the history each page shows: their measures, titles and colours.

The geometry is `charts`'; the points are the history's (`qwatch.history`),
as `/api/history` gives them.
"""

from __future__ import annotations

from markupsafe import Markup

from qwatch.history.recorder import DAY, HOUR, TIERS, History, Measured
from qwatch.text.formatting import duration
from qwatch.web import charts

WINDOWS = {HOUR: "the last hour", DAY: "the last day"}
"""Each window a page may ask for (`window=`), in words."""


def throughput(redis: str, history: History, window: str, now: float) -> Markup:
    """The whole Redis's jobs out and failed per minute: the overview's header."""
    totals = history.totals(window)
    lines = (
        charts.Line("jobs out", totals.measures["out"], "success"),
        charts.Line("failed", totals.measures["failed"], "error"),
    )
    title = f"{redis}: jobs out and failed per minute, {WINDOWS[window]}"
    return charts.chart(title, lines, now, TIERS[window][0], totals.step)


def queue(measured: Measured, window: str, now: float) -> tuple[Markup, ...]:
    """A queue's page: its backlog, its jobs in, out and failed, and its oldest job's age."""
    points = measured.measures
    name, span, step, words = measured.name, TIERS[window][0], measured.step, WINDOWS[window]
    held = (
        charts.Line("queued", points["queued"], "accent"),
        charts.Line("started", points["started"], "secondary"),
    )
    flow = (
        charts.Line("in", points["in"], "accent"),
        charts.Line("out", points["out"], "success"),
        charts.Line("failed", points["failed"], "error"),
    )
    oldest = (charts.Line("oldest job", points["oldest"], "warning"),)
    return (
        charts.chart(f"{name}: queued and started, {words}", held, now, span, step),
        charts.chart(f"{name}: jobs in, out and failed per minute, {words}", flow, now, span, step),
        charts.chart(f"{name}: the oldest job's age, {words}", oldest, now, span, step, duration),
    )
