"""Messages from the app's thread workers to its UI thread."""

from __future__ import annotations

from textual.message import Message

from qwatch.tui.feed import Update


class Polled(Message):
    """A poll worked: here is what it read."""

    def __init__(self, update: Update) -> None:
        super().__init__()
        self.update = update


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
