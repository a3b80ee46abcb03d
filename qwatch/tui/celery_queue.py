"""A Celery queue's details: what kombu keeps of it, since no RQ job browser can read it.

Kombu keeps a queue as one list per priority step plus the unacked messages
of every queue together; it has no registries of started, finished or failed
tasks. So `enter` on a Celery queue opens this panel, live at every poll,
instead of the job browser.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from qwatch.model import QueueStats
from qwatch.text.formatting import duration
from qwatch.text.printable import printable
from qwatch.text.row_keys import split_key
from qwatch.tui.dialogs import Help

NO_REGISTRIES = (
    "Celery keeps no registries of started, finished or failed tasks per queue,"
    " so there is no job browser here; failures come from events and stored results."
)


class CeleryQueuePanel(ModalScreen[None]):
    """One Celery queue by its key; `show` repaints it from each poll's reading."""

    BINDINGS = [
        Binding("escape", "close", "back", key_display="esc"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self, key: str, queue: QueueStats | None, warning: str) -> None:
        """`warning` is the palette's style for a count that needs attention."""
        super().__init__()
        self.key = key
        self.queue = queue
        self.warning = warning

    def compose(self) -> ComposeResult:
        name = printable(split_key(self.key)[1])
        with VerticalScroll(id="celery-queue"):
            yield Label(f"Celery queue {name}", id="celery-queue-title", markup=False)
            yield Static(self._facts(), id="celery-facts")
            yield Static(NO_REGISTRIES, id="celery-queue-note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def show(self, queue: QueueStats | None) -> None:
        """Repaint from a new reading; None when the queue is gone."""
        self.queue = queue
        self.query_one("#celery-facts", Static).update(self._facts())

    def _facts(self) -> Group | Text:
        queue = self.queue
        if queue is None or queue.celery is None:
            return Text("no longer in Redis")
        celery = queue.celery
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(justify="right")
        table.add_column(style="dim")
        overdue = _number(celery.overdue)
        if celery.overdue:
            overdue.stylize(self.warning)
        table.add_row("waiting", _number(queue.queued), "in its priority lists")
        table.add_row("ETA-held", _number(queue.scheduled), "eta or countdown still ahead")
        table.add_row("reserved", _number(celery.reserved), "taken by a worker, not acked")
        table.add_row("overdue", overdue, "reserved too long: kombu delivers them again")
        table.add_row("oldest reserved", duration(celery.oldest_reserved_age_seconds), "")
        return Group(
            table, _by_priority(celery.by_priority), _head(celery.head_tasks, celery.head_read)
        )

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        lines = [("esc", "back to the queues"), ("q", "quit qwatch")]
        self.app.push_screen(Help(lines, read_only=False))


def _number(value: int | None) -> Text:
    return Text("-" if value is None else str(value))


def _by_priority(steps: tuple[tuple[int, int], ...]) -> Text:
    """Waiting messages per priority step, 0 (the highest) first."""
    if not steps:
        return Text("by priority: -")
    shown = "  ".join(f"{step}: {count}" for step, count in steps)
    return Text(f"by priority (0 highest): {shown}")


def _head(tasks: tuple[tuple[str, int], ...], read: int) -> Group | Text:
    """Which tasks the next messages run: what a worker takes next."""
    if not read:
        return Text("next messages: none waiting")
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right")
    table.add_column()
    for name, count in tasks:
        table.add_row(str(count), Text(printable(name)))
    return Group(Text(f"the next {read} messages, by task:"), table)
