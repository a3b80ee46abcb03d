"""The job inspector: everything about one job in any state, its traceback whole and highlighted."""

from __future__ import annotations

from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from qwatch import job_states
from qwatch.model import ARQ, CELERY, DRAMATIQ, RQ, JobDetail
from qwatch.text.attempts import attempts_table
from qwatch.text.listing import detail_rows, logs_note, logs_text
from qwatch.text.printable import printable, printable_lines
from qwatch.tui.dialogs import Help

ATTEMPTS_TITLE = "attempts (RQ records each Retry returned and the last outcome)"


ELSEWHERE = {
    CELERY: "enter shows its details",
    DRAMATIQ: "enter lists its messages",
    ARQ: "enter lists its jobs",
}
"""Where a queue of another system is shown instead of in the job browser."""


def refusal(what: str, system: str, name: str, queue: bool = False) -> str:
    """The one notice that an action works on RQ's jobs or queues alone."""
    if queue:
        hint = ELSEWHERE.get(system)
        where = f" ({hint})" if hint else ""
        return f"{what} works on RQ queues only: {system} queue {name} is unchanged{where}"
    noun = "task" if system == CELERY else "message"
    return f"{what} works on RQ jobs only: {system} {noun} {name} is unchanged"


class Inspector(ModalScreen[str | None]):
    """Shows a job; dismisses with the action asked for (`requeue`, `delete`) or None."""

    BINDINGS = [
        Binding("escape", "close", "back", key_display="esc"),
        Binding("r", "choose('requeue')", "requeue"),
        Binding("d", "choose('delete')", "delete"),
        Binding("c", "copy", "copy traceback"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "app.quit", "quit"),
    ]
    """As everywhere in qwatch top, `?` lists the keys that work here and `q` quits."""

    def __init__(self, job: JobDetail, read_only: bool) -> None:
        super().__init__()
        self.job = job
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspector"):
            yield Label(f"job {printable(self.job.id)}", id="inspector-title", markup=False)
            yield Static(self._fields(), id="fields")
            if self.job.attempts:
                yield Static(attempts_table(self.job, ATTEMPTS_TITLE), id="attempts")
            if self.job.traceback:
                yield Static(self._traceback(self.job.traceback), id="traceback")
            yield Static(self._logs(), id="logs")
        yield Footer(compact=True, show_command_palette=False)

    def _fields(self) -> Group:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(overflow="fold")  # a long value was cut once, with a note: not again
        for label, value in detail_rows(self.job):
            table.add_row(label, Text(printable(value)))
        return Group(table)

    def _logs(self) -> Text:
        """The job's own log lines under a title, or one line saying why there are none."""
        note = logs_note(self.job)
        if note:
            return Text(note, style="dim")
        return Text.assemble(("logs\n", "bold"), logs_text(self.job))

    @staticmethod
    def _traceback(traceback: str) -> Syntax:
        """Highlighted, its lines kept and its control characters written out."""
        return Syntax(printable_lines(traceback), "pytb", word_wrap=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose":
            celery = self.job.system != RQ  # the key answers with why it does nothing
            return not self.read_only and (celery or self.job.status == job_states.FAILED)
        if action == "copy":
            return bool(self.job.traceback)
        return True

    def action_choose(self, action: str) -> None:
        if self.job.system != RQ:
            self.notify(refusal(action, self.job.system, self.job.id), severity="warning")
            return
        self.dismiss(action)

    def action_copy(self) -> None:
        """The terminal is asked to copy (OSC 52); whether it did, qwatch cannot know."""
        self.app.copy_to_clipboard(self.job.traceback or "")
        self.notify("traceback sent to the terminal's clipboard")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        """The inspector's own keys: those of the screen under it do not work here."""
        lines = [
            (binding.key_display or binding.key, binding.description)
            for binding in self.BINDINGS
            if isinstance(binding, Binding)
            and self.check_action(binding.action.partition("(")[0], ())
        ]
        lines.append(("↑ ↓ PgUp PgDn", "scroll"))
        self.app.push_screen(Help(lines, self.read_only))
