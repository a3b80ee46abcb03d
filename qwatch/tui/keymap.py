"""Every key of `qwatch top`, once: the footer, the help screen and the command palette.

Each entry says what the key does, on which screen it works (the others
ignore it), whether it writes to Redis (refused under `--read-only`), and
how the command palette names it, if it lists it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

VIEWS = ("queues", "workers", "failed", "functions", "changes")


@dataclass(frozen=True, slots=True)
class Key:
    """One thing a person can do, and the key that does it."""

    key: str
    name: str
    """The app's `action_<name>`."""
    label: str
    title: str | None = None
    """Its name in the command palette; None: not there."""
    help: str = ""
    view: str | None = None
    """The only screen it works on; None: every one."""
    write: bool = False
    footer: bool = True
    key_display: str | None = None
    argument: str | None = None
    priority: bool = False

    @property
    def action(self) -> str:
        """The action string Textual's binding runs."""
        return self.name if self.argument is None else f"{self.name}({self.argument!r})"

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.footer,
            key_display=self.key_display,
            priority=self.priority,
        )


FOOTER_VIEWS = VIEWS[:4]
"""The screens the footer names; the rest are in the help and the command palette, so the
footer still fits 80 columns."""


def _show(number: int, view: str) -> Key:
    return Key(
        str(number),
        "show",
        view.capitalize(),
        f"Show {view}",
        f"switch to the {view} screen",
        argument=view,
        footer=view in FOOTER_VIEWS,
    )


KEYS = (
    *(_show(number, view) for number, view in enumerate(VIEWS, start=1)),
    Key("slash", "filter", "filter", "Filter rows", "type text to keep only matching rows",
        key_display="/"),
    Key("escape", "clear_filter", "clear filter", footer=False, key_display="esc"),
    Key("s", "sort", "sort", "Sort", "sort by the next column", footer=False),
    Key("S", "search", "find", "Search jobs",
        "jobs holding a text in every queue and state: ids, arguments, errors",
        key_display="S"),
    Key("g", "group_hosts", "by host", "Group workers by host", "counts per state for each host",
        view="workers"),
    Key("j", "browse", "jobs", "Browse jobs",
        "the selected queue's jobs in any state, a page at a time", view="queues"),
    Key("enter", "inspect", "inspect a failed job", "Inspect failed job",
        "function, arguments, times, traceback", view="failed", footer=False),
    Key("r", "requeue", "requeue", "Requeue failed job", "put the selected job back in its queue",
        view="failed", write=True),
    Key("d", "delete", "delete", "Delete failed job", "delete the selected job",
        view="failed", write=True),
    Key("R", "requeue_all", "requeue all failed (RQ)", "Requeue all failed",
        "every failed job of the selected queue", view="queues", write=True, footer=False,
        key_display="R"),
    Key("E", "empty_queue", "empty queue (RQ)", "Empty queue",
        "delete the jobs waiting in the selected queue", view="queues", write=True,
        footer=False, key_display="E"),
    Key("X", "empty_registry", "empty registry (RQ)", "Empty registry",
        "delete the jobs of one registry", view="queues", write=True, footer=False,
        key_display="X"),
    Key("question_mark", "help", "help", "Keys", "every key of qwatch top", key_display="?"),
    Key("q", "quit", "quit"),
    Key("ctrl+c", "quit", "quit", footer=False, priority=True),
)  # fmt: skip
"""The footer shows what fits in 80 columns, help and quit always; `?` lists them all."""

WRITES = frozenset(key.name for key in KEYS if key.write)
ON_VIEW = {key.name: key.view for key in KEYS if key.view is not None}
PALETTE = tuple(key for key in KEYS if key.title is not None)
