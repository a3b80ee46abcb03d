"""Messages from the app's thread workers to its UI thread."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.screen import Screen

from qwatch.tui.feed import Update
from qwatch.tui.prepared import Prepared
from qwatch.tui.rows import Rows

Tables = dict[str, tuple[Rows, Prepared]]
"""Rows, measured and ordered, by table id."""


class Polled(Message):
    """A poll worked: what it read, and the rows of `view` filtered by `needle`, if built."""

    def __init__(
        self, update: Update, view: str = "", needle: str = "", tables: Tables | None = None
    ) -> None:
        super().__init__()
        self.update = update
        self.view = view
        self.needle = needle
        self.tables = tables or {}


class PollFailed(Message):
    """A poll failed: Redis is down, slow or refusing (`offline`), or reading failed otherwise."""

    def __init__(self, error: str, offline: bool = True) -> None:
        super().__init__()
        self.error = error
        self.offline = offline


class ActionDone(Message):
    """A write finished, or failed; `text` says what happened."""

    def __init__(self, text: str, error: bool) -> None:
        super().__init__()
        self.text = text
        self.error = error


def still_shown(screen: Screen[Any]) -> bool:
    """Whether a worker's answer may still be drawn on `screen`: it is on the stack of a
    running app. A closing screen loses its widgets while an answer may be on its way."""
    return screen.app.is_running and screen in screen.app.screen_stack
