"""Which columns a table shows at a given width, and how wide each is.

Every screen declares its columns once, each with a priority: as the terminal
narrows, the least useful drop first, and the rest are exactly as wide as
their widest cell, never wider than their cap. A column added to a screen
only needs its line in that screen's tuple. Everything here is pure: the
app's reader thread measures and orders rows while the UI thread stays free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len

SortKey = Callable[[object], tuple[int, float | str]]

GAP = 1
"""Blank cells before each column."""

SORT_MARKS = (" ▲", " ▼")
"""After the label of the column the table is sorted by: ascending, descending."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table.

    `priority` 1 is shown whenever it can be; higher numbers drop first as the
    terminal narrows. `cap` bounds a column whose text can be any length (an
    exception, a job description): longer text is cut with `…`, and the whole
    text is one `enter` away. `least` lets such a column give up width, down to
    that many cells, before a more important column drops. A `tail` column
    keeps the end of its text when cut: the newest values of a sparkline.
    """

    key: str
    label: str
    priority: int = 1
    numeric: bool = False
    cap: int | None = None
    least: int | None = None
    tail: bool = False

    def header(self, sorted_by: bool, reverse: bool) -> str:
        """The label, marked with the direction when the table is sorted by this column."""
        return self.label + SORT_MARKS[reverse] if sorted_by else self.label


def measure(rows: Iterable[Sequence[object]], count: int) -> tuple[int, ...]:
    """The widest cell of each of `count` columns, in terminal cells."""
    widths = [0] * count
    for cells in rows:
        for index, cell in enumerate(cells):
            text = str(cell)
            width = len(text) if text.isascii() else cell_len(text)
            if width > widths[index]:
                widths[index] = width
    return tuple(widths)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A table's rows made ready off the UI thread: measured, and ordered for one sort."""

    widths: tuple[int, ...]
    keys: tuple[str, ...]
    sort: tuple[str | None, bool]


def prepare(
    rows: Mapping[str, Sequence[object]],
    columns: Sequence[Column],
    sort: tuple[str | None, bool],
    sort_key: SortKey,
) -> Prepared:
    """Measure and order `rows` for the sort `(column, reverse)`: the work that grows with rows."""
    keys = tuple(rows)
    names = [column.key for column in columns]
    column, reverse = sort
    if column in names:
        index = names.index(column)
        keys = tuple(sorted(keys, key=lambda key: sort_key(rows[key][index]), reverse=reverse))
    return Prepared(measure(rows.values(), len(columns)), keys, sort)


def fit(
    columns: Sequence[Column], widths: Sequence[int], room: int, sorted_by: int | None = None
) -> dict[int, int]:
    """The columns that fit in `room` cells, by index, with the width each gets.

    Columns are taken in priority order, those that can shrink last within a
    priority. Columns of one priority may squeeze each other down to their
    least width; the next priority joins only if all before it fit at full
    width, so a less useful column never squeezes a more useful one. The room
    left widens the columns, most important first, evenly within a priority.
    `sorted_by` is the column whose header carries the sort mark.
    """
    headers = [
        cell_len(column.header(index == sorted_by, False)) for index, column in enumerate(columns)
    ]
    natural = [_natural(*sizes) for sizes in zip(columns, headers, widths)]
    narrowest = [
        min(size, column.least) if column.least else size for column, size in zip(columns, natural)
    ]
    tiers: dict[int, list[int]] = {}
    for index in sorted(range(len(columns)), key=lambda i: narrowest[i] < natural[i]):
        tiers.setdefault(columns[index].priority, []).append(index)
    chosen: dict[int, int] = {}
    full = 0
    for priority in sorted(tiers):
        used = full  # the priorities before at their full width, this one at its least
        for index in tiers[priority]:
            if used + narrowest[index] + GAP <= room:
                chosen[index] = narrowest[index]
                used += narrowest[index] + GAP
        full = sum(natural[index] + GAP for index in chosen)
        if full > room:
            break
    spare = room - sum(width + GAP for width in chosen.values())
    for priority in sorted(tiers):
        growing = [index for index in tiers[priority] if index in chosen]
        while spare > 0 and growing:
            for index in list(growing):
                if chosen[index] >= natural[index]:
                    growing.remove(index)
                elif spare > 0:
                    chosen[index] += 1
                    spare -= 1
    return dict(sorted(chosen.items()))


def _natural(column: Column, header: int, content: int) -> int:
    width = max(header, content)
    return min(width, max(column.cap, header)) if column.cap else width
