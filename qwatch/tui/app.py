"""`qwatch top`: queues, workers, failed jobs and functions, live, in the terminal.

One thread worker polls Redis through the feed and posts each result; the
UI thread only renders. The feed's completion tracker runs in its own
thread from mount to unmount. Writes run in their own thread workers, after a
confirmation, and never under `--read-only`.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Container
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Input, Static
from textual.worker import get_current_worker

from qwatch import job_states
from qwatch.errors import QwatchError, described, first_line
from qwatch.model import ARQ, CELERY, DRAMATIQ, RQ, JobDetail, QueueStats
from qwatch.text.columns import Column
from qwatch.text.formatting import break_between_phrases, clip, clock
from qwatch.text.headline import empty_hint, headline
from qwatch.text.printable import printable
from qwatch.text.row_keys import key_of, row_key, split_key
from qwatch.text.tables import PLAIN, Palette
from qwatch.tui import rows
from qwatch.tui.browser import JobBrowser
from qwatch.tui.celery_queue import CeleryQueuePanel
from qwatch.tui.dialogs import Choose, Confirm, Help
from qwatch.tui.feed import Action, Source, Update
from qwatch.tui.inspector import Inspector, refusal
from qwatch.tui.keymap import KEYS, ON_VIEW, PALETTE, WRITES
from qwatch.tui.messages import ActionDone, Polled, PollFailed
from qwatch.tui.notes import celery_notes, rq_notes
from qwatch.tui.past import past_line
from qwatch.tui.prepared import prepare
from qwatch.tui.search import SearchScreen
from qwatch.tui.widgets.live_table import LiveTable
from qwatch.watch import ARQ_STATES, CLEARABLE, DRAMATIQ_STATES, Watch

HELP_NOTES = {
    "queues": [
        ("enter", "an RQ, Dramatiq or arq queue: its jobs, as j"),
        ("", "a Celery queue: priority lists, reserved and"),
        ("", "overdue messages, the next tasks"),
        ("", "reserved: taken by a Celery worker, not acked"),
        ("", "overdue: reserved too long, delivered again"),
    ],
    "workers": [
        ("", "Celery workers appear with their heartbeats;"),
        ("", "processed counts failed tasks too"),
    ],
    "failed": [
        ("", "Celery keeps no list of failures: its tasks that"),
        ("", "failed while qwatch listened; r and d work on RQ's"),
    ],
}
"""What the keys alone do not say about a screen that shows Celery too."""

GC_THRESHOLDS = (100_000, 50, 100)
"""A poll allocates tens of thousands of short-lived, acyclic objects that
reference counting frees; with Python's default thresholds the cycle
collector would also rescan every row on screen, from whichever thread
allocates, the UI thread included: pauses of a tenth of a second at a
thousand workers. Cycles are still collected, just less often."""

TERMINAL_CHECK_SECONDS = 1.0
"""How often top looks whether its terminal is still there."""

COVERING = (JobBrowser, SearchScreen)
"""Screens with keys of their own, under which the queue screen's keys do nothing."""

RowsOf = Callable[[Update, str, Palette], rows.Rows]

TABLES: dict[str, tuple[tuple[str, tuple[Column, ...], RowsOf], ...]] = {
    "queues": (("queues", rows.QUEUE_COLUMNS, rows.queue_rows),),
    "workers": (
        ("workers-table", rows.WORKER_COLUMNS, rows.worker_rows),
        ("hosts-table", rows.HOST_COLUMNS, rows.host_rows),
    ),
    "failed": (("failed", rows.FAILED_COLUMNS, rows.failed_rows),),
    "functions": (("functions", rows.FUNCTION_COLUMNS, rows.function_rows),),
    "changes": (("changes", rows.CHANGE_COLUMNS, rows.change_rows),),
}
"""The tables of each screen: widget id, columns, and the function that builds the rows."""


class QwatchApp(App[None]):
    """The monitor; `feed` reads one Redis, `interval` is the seconds between polls."""

    CSS_PATH = "qwatch.tcss"
    TITLE = "qwatch top"
    BINDINGS = [key.binding() for key in KEYS]

    def __init__(
        self,
        feed: Source,
        interval: float = 2.0,
        read_only: bool = False,
        first: Update | None = None,
        terminal: int | None = None,
    ) -> None:
        """`first` is a poll already made, by a start-up that checks Redis answers;
        `terminal` is the descriptor of the terminal the app runs in, watched for a hangup."""
        super().__init__()
        self.terminal = terminal
        self.feed = feed
        self.interval = interval
        self.read_only = read_only
        self.view = "queues"
        self.update = first
        self.palette: Palette = PLAIN
        self._status_shape = (0, 0)
        self._notes_text = ""
        self.status = Static(feed.target.display, id="status", markup=False)
        self.banner = Static("", id="banner", markup=False)
        self.notes = Static("", id="notes", markup=False)
        self.throughput = Static("", id="throughput", markup=False)
        self.tables = {
            table: LiveTable(columns, id=table)
            for views in TABLES.values()
            for table, columns, _rows_of in views
        }
        """Kept here, not queried: a poll that lands while the app closes finds them still."""
        self.needle = ""
        self.by_host = False
        self.offline_since: float | None = None
        self.poll_error: str | None = None
        self._wake = threading.Event()

    def compose(self) -> ComposeResult:
        yield self.status
        yield self.banner
        yield self.notes
        yield self.throughput
        with ContentSwitcher(initial="queues"):
            for view, tables in TABLES.items():
                if len(tables) == 1:
                    yield self.tables[view]
                else:
                    with Container(id=view):
                        yield from (self.tables[table] for table, _columns, _rows_of in tables)
        yield Input(placeholder="filter: text to look for, esc clears", id="filter", disabled=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        gc.set_threshold(*GC_THRESHOLDS)
        gc.freeze()  # what start-up built lives as long as the app: never rescanned
        self.sub_title = self.feed.target.display
        for table, column in (
            ("queues", "queue"),
            ("workers-table", "name"),
            ("failed", "when"),
            ("changes", "when"),
        ):
            self.tables[table].sort_column = column
        self.palette = self._palette()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._table().focus()
        if self.read_only:
            self.notify("read-only: requeue, delete and empty are off", timeout=6)
        self._render_status()
        self._render_view()
        self.feed.start()
        self.poll_forever()
        if self.terminal is not None:
            self.set_interval(TERMINAL_CHECK_SECONDS, partial(self._check_terminal, self.terminal))

    def _check_terminal(self, terminal: int) -> None:
        """Quit once the terminal has hung up. Only the session's leader hears the hangup
        (a `make` in between keeps it), and a screen drawn for nobody would spin on."""
        if not os.isatty(terminal):  # a hung-up terminal answers no terminal request
            self.exit(return_code=1)

    def on_unmount(self) -> None:
        """Stop following completions; wake the poller so that it sees it is cancelled."""
        self.feed.stop()
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
        # The last two results stay referenced here, so that the memory of the
        # one the screen drops is freed in this thread, not the UI's.
        recent: deque[Polled] = deque(maxlen=2)
        if self.update is not None:
            self._wake.wait(self.interval)
            self._wake.clear()
        while not worker.is_cancelled:
            try:
                update = self.feed.poll(with_functions=self.view == "functions")
            except QwatchError as exc:
                self.post_message(PollFailed(str(exc)))
            except Exception as exc:  # a bug or odd data must not end the monitor: show it
                self.post_message(PollFailed(described(exc), False))
            else:
                recent.append(self.prepared(update))
                self.post_message(recent[-1])
            self._wake.wait(self.interval)
            self._wake.clear()

    def prepared(self, update: Update) -> Polled:
        """Rows of the screen in view, built, measured and ordered here, off the UI thread.

        The view, filter or sort may change before the message arrives: the
        UI thread then does that part again for what it shows.
        """
        view, needle, palette = self.view, self.needle, self.palette
        tables = {}
        for table, columns, rows_of in TABLES[view]:
            built = rows_of(update, needle, palette)
            widget = self.tables[table]
            sort = (widget.sort_column, widget.sort_reverse)
            tables[table] = (built, prepare(built, columns, sort, rows.sort_key))
        return Polled(update, view, needle, tables)

    def on_polled(self, message: Polled) -> None:
        if self._widgets_gone():
            return
        self.update = message.update
        self.offline_since = self.poll_error = None
        if self.has_class("-offline"):
            self.remove_class("-offline")  # restyles every widget: only when back online
        self._render_status()
        if isinstance(self.screen, CeleryQueuePanel):
            self.screen.show(self._queue(self.screen.key))
        if (message.view, message.needle) == (self.view, self.needle):
            for table, (built, prepared) in message.tables.items():
                self.tables[table].show(built, prepared)
        else:
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
        self.banner.update(
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
        # Broken between phrases at the width of this refresh (0 until the first layout);
        # after a resize, the next refresh breaks it anew.
        width = self.status.content_region.width
        text = printable(f"{text}  [{state}]{mode}")
        if width:
            text = break_between_phrases(text, width)
        self._render_notes()
        self._render_throughput()
        hint = self.update and empty_hint(self.update.snapshot, self.feed.target.display)
        if hint:
            text += f"\n{hint}"
        # A layout pass repaints every widget: only when the line wraps differently.
        shape = (width, len(Text(text).wrap(self.console, max(1, width))))
        self.status.update(text, layout=shape != self._status_shape)
        self._status_shape = shape

    def _render_notes(self) -> None:
        """Celery's caveats and RQ 3.0's rate limits and cron, one a line; repainted only
        when they change."""
        snapshot = self.update.snapshot if self.update else None
        past = (self.update.past_note,) if self.update and self.update.past_note else ()
        notes = (*celery_notes(snapshot), *rq_notes(snapshot), *past) if snapshot else ()
        text = "\n".join(printable(note) for note in notes)
        if text != self._notes_text:
            self._notes_text = text
            self.notes.update(text)
            self.notes.set_class(bool(text), "-shown")

    def _render_throughput(self) -> None:
        """The whole Redis's last hour of jobs out and failed, under the status line."""
        if self.update is not None:
            width = self.throughput.content_region.width or self.size.width - 2
            self.throughput.update(past_line(self.update.throughput, width, self.palette))

    def _render_view(self) -> None:
        if self.update is None:
            return
        for table, _columns, rows_of in TABLES[self.view]:
            built = rows_of(self.update, self.needle, self.palette)
            self.tables[table].show(built)

    def _palette(self) -> Palette:
        variables = self.get_css_variables()
        return {name: variables.get(name, "") for name in PLAIN}

    def _theme_changed(self, _theme: object) -> None:
        self.palette = self._palette()
        self._render_view()

    def _table(self) -> LiveTable:
        if self.view == "workers":
            return self.tables["hosts-table" if self.by_host else "workers-table"]
        return self.tables[self.view]

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
        """Sort by the next column on screen: one left out (too narrow a terminal, or another
        system's) would order the rows by something the person cannot see."""
        table = self._table()
        shown = table.column_widths
        columns = [key for key in table.column_keys if key in shown] or table.column_keys
        current = columns.index(table.sort_column) if table.sort_column in columns else -1
        table.sort_by(columns[(current + 1) % len(columns)])

    def action_group_hosts(self) -> None:
        self.by_host = not self.by_host
        self.query_one("#workers").set_class(self.by_host, "-by-host")
        self._table().focus()

    def action_help(self) -> None:
        """The keys that work on this screen: those of the other screens are left out."""
        lines = [
            (key.key_display or key.key, key.label) for key in KEYS if key.view in (None, self.view)
        ]
        lines += HELP_NOTES.get(self.view, [])
        lines += [
            ("header click", "sort by that column, again to reverse"),
            ("ctrl+p", "the command palette"),
        ]
        self.push_screen(Help(lines, self.read_only))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITES and self.read_only:
            return False
        covered = any(isinstance(screen, COVERING) for screen in self.screen_stack)
        if covered and action != "quit":
            return False  # the browser and the search have their own keys, the queues' are hidden
        if action == "show":
            return parameters != (self.view,)
        view = ON_VIEW.get(action)
        return view is None or view == self.view

    # Inspecting and acting ---------------------------------------------------

    @on(LiveTable.RowSelected, "#queues")
    def queue_selected(self) -> None:
        """An RQ, Dramatiq or arq queue's jobs in the browser; a Celery queue's details, which
        no browser reads."""
        key = self.tables["queues"].selected_key
        if key and split_key(key)[0] == CELERY:
            self.push_screen(CeleryQueuePanel(key, self._queue(key), self.palette["warning"]))
        else:
            self.action_browse()

    def action_browse(self) -> None:
        """Open the selected queue's jobs, in every state: RQ's or arq's, or Dramatiq's
        messages."""
        key = self.tables["queues"].selected_key
        system, name = split_key(key) if key else (RQ, "")
        if system in (DRAMATIQ, ARQ):
            read, states = {
                DRAMATIQ: (self.feed.dramatiq_page, DRAMATIQ_STATES),
                ARQ: (self.feed.arq_page, ARQ_STATES),
            }[system]
            browser = JobBrowser(name, read, self.load_job, self.interval, search=self.open_search,
                                 states=states, past=partial(self.feed.queue_past, system, name),
                                 palette=self.palette)  # fmt: skip
            self.push_screen(browser)
            return
        queue = self._rq_selected("queues", "the job browser")
        if queue:
            stats = self._queue(row_key(RQ, queue))
            holding = frozenset(
                state
                for state, count in (
                    (job_states.READY, stats.ready if stats else 0),
                    (job_states.RATE_LIMITED, stats.rate_limited if stats else 0),
                )
                if count
            )
            browser = JobBrowser(
                queue, self.feed.page, self.load_job, self.interval, holding, self.open_search,
                past=partial(self.feed.queue_past, RQ, queue), palette=self.palette,
            )  # fmt: skip
            self.push_screen(browser)

    def action_search(self) -> None:
        self.open_search()

    def open_search(self, queues: tuple[str, ...] = ()) -> None:
        """The search screen, over `queues` (none: every queue)."""
        self.push_screen(SearchScreen(self.feed.search, self.load_job, self.palette, queues))

    def _queue(self, key: str) -> QueueStats | None:
        """The latest reading of the queue with this key, if it is still there."""
        if self.update is None:
            return None
        return next((q for q in self.update.snapshot.queues if key_of(q) == key), None)

    def _rq_selected(self, table: str, what: str) -> str | None:
        """The selected queue's name or failed job's id when it is RQ's; on Celery's, one
        notice that `what` works on RQ only and nothing changed."""
        key = self.tables[table].selected_key
        if not key:
            return None
        system, name = split_key(key)
        if system != RQ:
            self.notify(refusal(what, system, name, table == "queues"), severity="warning")
            return None
        return name

    @on(LiveTable.RowSelected, "#failed")
    def failed_selected(self) -> None:
        self.action_inspect()

    def action_inspect(self) -> None:
        key = self.tables["failed"].selected_key
        if key:
            self.load_job(split_key(key)[1])

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
                self._ask(f"Requeue job {job.id}?", partial(Watch.requeue_failed, job_id=job.id))
            elif choice == "delete":
                self._ask(f"Delete job {job.id}?", partial(Watch.delete_failed, job_id=job.id))

        self.push_screen(Inspector(job, self.read_only), chosen)

    def action_requeue(self) -> None:
        job_id = self._rq_selected("failed", "requeue")
        if job_id:
            self._ask(f"Requeue job {job_id}?", partial(Watch.requeue_failed, job_id=job_id))

    def action_delete(self) -> None:
        job_id = self._rq_selected("failed", "delete")
        if job_id:
            self._ask(f"Delete job {job_id}?", partial(Watch.delete_failed, job_id=job_id))

    def action_requeue_all(self) -> None:
        queue = self._rq_selected("queues", "requeue all failed")
        if queue:
            self._ask(
                f"Requeue every failed job of {queue}?",
                partial(Watch.requeue_all_failed, queue=queue),
            )

    def action_empty_queue(self) -> None:
        queue = self._rq_selected("queues", "empty queue")
        if queue:
            self._ask(
                f"Delete every job waiting in {queue}?", partial(Watch.empty_queue, queue=queue)
            )

    def action_empty_registry(self) -> None:
        queue = self._rq_selected("queues", "empty registry")
        if not queue:
            return

        def chosen(state: str | None) -> None:
            if state:
                action = partial(Watch.empty_registry, queue=queue, state=state)
                self._ask(f"Delete every {state} job of {queue}?", action)

        self.push_screen(Choose(f"Empty which registry of {queue}?", CLEARABLE), chosen)

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
        """Textual's commands, but its own `Keys` panel: qwatch's help lists every key."""
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command
        for key in PALETTE:
            if self.check_action(key.name, ()):
                callback = getattr(self, f"action_{key.name}")
                args = () if key.argument is None else (key.argument,)
                yield SystemCommand(key.title or key.label, key.help, partial(callback, *args))
