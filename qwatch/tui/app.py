"""`qwatch top`: queues, workers, failed jobs and functions, live, in the terminal.

One thread worker polls Redis through the feed and posts each result; the
UI thread only renders. Writes run in their own thread workers, after a
confirmation, and never under `--read-only`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from functools import partial

import redis
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Input, Static
from textual.worker import get_current_worker

from qwatch import actions
from qwatch.errors import QwatchError, first_line
from qwatch.formatting import clip, clock
from qwatch.jobs import JobDetail
from qwatch.printable import printable
from qwatch.report import headline
from qwatch.tui import rows
from qwatch.tui.dialogs import Choose, Confirm, Help
from qwatch.tui.feed import Source, Update
from qwatch.tui.inspector import Inspector
from qwatch.tui.messages import ActionDone, Polled, PollFailed
from qwatch.tui.widgets.live_table import LiveTable

VIEWS = ("queues", "workers", "failed", "functions")
WRITES = {"requeue", "delete", "requeue_all", "empty_queue", "empty_registry"}
ON_VIEW = {
    "requeue": "failed",
    "delete": "failed",
    "inspect": "failed",
    "requeue_all": "queues",
    "empty_queue": "queues",
    "empty_registry": "queues",
    "group_hosts": "workers",
}

Action = Callable[[redis.Redis], str]


class QwatchApp(App[None]):
    """The monitor; `feed` reads one Redis, `interval` is the seconds between polls."""

    CSS_PATH = "qwatch.tcss"
    TITLE = "qwatch top"
    BINDINGS = [
        Binding("1", "show('queues')", "queues"),
        Binding("2", "show('workers')", "workers"),
        Binding("3", "show('failed')", "failed"),
        Binding("4", "show('functions')", "functions"),
        Binding("slash", "filter", "filter", key_display="/"),
        Binding("escape", "clear_filter", "clear filter", show=False, key_display="esc"),
        Binding("s", "sort", "sort"),
        Binding("g", "group_hosts", "by host"),
        Binding("enter", "inspect", "inspect a failed job", show=False),
        Binding("r", "requeue", "requeue"),
        Binding("d", "delete", "delete"),
        Binding("R", "requeue_all", "requeue all failed", key_display="R"),
        Binding("E", "empty_queue", "empty queue", key_display="E"),
        Binding("X", "empty_registry", "empty registry", key_display="X"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, feed: Source, interval: float = 2.0, read_only: bool = False) -> None:
        super().__init__()
        self.feed = feed
        self.interval = interval
        self.read_only = read_only
        self.view = "queues"
        self.update: Update | None = None
        self.needle = ""
        self.by_host = False
        self.offline_since: float | None = None
        self.poll_error: str | None = None
        self._wake = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static(self.feed.target.display, id="status", markup=False)
        yield Static("", id="banner", markup=False)
        with ContentSwitcher(initial="queues"):
            yield LiveTable(rows.QUEUE_COLUMNS, id="queues")
            with Container(id="workers"):
                yield LiveTable(rows.WORKER_COLUMNS, id="workers-table")
                yield LiveTable(rows.HOST_COLUMNS, id="hosts-table")
            yield LiveTable(rows.FAILED_COLUMNS, id="failed")
            yield LiveTable(rows.FUNCTION_COLUMNS, id="functions")
        yield Input(placeholder="filter: text to look for, esc clears", id="filter", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.feed.target.display
        for table, column in (
            ("#queues", "queue"),
            ("#workers-table", "name"),
            ("#failed", "when"),
        ):
            self.query_one(table, LiveTable).sort_column = column
        self._table().focus()
        if self.read_only:
            self.notify("read-only: requeue, delete and empty are off", timeout=6)
        self.poll_forever()

    def on_unmount(self) -> None:
        """Wake the poller so that it sees it is cancelled and the app can exit."""
        self.workers.cancel_group(self, "poll")
        self._wake.set()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notice as plain text without control characters: most name a job or a queue."""
        super().notify(
            printable(message),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # Polling ---------------------------------------------------------------

    @work(thread=True, exclusive=True, group="poll")
    def poll_forever(self) -> None:
        """The only reader of Redis; one poll at a time, then a wait or a wake-up."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                self.post_message(Polled(self.feed.poll(with_functions=self.view == "functions")))
            except QwatchError as exc:
                self.post_message(PollFailed(str(exc)))
            except Exception as exc:  # a bug or odd data must not end the monitor: show it
                self.post_message(PollFailed(f"{type(exc).__name__}: {first_line(exc)}", False))
            self._wake.wait(self.interval)
            self._wake.clear()

    def on_polled(self, message: Polled) -> None:
        if self._widgets_gone():
            return
        self.update = message.update
        self.offline_since = self.poll_error = None
        self.remove_class("-offline")
        with suppress(NoMatches):  # a poll that lands while the app closes: no screen left
            self._render_status()
            self._render_view()

    def on_poll_failed(self, message: PollFailed) -> None:
        if self._widgets_gone():
            return
        self.poll_error = None if message.offline else message.error
        self.offline_since = self.offline_since or time.time()
        self.add_class("-offline")
        shown = (
            f"data from {clock(self.update.snapshot.taken_at)}" if self.update else "no data yet"
        )
        with suppress(NoMatches):  # as in on_polled
            banner = self.query_one("#banner", Static)
            banner.update(
                printable(f"{message.error} - retrying every {self.interval:g}s; showing {shown}")
            )
            self._render_status()

    def _widgets_gone(self) -> bool:
        """Whether the widgets are gone: a poll can end after the app has begun to exit."""
        return not self.query("#status")

    # Rendering ---------------------------------------------------------------

    def _render_status(self) -> None:
        text = self.feed.target.display
        if self.update is not None:
            snapshot = self.update.snapshot
            text += f"  {headline(snapshot)}"
            if snapshot.suspended:
                text += "  SUSPENDED"
        state = "offline" if self.offline_since else "live"
        if self.poll_error:
            state = f"read failed: {clip(self.poll_error, 80)}"
        mode = "  read-only" if self.read_only else ""
        self.query_one("#status", Static).update(printable(f"{text}  [{state}]{mode}"))

    def _render_view(self) -> None:
        if self.update is None:
            return
        palette = self._palette()
        update, needle = self.update, self.needle
        if self.view == "queues":
            self.query_one("#queues", LiveTable).show(rows.queue_rows(update, needle, palette))
        elif self.view == "workers":
            self.query_one("#workers-table", LiveTable).show(
                rows.worker_rows(update, needle, palette)
            )
            self.query_one("#hosts-table", LiveTable).show(rows.host_rows(update, needle, palette))
        elif self.view == "failed":
            self.query_one("#failed", LiveTable).show(rows.failed_rows(update, needle, palette))
        else:
            self.query_one("#functions", LiveTable).show(
                rows.function_rows(update, needle, palette)
            )

    def _palette(self) -> rows.Palette:
        variables = self.get_css_variables()
        return {name: variables.get(name, "") for name in rows.PLAIN}

    def _table(self) -> LiveTable:
        if self.view == "workers":
            return self.query_one("#hosts-table" if self.by_host else "#workers-table", LiveTable)
        return self.query_one(f"#{self.view}", LiveTable)

    # Navigation --------------------------------------------------------------

    def action_show(self, view: str) -> None:
        self.view = view
        self.query_one(ContentSwitcher).current = view
        self._table().focus()
        self._render_view()
        if view == "functions" and (self.update is None or self.update.functions is None):
            self._wake.set()
        self.refresh_bindings()

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.disabled = False
        field.add_class("-shown")
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.remove_class("-shown")
        field.disabled = True
        self._table().focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.needle = event.value
        self._render_view()

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        self._table().focus()

    def action_sort(self) -> None:
        table = self._table()
        columns = table.column_keys
        current = columns.index(table.sort_column) if table.sort_column in columns else -1
        table.sort_by(columns[(current + 1) % len(columns)])
        self.notify(f"sorted by {table.sort_column}", timeout=1.5)

    def action_group_hosts(self) -> None:
        self.by_host = not self.by_host
        self.query_one("#workers").set_class(self.by_host, "-by-host")
        self._table().focus()

    def action_help(self) -> None:
        lines = [
            (binding.key_display or binding.key, binding.description)
            for binding in self.BINDINGS
            if isinstance(binding, Binding)
        ]
        lines += [
            ("header click", "sort by that column, again to reverse"),
            ("c", "in the inspector: copy the traceback"),
            ("ctrl+p", "the command palette"),
        ]
        self.push_screen(Help(lines, self.read_only))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITES and self.read_only:
            return False
        view = ON_VIEW.get(action)
        return view is None or view == self.view

    # Inspecting and acting ---------------------------------------------------

    @on(LiveTable.RowSelected, "#failed")
    def failed_selected(self) -> None:
        self.action_inspect()

    def action_inspect(self) -> None:
        job_id = self.query_one("#failed", LiveTable).selected_key
        if job_id:
            self.load_job(job_id)

    @work(thread=True, group="job")
    def load_job(self, job_id: str) -> None:
        try:
            job = self.feed.job(job_id)
        except Exception as exc:  # one unreadable job must not end the monitor
            self.call_from_thread(self.notify, first_line(exc), severity="error")
            return
        if job is None:
            self.call_from_thread(self.notify, f"job {job_id} no longer exists", severity="warning")
            return
        self.call_from_thread(self._open_inspector, job)

    def _open_inspector(self, job: JobDetail) -> None:
        def chosen(choice: str | None) -> None:
            if choice == "requeue":
                self._ask(
                    f"Requeue job {job.id}?", partial(actions.requeue_failed_job, job_id=job.id)
                )
            elif choice == "delete":
                self._ask(
                    f"Delete job {job.id}?", partial(actions.delete_failed_job, job_id=job.id)
                )

        self.push_screen(Inspector(job, self.read_only), chosen)

    def action_requeue(self) -> None:
        job_id = self.query_one("#failed", LiveTable).selected_key
        if job_id:
            self._ask(f"Requeue job {job_id}?", partial(actions.requeue_failed_job, job_id=job_id))

    def action_delete(self) -> None:
        job_id = self.query_one("#failed", LiveTable).selected_key
        if job_id:
            self._ask(f"Delete job {job_id}?", partial(actions.delete_failed_job, job_id=job_id))

    def action_requeue_all(self) -> None:
        queue = self.query_one("#queues", LiveTable).selected_key
        if queue:
            self._ask(
                f"Requeue every failed job of {queue}?",
                partial(actions.requeue_all_failed, queue=queue),
            )

    def action_empty_queue(self) -> None:
        queue = self.query_one("#queues", LiveTable).selected_key
        if queue:
            self._ask(
                f"Delete every job waiting in {queue}?", partial(actions.empty_queue, queue=queue)
            )

    def action_empty_registry(self) -> None:
        queue = self.query_one("#queues", LiveTable).selected_key
        if not queue:
            return

        def chosen(state: str | None) -> None:
            if state:
                action = partial(actions.empty_registry, queue=queue, state=state)
                self._ask(f"Delete every {state} job of {queue}?", action)

        self.push_screen(Choose(f"Empty which registry of {queue}?", actions.CLEARABLE), chosen)

    def _ask(self, question: str, action: Action) -> None:
        if self.read_only:
            self.notify("read-only: qwatch top was started with --read-only", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_write(action)

        self.push_screen(Confirm(question), answered)

    @work(thread=True, group="write")
    def run_write(self, action: Action) -> None:
        try:
            message, error = self.feed.act(action), False
        except QwatchError as exc:
            message, error = str(exc), True
        self.post_message(ActionDone(message, error))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, severity="error" if message.error else "information")
        self._wake.set()

    # Command palette ---------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for view in VIEWS:
            yield SystemCommand(
                f"Show {view}", f"switch to the {view} screen", partial(self.action_show, view)
            )
        commands = (
            ("filter", "Filter rows", "type text to keep only matching rows", self.action_filter),
            ("sort", "Sort", "sort by the next column", self.action_sort),
            (
                "group_hosts",
                "Group workers by host",
                "counts per state for each host",
                self.action_group_hosts,
            ),
            (
                "inspect",
                "Inspect failed job",
                "function, arguments, times, traceback",
                self.action_inspect,
            ),
            (
                "requeue",
                "Requeue failed job",
                "put the selected job back in its queue",
                self.action_requeue,
            ),
            ("delete", "Delete failed job", "delete the selected job", self.action_delete),
            (
                "requeue_all",
                "Requeue all failed",
                "every failed job of the selected queue",
                self.action_requeue_all,
            ),
            (
                "empty_queue",
                "Empty queue",
                "delete the jobs waiting in the selected queue",
                self.action_empty_queue,
            ),
            (
                "empty_registry",
                "Empty registry",
                "delete the jobs of one registry",
                self.action_empty_registry,
            ),
            ("help", "Keys", "every key of qwatch top", self.action_help),
        )
        for action, title, help_text, callback in commands:
            if self.check_action(action, ()):
                yield SystemCommand(title, help_text, callback)
