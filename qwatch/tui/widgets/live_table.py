"""A DataTable refreshed in place: rows updated by key, so the cursor stays put."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from qwatch.tui.rows import Cell, Column, Rows, sort_key


class LiveTable(DataTable[Cell]):
    """Takes whole sets of rows and changes only what changed; click a header to sort.

    Numbers and ages have fixed widths: re-measuring a column at every changed
    cell costs a pass over all its rows, seconds at a thousand workers.
    """

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.columns_spec = columns
        self.column_keys = [key for key, _label, _width in columns]
        self._rows: Rows = {}
        self.sort_column: str | None = None
        self.sort_reverse = False

    def on_mount(self) -> None:
        for key, label, width in self.columns_spec:
            self.add_column(label, key=key, width=width)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        row_key, _column = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def show(self, rows: Rows) -> None:
        """Make the table hold exactly `rows`, touching only cells that changed."""
        selected = self.selected_key
        for gone in self._rows.keys() - rows.keys():
            self.remove_row(gone)
        for key, cells in rows.items():
            old = self._rows.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            elif old != cells:
                for column, (before, after) in zip(self.column_keys, zip(old, cells)):
                    if before != after:
                        self.update_cell(key, column, after)
        self._rows = rows
        self._sort_and_keep(selected)

    def sort_by(self, column: str) -> None:
        """Sort by `column`; again on the same column reverses the order."""
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, column != self.column_keys[0]
        self._sort_and_keep(self.selected_key)

    def _sort_and_keep(self, selected: str | None) -> None:
        if self.sort_column is not None:
            self.sort(self.sort_column, key=sort_key, reverse=self.sort_reverse)
        if selected is not None:
            with contextlib.suppress(RowDoesNotExist):
                self.move_cursor(row=self.get_row_index(selected), animate=False)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))
