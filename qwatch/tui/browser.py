"""The job browser: one queue's jobs in any state, a page at a time, each openable.

The screen only renders pages; a thread worker reads each through the
app's feed (two or three round trips a page whatever the registry's size),
again every refresh interval so the page stays live. An RQ queue has RQ's
registries for tabs, a Dramatiq queue the four states its broker keeps.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalGroup
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Input, Label, Static

from qwatch import job_states
from qwatch.errors import QwatchError
from qwatch.model import JobPage, PageRequest
from qwatch.text.listing import COLUMNS, cells, summary
from qwatch.text.printable import printable
from qwatch.text.tables import PLAIN, Palette
from qwatch.tui.dialogs import Help
from qwatch.tui.feed import Past
from qwatch.tui.messages import still_shown
from qwatch.tui.past import past_line
from qwatch.tui.rows import Rows
from qwatch.tui.widgets.live_table import LiveTable
from qwatch.watch import LISTED_STATES

OPTIONAL = {job_states.READY: "ready", job_states.RATE_LIMITED: "limited"}
"""RQ 3.0's states, and their tabs' names: a tab shows while its queue has such jobs, or while
it is the one shown, so the other seven fit 80 columns."""
PAGE_SIZE = 100
"""Jobs a page reads: a screenful or two, far under `browse.MAX_LIMIT`."""
ReadPage = Callable[[PageRequest], JobPage]
Inspect = Callable[[str], object]
Search = Callable[[tuple[str, ...]], object]
ReadPast = Callable[[], Past]


def page_rows(page: JobPage) -> Rows:
    """The page's jobs keyed by id, in registry order."""
    rows: Rows = {}
    for job in page.jobs:
        shown = cells(job, page.request.state, page.taken_at)
        rows.setdefault(job.id, tuple(map(printable, shown)))
    return rows


class JobBrowser(Screen[None]):
    """A queue's jobs by state; `read` fetches a page, `inspect` opens a job by id."""

    BINDINGS = [
        *(
            Binding(str(number), f"tab({number})", f"tab {number}", show=False)
            for number in range(1, len(LISTED_STATES) + 1)
        ),
        Binding("n", "page(1)", "next"),
        Binding("p", "page(-1)", "previous"),
        Binding("slash", "filter('text')", "filter", key_display="/"),
        Binding("f", "filter('function')", "function"),
        Binding("S", "search", "find", key_display="S"),
        Binding("enter", "inspect", "inspect", show=False),
        Binding("escape", "back", "back", key_display="esc"),
        Binding("question_mark", "help", "help", key_display="?"),
    ]

    def __init__(
        self,
        queue: str,
        read: ReadPage,
        inspect: Inspect,
        interval: float,
        holding: frozenset[str] = frozenset(),
        search: Search | None = None,
        states: tuple[str, ...] = LISTED_STATES,
        past: ReadPast | None = None,
        palette: Palette = PLAIN,
    ) -> None:
        """`holding`: the optional states the queue has jobs in; `search` opens the search
        screen over the queues it is given; `states`: the tabs, in order (RQ's by default);
        `past`: the queue's last hour, drawn over its jobs, read with each page."""
        super().__init__()
        self.past = past
        self.palette = palette
        self.holding = holding
        self.states = states
        self.search = search
        self.request = PageRequest(queue, job_states.QUEUED, limit=PAGE_SIZE)
        self.read = read
        self.inspect_job = inspect
        self.interval = interval
        self.page: JobPage | None = None
        self.filtering = "text"

    def compose(self) -> ComposeResult:
        with HorizontalGroup(id="browser-states"):
            for number, state in enumerate(self.states, start=1):
                with HorizontalGroup(id=f"tab-{state}", classes="state-tab"):
                    yield Label(str(number), classes="state-key")
                    yield Label(OPTIONAL.get(state, state), classes="state-name")
        yield Static("", id="browser-summary", markup=False)
        if self.past is not None:
            yield Static("", id="browser-past", markup=False)
        with ContentSwitcher(initial=f"jobs-{self.request.state}", id="browser-tables"):
            for state in self.states:
                yield LiveTable(COLUMNS[state], id=f"jobs-{state}")
        yield Input(id="browser-filter", disabled=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._render_states()
        self._table().focus()
        self.reload()
        self.set_interval(self.interval, self.reload)

    def _table(self) -> LiveTable:
        return self.query_one(f"#jobs-{self.request.state}", LiveTable)

    def _render_states(self) -> None:
        """The state shown is marked, the stylesheet decides how; an optional state's tab
        shows while the queue holds such jobs or while it is the one shown."""
        shown = 0
        for state in self.states:
            tab = self.query_one(f"#tab-{state}")
            current = state == self.request.state
            tab.set_class(current, "-current")
            tab.display = state not in OPTIONAL or current or state in self.holding
            shown += tab.display
        crowded = shown > len(set(self.states) - OPTIONAL.keys())
        self.query_one("#browser-states").set_class(crowded, "-crowded")

    # Reading -----------------------------------------------------------------

    def reload(self) -> None:
        self.load(self.request)

    @work(thread=True, exclusive=True, group="browse")
    def load(self, request: PageRequest) -> None:
        try:
            page = self.read(request)
        except QwatchError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.show_page, page, self.past() if self.past else None)

    def show_page(self, page: JobPage, past: Past | None = None) -> None:
        if page.request != self.request or not still_shown(self):
            return  # an answer to a request since replaced, or to a screen since closed
        self.page = page
        if past is not None:
            line = self.query_one("#browser-past", Static)
            line.update(past_line(past, line.content_region.width or 78, self.palette))
        note = summary(page)
        if page.previous_offset is not None or page.next_offset is not None:
            note += "  (n next page, p previous)"
        if not page.queue_known:
            note = f"no queue {page.request.queue!r} is registered; " + note
        self._summarise(note)
        self.query_one(f"#jobs-{page.request.state}", LiveTable).show(page_rows(page))

    def _ask(self, request: PageRequest) -> None:
        self.request = request
        self._render_states()
        self._summarise("reading…")
        self.load(request)

    def _summarise(self, note: str) -> None:
        """The queue's name, then what the page shows or that it is being read."""
        line = Text.assemble((printable(self.request.queue), "bold"), "  ", note)
        self.query_one("#browser-summary", Static).update(line)

    # Keys --------------------------------------------------------------------

    def action_tab(self, number: int) -> None:
        if number <= len(self.states):
            self.action_state(self.states[number - 1])

    def action_state(self, state: str) -> None:
        request = self.request
        self._ask(
            PageRequest(request.queue, state, 0, request.limit, request.function, request.text)
        )
        self.query_one(ContentSwitcher).current = f"jobs-{state}"
        self._table().focus()

    def action_page(self, step: int) -> None:
        if self.page is None:
            return
        offset = self.page.next_offset if step > 0 else self.page.previous_offset
        if offset is None:
            self.notify("no more pages that way", timeout=1.5)
            return
        request = self.request
        self._ask(
            PageRequest(
                request.queue, request.state, offset, request.limit, request.function, request.text
            )
        )

    def action_filter(self, kind: str) -> None:
        self.filtering = kind
        field = self.query_one("#browser-filter", Input)
        field.placeholder = (
            f"{kind} to look for in a bounded scan of each page; enter applies, esc clears"
        )
        field.value = self.request.function if kind == "function" else self.request.text
        field.disabled = False
        field.add_class("-shown")
        field.focus()

    @on(Input.Submitted, "#browser-filter")
    def filter_done(self, event: Input.Submitted) -> None:
        request = self.request
        function = event.value if self.filtering == "function" else request.function
        text = event.value if self.filtering == "text" else request.text
        self._hide_filter()
        self._ask(PageRequest(request.queue, request.state, 0, request.limit, function, text))

    def _hide_filter(self) -> None:
        field = self.query_one("#browser-filter", Input)
        field.remove_class("-shown")
        field.disabled = True
        self._table().focus()

    def action_search(self) -> None:
        """Search every state of this queue, whole: a filter reads one page's window."""
        if self.search is not None:
            self.search((self.request.queue,))

    def action_back(self) -> None:
        request = self.request
        if self.query_one("#browser-filter", Input).has_class("-shown"):
            self._hide_filter()
        elif request.filtered:
            self._ask(PageRequest(request.queue, request.state, 0, request.limit))
        else:
            self.dismiss(None)

    def action_help(self) -> None:
        names = ", ".join(OPTIONAL.get(state, state) for state in self.states)
        lines = [(f"1-{len(self.states)}", f"the jobs {names}, in that order")]
        if OPTIONAL.keys() & set(self.states):
            lines += [("", "ready and limited (RQ 3.0) show while the queue has such jobs")]
        lines += [
            ("n, p", "next page, previous page"),
            ("/", "filter by text: id, call, worker, result, exception"),
            ("f", "filter by function"),
            ("", "a filter searches 1,000 entries a page and says which"),
            ("S", "search the whole queue, every state"),
            ("enter", "inspect the job"),
            ("esc", "clear the filter, then back to the queues"),
            ("q", "quit qwatch"),
        ]
        self.app.push_screen(Help(lines, read_only=False))

    @on(LiveTable.RowSelected)
    def row_selected(self) -> None:
        self.action_inspect()

    def action_inspect(self) -> None:
        job_id = self._table().selected_key
        if job_id:
            self.inspect_job(job_id)
