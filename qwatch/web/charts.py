"""A history drawn as inline SVG on the server: no script, no library, nothing from elsewhere.

A chart is a figure of lines over a span of time, with its times (UTC) and
values written on its axes, and the same figures in words as its `<title>`
and `aria-label`. A sparkline is the small kind, for a table's row. A time
nobody sampled is a gap in the line, never a drop to zero. Colours are the
stylesheet's (a line takes `currentColor` from a role's class), so both
themes hold; every text is escaped with markupsafe's `escape`, as a
template's would be.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from markupsafe import Markup, escape

from qwatch.text.formatting import short_number

WIDTH, HEIGHT = 640, 150
"""A chart's drawing units; it scales to its frame's width."""
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 8, 20
"""Room for the value labels on the left and the times below."""
TICKS = (300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600)
"""Seconds between two labelled times: the first that labels at most `MOST_TICKS`."""
MOST_TICKS = 6
SPARK_POINTS = 60
"""A sparkline's points: a minute each over the hour, as many as 96 pixels can tell apart."""
SPARK_HEIGHT = 40
"""A sparkline's drawing units high, whole numbers only: twice its 20 pixels, and cheap to
write (a thousand rows a page)."""
GAP = 1.5
"""Points further apart than this many steps have a gap between them."""
Format = Callable[[float], str]


def share(value: float) -> str:
    return f"{100 * value:.0f}%"


@dataclass(frozen=True, slots=True)
class Line:
    """One measure's points, (unix time, value), oldest first; `role` is its colour's class."""

    label: str
    points: Sequence[tuple[float, float]]
    role: str


def clock(at: float) -> str:
    return time.strftime("%H:%M", time.gmtime(at))


def chart(
    title: str,
    lines: Sequence[Line],
    end: float,
    span: float,
    step: float,
    value: Format = short_number,
) -> Markup:
    """A figure of `lines` over the `span` seconds ending at `end`, captioned `title` and
    its legend; points `step` seconds apart belong to one stretch of line."""
    start = end - span
    drawn = [(line, [(at, v) for at, v in line.points if at >= start]) for line in lines]
    top = ceiling(max((v for _line, points in drawn for _at, v in points), default=0.0))
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: float) -> float:
        return LEFT + (at - start) / span * width

    def y(v: float) -> float:
        return TOP + height - v / top * height

    words = f"{title}, {clock(start)} to {clock(end)} UTC: " + "; ".join(
        _said(line.label, points, step, value) for line, points in drawn
    )
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(words)}">',
        f"<title>{escape(words)}</title>",
    ]
    for level in (0.0, top / 2, top):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}"'
            f' y2="{y(level):.1f}"/><text class="axis" x="{LEFT - 4}" y="{y(level) + 4:.1f}"'
            f' text-anchor="end">{escape(value(level))}</text>'
        )
    tick = next((t for t in TICKS if span / t <= MOST_TICKS), TICKS[-1])
    for at in range(int(math.ceil(start / tick) * tick), int(end) + 1, tick):
        parts.append(
            f'<text class="axis" x="{x(at):.1f}" y="{HEIGHT - 4}" text-anchor="middle">'
            f"{clock(at)}</text>"
        )
    for line, points in drawn:
        path = _path([(x(at), y(v)) for at, v in points], [at for at, _v in points], step)
        parts.append(f'<path class="line {line.role}" d="{path}"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<li class="{line.role}">{escape(line.label)}</li>' for line, _points in drawn
    )
    return Markup(
        f'<figure class="chart"><figcaption>{escape(title)} <span class="note">(UTC)</span>'
        f'<ul class="legend">{legend}</ul></figcaption>{"".join(parts)}</figure>'
    )


def sparkline(label: str, values: Sequence[float], value: Format = short_number) -> Markup:
    """A row's small line of `values`, one a slot oldest first and NaN where nobody sampled,
    shown at `SPARK_POINTS` (each the last slot of its stretch): drawn for a thousand rows
    at once, so one pass over a few points each."""
    every = max(1, len(values) // SPARK_POINTS)
    shown = values[every - 1 :: every]
    present = [v for v in shown if v == v]
    if not present:
        words = f"{label}: no samples"
        return Markup(f'<span class="spark none" title="{escape(words)}">-</span>')
    scale = SPARK_HEIGHT / ceiling(max(present))
    path = []
    joined = False
    for x, v in enumerate(shown):
        if v != v:
            joined = False
        elif joined:
            path.append(f"L{x} {int(SPARK_HEIGHT - v * scale)}")
        else:
            path.append(f"M{x} {int(SPARK_HEIGHT - v * scale)}h.5")
            joined = True
    words = f"{label}: last {value(present[-1])}, highest {value(max(present))}"
    if len(present) < len(shown):
        words += ", with gaps where nobody sampled"
    return Markup(
        f'<svg class="spark" viewBox="0 0 {len(shown)} {SPARK_HEIGHT}" preserveAspectRatio="none"'
        f' role="img" aria-label="{escape(words)}"><title>{escape(words)}</title>'
        f'<path class="line" d="{"".join(path)}"/></svg>'
    )


def ceiling(value: float) -> float:
    """The axis' top: 1, 2 or 5 times a power of ten, at least `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _path(xy: Sequence[tuple[float, float]], times: Sequence[float], step: float) -> str:
    """One stretch of line per run of points no more than `GAP` steps apart; a lone point
    is a dot (a stroke's round cap)."""
    parts = []
    for i, (x, y) in enumerate(xy):
        joined = i and times[i] - times[i - 1] <= GAP * step
        parts.append(f"L{x:.1f} {y:.1f}" if joined else f"M{x:.1f} {y:.1f}h.1")
    return "".join(parts)


def _said(label: str, points: Sequence[tuple[float, float]], step: float, value: Format) -> str:
    if not points:
        return f"{label}: no samples"
    values = [v for _at, v in points]
    high = max(points, key=lambda point: point[1])
    gaps = sum(1 for (a, _), (b, _) in pairwise(points) if b - a > GAP * step)
    said = (
        f"{label} last {value(values[-1])} at {clock(points[-1][0])},"
        f" highest {value(high[1])} at {clock(high[0])}, lowest {value(min(values))}"
    )
    if gaps:
        said += f", {gaps} {'gap' if gaps == 1 else 'gaps'} where nobody sampled"
    return said
