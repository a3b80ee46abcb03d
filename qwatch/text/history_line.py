"""A measure's last hour as one line of block characters, for a terminal: `qwatch top`'s header
and a queue's jobs screen.

The line is the history's column (`History.*_column`, one value a slot, NaN
where nobody sampled) folded into as many cells as there is room for. A cell
holds the mean of its slots that were sampled; one that none were is a space,
a gap, never the lowest block: qwatch did not look then. A value above zero
is never drawn as nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qwatch.text.formatting import short_number

BLOCKS = "▁▂▃▄▅▆▇█"
GAP = " "


def folded(values: Sequence[float], cells: int) -> list[float]:
    """The newest slots of `values` in `cells` cells (fewer when there are fewer slots),
    each the mean of the sampled slots it covers, NaN where none was sampled."""
    if cells <= 0 or not values:
        return []
    per = max(1, math.ceil(len(values) / cells))
    start = len(values) % per  # the oldest slots that fill no whole cell are left out
    means = []
    for first in range(start, len(values), per):
        sampled = [v for v in values[first : first + per] if v == v]
        means.append(sum(sampled) / len(sampled) if sampled else math.nan)
    return means


def blocks(values: Sequence[float], cells: int) -> str:
    """`values` folded into `cells` and drawn against their own highest, right-aligned."""
    means = folded(values, cells)
    present = [v for v in means if v == v]
    top = max(present, default=0.0)
    steps = len(BLOCKS) - 1
    drawn = "".join(
        GAP if v != v else BLOCKS[0 if v <= 0 else max(1, min(steps, round(v * steps / top)))]
        for v in means
    )
    return drawn.rjust(cells)


def latest(values: Sequence[float]) -> str:
    """The newest sampled value, short; `-` when nothing was sampled."""
    return next((short_number(v) for v in reversed(values) if v == v), "-")


def labelled(label: str, values: Sequence[float], width: int) -> str:
    """`label ▁▂▅▇ 12` in `width` characters, the line as long as the room left."""
    last = latest(values)
    room = width - len(label) - len(last) - 2
    return f"{label} {blocks(values, room)} {last}" if room > 0 else f"{label} {last}"
