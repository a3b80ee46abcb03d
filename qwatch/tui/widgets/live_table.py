"""A table that renders only the rows on screen, for screens of ten thousand rows.

Textual's DataTable lays out every row it holds and re-measures columns as
cells change: a refresh of a thousand workers cost over a hundred
milliseconds. This table keeps the rows as plain data, sorts their keys, and
paints only the lines in view, only when they changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from qwatch.tui.columns import GAP, Column, fit, measure
from qwatch.tui.rows import Rows, cell_style, cell_text, sort_key

ELLIPSIS = "…"


class LiveTable(ScrollView, can_focus=True):
    """Holds whole sets of rows by key; the cursor stays on its row; click a header to sort."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("down", "cursor(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "cursor(-1_000_000_000)", "first", show=False),
        Binding("end", "cursor(1_000_000_000)", "last", show=False),
        Binding("enter", "select", "select", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-table--header",
        "live-table--cursor",
        "live-table--even-row",
    }
    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        &:focus {
            background-tint: $foreground 5%;
            & > .live-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .live-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .live-table--even-row {
            background: $surface-lighten-1 50%;
        }
        &:dark > .live-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .live-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowSelected(Message):
        """`enter`, or a click on the row under the cursor."""

        def __init__(self, table: LiveTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LiveTable:
            return self.table

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns_spec = tuple(columns)
        self.column_keys = [column.key for column in columns]
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.lines_rendered = 0
        """Lines painted so far: a refresh paints what is in view, never every row."""
        self._rows: Rows = {}
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._widths: tuple[int, ...] = (0,) * len(self.columns_spec)
        self._layout: dict[int, int] = {}
        self._layout_room = -1
        self._cursor = 0

    # What the app reads ------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[str]:
        """Row keys in the order shown."""
        return list(self._keys)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        return self._keys[self._cursor] if self._keys else None

    @property
    def column_widths(self) -> dict[str, int]:
        """The columns that fit at the current width, by key, with their widths."""
        return {self.column_keys[index]: width for index, width in self._fitted().items()}

    def get_row(self, key: str) -> tuple[object, ...]:
        return self._rows[key]

    # What the app writes -----------------------------------------------------

    def show(self, rows: Rows, widths: tuple[int, ...] | None = None) -> None:
        """Make the table hold exactly `rows`; repaint only visible lines that changed.

        `widths` are the rows' measured widths when the caller measured them
        off the UI thread.
        """
        selected = self.selected_key
        old_rows, old_keys, old_layout = self._rows, self._keys, self._layout
        self._rows = rows
        self._widths = widths or measure(rows.values(), len(self.columns_spec))
        self._arrange(selected)
        if self._fitted() != old_layout or self._keys_changed_in_view(old_keys):
            self.refresh()
            return
        top = self._top
        for line, key in enumerate(self._keys[top : top + self._visible], start=1):
            if old_rows.get(key) != rows[key]:
                self.refresh_line(top + line)

    def sort_by(self, column: str) -> None:
        """Sort by `column`, numbers largest first; again on the same column reverses."""
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            numeric = self.columns_spec[self.column_keys.index(column)].numeric
            self.sort_column, self.sort_reverse = column, numeric
        self._arrange(self.selected_key)
        self.refresh()

    # Keys and mouse ------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self._move(self._cursor + step)

    def action_page(self, direction: int) -> None:
        self._move(self._cursor + direction * max(1, self._visible - 1))

    def action_select(self) -> None:
        if self.selected_key is not None:
            self.post_message(self.RowSelected(self, self.selected_key))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None:
                self.sort_by(column)
            return
        row = self._top + event.y - 1
        if row < len(self._keys):
            if row == self._cursor:
                self.action_select()
            self._move(row)

    def on_resize(self) -> None:
        self._layout_room = -1
        self.refresh()

    # Rendering -------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        self.lines_rendered += 1
        width = self.size.width
        if y == 0:
            return self._header(width)
        row = self._top + y - 1
        if row >= len(self._keys):
            return Strip.blank(width, self.rich_style)
        if row == self._cursor:
            base = self.get_component_rich_style("live-table--cursor")
        elif row % 2 == 0:
            base = self.get_component_rich_style("live-table--even-row")
        else:
            base = self.rich_style
        return self._line(self._rows[self._keys[row]], base, width)

    def _header(self, width: int) -> Strip:
        style = self.get_component_rich_style("live-table--header")
        sorted_index = self._sorted_index
        labels = [
            column.header(index == sorted_index, self.sort_reverse)
            for index, column in enumerate(self.columns_spec)
        ]
        return self._line(labels, style, width, styled=False)

    def _line(self, cells: Sequence[object], base: Style, width: int, styled: bool = True) -> Strip:
        segments = []
        for index, size in self._fitted().items():
            cell = cells[index]
            column = self.columns_spec[index]
            text = _printable(cell_text(cell))
            if cell_len(text) > size:
                text = text[-size:] if column.tail else set_cell_size(text, size - 1) + ELLIPSIS
            elif column.numeric:
                text = " " * (size - cell_len(text)) + text
            else:
                text = set_cell_size(text, size)
            segments.append(Segment(" " * GAP, base))
            extra = cell_style(cell) if styled else ""
            segments.append(Segment(text, base + Style.parse(extra) if extra else base))
        return Strip(segments).adjust_cell_length(width, base)

    # Internals -------------------------------------------------------------------

    @property
    def _top(self) -> int:
        return int(self.scroll_offset.y)

    @property
    def _visible(self) -> int:
        return max(0, self.scrollable_content_region.height - 1)

    @property
    def _sorted_index(self) -> int | None:
        if self.sort_column in self.column_keys:
            return self.column_keys.index(self.sort_column)
        return None

    def _fitted(self) -> dict[int, int]:
        room = self.scrollable_content_region.width - GAP
        if room != self._layout_room:
            self._layout_room = room
            self._layout = fit(self.columns_spec, self._widths, room, self._sorted_index)
        return self._layout

    def _arrange(self, selected: str | None) -> None:
        """Order the keys, keep the cursor on `selected`, and size the scroll area.

        Python's sort is stable, so rows that tie keep the order the data gave
        them: a refresh never shuffles equal rows.
        """
        keys = list(self._rows)
        index = self._sorted_index
        if index is not None:
            keys.sort(key=lambda key: sort_key(self._rows[key][index]), reverse=self.sort_reverse)
        self._keys = keys
        self._index = {key: position for position, key in enumerate(keys)}
        self._layout_room = -1
        size = Size(0, len(keys) + 1)  # no width: columns drop, they never scroll sideways
        if size != self.virtual_size:
            self.virtual_size = size
        kept = self._index.get(selected) if selected is not None else None
        self._cursor = kept if kept is not None else max(0, min(self._cursor, len(keys) - 1))
        self._scroll_to_cursor()

    def _keys_changed_in_view(self, old_keys: list[str]) -> bool:
        top, bottom = self._top, self._top + self._visible
        return old_keys[top:bottom] != self._keys[top:bottom]

    def _move(self, row: int) -> None:
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        if row != self._cursor:
            before = self._cursor
            self._cursor = row
            self._scroll_to_cursor()
            self.refresh_line(before + 1)
            self.refresh_line(row + 1)

    def _scroll_to_cursor(self) -> None:
        top, visible = self._top, self._visible
        if visible <= 0:
            return
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
            self.refresh()
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False, immediate=True)
            self.refresh()

    def _column_at(self, x: int) -> str | None:
        left = 0
        for index, size in self._fitted().items():
            left += GAP
            if left <= x < left + size:
                return self.column_keys[index]
            left += size
        return None


def _printable(text: str) -> str:
    """Control characters would break the line: each shows as `?`."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else "?" for char in text)
