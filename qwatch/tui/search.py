"""The search screen: the jobs that hold a text, in every queue and state, shown as they are found.

A thread worker runs the search through the app's feed, a batch at a time,
and posts each batch's progress; the screen only renders. Esc stops a
search that is still going (between two batches) and says how far it got;
`m` asks again with ten times the budget and the time when one stopped early.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import replace

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, get_current_worker

from qwatch.errors import QwatchError
from qwatch.model import SearchProgress, SearchRequest, newest_first
from qwatch.text.listing import search_summary
from qwatch.text.printable import printable
from qwatch.text.tables import SEARCH_COLUMNS, Palette, search_cells
from qwatch.tui.dialogs import Help
from qwatch.tui.messages import still_shown
from qwatch.tui.rows import Rows
from qwatch.tui.widgets.live_table import LiveTable

Search = Callable[[SearchRequest], Generator[SearchProgress, None, None]]
Inspect = Callable[[str], object]
FURTHER = 10
"""How many times the budget and the time `m` gives a search that stopped before the end."""
HINT = "text in ids, calls, arguments, results, errors; enter searches"
HINTS = {"limit": "the limit", "budget": "m searches further", "time": "m searches longer"}


def hit_rows(progress: SearchProgress, now: float, palette: Palette) -> Rows:
    """The jobs found so far, newest first, keyed by id."""
    systems = {hit.system for hit in progress.hits}
    rows: Rows = {}
    for hit in newest_first(progress.hits):
        rows.setdefault(hit.id, search_cells(hit, now, systems, palette))
    return rows


class SearchScreen(Screen[None]):
    """Searches `queues` (none: every queue) for what the person types; `inspect` opens a job."""

    BINDINGS = [
        Binding("slash", "edit", "new search", key_display="/"),
        Binding("m", "further", "search further"),
        Binding("enter", "inspect", "inspect", show=False),
        Binding("escape", "back", "stop or back", key_display="esc"),
        Binding("question_mark", "help", "help", key_display="?"),
    ]

    def __init__(
        self, search: Search, inspect: Inspect, palette: Palette, queues: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        self.search = search
        self.inspect_job = inspect
        self.palette = palette
        self.queues = queues
        self.progress: SearchProgress | None = None
        self.running: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        where = f"queue {printable(self.queues[0])}" if len(self.queues) == 1 else "every queue"
        yield Static(f"Search {where}", id="search-summary", markup=False)
        yield Input(placeholder=HINT, id="search-text")
        yield LiveTable(SEARCH_COLUMNS, id="search-hits")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#search-text", Input).focus()

    @property
    def searching(self) -> bool:
        return self.running is not None and self.running.is_running

    # Searching -----------------------------------------------------------------

    @on(Input.Submitted, "#search-text")
    def submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.notify("type a text to find first", severity="warning", timeout=2)
            return
        self.start(SearchRequest(event.value, queues=self.queues))

    def start(self, request: SearchRequest) -> None:
        self.progress = None
        self.query_one("#search-hits", LiveTable).show({})
        self._say(f"searching for {request.text!r}…")
        self.query_one("#search-hits", LiveTable).focus()
        self.running = self.run_search(request)

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, request: SearchRequest) -> None:
        """Each batch's progress, posted to the screen, until the search ends or is stopped:
        a stop takes effect once the batch being read is in, and reads no further."""
        worker = get_current_worker()
        try:
            with closing(self.search(request)) as progresses:
                while not worker.is_cancelled:
                    progress = next(progresses, None)
                    if progress is None:
                        return
                    self.app.call_from_thread(self.show, progress)
        except QwatchError as exc:
            self.app.call_from_thread(self._failed, str(exc))

    def show(self, progress: SearchProgress) -> None:
        if not still_shown(self) or self.running is None or self.running.is_cancelled:
            return  # a screen since closed, or a search since stopped
        self.progress = progress
        self._say(search_summary(progress, HINTS))
        rows = hit_rows(progress, time.time(), self.palette)
        self.query_one("#search-hits", LiveTable).show(rows)

    def _failed(self, reason: str) -> None:
        if still_shown(self):
            self._say(f"the search failed: {reason}")

    def _say(self, line: str) -> None:
        self.query_one("#search-summary", Static).update(line)

    def _stop(self) -> None:
        """Stop the search between two batches, saying how far it came."""
        if self.running is not None:
            self.running.cancel()
        progress = self.progress
        where = f", after {progress.scanned:,} of {progress.total:,} entries" if progress else ""
        found = len(progress.hits) if progress else 0
        self._say(f"stopped by you{where}: found {found} (m searches again, further)")

    # Keys --------------------------------------------------------------------

    def action_edit(self) -> None:
        field = self.query_one("#search-text", Input)
        field.value = ""
        field.focus()

    def action_further(self) -> None:
        """Search again with more budget and time: after a stop, or once one stopped early."""
        progress = self.progress
        if progress is None or self.searching or progress.done:
            self.notify("nothing left to search further", timeout=2)
            return
        request = progress.request
        self.start(
            replace(request, budget=request.budget * FURTHER, seconds=request.seconds * FURTHER)
        )

    def action_back(self) -> None:
        if self.searching:
            self._stop()
        else:
            self.dismiss(None)

    def action_inspect(self) -> None:
        job_id = self.query_one("#search-hits", LiveTable).selected_key
        if job_id:
            self.inspect_job(job_id)

    @on(LiveTable.RowSelected)
    def row_selected(self) -> None:
        self.action_inspect()

    def action_help(self) -> None:
        lines = [
            ("", "finds the text in ids, calls and their arguments,"),
            ("", "workers, results, exceptions and tracebacks,"),
            ("", "failed jobs first, newest first on screen"),
            ("enter", "search (in the box), inspect (in the list)"),
            ("/", "a new search"),
            ("esc", "stop a search, then back"),
            ("m", f"search again with {FURTHER}x the budget and time"),
            ("q", "quit qwatch"),
        ]
        self.app.push_screen(Help(lines, read_only=False))
