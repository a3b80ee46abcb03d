"""Which columns a table shows at a given width, how wide each is, and how a cell is cut to it.

Both faces fit their tables here: the one-shot tables of the CLI and the
live tables of `qwatch top`. Every table declares its columns once, each
with a priority: as the terminal narrows, the least useful drop first, and
the rest are exactly as wide as their widest cell, never wider than their
cap. Ids have no `least`, so they are whole or left out, never cut.
Everything here is pure, so every width can be checked without a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len, set_cell_size

from qwatch.text.printable import printable

GAP = 1
"""Blank cells before each column."""

SORT_MARKS = (" ▲", " ▼")
"""After the label of the column the table is sorted by: ascending, descending."""

ELLIPSIS = "…"

Cut = Literal["end", "start", "module", "exception"]
"""Where text too long for its column loses cells: its end (marked `…`), its start (a
sparkline's oldest values), the start of a dotted name's module, so that the name
people read stays (`…tasks.send_email`), or for an exception line the module of its
class first and then its end (`UpstreamTimeout: took 3…`)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table.

    `priority` 1 is shown whenever it can be; higher numbers drop first as the
    terminal narrows. `cap` bounds a column whose text can be any length (an
    exception, a job description): longer text is cut with `…`, and the whole
    text is one `enter` (or `qwatch job ID`) away. `least` lets such a column
    give up width, down to that many cells, before a more important column
    drops. `cut` says which part of a text too long for the column goes.
    An `optional` column is left out while every cell of it is empty: a column
    of one system's facts takes no room on a screen of the other's alone.
    """

    key: str
    label: str
    priority: int = 1
    numeric: bool = False
    cap: int | None = None
    least: int | None = None
    cut: Cut = "end"
    optional: bool = False

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


def fit(
    columns: Sequence[Column], widths: Sequence[int], room: int, sorted_by: int | None = None
) -> dict[int, int]:
    """The columns that fit in `room` cells, `GAP` before each, by index, with their widths.

    Columns are taken in priority order, those that can shrink last within a
    priority. Columns of one priority may squeeze each other down to their
    least width; the next priority joins only if all before it fit at full
    width, so a less useful column never squeezes a more useful one, nor shows
    while a more useful one is left out. The room
    left widens the columns, most important first, evenly within a priority.
    `sorted_by` is the column whose header carries the sort mark. An optional
    column whose cells are all empty is left out.
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
        if columns[index].optional and not widths[index]:
            continue
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
        if full > room or not set(tiers[priority]) <= chosen.keys():
            break  # a column of this priority is left out: so is every one less useful
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


def fitted(text: str, size: int, column: Column) -> str:
    """`text` in exactly `size` cells: cut as the column says, or padded (numbers to the right).

    Called for every cell of every line on screen, so plain ASCII, the usual
    case, takes a short path.
    """
    if text.isascii():
        if not text.isprintable():
            text = printable(text)
        if len(text) > size:
            return _cut(text, size, column.cut, len(text))
        return text.rjust(size) if column.numeric else text.ljust(size)
    text = printable(text)
    width = cell_len(text)
    if width > size:
        return _cut(text, size, column.cut, width)
    padding = " " * (size - width)
    return padding + text if column.numeric else text + padding


def _cut(text: str, size: int, cut: Cut, width: int) -> str:
    """`text`, `width` cells wide, cut to exactly `size` cells."""
    if cut == "start":
        return _pad(_last_cells(text, size), size)
    if cut == "exception":
        text = _without_module(text)
        width = cell_len(text)
        if width <= size:
            return _pad(text, size)
    if cut == "module" and "." in text and size > 1:
        kept = _last_cells(text, size - 1)
        if text[len(text) - len(kept) - 1] != "." and "." in kept:
            kept = kept[kept.index(".") + 1 :]  # begin at a whole part of the name
        return _pad(ELLIPSIS + kept, size)
    if width == len(text):
        return text[: size - 1] + ELLIPSIS
    return set_cell_size(text, size - 1) + ELLIPSIS


def _without_module(line: str) -> str:
    """An exception line (`module.Class: message`) with its class named without its module."""
    name, colon, message = line.partition(":")
    if " " in name or "." not in name:
        return line
    return name.rsplit(".", 1)[1] + colon + message


def _last_cells(text: str, size: int) -> str:
    """The end of `text` that fills at most `size` cells."""
    if text.isascii():
        return text[len(text) - size :]
    start, used = len(text), 0
    while start > 0 and used + cell_len(text[start - 1]) <= size:
        start -= 1
        used += cell_len(text[start])
    return text[start:]


def _pad(text: str, size: int) -> str:
    return text + " " * (size - cell_len(text))
