"""Modal dialogs: confirm an action, choose a registry, see every key."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from qwatch.text.printable import printable


class Confirm(ModalScreen[bool]):
    """Asks before any write; `y` or the button confirms, `n` or `esc` cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Grid(id="confirm"):
            yield Label(printable(self.question), id="question", markup=False)
            yield Button("Yes (y)", variant="error", id="yes")
            yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class Choose(ModalScreen[str | None]):
    """Pick one of a few choices; `esc` picks none."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, choices: Iterable[str]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="choose"):
            yield Label(printable(self.title_text), markup=False)
            yield OptionList(*(Option(choice, id=choice) for choice in self.choices))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Help(ModalScreen[None]):
    """Every key of the app, as its bindings declare them."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "close")]

    def __init__(self, lines: Iterable[tuple[str, str]], read_only: bool) -> None:
        super().__init__()
        self.lines = list(lines)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(justify="right", style="bold")
        keys.add_column()
        for key, description in self.lines:
            keys.add_row(Text(key), Text(description))
        with VerticalScroll(id="help"):
            yield Label("Keys", id="help-title")
            yield Static(keys)
            if self.read_only:
                yield Label("read-only: actions that change Redis are off", id="help-note")
            yield Label("esc closes, the arrows scroll", id="help-hint")

    def on_mount(self) -> None:
        """Focused, so that the arrows scroll the keys in a short terminal."""
        self.query_one("#help").focus()

    def action_close(self) -> None:
        self.dismiss(None)
