"""A table's rows measured and ordered off the UI thread: the work that grows with the rows.

The app's reader thread prepares the rows of the screen in view, so that the
UI thread only fits the columns (`qwatch.text.columns`) and paints what shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from qwatch.text.columns import Column, measure

SortKey = Callable[[object], tuple[int, float | str]]


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
    """Measure and order `rows` for the sort `(column, reverse)`."""
    keys = tuple(rows)
    names = [column.key for column in columns]
    column, reverse = sort
    if column in names:
        index = names.index(column)
        keys = tuple(sorted(keys, key=lambda key: sort_key(rows[key][index]), reverse=reverse))
    return Prepared(measure(rows.values(), len(columns)), keys, sort)
