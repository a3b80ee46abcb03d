"""A table that renders only the rows on screen, for screens of ten thousand rows.

Textual's DataTable lays out every row it holds and re-measures columns as
cells change: a refresh of a thousand workers cost over a hundred
milliseconds. This table keeps the rows as plain data, sorts their keys, and
paints only the lines in view, only when they changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from qwatch.text.columns import GAP, Column, fit, fitted
from qwatch.text.tables import Sortable
from qwatch.tui.prepared import Prepared, prepare
from qwatch.tui.rows import Rows, cell_style, cell_text, sort_key


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
        self._keys: tuple[str, ...] = ()
        self._style_cache: dict[str, Style] = {}
        self._combined_cache: dict[tuple[Style, str], Style] = {}
        self._plan: list[tuple[int, int, Column]] = []
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
    def cursor_row(self) -> int:
        """The position of the cursor among the rows shown."""
        return self._cursor

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

    def show(self, rows: Rows, prepared: Prepared | None = None) -> None:
        """Make the table hold exactly `rows`; repaint only visible lines that changed.

        `prepared` is the rows measured and ordered off the UI thread; it is
        used if it was ordered for the table's current sort.
        """
        selected = self.selected_key
        old_rows, old_keys, old_layout = self._rows, self._keys, self._layout
        sort = (self.sort_column, self.sort_reverse)
        if prepared is None or prepared.sort != sort:
            prepared = prepare(rows, self.columns_spec, sort, sort_key)
        self._rows, self._widths = rows, prepared.widths
        self._arrange(prepared.keys, selected)
        if self._fitted() != old_layout or self._keys_changed_in_view(old_keys):
            self.refresh()
            return
        top = self._top
        changed = [
            line
            for line, key in enumerate(self._keys[top : top + self._visible], start=1)
            if old_rows.get(key) != rows[key]
        ]
        if changed:
            self.refresh(Region(0, changed[0], self.size.width, changed[-1] - changed[0] + 1))

    def select(self, key: str) -> None:
        """Put the cursor on `key`'s row, as the arrow keys would."""
        self._move(self._keys.index(key))

    def sort_by(self, column: str) -> None:
        """Sort by `column`, numbers largest first; again on the same column reverses."""
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            numeric = self.columns_spec[self.column_keys.index(column)].numeric
            self.sort_column, self.sort_reverse = column, numeric
        sort = (self.sort_column, self.sort_reverse)
        keys = prepare(self._rows, self.columns_spec, sort, sort_key).keys
        self._arrange(keys, self.selected_key)
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
        styles = self._styles()
        if y == 0:
            return self._header(styles["header"])
        row = self._top + y - 1
        if row >= len(self._keys):
            return Strip.blank(self.size.width, self.rich_style)
        if row == self._cursor:
            base = styles["cursor"]
        else:
            base = styles["even"] if row % 2 == 0 else styles["odd"]
        return self._line(self._rows[self._keys[row]], base)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache.clear()

    def _styles(self) -> dict[str, Style]:
        """Row styles from the stylesheet, resolved once per style change, not per line."""
        if not self._style_cache:
            get = self.get_component_rich_style
            self._style_cache.update(
                header=get("live-table--header"),
                cursor=get("live-table--cursor"),
                even=get("live-table--even-row"),
                odd=self.rich_style,
            )
        return self._style_cache

    def _header(self, style: Style) -> Strip:
        sorted_index = self._sorted_index
        labels = [
            column.header(index == sorted_index, self.sort_reverse)
            for index, column in enumerate(self.columns_spec)
        ]
        return self._line(labels, style, styled=False)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._plan = [
            (index, size, self.columns_spec[index]) for index, size in self._fitted().items()
        ]
        return super().render_lines(crop)

    def _line(self, cells: Sequence[object], base: Style, styled: bool = True) -> Strip:
        """One row as few segments as its styles allow: runs of plain cells are one segment."""
        segments = []
        run = ""
        used = 0
        for index, size, column in self._plan:
            cell = cells[index]
            if type(cell) is Sortable:
                text, extra = cell.text, cell.style
            elif type(cell) is str:
                text, extra = cell, ""
            else:
                text, extra = cell_text(cell), cell_style(cell)
            text = fitted(text, size, column)
            used += GAP + size
            if extra and styled:
                segments.append(Segment(run + " " * GAP, base))
                segments.append(Segment(text, self._combined(base, extra)))
                run = ""
            else:
                run += " " * GAP + text
        width = self.size.width
        segments.append(Segment(run + " " * max(0, width - used), base))
        return Strip(segments).crop(0, width) if used > width else Strip(segments, width)

    def _combined(self, base: Style, extra: str) -> Style:
        key = (base, extra)
        style = self._combined_cache.get(key)
        if style is None:
            style = self._combined_cache[key] = base + Style.parse(extra)
        return style

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

    def _arrange(self, keys: tuple[str, ...], selected: str | None) -> None:
        """Take the ordered keys, keep the cursor on `selected`, and size the scroll area.

        Keys are sorted stably, so rows that tie keep the order the data gave
        them: a refresh never shuffles equal rows.
        """
        self._keys = keys
        self._layout_room = -1
        size = Size(0, len(keys) + 1)  # no width: columns drop, they never scroll sideways
        if size != self.virtual_size:
            self.virtual_size = size
        if selected is not None and selected in self._rows:
            self._cursor = keys.index(selected)
        else:
            self._cursor = max(0, min(self._cursor, len(keys) - 1))
        self._scroll_to_cursor()

    def _keys_changed_in_view(self, old_keys: tuple[str, ...]) -> bool:
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
